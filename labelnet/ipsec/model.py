"""Security contexts as labeled IPsec carries them: frozen values that re-encode byte for byte.

Three carriers (labeled-ipsec.md):

* :class:`XfrmSecCtx`: ``struct xfrm_user_sec_ctx`` and its context string, the payload of the
  XFRMA_SEC_CTX netlink attribute (policies, SAs, ACQUIREs); host byte order.
* :class:`SadbSecCtx`: the PF_KEY ``sadb_x_sec_ctx`` extension (type 24); host byte order,
  lengths in 64-bit units, padded with zeros.
* :class:`TrafficSelectorPayload`: an IKEv2 TSi/TSr payload whose selectors may include a
  :class:`SecLabelSelector` (TS_SECLABEL, RFC 9478); network byte order.

The context is kept as the octets on the wire (``context`` / ``label``), trailing NUL included
when there is one, so that what was received re-encodes unchanged. :mod:`labelnet.ipsec.label`
turns octets into an :class:`mls.Context` and back.
"""

from __future__ import annotations

import enum
import ipaddress
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TypeAlias, TypeVar

from mls import Context

from .errors import IpsecEncodeError
from .label import label_bytes, label_text, parse_label

#: Size of ``struct xfrm_user_sec_ctx`` and of ``struct sadb_x_sec_ctx`` without the string.
SEC_CTX_HEADER_SIZE = 8
#: Size of a netlink attribute header (``struct nlattr``: u16 nla_len, u16 nla_type).
NLA_HEADER_SIZE = 4
#: The longest context an XFRMA_SEC_CTX attribute can hold: nla_len = 4 + 8 + ctx_len <= 65535.
MAX_XFRM_CTX_LEN = 0xFFFF - NLA_HEADER_SIZE - SEC_CTX_HEADER_SIZE
#: af_key.c refuses a sadb_x_ctx_len above PAGE_SIZE (4096 on x86) before anything else.
MAX_SADB_CTX_LEN = 4096
#: SELinux refuses an XFRM context of PAGE_SIZE bytes or more (ENOMEM); no LSM checks nothing.
SELINUX_CTX_LEN_LIMIT = 4096
#: libreswan's longest IKEv2 security label, trailing NUL included.
MAX_IKE_LABEL_LENGTH = 4096
#: An IKEv2 traffic selector's Selector Length is 16 bits and counts its 4-byte header.
MAX_SECLABEL_LENGTH = 0xFFFF - 4


class Doi(enum.IntEnum):
    """``ctx_doi``: the security-context domain of interpretation (XFRM_SC_DOI_*, xfrm.h)."""

    RESERVED = 0  #: XFRM_SC_DOI_RESERVED; setkey sends no extension at all for DOI 0
    LSM = 1  #: XFRM_SC_DOI_LSM: the context belongs to the Linux security module


class Algorithm(enum.IntEnum):
    """``ctx_alg``: which LSM's context format the string is in (XFRM_SC_ALG_*, xfrm.h)."""

    RESERVED = 0  #: XFRM_SC_ALG_RESERVED
    SELINUX = 1  #: XFRM_SC_ALG_SELINUX: the only one the kernel accepts (with DOI 1)


class XfrmAttrType(enum.IntEnum):
    """The first netlink attribute types of XFRM messages (enum xfrm_attr_type_t, xfrm.h)."""

    UNSPEC = 0  #: XFRMA_UNSPEC
    ALG_AUTH = 1  #: XFRMA_ALG_AUTH: struct xfrm_algo
    ALG_CRYPT = 2  #: XFRMA_ALG_CRYPT: struct xfrm_algo
    ALG_COMP = 3  #: XFRMA_ALG_COMP: struct xfrm_algo
    ENCAP = 4  #: XFRMA_ENCAP: struct xfrm_encap_tmpl
    TMPL = 5  #: XFRMA_TMPL: 1 or more struct xfrm_user_tmpl
    SA = 6  #: XFRMA_SA: struct xfrm_usersa_info
    POLICY = 7  #: XFRMA_POLICY: struct xfrm_userpolicy_info
    SEC_CTX = 8  #: XFRMA_SEC_CTX: struct xfrm_user_sec_ctx and the context string
    LTIME_VAL = 9  #: XFRMA_LTIME_VAL: struct xfrm_lifetime_cur


class XfrmMsgType(enum.IntEnum):
    """XFRM netlink message types that can carry XFRMA_SEC_CTX (xfrm.h)."""

    NEWSA = 16  #: XFRM_MSG_NEWSA: add an SA; the label is the specific flow context
    NEWPOLICY = 19  #: XFRM_MSG_NEWPOLICY: add a policy; the label is a generic SPD label
    DELPOLICY = 20  #: XFRM_MSG_DELPOLICY: the label is part of the policy's identity
    GETPOLICY = 21  #: XFRM_MSG_GETPOLICY: same identity as DELPOLICY
    ACQUIRE = 23  #: XFRM_MSG_ACQUIRE: kernel asks the IKE daemon for an SA with this label
    UPDPOLICY = 25  #: XFRM_MSG_UPDPOLICY: add or replace a policy
    UPDSA = 26  #: XFRM_MSG_UPDSA: update an SA


class SadbExtType(enum.IntEnum):
    """PF_KEY extension types around the security context (pfkeyv2.h)."""

    X_NAT_T_OA = 23  #: SADB_X_EXT_NAT_T_OA: NAT-T original address
    X_SEC_CTX = 24  #: SADB_X_EXT_SEC_CTX: struct sadb_x_sec_ctx and the context
    X_KMADDRESS = 25  #: SADB_X_EXT_KMADDRESS: key manager addresses (MIGRATE)
    X_FILTER = 26  #: SADB_X_EXT_FILTER: dump filter; the last one (SADB_EXT_MAX)


class TsType(enum.IntEnum):
    """IKEv2 traffic selector types (IANA "IKEv2 Traffic Selector Types")."""

    IPV4_ADDR_RANGE = 7  #: TS_IPV4_ADDR_RANGE, RFC 7296: 16-byte selector
    IPV6_ADDR_RANGE = 8  #: TS_IPV6_ADDR_RANGE, RFC 7296: 40-byte selector
    FC_ADDR_RANGE = 9  #: TS_FC_ADDR_RANGE, RFC 4595: Fibre Channel addresses
    SECLABEL = 10  #: TS_SECLABEL, RFC 9478: an opaque security label


class PayloadType(enum.IntEnum):
    """IKEv2 payload types a Next Payload field may name (RFC 7296 §3.2)."""

    NONE = 0  #: no next payload
    SA = 33  #: Security Association
    KE = 34  #: Key Exchange
    IDI = 35  #: Identification - Initiator
    IDR = 36  #: Identification - Responder
    CERT = 37  #: Certificate
    CERTREQ = 38  #: Certificate Request
    AUTH = 39  #: Authentication
    NONCE = 40  #: Nonce
    NOTIFY = 41  #: Notify
    DELETE = 42  #: Delete
    VENDOR = 43  #: Vendor ID
    TSI = 44  #: Traffic Selector - Initiator
    TSR = 45  #: Traffic Selector - Responder
    SK = 46  #: Encrypted and Authenticated
    CP = 47  #: Configuration
    EAP = 48  #: Extensible Authentication


def _check_u(value: object, bits: int, what: str, offset: int | None) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 1 << bits:
        raise IpsecEncodeError(f"{what} is a {bits}-bit unsigned int, not {value!r}", offset)


def _plain_ints(obj: object, *names: str) -> None:
    """Store IntEnum members (the defaults) as plain ints, as the decoders do, so that equal
    values also print alike."""
    for name in names:
        value = getattr(obj, name)
        if type(value) is not int and isinstance(value, int) and not isinstance(value, bool):
            object.__setattr__(obj, name, int(value))


def _bytes_field(obj: object, name: str, offset: int | None) -> bytes:
    """The value of the bytes field ``name``, stored back as plain bytes when it was given as
    a bytearray or memoryview."""
    value = getattr(obj, name)
    if not isinstance(value, (bytes, bytearray, memoryview)):
        raise IpsecEncodeError(f"{name} must be bytes, not {type(value).__name__}", offset)
    if type(value) is not bytes:
        value = bytes(value)
        object.__setattr__(obj, name, value)
    return value


_Carrier = TypeVar("_Carrier", bound="_ContextOctets")


class _ContextOctets:
    """What the XFRM and PF_KEY carriers share: the context octets and their meaning."""

    __slots__ = ()
    context: bytes

    @property
    def ctx_len(self) -> int:
        """The ``ctx_len`` field: context octets, trailing NUL included when present."""
        return len(self.context)

    @property
    def nul_terminated(self) -> bool:
        """Whether the octets end in NUL (as iproute2, setkey and the kernel send them)."""
        return self.context.endswith(b"\0")

    @property
    def text(self) -> str:
        """The context as text, without the trailing NUL (:func:`label_text`)."""
        return label_text(self.context)

    def to_context(self) -> Context:
        """The context parsed by :meth:`mls.Context.parse` (:func:`parse_label`)."""
        return parse_label(self.context)

    @classmethod
    def from_context(
        cls: type[_Carrier],
        context: Context | str,
        *,
        nul: bool = True,
        doi: int = Doi.LSM,
        alg: int = Algorithm.SELINUX,
    ) -> _Carrier:
        """The carrier of ``context`` as the tools send it: DOI 1, ALG 1, NUL counted
        (iproute2's ``ctx CONTEXT``, setkey's ``-ctx 1 1 "CONTEXT"``)."""
        return cls(label_bytes(context, nul=nul), doi, alg)  # type: ignore[call-arg]


@dataclass(frozen=True, slots=True)
class XfrmSecCtx(_ContextOctets):
    """``struct xfrm_user_sec_ctx`` and its string: the payload of XFRMA_SEC_CTX.

    ``context`` is the string as sent (iproute2 and the kernel include a trailing NUL in
    ``ctx_len``); ``exttype`` is what the sender put in the ``exttype`` field (the kernel
    writes 8, XFRMA_SEC_CTX, and does not look at it on input). ``len`` is always
    8 + ``ctx_len``, so it is not stored.
    """

    context: bytes
    doi: int = Doi.LSM
    alg: int = Algorithm.SELINUX
    exttype: int = XfrmAttrType.SEC_CTX

    def __post_init__(self) -> None:
        context = _bytes_field(self, "context", 8)
        _check_u(self.doi, 8, "ctx_doi", 5)
        _check_u(self.alg, 8, "ctx_alg", 4)
        _check_u(self.exttype, 16, "exttype", 2)
        _plain_ints(self, "doi", "alg", "exttype")
        if len(context) > MAX_XFRM_CTX_LEN:
            raise IpsecEncodeError(
                f"a context of {len(context)} bytes does not fit an XFRMA_SEC_CTX attribute "
                f"(at most {MAX_XFRM_CTX_LEN})",
                6,
            )

    @property
    def length(self) -> int:
        """The ``len`` field: 8 + ``ctx_len``."""
        return SEC_CTX_HEADER_SIZE + len(self.context)

    def to_sadb(self) -> SadbSecCtx:
        """The same context as a PF_KEY extension (af_key.c copies doi, alg and len 1:1)."""
        return SadbSecCtx(self.context, self.doi, self.alg)


@dataclass(frozen=True, slots=True)
class SadbSecCtx(_ContextOctets):
    """The PF_KEY ``sadb_x_sec_ctx`` extension (SADB_X_EXT_SEC_CTX = 24) and its context.

    On the wire the context is followed by zeros up to a multiple of 8 bytes; the extension
    length counts 64-bit units. af_key.c refuses a ``sadb_x_ctx_len`` above 4096 (PAGE_SIZE)
    whatever the LSM, so such a value cannot be built here either.
    """

    context: bytes
    doi: int = Doi.LSM
    alg: int = Algorithm.SELINUX

    def __post_init__(self) -> None:
        context = _bytes_field(self, "context", 8)
        _check_u(self.doi, 8, "sadb_x_ctx_doi", 5)
        _check_u(self.alg, 8, "sadb_x_ctx_alg", 4)
        _plain_ints(self, "doi", "alg")
        if len(context) > MAX_SADB_CTX_LEN:
            raise IpsecEncodeError(
                f"the kernel refuses a PF_KEY context of {len(context)} bytes "
                f"(at most {MAX_SADB_CTX_LEN}, PAGE_SIZE)",
                6,
            )

    @property
    def units(self) -> int:
        """The ``sadb_x_sec_len`` field: ceil((8 + ctx_len) / 8) 64-bit units."""
        return (SEC_CTX_HEADER_SIZE + len(self.context) + 7) // 8

    @property
    def padding(self) -> int:
        """Zero bytes after the context, up to the next multiple of 8."""
        return -(SEC_CTX_HEADER_SIZE + len(self.context)) % 8

    def to_xfrm(self) -> XfrmSecCtx:
        """The ``xfrm_user_sec_ctx`` the kernel makes of it (doi, alg, len copied)."""
        return XfrmSecCtx(self.context, self.doi, self.alg)


@dataclass(frozen=True, slots=True)
class SecLabelSelector:
    """TS_SECLABEL (type 10, RFC 9478): an opaque security label in a TSi/TSr payload.

    ``label`` holds the octets as sent; implementations send an SELinux context with its
    trailing NUL (:meth:`from_context`). ``reserved`` is byte 1, sent as zero.
    """

    label: bytes
    reserved: int = 0

    def __post_init__(self) -> None:
        label = _bytes_field(self, "label", 4)
        _check_u(self.reserved, 8, "the reserved byte", 1)
        _plain_ints(self, "reserved")
        if not label:
            raise IpsecEncodeError("a TS_SECLABEL must not be empty (RFC 9478)", 4)
        if len(label) > MAX_SECLABEL_LENGTH:
            raise IpsecEncodeError(
                f"a label of {len(label)} bytes does not fit the 16-bit Selector Length", 2
            )

    @classmethod
    def from_context(cls, context: Context | str, *, nul: bool = True) -> SecLabelSelector:
        """The selector libreswan and strongSwan send: the context and a trailing NUL."""
        return cls(label_bytes(context, nul=nul))

    @property
    def ts_type(self) -> int:
        return TsType.SECLABEL

    @property
    def text(self) -> str:
        """The label as text, without the trailing NUL."""
        return label_text(self.label)

    def to_context(self) -> Context:
        return parse_label(self.label)


IPAddress: TypeAlias = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True, slots=True)
class AddressRangeSelector:
    """TS_IPV4_ADDR_RANGE (7) or TS_IPV6_ADDR_RANGE (8), RFC 7296 §3.13.1.

    ``ip_protocol`` 0 means any protocol; ports 0..65535 mean any port. The address family
    decides the type.
    """

    start_address: IPAddress
    end_address: IPAddress
    ip_protocol: int = 0
    start_port: int = 0
    end_port: int = 0xFFFF

    def __post_init__(self) -> None:
        start, end = self.start_address, self.end_address
        if not isinstance(start, (ipaddress.IPv4Address, ipaddress.IPv6Address)) or not (
            isinstance(end, type(start))
        ):
            raise IpsecEncodeError(
                "start and end address must both be IPv4Address or both IPv6Address", 8
            )
        _check_u(self.ip_protocol, 8, "IP Protocol ID", 1)
        _plain_ints(self, "ip_protocol", "start_port", "end_port")
        _check_u(self.start_port, 16, "Start Port", 4)
        _check_u(self.end_port, 16, "End Port", 6)

    @property
    def ts_type(self) -> int:
        if isinstance(self.start_address, ipaddress.IPv4Address):
            return TsType.IPV4_ADDR_RANGE
        return TsType.IPV6_ADDR_RANGE


@dataclass(frozen=True, slots=True)
class UnknownSelector:
    """A traffic selector of any other type, kept byte for byte: ``byte1`` is the byte after
    the type (IP Protocol ID in the address-range types), ``data`` what follows the 4-byte
    header."""

    ts_type: int
    data: bytes = b""
    byte1: int = 0

    def __post_init__(self) -> None:
        data = _bytes_field(self, "data", 4)
        _check_u(self.ts_type, 8, "TS Type", 0)
        _check_u(self.byte1, 8, "byte 1", 1)
        _plain_ints(self, "ts_type", "byte1")
        if self.ts_type in (TsType.IPV4_ADDR_RANGE, TsType.IPV6_ADDR_RANGE, TsType.SECLABEL):
            raise IpsecEncodeError(
                f"TS type {self.ts_type} has its own class; UnknownSelector is for the others", 0
            )
        if len(data) > MAX_SECLABEL_LENGTH:
            raise IpsecEncodeError(
                f"{len(data)} data bytes do not fit the 16-bit Selector Length", 2
            )


TrafficSelector: TypeAlias = AddressRangeSelector | SecLabelSelector | UnknownSelector


@dataclass(frozen=True, slots=True)
class TrafficSelectorPayload:
    """An IKEv2 TSi or TSr payload (RFC 7296 §3.13): generic payload header, Number of TSs,
    three reserved bytes, the selectors.

    ``next_payload`` is the type of the payload that follows (0 for none); ``critical`` is the
    header's C bit; ``flags`` the seven reserved bits beside it and ``reserved`` the three
    bytes after Number of TSs, both zero when sent and kept as received.
    """

    selectors: tuple[TrafficSelector, ...]
    next_payload: int = PayloadType.NONE
    critical: bool = False
    flags: int = 0
    reserved: bytes = b"\0\0\0"

    def __post_init__(self) -> None:
        given: object = self.selectors
        if not isinstance(given, tuple):
            if not isinstance(given, (list, Iterator)):
                raise IpsecEncodeError(f"selectors must be a tuple, not {type(given).__name__}", 8)
            given = tuple(given)
            object.__setattr__(self, "selectors", given)
        selectors: tuple[object, ...] = given
        for selector in selectors:
            if not isinstance(selector, (AddressRangeSelector, SecLabelSelector, UnknownSelector)):
                raise IpsecEncodeError(f"not a traffic selector: {selector!r}", 8)
        if not 1 <= len(selectors) <= 255:
            raise IpsecEncodeError(
                f"Number of TSs is one byte and at least 1, not {len(selectors)}", 4
            )
        _check_u(self.next_payload, 8, "Next Payload", 0)
        _plain_ints(self, "next_payload")
        if not isinstance(self.critical, bool):
            raise IpsecEncodeError(f"critical must be a bool, not {self.critical!r}", 1)
        _check_u(self.flags, 7, "the reserved header bits", 1)
        reserved = _bytes_field(self, "reserved", 5)
        if len(reserved) != 3:
            raise IpsecEncodeError(f"reserved is 3 bytes, not {len(reserved)}", 5)
        size = self.length
        if size > 0xFFFF:
            raise IpsecEncodeError(f"a payload of {size} bytes overflows Payload Length", 2)

    @property
    def labels(self) -> tuple[SecLabelSelector, ...]:
        """The TS_SECLABEL selectors (libreswan expects at most one per payload)."""
        return tuple(s for s in self.selectors if isinstance(s, SecLabelSelector))

    @property
    def length(self) -> int:
        """The Payload Length field: the whole payload, header included."""
        return 8 + sum(_selector_size(selector) for selector in self.selectors)


def _selector_size(selector: TrafficSelector) -> int:
    if isinstance(selector, SecLabelSelector):
        return 4 + len(selector.label)
    if isinstance(selector, UnknownSelector):
        return 4 + len(selector.data)
    return 16 if selector.ts_type == TsType.IPV4_ADDR_RANGE else 40
