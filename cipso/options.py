"""The IPv4 options area around a CIPSO option, walked as Linux walks it.

An IPv4 options area is the 0..40 bytes after the 20-byte base header: single-byte options
(End of Option List, No Operation) and TLV options (type, length counting itself, data). The
kernel walks it in ``ip_options_compile`` (net/ipv4/ip_options.c) on receive and in
``cipso_v4_optptr`` (net/ipv4/cipso_ipv4.c) to find the label; it pads the options it builds
with End of Option List bytes to a multiple of 4 (``cipso_v4_sock_setattr``). This module is the
one place that knows those rules; :mod:`calipso.hopbyhop` is its IPv6 counterpart.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar

from mls._tlv import TlvBase

from ._codec import encode
from .errors import CipsoEncodeError, OptionsAreaError
from .model import OPTION_TYPE, CipsoOption

__all__ = [
    "MAX_AREA_LENGTH",
    "OptionType",
    "Tlv",
    "build_options",
    "find_option",
    "iter_options",
]

#: The IPv4 header length field counts 32-bit words, at most 15: 60 bytes, 40 of them options.
MAX_AREA_LENGTH = 40


class OptionType(enum.IntEnum):
    """IPv4 option types the kernel's option walker handles (include/uapi/linux/ip.h)."""

    END = 0  #: IPOPT_END: the end of the options; what follows is padding
    NOOP = 1  #: IPOPT_NOOP: one byte, for alignment
    RECORD_ROUTE = 7  #: IPOPT_RR
    TIMESTAMP = 68  #: IPOPT_TIMESTAMP
    LSRR = 131  #: IPOPT_LSRR: loose source route
    CIPSO = OPTION_TYPE  #: IPOPT_CIPSO (134): this package
    SSRR = 137  #: IPOPT_SSRR: strict source route
    ROUTER_ALERT = 148  #: IPOPT_RA


#: Timestamp flags value (low nibble of the fourth byte) of prespecified addresses.
TIMESTAMP_PRESPECIFIED = 3
#: Options made of their type byte alone.
SINGLE_BYTE = frozenset((OptionType.END, OptionType.NOOP))
SOURCE_ROUTES = frozenset((OptionType.LSRR, OptionType.SSRR))


@dataclass(frozen=True, slots=True)
class Tlv(TlvBase):
    """One option of an options area: its offset in the area, its type and its data (the bytes
    after the type and length bytes; empty for End of Option List and No Operation).

    ``fault`` is set only by a tolerant walk (``iter_options(strict=False)``), on the last
    option it yields: the walk cannot go on past it, ``fault`` says why and ``fault_offset``
    is the byte the kernel blames (the option's type byte); ``data`` is then what the area
    holds of it.
    """

    SINGLE_BYTE_TYPES: ClassVar[frozenset[int]] = SINGLE_BYTE

    @property
    def is_padding(self) -> bool:
        return self.type in SINGLE_BYTE


def iter_options(area: bytes, *, strict: bool = True) -> Iterator[Tlv]:
    """The options of an IPv4 options area in order, up to and including End of Option List.

    An option other than End of Option List and No Operation needs a length byte of at least
    2 that fits the area (``ip_options_compile``). ``strict`` raises
    :class:`cipso.OptionsAreaError` at the first option that breaks this, with the offset of
    its type byte (the kernel's ICMP pointer there); ``strict=False`` yields that option last
    with its ``fault`` set instead, so that a reader of captures can still show it.
    """
    size = len(area)
    position = 0
    while position < size:
        kind = area[position]
        if kind in SINGLE_BYTE:
            yield Tlv(position, kind, b"")
            if kind == OptionType.END:
                return
            position += 1
            continue
        left = size - position
        fault = ""
        if left < 2:
            fault = f"option {kind} has no length byte"
        else:
            length = area[position + 1]
            if length < 2 or length > left:
                fault = f"option {kind} length {length} does not fit ({left} left)"
        if fault:
            if strict:
                raise OptionsAreaError(fault, position)
            yield Tlv(position, kind, bytes(area[position + 2 :]), fault, position)
            return
        yield Tlv(position, kind, bytes(area[position + 2 : position + length]))
        position += length


def find_option(area: bytes) -> int | None:
    """Where the first CIPSO option starts in an IPv4 options area, or None, as
    ``cipso_v4_optptr`` finds it: End of Option List stops, and an option whose length is
    broken (the CIPSO option's own included) ends the search."""
    for tlv in iter_options(area, strict=False):
        if tlv.fault:
            return None
        if tlv.type == OptionType.CIPSO:
            return tlv.offset
    return None


def build_options(options: CipsoOption | bytes) -> bytes:
    """An options area holding ``options`` (a CIPSO option, or option bytes), padded with End
    of Option List bytes to a multiple of 4 as ``cipso_v4_sock_setattr`` pads the options it
    builds; :class:`cipso.CipsoEncodeError` when they exceed 40 bytes. The counterpart of
    :func:`calipso.build_header`."""
    if isinstance(options, CipsoOption):
        options = encode(options)
    padded = bytes(options) + bytes(-len(options) % 4)
    if len(padded) > MAX_AREA_LENGTH:
        raise CipsoEncodeError(
            f"IPv4 options are at most {MAX_AREA_LENGTH} bytes, not {len(padded)}"
        )
    return padded
