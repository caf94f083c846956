"""What the NetLabel client sends and returns: protocol numbers, mappings and labels.

Standard library only at run time; the CIPSO and CALIPSO DOI definitions themselves are the
``cipso.CipsoDoi`` and ``calipso.CalipsoDoi`` classes.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from enum import IntEnum
from typing import TypeAlias

__all__ = [
    "AddressSelector",
    "DoiSummary",
    "DomainMap",
    "Labeling",
    "Network",
    "Protocol",
    "StaticLabel",
    "format_network",
    "network_from_mask",
    "parse_network",
]

Network: TypeAlias = ipaddress.IPv4Network | ipaddress.IPv6Network


class Protocol(IntEnum):
    """NetLabel protocol numbers (``NETLBL_NLTYPE_*``), as in ``NLBL_MGMT_A_PROTOCOL``."""

    NONE = 0  # no protocol
    MGMT = 1  # the management family itself
    RIPSO = 2  # reserved, never implemented
    CIPSOV4 = 3  # CIPSO over IPv4
    CIPSOV6 = 4  # reserved, never implemented
    UNLABELED = 5  # packets carry no label
    ADDRSELECT = 6  # kernel-internal: a mapping split by address selectors
    CALIPSO = 7  # CALIPSO over IPv6


_NEEDS_DOI = (Protocol.CIPSOV4, Protocol.CALIPSO)
_U32_MAX = 0xFFFFFFFF


@dataclass(frozen=True, slots=True)
class Labeling:
    """How traffic of a mapping is labeled: unlabeled, or CIPSO/CALIPSO with a DOI."""

    protocol: Protocol
    doi: int | None = None

    def __post_init__(self) -> None:
        if self.protocol in _NEEDS_DOI:
            if self.doi is None or not 0 < self.doi <= _U32_MAX:
                raise ValueError(
                    f"{self.protocol.name} labeling needs a DOI in 1..{_U32_MAX}, got {self.doi}"
                )
        elif self.protocol is Protocol.UNLABELED:
            if self.doi is not None:
                raise ValueError("UNLABELED labeling takes no DOI")
        else:
            raise ValueError(f"a mapping cannot use protocol {self.protocol!r}")

    @classmethod
    def unlabeled(cls) -> Labeling:
        return cls(Protocol.UNLABELED)

    @classmethod
    def cipso(cls, doi: int) -> Labeling:
        return cls(Protocol.CIPSOV4, doi)

    @classmethod
    def calipso(cls, doi: int) -> Labeling:
        return cls(Protocol.CALIPSO, doi)


@dataclass(frozen=True, slots=True)
class AddressSelector:
    """One address range of a mapping and the labeling used for it."""

    network: Network
    labeling: Labeling


@dataclass(frozen=True, slots=True)
class DomainMap:
    """One entry of the NetLabel domain mapping table, as the kernel lists it.

    ``domain`` is the LSM domain (None for the default mapping). ``family`` is the address
    family the entry covers (``AF_UNSPEC`` for both). An entry has either one ``labeling`` for
    all traffic, or ``selectors`` (then ``labeling`` is None). The kernel keeps IPv4 and IPv6
    entries apart, so one domain with selectors of both families lists as two entries.
    """

    domain: str | None
    family: socket.AddressFamily
    labeling: Labeling | None = None
    selectors: tuple[AddressSelector, ...] = ()

    def __post_init__(self) -> None:
        if (self.labeling is None) == (not self.selectors):
            raise ValueError("a domain map has either a labeling or address selectors")

    @property
    def is_default(self) -> bool:
        return self.domain is None


@dataclass(frozen=True, slots=True)
class DoiSummary:
    """A DOI as the LISTALL dumps give it: its number and mapping type.

    ``map_type`` is a ``cipso.MapType`` or ``calipso.MapType`` member, or the plain number
    when the kernel reports a type this library does not know.
    """

    doi: int
    map_type: int


@dataclass(frozen=True, slots=True)
class StaticLabel:
    """A static (fallback) label for unlabeled traffic from an address range.

    ``interface`` is None for the default entries that apply on every interface.
    """

    interface: str | None
    network: Network
    label: str


def parse_network(text: str) -> Network:
    """Parse ``ADDR[/BITS]`` as netlabelctl does: no prefix means one host.

    Host bits are allowed and cleared, as the kernel clears them.

    >>> parse_network("192.168.1.7/24")
    IPv4Network('192.168.1.0/24')
    >>> parse_network("::1")
    IPv6Network('::1/128')
    """
    try:
        return ipaddress.ip_network(text, strict=False)
    except ValueError as exc:
        raise ValueError(f"not an IPv4 or IPv6 address[/prefix]: {text!r}") from exc


def network_from_mask(address: bytes, mask: bytes) -> Network:
    """Build a network from the raw address and mask attributes of a kernel reply.

    The prefix length is counted as netlabelctl counts it (up to the last one bit of the
    mask), so a non-contiguous mask, which only a raw netlink client could set, prints alike.
    """
    if len(address) not in (4, 16) or len(mask) != len(address):
        raise ValueError(f"address/mask of {len(address)}/{len(mask)} bytes")
    bits = len(mask) * 8
    value = int.from_bytes(mask, "big")
    prefix = bits - ((value & -value).bit_length() - 1) if value else 0
    host = ipaddress.ip_address(address)
    return ipaddress.ip_network((host, prefix), strict=False)


def format_network(network: Network) -> str:
    """``ADDR/BITS`` with the address as ``inet_ntop`` writes it (as netlabelctl prints).

    >>> format_network(parse_network("fd00::/8"))
    'fd00::/8'
    """
    family = socket.AF_INET if network.version == 4 else socket.AF_INET6
    text = socket.inet_ntop(family, network.network_address.packed)
    return f"{text}/{network.prefixlen}"
