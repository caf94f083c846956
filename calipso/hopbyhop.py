"""The IPv6 hop-by-hop options header around a CALIPSO option, built as Linux builds it.

A hop-by-hop header is a next-header byte, a length byte (``len / 8 - 1``) and a sequence of
TLV options; Pad1 (one zero byte) and PadN fill it to a multiple of 8 bytes. Linux places
CALIPSO at an offset of 4n + 2 so that its DOI is 4-byte aligned, and edits a header that
already carries other options without moving them off their alignment modulo 8
(net/ipv6/calipso.c: calipso_pad_write, calipso_opt_find, calipso_opt_insert,
calipso_opt_del; calipso.md §4).
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar

from mls._tlv import TlvBase

from ._codec import encode
from .errors import IPV6_HEADER_LENGTH, CalipsoEncodeError, HopByHopError
from .model import OPTION_TYPE, CalipsoOption

__all__ = [
    "IPV6_HEADER_LENGTH",
    "MAX_HEADER_LENGTH",
    "OptionType",
    "Tlv",
    "UnknownAction",
    "build_header",
    "check_header",
    "find_option",
    "insert_option",
    "iter_options",
    "pad",
    "remove_option",
]
#: The length byte counts 8-byte units beyond the first: at most 256 units.
MAX_HEADER_LENGTH = 2048
#: Leading pad before an option that would start at ``offset & 3`` (0, 1, 2, 3), so that it
#: starts at 4n + 2 instead (calipso_genopt's ``padding[]``).
_LEADING_PAD = (2, 1, 0, 3)


class OptionType(enum.IntEnum):
    """Hop-by-hop option types Linux handles itself (include/uapi/linux/in6.h)."""

    PAD1 = 0x00  #: one byte of padding, no length byte
    PADN = 0x01  #: N bytes of padding: type, N - 2, then N - 2 zero bytes
    ROUTER_ALERT = 0x05  #: RFC 2711; dropped unless its data length is 2
    CALIPSO = OPTION_TYPE  #: RFC 5570 (0x07), this package
    IOAM = 0x31  #: RFC 9486; dropped unless at 4n, otherwise ignored while IOAM is disabled
    JUMBO = 0xC2  #: RFC 2675 Jumbo Payload


class UnknownAction(enum.IntEnum):
    """What a node does with an option type it does not know: the type's two top bits
    (RFC 8200 §4.2, ip6_tlvopt_unknown in net/ipv6/exthdrs.c)."""

    SKIP = 0  #: skip over the option and go on
    DISCARD = 1  #: drop the packet silently
    DISCARD_ICMP = 2  #: drop and send ICMPv6 Parameter Problem code 2 pointing at the type
    DISCARD_ICMP_UNICAST = 3  #: the same, but silently when the destination is multicast


@dataclass(frozen=True, slots=True)
class Tlv(TlvBase):
    """One option of a hop-by-hop header: its header offset, type and data bytes (the bytes
    after the type and length bytes; empty for Pad1).

    ``fault`` is set only by a tolerant walk (``iter_options(strict=False)``), on the last
    option it yields: the walk cannot go on past it, ``fault`` says why and ``fault_offset``
    is the byte at fault; ``data`` is then what the header holds of it.
    """

    SINGLE_BYTE_TYPES: ClassVar[frozenset[int]] = frozenset((OptionType.PAD1,))

    @property
    def is_padding(self) -> bool:
        return self.type in (OptionType.PAD1, OptionType.PADN)

    @property
    def action(self) -> UnknownAction:
        """What a node that does not know this type does with it."""
        return UnknownAction(self.type >> 6)


def check_header(header: bytes) -> None:
    """Raise :class:`~calipso.HopByHopError` unless ``header`` is one whole hop-by-hop header:
    8..2048 bytes, a multiple of 8, its length byte saying so."""
    size = len(header)
    if size < 8 or size % 8 or size > MAX_HEADER_LENGTH:
        raise HopByHopError(
            f"a hop-by-hop header is 8..{MAX_HEADER_LENGTH} bytes in units of 8, not {size}",
            min(size, 1),
        )
    if (header[1] + 1) * 8 != size:
        raise HopByHopError(
            f"the length byte {header[1]} means {(header[1] + 1) * 8} bytes, not {size}", 1
        )


def iter_options(header: bytes, *, strict: bool = True) -> Iterator[Tlv]:
    """The header's options in order.

    ``strict`` raises :class:`~calipso.HopByHopError` when the header is not whole
    (:func:`check_header`) and, when the walk reaches it, at an option that runs past its end
    (calipso_tlv_len). ``strict=False`` walks whatever the bytes hold of the header, up to the
    size its length byte says, and yields the option that runs past the end last, with its
    ``fault`` set, so that a reader of captures can still show it.
    """
    if strict:
        check_header(header)
        size = len(header)
    else:
        size = min(len(header), (header[1] + 1) * 8 if len(header) > 1 else 0)
    offset = 2
    while offset < size:
        kind = header[offset]
        if kind == OptionType.PAD1:
            yield Tlv(offset, kind, b"")
            offset += 1
            continue
        fault, at = "", offset
        if offset + 1 >= size:
            fault = f"option type {kind:#04x} has no length byte"
        else:
            end = offset + 2 + header[offset + 1]
            if end > size:
                fault, at = (
                    (
                        f"option type {kind:#04x} of {end - offset} bytes runs past the end of the "
                        f"{size}-byte header"
                    ),
                    offset + 1,
                )
        if fault:
            if strict:
                raise HopByHopError(fault, at)
            yield Tlv(offset, kind, bytes(header[offset + 2 : size]), fault, at)
            return
        yield Tlv(offset, kind, bytes(header[offset + 2 : end]))
        offset = end


def find_option(header: bytes) -> int | None:
    """Header offset of the first CALIPSO option, or None (the option the kernel reads a
    packet's label from)."""
    for tlv in iter_options(header):
        if tlv.type == OPTION_TYPE:
            return tlv.offset
    return None


def pad(count: int) -> bytes:
    """``count`` bytes of padding as calipso_pad_write writes them: nothing, Pad1, or PadN
    (``01``, ``count - 2``, zeros). Counts of 8 or more are refused, as in the kernel."""
    if not 0 <= count < 8:
        raise CalipsoEncodeError(f"padding is 0..7 bytes, not {count}")
    if count == 0:
        return b""
    if count == 1:
        return b"\x00"
    return bytes((OptionType.PADN, count - 2)) + bytes(count - 2)


def build_header(option: CalipsoOption | bytes, *, next_header: int = 0) -> bytes:
    """A new hop-by-hop header holding just ``option``, as calipso_opt_insert builds it for a
    socket without one: the option at offset 2, padding up to a multiple of 8."""
    return insert_option(None, option, next_header=next_header)


def insert_option(
    header: bytes | None, option: CalipsoOption | bytes, *, next_header: int | None = None
) -> bytes:
    """``header`` with ``option`` put in, as calipso_opt_insert does.

    An existing CALIPSO option is replaced together with the padding around it; otherwise the
    option goes after the last non-pad option and takes the place of the trailing padding.
    Options before it are kept as they are; options after it keep their offsets modulo 8.
    ``header=None`` builds a new header. ``next_header`` defaults to the existing header's
    first byte (0 for a new header; the kernel fills it in when it sends the packet).
    """
    data = _option_bytes(option)
    if header is None:
        start, end, first = 2, 0, 0
        kept = b""
    else:
        header = bytes(header)
        start, end, _found = _calipso_span(header)
        first = header[0]
        kept = header[2:start]
    leading = pad(_LEADING_PAD[start & 3])
    new_end = start + len(leading) + len(data)
    # The kernel writes ((new_end & 4) + (end & 7)) & 7 bytes; new_end is 4n there, and
    # (end - new_end) & 7 is the same number while also covering options of odd sizes.
    trailing = pad((end - new_end) & 7)
    tail = b"" if header is None else header[end:]
    total = new_end + len(trailing) + len(tail)
    if total > MAX_HEADER_LENGTH:
        raise CalipsoEncodeError(
            f"the hop-by-hop header would be {total} bytes, more than {MAX_HEADER_LENGTH}"
        )
    if next_header is None:
        next_header = first
    elif not 0 <= next_header <= 255:
        raise CalipsoEncodeError(f"a next-header value is one byte, not {next_header}", 0)
    return bytes((next_header, total // 8 - 1)) + kept + leading + data + trailing + tail


def remove_option(header: bytes) -> bytes | None:
    """``header`` without its CALIPSO option, as calipso_opt_del does, or None when nothing
    else is left (the whole header goes). A header without CALIPSO comes back unchanged.

    The option and its surrounding padding are cut out in multiples of 8 bytes and the rest
    of the span is refilled with padding, so later options keep their alignment.
    """
    header = bytes(header)
    start, end, found = _calipso_span(header)
    if not found:
        return header
    if start == 2 and end == len(header):
        return None
    span = end - start
    removed_units = span >> 3
    return (
        bytes((header[0], header[1] - removed_units))
        + header[2:start]
        + pad(span & 7)
        + header[end:]
    )


def _option_bytes(option: CalipsoOption | bytes) -> bytes:
    if isinstance(option, CalipsoOption):
        return encode(option)
    data = bytes(option)
    if len(data) < 2 or data[0] != OPTION_TYPE or data[1] + 2 != len(data):
        raise CalipsoEncodeError(
            "an option to insert is one whole CALIPSO TLV (type 0x07, length byte matching)", 0
        )
    return data


def _calipso_span(header: bytes) -> tuple[int, int, bool]:
    """calipso_opt_find: ``(start, end, found)``.

    ``start`` is the end of the last non-pad, non-CALIPSO option before the first CALIPSO
    option (2 if none); ``end`` is the end of the padding (and any further CALIPSO options)
    that follows it, up to the next other option, or the header's end when there is no
    CALIPSO option, so that trailing padding is reclaimed.
    """
    last_other: Tlv | None = None
    last_calipso_or_pad: Tlv | None = None
    found = False
    for tlv in iter_options(header):
        if tlv.is_padding:
            if last_calipso_or_pad is not None:
                last_calipso_or_pad = tlv
        elif tlv.type == OPTION_TYPE:
            found = True
            last_calipso_or_pad = tlv
        elif last_calipso_or_pad is None:
            last_other = tlv
        else:
            break
    start = 2 if last_other is None else last_other.end
    end = len(header) if last_calipso_or_pad is None else last_calipso_or_pad.end
    return start, end, found
