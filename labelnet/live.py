"""Live capture: ``labelnet dump -i IFACE``, the labeled packets crossing network interfaces.

Packets are read from AF_PACKET sockets (Linux, root or CAP_NET_RAW) in *cooked* mode
(``SOCK_DGRAM``): the kernel hands over each packet from its network header on, with the
interface, EtherType and packet type beside it. Each packet is given a Linux cooked capture v2
header (SLL2, link type 276, what ``tcpdump -i any`` writes) built from those, so that every
interface, ``any`` included, looks the same: the frame then goes through the very walk a capture
file's records go through (:func:`labelnet.capture.labeled_frame`), the same analysis and the
same :class:`labelnet._render.Renderer`, and ``-w FILE`` writes those frames to pcapng.

A classic BPF program (:data:`FILTER`, attached with ``SO_ATTACH_FILTER`` before the socket
receives anything it would pass unfiltered) keeps in the kernel only the packets that can carry
a label: IPv4 with options (IHL > 5) and IPv6 whose first next header is hop-by-hop (0) or
destination options (60). VLAN: the kernel takes the outer 802.1Q/802.1ad tag off before packet
sockets see a frame (hardware offload or ``skb_vlan_untag``), so a singly tagged frame looks
untagged. Of a doubly tagged frame the inner tag is left in front of the payload and
skb->protocol is that tag's type: the filter looks behind this one tag too. (The address the
socket reports names the protocol behind the tag, so the SLL2 header is given the tag's type
again: :func:`_protocol`.) A third tag is not looked behind: the filter drops such packets.

A packet's number is its number among the labeled packets (the packets a ``-w`` file holds),
so a live dump and the dump of its ``-w`` file print the same lines; its time is the kernel's
receive timestamp in microseconds, as the pcapng file keeps it.
"""

from __future__ import annotations

import ctypes
import errno
import os
import select
import socket
import struct
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, suppress
from dataclasses import dataclass
from typing import BinaryIO, TextIO

from labelnet._render import PairCounts, header
from labelnet.capture import LinkType, PcapngWriter, labeled_frame
from labelnet.dump import DumpSettings, DumpSummary, finish, make_renderer

__all__ = ["ANY", "FILTER", "LiveCapture", "attach_filter", "capture", "open_socket"]

#: The interface name that captures on every interface.
ANY = "any"

# Kernel ABI constants (linux/if_ether.h, linux/filter.h, asm-generic/socket.h).
ETH_P_ALL = 0x0003
SO_ATTACH_FILTER = 26
SO_TIMESTAMP = 29  # SO_TIMESTAMP_OLD: struct timeval, also the control message type
SO_RCVBUFFORCE = 33  # SO_RCVBUF beyond net.core.rmem_max (needs CAP_NET_ADMIN)
_SOL_PACKET = 263
_PACKET_STATISTICS = 6  # struct tpacket_stats: packets, drops (read and reset)
#: The receive buffer asked for: a burst of small packets waits there while Python catches up
#: (the default, about 200 KiB, holds a few hundred packets).
RECEIVE_BUFFER = 8 << 20
_TIMEVAL = struct.Struct("@qq")
#: The 20-byte SLL2 header: protocol, reserved, interface index, ARPHRD type, packet type,
#: address length, 8 address bytes.
_SLL2 = struct.Struct("!HHIHBB8s")
#: The largest packet read (and the snapshot length the filter returns): loopback's MTU is
#: 65536, and GSO packets seen on the way out can be larger.
SNAPLEN = 262_144

# Classic BPF opcodes (linux/bpf_common.h).
_LD_H_ABS = 0x28  # A = 16-bit word at [k]
_LD_B_ABS = 0x30  # A = byte at [k]
_AND_K = 0x54  # A &= k
_JEQ_K = 0x15  # if A == k goto jt else goto jf
_JGT_K = 0x25  # if A > k goto jt else goto jf
_RET_K = 0x06  # accept k bytes of the packet (0: drop it)
#: SKF_AD_OFF + SKF_AD_PROTOCOL: loads skb->protocol, the EtherType of the packet.
_PROTOCOL = 0xFFFFF000

_Step = tuple[str, int, int, str, str, str]  # label, opcode, k, jt, jf, what it tests

# The filter, run on each packet from its network header on (SOCK_DGRAM). Jump targets are
# labels; "" is the next instruction. The last column says what each instruction tests.
_PROGRAM: tuple[_Step, ...] = (
    ("", _LD_H_ABS, _PROTOCOL, "", "", "A = the packet's EtherType (skb->protocol)"),
    ("", _JEQ_K, 0x0800, "ipv4", "", "IPv4: its header starts at byte 0"),
    ("", _JEQ_K, 0x86DD, "ipv6", "", "IPv6: its header starts at byte 0"),
    ("", _JEQ_K, 0x8100, "tag", "", "802.1Q tag left in front (of a doubly tagged frame)"),
    ("", _JEQ_K, 0x88A8, "tag", "", "802.1ad tag left in front"),
    ("", _JEQ_K, 0x9100, "tag", "drop", "pre-standard QinQ tag left in front; else: drop"),
    ("tag", _LD_H_ABS, 2, "", "", "A = the EtherType after the tag's 2-byte TCI"),
    ("", _JEQ_K, 0x0800, "ipv4-tagged", "", "IPv4 header at byte 4"),
    ("", _JEQ_K, 0x86DD, "ipv6-tagged", "drop", "IPv6 header at byte 4; else: drop"),
    ("ipv4", _LD_B_ABS, 0, "", "", "A = version and IHL"),
    ("", _AND_K, 0x0F, "", "", "A = IHL, in 32-bit words"),
    ("", _JGT_K, 5, "accept", "drop", "IHL > 5: the header has options"),
    ("ipv6", _LD_B_ABS, 6, "", "", "A = the first next header"),
    ("", _JEQ_K, 0, "accept", "", "hop-by-hop options"),
    ("", _JEQ_K, 60, "accept", "drop", "destination options"),
    ("ipv4-tagged", _LD_B_ABS, 4, "", "", "A = version and IHL, behind the tag"),
    ("", _AND_K, 0x0F, "", "", "A = IHL"),
    ("", _JGT_K, 5, "accept", "drop", "IHL > 5"),
    ("ipv6-tagged", _LD_B_ABS, 10, "", "", "A = the first next header, behind the tag"),
    ("", _JEQ_K, 0, "accept", "", "hop-by-hop options"),
    ("", _JEQ_K, 60, "accept", "drop", "destination options"),
    ("accept", _RET_K, SNAPLEN, "", "", "keep the packet, whole"),
    ("drop", _RET_K, 0, "", "", "drop it"),
)


def _assemble(program: Sequence[_Step]) -> tuple[tuple[int, int, int, int], ...]:
    """(opcode, jt, jf, k) per instruction: each label resolved to a forward jump count."""
    where = {label: index for index, (label, *_rest) in enumerate(program) if label}
    assembled = []
    for index, (_label, code, k, jt, jf, _what) in enumerate(program):

        def skip(target: str, index: int = index) -> int:
            if not target:
                return 0
            distance = where[target] - index - 1
            if not 0 <= distance <= 255:
                raise ValueError(f"BPF jump from {index} to {target!r} is out of range")
            return distance

        assembled.append((code, skip(jt), skip(jf), k))
    return tuple(assembled)


#: The assembled filter: (opcode, jt, jf, k) per instruction (struct sock_filter).
FILTER = _assemble(_PROGRAM)


def _drain(sock: socket.socket) -> None:
    with suppress(BlockingIOError):
        while True:
            sock.recv(1)


#: A filter that drops everything: (opcode, jt, jf, k).
_DROP_ALL = ((_RET_K, 0, 0, 0),)


def attach_filter(
    sock: socket.socket, program: Sequence[tuple[int, int, int, int]] = FILTER
) -> None:
    """Attach ``program`` (:data:`FILTER`) to ``sock`` (``SO_ATTACH_FILTER``, a
    ``struct sock_fprog``)."""
    code = b"".join(struct.pack("HBBI", *instruction) for instruction in program)
    # struct sock_fprog holds a pointer to the instructions; the kernel copies them during
    # the call, so the buffer has to live only as long as this function.
    buffer = ctypes.create_string_buffer(code, len(code))
    fprog = struct.pack("HL", len(program), ctypes.addressof(buffer))
    sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, fprog)


def open_socket(interface: str) -> socket.socket:
    """A cooked AF_PACKET socket on ``interface`` (``any``: every interface) with
    :data:`FILTER` attached before it starts receiving, and kernel timestamps on."""
    try:
        if interface == ANY:
            # Every interface: a socket opened for ETH_P_ALL and never bound (Python binds only
            # to a named interface). It receives at once, so it drops everything until what
            # was queued before any filter is read away, then gets the real filter.
            sock = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(ETH_P_ALL))
        else:
            # Protocol 0: it receives nothing until bind names ETH_P_ALL, after the filter.
            sock = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, 0)
    except PermissionError as exc:
        raise PermissionError(exc.errno, "a live capture needs root or CAP_NET_RAW") from None
    try:
        sock.setblocking(False)
        sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMP, 1)
        try:
            sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, RECEIVE_BUFFER)
        except PermissionError:  # CAP_NET_RAW without CAP_NET_ADMIN: up to rmem_max
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)
        if interface == ANY:
            attach_filter(sock, _DROP_ALL)
            _drain(sock)
            attach_filter(sock)
        else:
            attach_filter(sock)
            sock.bind((interface, ETH_P_ALL))
    except BaseException as exc:
        sock.close()
        if isinstance(exc, OSError) and exc.errno == errno.ENODEV:
            raise OSError(exc.errno, f"no network interface named {interface!r}") from None
        raise
    return sock


@dataclass(frozen=True, slots=True)
class LiveCapture:
    """What a live capture reads and when it stops: ``interfaces`` (``any`` for all),
    ``count`` written packets, ``duration`` seconds, or whichever comes first (None: no
    limit); ``write`` names a pcapng file for the labeled packets."""

    interfaces: tuple[str, ...]
    count: int | None = None
    duration: float | None = None
    write: str | os.PathLike[str] | None = None


#: Packets read from one socket per wait at most.
_BATCH = 512


class _Reader:
    """Reads packets from the sockets and frames them as SLL2."""

    def __init__(self, sockets: list[socket.socket]) -> None:
        self.sockets = sockets
        self.indexes: dict[str, int] = {}

    def frames(self, timeout: float | None) -> Iterator[tuple[int, int, bytes]]:
        """(seconds, microseconds, SLL2 frame) of the packets waiting, after waiting up to
        ``timeout`` seconds for the first (None: as long as it takes)."""
        ready, _, _ = select.select(self.sockets, [], [], timeout)
        for sock in ready:
            # A bounded batch: under a steady stream the output still comes out regularly.
            for _ in range(_BATCH):
                try:
                    data, ancillary, _flags, address = sock.recvmsg(
                        SNAPLEN, socket.CMSG_SPACE(_TIMEVAL.size)
                    )
                except BlockingIOError:
                    break
                seconds, micros = _timestamp(ancillary)
                yield seconds, micros, self._sll2(address, data)

    def _sll2(self, address: tuple[str, int, int, int, bytes], data: bytes) -> bytes:
        name, protocol, packet_type, hatype, hardware = address
        index = self.indexes.get(name)
        if index is None:
            index = self.indexes[name] = socket.if_nametoindex(name)
        hardware = hardware[:8]
        protocol = _protocol(protocol, data)
        return _SLL2.pack(protocol, 0, index, hatype, packet_type, len(hardware), hardware) + data


#: The IP version an EtherType announces.
_VERSIONS = {0x0800: 4, 0x86DD: 6}


def _protocol(protocol: int, data: bytes) -> int:
    """The SLL2 protocol of a cooked packet. Linux (6.18) reports the inner protocol for a
    doubly tagged frame whose inner tag it left in front of the payload (the filter, reading
    skb->protocol, still sees the tag's type): such a packet is written with an 802.1Q tag
    type, so that the walk steps over the tag as it does for files. A tag whose first nibble
    happens to be the IP version is not told apart (the packet is then read as IP)."""
    version = _VERSIONS.get(protocol)
    if version is None or not data or data[0] >> 4 == version:
        return protocol
    if data[2:4] in (b"\x08\x00", b"\x86\xdd"):
        return 0x8100
    return protocol


def _timestamp(ancillary: list[tuple[int, int, bytes]]) -> tuple[int, int]:
    for level, kind, data in ancillary:
        if level == socket.SOL_SOCKET and kind == SO_TIMESTAMP and len(data) >= _TIMEVAL.size:
            seconds, micros = _TIMEVAL.unpack_from(data)
            return seconds, micros
    now = time.time_ns() // 1000
    return now // 1_000_000, now % 1_000_000


class _Session:
    """One capture's state: numbering, the ``-w`` writer, the output, the counts."""

    def __init__(
        self,
        live: LiveCapture,
        out: TextIO,
        settings: DumpSettings,
        writer: PcapngWriter | None,
    ) -> None:
        self.live = live
        self.out = out
        self.writer = writer
        self.renderer = make_renderer(settings)
        self.total: PairCounts = {}
        self.labeled = 0
        self.written = 0

    @property
    def done(self) -> bool:
        return self.live.count is not None and self.written >= self.live.count

    def batch(self, frames: Iterator[tuple[int, int, bytes]]) -> None:
        """Dump the labeled ones among ``frames`` (the packets one wait brought), writing the
        output once for all of them."""
        texts = []
        for seconds, micros, frame in frames:
            number = self.labeled + 1
            found = labeled_frame(number, f"{seconds}.{micros:06d}", frame, LinkType.LINUX_SLL2)
            if found is None:
                continue
            self.labeled = number
            if self.writer is not None:
                self.writer.write(0, (seconds, micros), frame)
            text, count, _ = self.renderer.render([found], self.total)
            texts.append(text)
            self.written += count
            if self.done:
                break
        if self.writer is not None:
            self.writer.out.flush()
        if texts:
            self.out.write("".join(texts))
            self.out.flush()


def capture(
    live: LiveCapture,
    out: TextIO,
    settings: DumpSettings | None = None,
    *,
    ready: Callable[[], None] | None = None,
    dropped: Callable[[int], None] | None = None,
) -> DumpSummary:
    """Dump the labeled packets crossing ``live.interfaces`` to ``out`` as ``settings`` say,
    until ``live.count`` packets are written, ``live.duration`` has passed, or Ctrl-C
    (KeyboardInterrupt ends the capture, not the program); then the statistics, when asked
    for. ``ready`` is called once the sockets receive; ``dropped`` at the end with the
    number of packets the kernel had to drop because the sockets' buffers were full (0:
    none), which tcpdump also reports."""
    settings = settings or DumpSettings()
    interfaces = (ANY,) if ANY in live.interfaces else tuple(dict.fromkeys(live.interfaces))
    with ExitStack() as stack:
        sockets = [stack.enter_context(open_socket(name)) for name in interfaces]
        writer = None
        if live.write is not None:
            stream: BinaryIO = stack.enter_context(open(live.write, "wb"))
            writer = PcapngWriter(stream, (LinkType.LINUX_SLL2,))
        if settings.show_records:
            out.write(
                header(settings.format, settings.address_width, named=settings.setrans is not None)
            )
            out.flush()
        session = _Session(live, out, settings, writer)
        if ready is not None:
            ready()
        reader = _Reader(sockets)
        deadline = None if live.duration is None else time.monotonic() + live.duration
        try:
            while not session.done:
                timeout = None if deadline is None else deadline - time.monotonic()
                if timeout is not None and timeout <= 0:
                    break
                session.batch(reader.frames(timeout))
        except KeyboardInterrupt:
            pass  # Ctrl-C ends the capture; what was seen is summed up below
        if dropped is not None:
            dropped(sum(_kernel_drops(sock) for sock in sockets))
    return finish(out, settings, session.total, session.written, session.renderer.names)


def _kernel_drops(sock: socket.socket) -> int:
    """Packets the filter passed but the socket's full buffer lost (PACKET_STATISTICS)."""
    _packets, drops = struct.unpack("II", sock.getsockopt(_SOL_PACKET, _PACKET_STATISTICS, 8))
    return int(drops)
