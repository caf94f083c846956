"""Read pcap and pcapng captures as a stream and find the labeled IP packets in them.

A capture is read in *segments*: a run of whole records (pcap) or blocks (pcapng) about a
megabyte long, with what is needed to read them on their own (byte order, link type,
timestamp resolution, the first packet's number). :func:`read_segments` frames a file into
segments and is the only place that can fail on a broken file: a record that runs past the end
of the file or a length no capture writer produces raises :class:`CaptureError` with the packet
number, after every segment before it has been handed out. :func:`labeled_packets` walks the
packets of one segment down to their IP header (Ethernet with 802.1Q/802.1ad VLAN tags, raw IP,
Linux cooked captures v1 and v2, BSD loopback) and yields those that carry a label: IPv4 packets
with a CIPSO option in their options area, IPv6 packets whose hop-by-hop header (which can only
come first, RFC 8200 section 4.1; it is also the only one the kernel checks) holds a CALIPSO
option, and IPv6 packets with a CALIPSO option in a destination options header that comes
first or right after the hop-by-hop header (the kernel skips it there: it is shown so).
Memory stays constant whatever the file size; segments can be handed to worker processes
because each is self-contained.

Why a reader of our own rather than dpkt's: measured on a 200,000-packet Ethernet capture
(20 MB, Python 3.11, one core of this machine), just framing the records and slicing out each
packet's bytes:

============================  ================
reader                        records/s
============================  ================
``dpkt.pcap.Reader``           449,000
``dpkt.pcapng.Reader``         236,000
``struct`` over a buffered     4,712,000
file (``read(16)``,
``read(caplen)``)
``struct.unpack_from`` over    2,479,000
1 MB chunks
============================  ================

dpkt alone would spend 2.2 µs (pcap) or 4.2 µs (pcapng) per packet before any label work:
40 % to 76 % of the 5.5 µs per packet that three times tshark's speed allows (tshark
``-T fields`` manages about 60,000 labeled packets/s here). It also reads one file object from
the front, so it cannot hand self-contained pieces to worker processes. Framing in memory
chunks is slower than buffered ``read`` calls when framing is all there is, but the packet walk
then looks at each packet in place inside the chunk (no copy of the packets that carry no
label), and the same chunks go to worker processes unchanged. The whole dump (framing,
walking, labels, verdicts, text) runs at 350,000 to 550,000 packets/s on one core. dpkt's
writers are used by the tests to produce captures this reader has to agree with.
"""

from __future__ import annotations

import enum
import ipaddress
import os
import struct
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from typing import Any, BinaryIO

import calipso
import cipso

__all__ = [
    "AreaKind",
    "CaptureError",
    "Interface",
    "LabeledPacket",
    "LinkType",
    "PcapngWriter",
    "Segment",
    "ipv4_packet",
    "ipv6_packet",
    "is_capture_magic",
    "iter_labeled",
    "labeled_frame",
    "labeled_packets",
    "read_segments",
    "write_pcap",
    "write_pcapng",
]


class LinkType(enum.IntEnum):
    """The link-layer header types this reader walks (tcpdump.org/linktypes.html)."""

    NULL = 0  #: BSD loopback: 4-byte address family in the writer's byte order
    ETHERNET = 1  #: IEEE 802.3 Ethernet, possibly with 802.1Q / 802.1ad VLAN tags
    RAW = 101  #: raw IP, version in the first nibble
    LOOP = 108  #: OpenBSD loopback: 4-byte address family, big-endian
    LINUX_SLL = 113  #: Linux cooked capture v1: 16-byte header, protocol at offset 14
    IPV4 = 228  #: raw IPv4
    IPV6 = 229  #: raw IPv6
    LINUX_SLL2 = 276  #: Linux cooked capture v2: 20-byte header, protocol at offset 0


class CaptureError(ValueError):
    """The capture file is not readable: not pcap or pcapng, truncated, or a corrupt record.

    ``packet`` is the number of the packet (counting from 1, as Wireshark does) whose record
    is broken, or None for a problem in the file header; ``offset`` is the byte offset of the
    broken record or field in the file.
    """

    def __init__(self, reason: str, offset: int, packet: int | None = None) -> None:
        self.reason = reason
        self.offset = offset
        self.packet = packet
        where = f"packet {packet}" if packet is not None else "file header"
        super().__init__(f"{where} (file byte {offset}): {reason}")


#: The largest record a capture writer produces (libpcap's MAXIMUM_SNAPLEN is 262144); a
#: larger length means the record header is garbage, unless the file's snapshot length allows
#: it. Nothing beyond 16 MiB is believed at all.
MAX_RECORD = 262_144
_ABSOLUTE_MAX_RECORD = 16 << 20

_PCAP_MAGIC_MICRO = 0xA1B2C3D4
_PCAP_MAGIC_NANO = 0xA1B23C4D
_PCAPNG_SHB = 0x0A0D0D0A
_PCAPNG_BYTE_ORDER = 0x1A2B3C4D
_SHB, _IDB, _PB, _SPB, _EPB = _PCAPNG_SHB, 1, 2, 3, 6
_SHB_BYTES = b"\x0a\x0d\x0d\x0a"  # the same in either byte order
_PACKET_BLOCKS = frozenset((_EPB, _PB, _SPB))
#: What a capture's first four bytes are, read in either byte order.
_MAGICS = frozenset((_PCAP_MAGIC_MICRO, _PCAP_MAGIC_NANO, _PCAPNG_SHB))

_ETHERTYPE_IPV4 = 0x0800
_ETHERTYPE_IPV6 = 0x86DD
_IP_TYPES = frozenset((_ETHERTYPE_IPV4, _ETHERTYPE_IPV6))
#: 802.1Q customer tag, 802.1ad service tag, and the pre-standard QinQ 0x9100.
_VLAN_TYPES = frozenset((0x8100, 0x88A8, 0x9100))
#: BSD address families for IPv6 (NetBSD/OpenBSD 24, FreeBSD 28, Darwin 30); IPv4 is 2.
_AF_INET6 = frozenset((24, 28, 30))

# The option types, for a quick byte test before the protocols' own walkers run.
_CIPSO = int(cipso.OptionType.CIPSO)
_CALIPSO = int(calipso.OptionType.CALIPSO)


class AreaKind(enum.IntEnum):
    """What the ``area`` of a labeled packet is (the third value of :data:`LabeledTuple`).

    The kernel reads CALIPSO only in the hop-by-hop header; a CALIPSO option in a destination
    options header is still found, and shown with what the kernel does with it.
    """

    IPV4_OPTIONS = 4  #: the IPv4 options area (the bytes after the 20-byte base header)
    HOP_BY_HOP = 6  #: the IPv6 hop-by-hop header
    #: the IPv6 destination options header right after the IPv6 header
    DESTINATION_OPTIONS = 60
    #: a hop-by-hop header without the CALIPSO type's byte, then the destination options
    #: header after it (both, the area starting where the IPv6 header ends). A hop-by-hop
    #: header that holds the byte 0x07 anywhere is taken for a CALIPSO carrier and the header
    #: after it is not looked at: one test fewer for every labeled IPv6 packet.
    HOP_BY_HOP_AND_DESTINATION_OPTIONS = 61


@dataclass(frozen=True, slots=True)
class Interface:
    """What a pcapng Interface Description Block (or a pcap header) says about its packets."""

    linktype: int
    snaplen: int
    #: Timestamp units: 10**-digits seconds when ``binary`` is False, else 2**-digits.
    digits: int = 6
    binary: bool = False
    #: if_tsoffset: seconds to add to every timestamp.
    offset: int = 0


@dataclass(frozen=True, slots=True)
class Segment:
    """Whole records of one capture, readable on their own.

    ``data`` holds pcap records (16-byte header, packet) or pcapng blocks; ``little`` is the
    byte order; ``interfaces`` the interfaces known when the segment starts (one for pcap;
    pcapng blocks inside the segment may add more); ``first_packet`` the number of the first
    packet in it; ``end`` the file offset just past it and ``packets`` how many packets it
    holds (for progress).
    """

    pcapng: bool
    little: bool
    interfaces: tuple[Interface, ...]
    first_packet: int
    data: bytes
    end: int
    packets: int

    @property
    def last_packet(self) -> int:
        """The number of the segment's last packet (``first_packet - 1`` when it has none)."""
        return self.first_packet + self.packets - 1


@dataclass(frozen=True, slots=True)
class LabeledPacket:
    """One packet that carries a label option, as :func:`labeled_packets` finds it.

    ``version`` is 4 or 6; ``area`` is the IPv4 options area (the bytes after the 20-byte base
    header) or the whole IPv6 hop-by-hop header, or for a CALIPSO option in a destination
    options header the IPv6 extension headers up to the end of that one (``kind`` says which,
    :class:`AreaKind`); ``truncated`` says the capture holds fewer
    bytes of it than the header claims (the snapshot length cut it). ``time`` is the exact
    timestamp in seconds as decimal text.
    """

    number: int
    time: str
    version: int
    source: bytes
    destination: bytes
    area: bytes
    truncated: bool
    kind: AreaKind = AreaKind.IPV4_OPTIONS


# -- framing ------------------------------------------------------------------------------------


def read_segments(stream: BinaryIO, chunk_size: int = 1 << 20) -> Iterator[Segment]:
    """Frame a pcap or pcapng stream into :class:`Segment` objects of about ``chunk_size``
    bytes each. Raises :class:`CaptureError` where the file breaks, after the segments before."""
    head = _read_exactly(stream, 4)
    if len(head) < 4:
        raise CaptureError(f"the file is {len(head)} bytes, too short for a capture header", 0)
    if int.from_bytes(head, "little") == _PCAPNG_SHB:
        yield from _pcapng_segments(stream, head, chunk_size)
    else:
        yield from _pcap_segments(stream, head, chunk_size)


def is_capture_magic(head: bytes) -> bool:
    """Whether the four bytes ``head`` start a file :func:`read_segments` reads: pcap (either
    byte order, micro- or nanosecond times) or pcapng."""
    return len(head) == 4 and (
        int.from_bytes(head, "little") in _MAGICS or int.from_bytes(head, "big") in _MAGICS
    )


def grouped_segments(segments: Iterable[Segment], size: int) -> Iterator[list[Segment]]:
    """Consecutive segments of one capture in groups of ``size`` bytes or more (the last may
    be smaller): fewer, bigger pieces of work. A :class:`CaptureError` from ``segments`` is
    raised after the groups before it have been yielded."""
    group: list[Segment] = []
    length = 0
    try:
        for segment in segments:
            group.append(segment)
            length += len(segment.data)
            if length >= size:
                yield group
                group, length = [], 0
    except CaptureError:
        if group:
            yield group
        raise
    if group:
        yield group


def joined_segment(group: list[Segment], *, with_data: bool = True) -> Segment:
    """One segment holding the records of a group of consecutive ones; ``with_data=False``
    leaves their bytes out (it says where they lie, for a reader of the file)."""
    # The first segment's start state (byte order, interfaces) is the joined one's: the packet
    # walk follows the section and interface blocks inside, as it does within one segment.
    first = group[0]
    if len(group) == 1 and with_data:
        return first
    data = b"".join(s.data for s in group) if with_data else b""
    return replace(first, data=data, end=group[-1].end, packets=sum(s.packets for s in group))


def _read_exactly(stream: BinaryIO, size: int) -> bytes:
    data = stream.read(size)
    if len(data) == size or not data:
        return data
    parts = [data]
    got = len(data)
    while got < size:
        more = stream.read(size - got)
        if not more:
            break
        parts.append(more)
        got += len(more)
    return b"".join(parts)


def _pcap_header(stream: BinaryIO, head: bytes) -> tuple[bool, Interface]:
    """The byte order and the one interface of a pcap file, from its 24-byte header."""
    magic = int.from_bytes(head, "little")
    if magic in (_PCAP_MAGIC_MICRO, _PCAP_MAGIC_NANO):
        little = True
    elif int.from_bytes(head, "big") in (_PCAP_MAGIC_MICRO, _PCAP_MAGIC_NANO):
        little = False
        magic = int.from_bytes(head, "big")
    else:
        raise CaptureError(
            f"not a pcap or pcapng file (magic bytes {head.hex(' ')}; pcap starts a1 b2 c3 d4 "
            "or d4 c3 b2 a1, pcapng 0a 0d 0d 0a)",
            0,
        )
    rest = _read_exactly(stream, 20)
    if len(rest) < 20:
        raise CaptureError(f"the pcap header is {4 + len(rest)} bytes, not 24 (truncated)", 4)
    order = "<" if little else ">"
    major, _minor, _zone, _sigfigs, snaplen, network = struct.unpack(order + "HHiIII", rest)
    if major != 2:
        raise CaptureError(f"pcap version {major} is not 2", 4)
    linktype = network & 0xFFFF  # the upper bits carry the FCS length (LINKTYPE_FCS)
    _check_linktype(linktype, 20, None)
    digits = 9 if magic == _PCAP_MAGIC_NANO else 6
    return little, Interface(linktype, snaplen, digits)


def _pcap_segments(stream: BinaryIO, head: bytes, chunk_size: int) -> Iterator[Segment]:
    little, interface = _pcap_header(stream, head)
    interfaces = (interface,)
    snaplen = interface.snaplen
    limit = min(max(snaplen, MAX_RECORD), _ABSOLUTE_MAX_RECORD)
    unpack = struct.Struct(("<" if little else ">") + "8xI").unpack_from

    position = 24  # file offset of buf[0]
    number = 1
    buf = b""
    wanted = chunk_size
    while True:
        chunk = stream.read(wanted)
        if not chunk:
            break
        buf = buf + chunk if buf else chunk
        end = len(buf)
        last = end - 16  # the last place a whole record header can start
        pos = 0
        count = 0
        caplen = 0
        error = None
        # Each record is stepped over without checking that it fits; only the last one can
        # overshoot the buffer, and is stepped back over after the loop (0.7x the time per record).
        while pos <= last:
            caplen = unpack(buf, pos)[0]
            if caplen > limit:
                # Raised once the records before it, whole and good, are output.
                error = CaptureError(
                    f"record length {caplen} is larger than any capture writer produces "
                    f"(snapshot length {snaplen}): corrupt record header",
                    position + pos,
                    number + count,
                )
                break
            pos += 16 + caplen
            count += 1
        # A record longer than a read is read whole next time: read by pieces, it would be
        # copied once per piece (16 MiB records read 256 KiB at a time: 17x the time).
        wanted = chunk_size
        if pos > end:  # the last record goes on in the next read
            wanted = max(chunk_size, pos - end)
            pos -= 16 + caplen
            count -= 1
        if count:
            yield Segment(False, little, interfaces, number, buf[:pos], position + pos, count)
            number += count
        if error is not None:
            raise error
        position += pos
        buf = buf[pos:]
    if buf:
        if len(buf) < 16:
            reason = f"the file ends inside the record header ({len(buf)} of 16 bytes)"
        else:
            caplen = unpack(buf, 0)[0]
            reason = f"the file ends inside the record ({len(buf) - 16} of {caplen} bytes)"
        raise CaptureError(reason + ": truncated capture", position, number)


def _check_linktype(linktype: int, offset: int, packet: int | None) -> None:
    if linktype not in _LINKTYPES:
        known = ", ".join(f"{t.value} ({t.name})" for t in LinkType)
        raise CaptureError(
            f"link type {linktype} is not supported (supported: {known})", offset, packet
        )


_LINKTYPES = frozenset(int(t) for t in LinkType)


def _pcapng_segments(stream: BinaryIO, head: bytes, chunk_size: int) -> Iterator[Segment]:
    framer = _PcapngFramer()
    buf = head
    base = 0  # where the next segment starts in buf
    position = 0  # file offset of buf[0]
    number = 1
    at_eof = False
    stalled = True
    while True:
        if not at_eof and (stalled or len(buf) - base < chunk_size):
            # A block longer than a read is read whole (see _pcap_segments).
            chunk = stream.read(max(chunk_size, framer.missing))
            if chunk:
                # The framed part is dropped here, once per read, not once per segment: a
                # file of tiny sections must not copy the buffer for each of them.
                position += base
                buf = buf[base:] + chunk
                base = 0
            else:
                at_eof = True
        start_little, start_interfaces = framer.little, framer.interfaces
        stop, count, error = framer.frame(buf, base, position, number)
        stalled = stop == base
        if stop > base:
            data = buf[base:stop]
            yield Segment(
                True, start_little, start_interfaces, number, data, position + stop, count
            )
            number += count
            base = stop
        if error is not None:  # after the good blocks before it
            raise error
        if stalled and at_eof:
            break
    if base < len(buf):
        raise CaptureError(
            f"the file ends inside a block ({len(buf) - base} bytes left): truncated capture",
            position + base,
            number,
        )


class _PcapngFramer:
    """Checks the blocks of a pcapng file in order and keeps what later blocks depend on: the
    section's byte order and its interfaces."""

    def __init__(self) -> None:
        self.little = True
        self.interfaces: tuple[Interface, ...] = ()
        self.usable: list[bool] = []  # per interface: is its link type one we walk
        #: Bytes the buffer lacks of the block the last frame() stopped at (0: none known).
        self.missing = 0
        self.type_and_length, self.u32 = _framing_readers(True)

    def _start_section(self, little: bool, interfaces: tuple[Interface, ...]) -> None:
        self.little, self.interfaces = little, interfaces
        self.usable = [i.linktype in _LINKTYPES for i in interfaces]
        self.type_and_length, self.u32 = _framing_readers(little)

    def frame(
        self, buf: bytes, start: int, position: int, number: int
    ) -> tuple[int, int, CaptureError | None]:
        """Check the whole blocks of ``buf`` from ``start`` up to the end of the buffer, a new
        section (which starts a segment of its own) or a broken block: (where the good blocks
        end, packets in them, what is wrong with the block there or None). ``position`` is
        the file offset of ``buf[0]``, ``number`` the next packet's number."""
        end = len(buf)
        saved = self.little, self.interfaces
        pos = start
        count = 0
        self.missing = 0
        try:
            while pos + 12 <= end:
                if buf[pos : pos + 4] == _SHB_BYTES:
                    if pos > start:
                        break
                    self._section_header(buf, pos, position, number + count)
                block_type, length = self.type_and_length(buf, pos)
                if length < 12 or length % 4 or length > _ABSOLUTE_MAX_RECORD:
                    raise CaptureError(
                        f"block length {length} is impossible (blocks are 12 bytes or more, a "
                        "multiple of 4): corrupt block header",
                        position + pos + 4,
                        number + count,
                    )
                stop = pos + length
                if stop > end:
                    if pos == start:  # a section header is read again with the rest of it
                        self._start_section(*saved)
                    self.missing = stop - end
                    break
                if self._block(buf, pos, block_type, length, position, number + count):
                    count += 1
                pos = stop
        except CaptureError as error:
            # The blocks before the broken one are whole and checked: they are output first.
            return pos, count, error
        return pos, count, None

    def _section_header(self, buf: bytes, pos: int, position: int, packet: int) -> None:
        bom = buf[pos + 8 : pos + 12]
        if int.from_bytes(bom, "little") == _PCAPNG_BYTE_ORDER:
            little = True
        elif int.from_bytes(bom, "big") == _PCAPNG_BYTE_ORDER:
            little = False
        else:
            raise CaptureError(
                f"section header byte-order magic {bom.hex(' ')} is not 1a2b3c4d",
                position + pos + 8,
                packet,
            )
        self._start_section(little, ())

    def _block(
        self, buf: bytes, pos: int, block_type: int, length: int, position: int, packet: int
    ) -> bool:
        """Check one whole block; True when it holds a packet."""
        stop = pos + length
        trailer = self.u32(buf, stop - 4)[0]
        if trailer != length:
            raise CaptureError(
                f"block of type {block_type:#x} has length {length} at its start but "
                f"{trailer} at its end: corrupt block",
                position + pos,
                packet,
            )
        if block_type in _PACKET_BLOCKS:
            # Nearly every block is an enhanced packet block of a known, walkable interface
            # whose packet fits: those pass a quick test, the rest the full one.
            u32, usable = self.u32, self.usable
            if block_type != _EPB or (
                length < 32
                or (index := u32(buf, pos + 8)[0]) >= len(usable)
                or not usable[index]
                or 32 + u32(buf, pos + 20)[0] > length
            ):
                self._check_packet_block(buf, pos, block_type, length, position + pos, packet)
            return True
        if block_type == _IDB:
            interface = _parse_idb(
                buf, pos, length, little=self.little, position=position, packet=packet
            )
            self.interfaces = (*self.interfaces, interface)
            self.usable.append(interface.linktype in _LINKTYPES)
        return False

    def _check_packet_block(
        self, buf: bytes, pos: int, block_type: int, length: int, at: int, packet: int
    ) -> None:
        order = "<" if self.little else ">"
        interfaces = self.interfaces
        if block_type == _SPB:
            if length < 16:
                raise CaptureError("simple packet block too short", at, packet)
            interface = 0
        else:
            if length < 32:
                raise CaptureError("packet block too short", at, packet)
            if block_type == _EPB:
                interface, _hi, _lo, caplen = struct.unpack_from(order + "IIII", buf, pos + 8)
            else:
                interface, _drops, _hi, _lo, caplen = struct.unpack_from(
                    order + "HHIII", buf, pos + 8
                )
            if 28 + caplen > length - 4:
                raise CaptureError(
                    f"packet of {caplen} bytes does not fit its {length}-byte block: corrupt block",
                    at + 20,
                    packet,
                )
        if interface >= len(interfaces):
            raise CaptureError(
                f"packet refers to interface {interface}, but only {len(interfaces)} are described",
                at + 8,
                packet,
            )
        _check_linktype(interfaces[interface].linktype, at, packet)


def _framing_readers(little: bool) -> tuple[Any, Any]:
    # A block's (type, length) and one u32, in the section's byte order.
    prefix = "<" if little else ">"
    return struct.Struct(prefix + "II").unpack_from, struct.Struct(prefix + "I").unpack_from


def _parse_idb(
    buf: bytes, pos: int, length: int, *, little: bool, position: int, packet: int
) -> Interface:
    order = "<" if little else ">"
    if length < 20:
        raise CaptureError(
            f"interface block of {length} bytes is too short", position + pos, packet
        )
    linktype, _reserved, snaplen = struct.unpack_from(order + "HHI", buf, pos + 8)
    digits, binary, offset = 6, False, 0
    option = pos + 16
    stop = pos + length - 4
    while option + 4 <= stop:
        code, size = struct.unpack_from(order + "HH", buf, option)
        if code == 0:
            break
        value = buf[option + 4 : option + 4 + size]
        if code == 9 and size >= 1:  # if_tsresol
            digits, binary = value[0] & 0x7F, bool(value[0] & 0x80)
        elif code == 14 and size >= 8:  # if_tsoffset
            offset = int.from_bytes(value[:8], "little" if little else "big", signed=True)
        option += 4 + size + (-size % 4)
    if digits > (63 if binary else 18):
        raise CaptureError(
            f"interface timestamp resolution {'2' if binary else '10'}^-{digits} is not usable",
            position + pos,
            packet,
        )
    return Interface(linktype, snaplen, digits, binary, offset)


# -- packets ------------------------------------------------------------------------------------


def _pcapng_time(raw: int, interface: Interface) -> str:
    digits = interface.digits
    if interface.binary:
        # 2**-digits units: show nanoseconds, exactly when digits <= 9, rounded down otherwise.
        seconds, rest = divmod(raw, 1 << digits)
        return f"{seconds + interface.offset}.{(rest * 10**9) >> digits:09d}"
    if digits == 6:
        seconds, rest = divmod(raw, 1_000_000)
        # %-formatting: a third cheaper than an f-string with a format spec.
        return "%d.%06d" % (seconds + interface.offset, rest)  # noqa: UP031
    if digits == 0:
        return str(raw + interface.offset)
    seconds, rest = divmod(raw, 10**digits)
    return f"{seconds + interface.offset}.{rest:0{digits}d}"


def labeled_packets(segment: Segment) -> Iterator[LabeledPacket]:
    """The packets of ``segment`` that may carry a CIPSO or CALIPSO option: IPv4 packets with
    the CIPSO option type's byte in their options area, IPv6 packets with a hop-by-hop header
    holding the CALIPSO option type's byte. The exact option walk is left to the caller
    (:class:`labelnet.dump.Analyzer`, through :func:`cipso.iter_options` and
    :func:`calipso.iter_options`)."""
    for number, time, kind, src, dst, area, truncated in iter_labeled(segment):
        version = 4 if kind == AreaKind.IPV4_OPTIONS else 6
        yield LabeledPacket(number, time, version, src, dst, area, truncated, AreaKind(kind))


def labeled_frame(number: int, time: str, frame: bytes, linktype: int) -> LabeledTuple | None:
    """One frame of link type ``linktype`` (a live capture's) as :func:`iter_labeled` would
    yield it from a file, or None when it carries no label option."""
    stop = len(frame)
    ip = _LOCATORS[linktype](frame, 0, stop)
    if ip < 0:
        return None
    found = _label_area(frame, ip, stop)
    return None if found is None else (number, time, *found)


#: (number, time, area kind (:class:`AreaKind`: 4 or 6 is also the IP version), source,
#: destination, area, truncated), see LabeledPacket.
LabeledTuple = tuple[int, str, int, bytes, bytes, bytes, bool]


def iter_labeled(segment: Segment) -> Iterator[LabeledTuple]:
    """:func:`labeled_packets` as plain tuples, for loops where every microsecond counts."""
    if segment.pcapng:
        return _pcapng_labeled(segment)
    return _pcap_labeled(segment)


def _pcap_labeled(segment: Segment) -> Iterator[LabeledTuple]:
    data = segment.data
    interface = segment.interfaces[0]
    linktype = interface.linktype
    unpack = struct.Struct(("<" if segment.little else ">") + "IIII").unpack_from
    # %-formatting: a third cheaper than an f-string with a format spec.
    time_format = "%d.%09d" if interface.digits == 9 else "%d.%06d"
    locate = _LOCATORS[linktype]
    number = segment.first_packet - 1
    pos = 0
    end = len(data)
    while pos < end:
        seconds, fraction, caplen, _origlen = unpack(data, pos)
        start = pos + 16
        pos = start + caplen
        number += 1
        ip = locate(data, start, pos)
        if ip < 0:
            continue
        found = _label_area(data, ip, pos)
        if found is not None:
            version, source, destination, area, truncated = found  # cheaper than *found
            time = time_format % (seconds, fraction)
            yield (number, time, version, source, destination, area, truncated)


def _pcapng_labeled(segment: Segment) -> Iterator[LabeledTuple]:
    data = segment.data
    section = _Section(segment.little, list(segment.interfaces))
    type_and_length, epb = section.type_and_length, section.epb
    interfaces, locators = section.interfaces, section.locators
    number = segment.first_packet - 1
    pos = 0
    end = len(data)
    while pos < end:
        block = pos
        block_type, length = type_and_length(data, block)
        if block_type == _EPB:  # nearly every block: its walk inline
            pos += length
            _t, _l, index, high, low, caplen = epb(data, block)
            number += 1
            start = block + 28
            stop = start + caplen
            ip = locators[index](data, start, stop)
            if ip < 0:
                continue
            found = _label_area(data, ip, stop)
            if found is not None:
                version, source, destination, area, truncated = found  # cheaper than *found
                time = _pcapng_time(high << 32 | low, interfaces[index])
                yield (number, time, version, source, destination, area, truncated)
            continue
        if data[block : block + 4] == _SHB_BYTES:
            little = int.from_bytes(data[block + 8 : block + 12], "little") == _PCAPNG_BYTE_ORDER
            section = _Section(little, [])
            type_and_length, epb = section.type_and_length, section.epb
            interfaces, locators = section.interfaces, section.locators
            pos += section.u32(data, block + 4)[0]
            continue
        pos += length
        packet = section.other_block(data, block, block_type, length, number)
        if packet is None:
            continue
        index, start, stop, time = packet
        number += 1
        ip = locators[index](data, start, stop)
        if ip < 0:
            continue
        found = _label_area(data, ip, stop)
        if found is not None:
            yield (number, time, *found)


class _Section:
    """What the packet walk of a pcapng section needs: the readers for its byte order and its
    interfaces (with the link-layer walker of each)."""

    def __init__(self, little: bool, interfaces: list[Interface]) -> None:
        self.little = little
        self.type_and_length, self.u32 = _framing_readers(little)
        self.epb, self.pb = _block_readers(little)
        self.interfaces = interfaces
        self.locators = [_locator(i.linktype) for i in interfaces]

    def other_block(
        self, data: bytes, block: int, block_type: int, length: int, number: int
    ) -> tuple[int, int, int, str] | None:
        """(interface, packet start, packet end, time) for an obsolete or simple packet
        block; an interface block is added to the section; None for every block but packets."""
        if block_type == _PB:
            _t, _l, index, _drops, high, low, caplen = self.pb(data, block)
            start = block + 28
            return (
                index,
                start,
                start + caplen,
                _pcapng_time(high << 32 | low, self.interfaces[index]),
            )
        if block_type == _SPB:
            caplen = min(self.u32(data, block + 8)[0], length - 16)
            if self.interfaces[0].snaplen:
                caplen = min(caplen, self.interfaces[0].snaplen)
            return 0, block + 12, block + 12 + caplen, ""  # no timestamp in this block
        if block_type == _IDB:
            interface = _parse_idb(
                data, block, length, little=self.little, position=0, packet=number
            )
            self.interfaces.append(interface)
            self.locators.append(_locator(interface.linktype))
        return None


def _locator(linktype: int) -> Callable[[bytes, int, int], int]:
    # An interface of another link type may be described; read_segments refuses its packets.
    return _LOCATORS.get(linktype, _no_ip)


def _no_ip(data: bytes, start: int, stop: int) -> int:
    return -1


def _block_readers(little: bool) -> tuple[Any, Any]:
    prefix = "<" if little else ">"
    return (
        struct.Struct(prefix + "IIIIII").unpack_from,  # type, length, interface, hi, lo, caplen
        struct.Struct(prefix + "IIHHIII").unpack_from,  # obsolete packet block
    )


# One function for both versions, not one each: it runs for every packet, and a call costs.
def _label_area(  # noqa: PLR0911
    data: bytes, ip: int, stop: int
) -> tuple[int, bytes, bytes, bytes, bool] | None:
    """(version, source, destination, area, truncated) when the IP packet at ``data[ip:stop]``
    carries a CIPSO or CALIPSO option, else None."""
    if ip >= stop:
        return None
    first = data[ip]
    version = first >> 4
    if version == 4:
        header_length = (first & 0x0F) * 4
        if header_length <= 20 or ip + 20 > stop:
            return None
        area_end = ip + header_length
        truncated = area_end > stop
        area = data[ip + 20 : stop if truncated else area_end]
        if _CIPSO not in area:  # a fast no; the exact walk is the analyser's job
            return None
        return 4, data[ip + 12 : ip + 16], data[ip + 16 : ip + 20], area, truncated
    if version == 6:
        if ip + 48 > stop:
            return None
        if data[ip + 6]:  # the first header is not hop-by-hop (0); literals: this runs a lot
            if data[ip + 6] != 60:  # nor destination options
                return None
            return _destination_options(data, ip, ip + 40, stop, AreaKind.DESTINATION_OPTIONS)
        header_end = ip + 48 + data[ip + 41] * 8
        truncated = header_end > stop
        area = data[ip + 40 : stop if truncated else header_end]
        if _CALIPSO not in area[2:]:
            if area[0] != 60 or truncated:
                return None
            return _destination_options(
                data, ip, header_end, stop, AreaKind.HOP_BY_HOP_AND_DESTINATION_OPTIONS
            )
        return 6, data[ip + 8 : ip + 24], data[ip + 24 : ip + 40], area, truncated
    return None


def _destination_options(
    data: bytes, ip: int, start: int, stop: int, kind: int
) -> tuple[int, bytes, bytes, bytes, bool] | None:
    """The :func:`_label_area` of an IPv6 packet whose destination options header starts at
    ``data[start]`` (right after the IPv6 header, or after a hop-by-hop header without
    CALIPSO): the area runs from the end of the IPv6 header to the end of that header."""
    if start + 8 > stop:
        return None
    header_end = start + (data[start + 1] + 1) * 8
    if _CALIPSO not in data[start + 2 : min(header_end, stop)]:
        return None
    area = data[ip + 40 : min(header_end, stop)]
    return kind, data[ip + 8 : ip + 24], data[ip + 24 : ip + 40], area, header_end > stop


# Link-layer walkers: the offset of the IP header inside data[start:stop], or -1.


def _ethernet(data: bytes, start: int, stop: int) -> int:
    # Untagged IPv4 and IPv6, nearly every frame, by their bytes: a slice costs more.
    if start + 14 <= stop:
        kind = data[start + 12]
        if (kind == 0x08 and not data[start + 13]) or (kind == 0x86 and data[start + 13] == 0xDD):
            return start + 14
    return _after_vlan_tags(data, start + 12, stop)


def _after_vlan_tags(data: bytes, at: int, stop: int) -> int:
    """The IP header's offset after the EtherType at ``at`` and any VLAN tags (each 2 bytes of
    tag control information and the next EtherType), or -1. A loop, not recursion: a packet
    may stack thousands of tags, and the walk costs one step per tag, like the bytes read."""
    while at + 2 <= stop:
        kind = data[at] << 8 | data[at + 1]
        if kind in _IP_TYPES:
            return at + 2
        if kind not in _VLAN_TYPES:
            return -1
        at += 4
    return -1


def _raw(data: bytes, start: int, stop: int) -> int:
    return start


def _sll(data: bytes, start: int, stop: int) -> int:
    return _after_vlan_tags(data, start + 14, stop)


def _sll2(data: bytes, start: int, stop: int) -> int:
    # The protocol field comes first and the payload starts after the 20-byte header.
    if start + 20 > stop:
        return -1
    kind = data[start] << 8 | data[start + 1]
    if kind in _IP_TYPES:
        return start + 20
    if kind in _VLAN_TYPES:  # a tag left in front of the payload
        return _after_vlan_tags(data, start + 22, stop)
    return -1


def _null(data: bytes, start: int, stop: int) -> int:
    if start + 4 > stop:
        return -1
    # The family is in the writer's byte order; the value is small, so either order shows it.
    family = int.from_bytes(data[start : start + 4], "little")
    if family > 0xFFFF:
        family = int.from_bytes(data[start : start + 4], "big")
    return start + 4 if family == 2 or family in _AF_INET6 else -1


def _loop(data: bytes, start: int, stop: int) -> int:
    if start + 4 > stop:
        return -1
    family = int.from_bytes(data[start : start + 4], "big")
    return start + 4 if family == 2 or family in _AF_INET6 else -1


_LOCATORS: dict[int, Callable[[bytes, int, int], int]] = {
    LinkType.NULL: _null,
    LinkType.ETHERNET: _ethernet,
    LinkType.RAW: _raw,
    LinkType.LINUX_SLL: _sll,
    LinkType.LOOP: _loop,
    LinkType.IPV4: _raw,
    LinkType.IPV6: _raw,
    LinkType.LINUX_SLL2: _sll2,
}


# -- writing (tests, examples and benchmarks build their captures with these) -------------------


def write_pcap(
    path: str | os.PathLike[str],
    packets: Iterable[tuple[float | tuple[int, int], bytes]],
    linktype: int = LinkType.ETHERNET,
    *,
    nanoseconds: bool = False,
    snaplen: int = 65535,
    big_endian: bool = False,
) -> None:
    """Write a classic pcap file; ``packets`` are (timestamp, bytes), the timestamp in seconds
    or as (seconds, microseconds or nanoseconds)."""
    order = ">" if big_endian else "<"
    magic = _PCAP_MAGIC_NANO if nanoseconds else _PCAP_MAGIC_MICRO
    scale = 10**9 if nanoseconds else 10**6
    with open(path, "wb") as out:
        out.write(struct.pack(order + "IHHiIII", magic, 2, 4, 0, 0, snaplen, linktype))
        record = struct.Struct(order + "IIII")
        for stamp, packet in packets:
            seconds, fraction = _split_time(stamp, scale)
            captured = packet[:snaplen]
            out.write(record.pack(seconds, fraction, len(captured), len(packet)))
            out.write(captured)


def _split_time(stamp: float | tuple[int, int], scale: int) -> tuple[int, int]:
    if isinstance(stamp, tuple):
        return stamp
    ticks = round(stamp * scale)
    return divmod(ticks, scale)


def write_pcapng(
    path: str | os.PathLike[str],
    packets: Iterable[tuple[int, float | tuple[int, int], bytes]],
    linktypes: tuple[int, ...] = (LinkType.ETHERNET,),
    *,
    big_endian: bool = False,
) -> None:
    """Write a pcapng file with one interface per link type (microsecond timestamps);
    ``packets`` are (interface index, timestamp, bytes)."""
    with open(path, "wb") as out:
        writer = PcapngWriter(out, linktypes, big_endian=big_endian)
        for index, stamp, packet in packets:
            writer.write(index, stamp, packet)


class PcapngWriter:
    """Writes a pcapng stream one packet at a time (a live capture's ``-w FILE``): the section
    header and one interface block per link type at once, then an Enhanced Packet Block per
    :meth:`write` (microsecond timestamps). The file is readable after every packet."""

    def __init__(
        self, out: BinaryIO, linktypes: tuple[int, ...], *, big_endian: bool = False
    ) -> None:
        self.out = out
        self.order = ">" if big_endian else "<"
        self._block(_SHB, struct.pack(self.order + "IHHq", _PCAPNG_BYTE_ORDER, 1, 0, -1))
        for linktype in linktypes:
            self._block(_IDB, struct.pack(self.order + "HHI", linktype, 0, 0))

    def _block(self, kind: int, body: bytes) -> None:
        body += bytes(-len(body) % 4)
        length = 12 + len(body)
        order = self.order
        self.out.write(
            struct.pack(order + "II", kind, length) + body + struct.pack(order + "I", length)
        )

    def write(self, index: int, stamp: float | tuple[int, int], packet: bytes) -> None:
        """One packet of interface ``index``; ``stamp`` in seconds or (seconds,
        microseconds)."""
        seconds, fraction = _split_time(stamp, 10**6)
        ticks = seconds * 10**6 + fraction
        head = struct.pack(
            self.order + "IIIII", index, ticks >> 32, ticks & 0xFFFFFFFF, len(packet), len(packet)
        )
        self._block(_EPB, head + packet)


def ipv4_packet(src: str, dst: str, options: bytes, payload: bytes, protocol: int = 17) -> bytes:
    """An IPv4 packet with its header checksum; ``options`` are padded with End of Option List
    bytes to a multiple of 4."""
    options += bytes(-len(options) % 4)
    ihl = 5 + len(options) // 4
    header = struct.pack(
        "!BBHHHBBH4s4s",
        0x40 | ihl,
        0,
        ihl * 4 + len(payload),
        1,
        0,
        64,
        protocol,
        0,
        ipaddress.IPv4Address(src).packed,
        ipaddress.IPv4Address(dst).packed,
    )
    header += options
    header = header[:10] + struct.pack("!H", _checksum(header)) + header[12:]
    return header + payload


def _checksum(header: bytes) -> int:
    total: int = sum(struct.unpack(f"!{len(header) // 2}H", header))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def ipv6_packet(
    src: str, dst: str, hop_by_hop: bytes | None, payload: bytes, protocol: int = 17
) -> bytes:
    """An IPv6 packet, with ``hop_by_hop`` (a whole header; its next-header byte is set to
    ``protocol`` here) when given."""
    next_header = protocol
    body = payload
    if hop_by_hop is not None:
        body = bytes([protocol]) + hop_by_hop[1:] + payload
        next_header = 0
    return (
        struct.pack("!IHBB", 0x60000000, len(body), next_header, 64)
        + ipaddress.IPv6Address(src).packed
        + ipaddress.IPv6Address(dst).packed
        + body
    )
