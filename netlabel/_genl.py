"""pyroute2 message classes for the four NetLabel generic netlink families.

Each attribute table follows the kernel's ``NLBL_*_A_*`` numbering (include/net/netlabel.h and
net/netlabel/netlabel_{mgmt,cipso_v4,calipso,unlabeled}.h); pyroute2 numbers them by position,
so every table starts with the unused attribute 0. Nested attributes reuse their family's own
attribute space, hence the ``recursive`` entries. No family has a family-specific header.
"""

from __future__ import annotations

from enum import IntEnum

from pyroute2.netlink import genlmsg, nla

# Every family is registered with this version (NETLBL_PROTO_VERSION); the kernel never
# checks the version byte of a request.
PROTO_VERSION = 3

MGMT_FAMILY = "NLBL_MGMT"
CIPSOV4_FAMILY = "NLBL_CIPSOv4"  # lower-case v, as the kernel registers it
CALIPSO_FAMILY = "NLBL_CALIPSO"
UNLBL_FAMILY = "NLBL_UNLBL"


class MgmtCmd(IntEnum):
    """NLBL_MGMT commands."""

    ADD = 1  # add a domain mapping (admin)
    REMOVE = 2  # remove a domain's mappings (admin)
    LISTALL = 3  # dump every domain mapping except the defaults
    ADDDEF = 4  # add the default mapping (admin)
    REMOVEDEF = 5  # remove the IPv4 and IPv6 defaults (admin)
    LISTDEF = 6  # the default mapping of one family
    PROTOCOLS = 7  # dump the supported protocols
    VERSION = 8  # the NetLabel protocol version


class CipsoCmd(IntEnum):
    """NLBL_CIPSOv4 commands."""

    ADD = 1  # add a DOI (admin)
    REMOVE = 2  # remove a DOI and the mappings that use it (admin)
    LIST = 3  # one DOI with tags and translation tables
    LISTALL = 4  # dump DOI and mapping type of every DOI


class CalipsoCmd(IntEnum):
    """NLBL_CALIPSO commands."""

    ADD = 1  # add a DOI (admin)
    REMOVE = 2  # remove a DOI and the mappings that use it (admin)
    LIST = 3  # one DOI's mapping type
    LISTALL = 4  # dump DOI and mapping type of every DOI


class UnlblCmd(IntEnum):
    """NLBL_UNLBL commands."""

    ACCEPT = 1  # set the accept-unlabeled flag (admin)
    LIST = 2  # get the accept-unlabeled flag
    STATICADD = 3  # add a static label for an interface and address (admin)
    STATICREMOVE = 4  # remove one (admin)
    STATICLIST = 5  # dump the static labels
    STATICADDDEF = 6  # add a static label for an address on any interface (admin)
    STATICREMOVEDEF = 7  # remove one (admin)
    STATICLISTDEF = 8  # dump the any-interface static labels


_MGMT_ATTRS = (
    ("NLBL_MGMT_A_UNSPEC", "none"),
    ("NLBL_MGMT_A_DOMAIN", "asciiz"),
    ("NLBL_MGMT_A_PROTOCOL", "uint32"),
    ("NLBL_MGMT_A_VERSION", "uint32"),
    ("NLBL_MGMT_A_CV4DOI", "uint32"),
    ("NLBL_MGMT_A_IPV6ADDR", "cdata"),
    ("NLBL_MGMT_A_IPV6MASK", "cdata"),
    ("NLBL_MGMT_A_IPV4ADDR", "cdata"),
    ("NLBL_MGMT_A_IPV4MASK", "cdata"),
    ("NLBL_MGMT_A_ADDRSELECTOR", "recursive"),
    ("NLBL_MGMT_A_SELECTORLIST", "recursive"),
    ("NLBL_MGMT_A_FAMILY", "uint16"),
    ("NLBL_MGMT_A_CLPDOI", "uint32"),
)

_CIPSOV4_ATTRS = (
    ("NLBL_CIPSOV4_A_UNSPEC", "none"),
    ("NLBL_CIPSOV4_A_DOI", "uint32"),
    ("NLBL_CIPSOV4_A_MTYPE", "uint32"),
    ("NLBL_CIPSOV4_A_TAG", "uint8"),
    ("NLBL_CIPSOV4_A_TAGLST", "recursive"),
    ("NLBL_CIPSOV4_A_MLSLVLLOC", "uint32"),
    ("NLBL_CIPSOV4_A_MLSLVLREM", "uint32"),
    ("NLBL_CIPSOV4_A_MLSLVL", "recursive"),
    ("NLBL_CIPSOV4_A_MLSLVLLST", "recursive"),
    ("NLBL_CIPSOV4_A_MLSCATLOC", "uint32"),
    ("NLBL_CIPSOV4_A_MLSCATREM", "uint32"),
    ("NLBL_CIPSOV4_A_MLSCAT", "recursive"),
    ("NLBL_CIPSOV4_A_MLSCATLST", "recursive"),
)

_CALIPSO_ATTRS = (
    ("NLBL_CALIPSO_A_UNSPEC", "none"),
    ("NLBL_CALIPSO_A_DOI", "uint32"),
    ("NLBL_CALIPSO_A_MTYPE", "uint32"),
)

_UNLBL_ATTRS = (
    ("NLBL_UNLABEL_A_UNSPEC", "none"),
    ("NLBL_UNLABEL_A_ACPTFLG", "uint8"),
    ("NLBL_UNLABEL_A_IPV6ADDR", "cdata"),
    ("NLBL_UNLABEL_A_IPV6MASK", "cdata"),
    ("NLBL_UNLABEL_A_IPV4ADDR", "cdata"),
    ("NLBL_UNLABEL_A_IPV4MASK", "cdata"),
    ("NLBL_UNLABEL_A_IFACE", "asciiz"),
    ("NLBL_UNLABEL_A_SECCTX", "cdata"),
)


def _top(attrs: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
    # At the top level a nested attribute decodes with the family's nested class.
    return tuple((name, "nest" if kind == "recursive" else kind) for name, kind in attrs)


class MgmtMsg(genlmsg):  # type: ignore[misc]
    class nest(nla):  # type: ignore[misc]
        nla_map = _MGMT_ATTRS

    nla_map = _top(_MGMT_ATTRS)


class CipsoMsg(genlmsg):  # type: ignore[misc]
    class nest(nla):  # type: ignore[misc]
        nla_map = _CIPSOV4_ATTRS

    nla_map = _top(_CIPSOV4_ATTRS)


class CalipsoMsg(genlmsg):  # type: ignore[misc]
    nla_map = _CALIPSO_ATTRS


class UnlblMsg(genlmsg):  # type: ignore[misc]
    nla_map = _UNLBL_ATTRS
