"""Build the packets and captures the labelnet tests read: IPv4 with options, IPv6 with a
hop-by-hop header, wrapped in every link layer the dump walks."""

from __future__ import annotations

import struct
from collections.abc import Sequence

import calipso
import cipso
from labelnet.capture import LinkType, ipv4_packet, ipv6_packet
from mls import Level

UDP_PAYLOAD = struct.pack("!HHHH", 4000, 5000, 12, 0) + b"ping"


def ipv4(src: str, dst: str, options: bytes = b"", payload: bytes = UDP_PAYLOAD) -> bytes:
    """An IPv4/UDP packet; ``options`` are padded with EOL to a multiple of 4."""
    return ipv4_packet(src, dst, options, payload)


def ipv6(
    src: str, dst: str, hop_by_hop: bytes | None = None, payload: bytes = UDP_PAYLOAD
) -> bytes:
    """An IPv6/UDP packet, with ``hop_by_hop`` (a whole header; its next-header byte is set
    to UDP here) when given."""
    return ipv6_packet(src, dst, hop_by_hop, payload)


def cipso_option(doi: int, level: str, tag: int = 1) -> bytes:
    """The CIPSO option a PASS DOI with ``tag`` sends for ``level``."""
    definition = cipso.CipsoDoi(doi, cipso.MapType.PASS, (cipso.TagType(tag),))
    return definition.encode_label(Level.parse(level))


def calipso_header(doi: int, level: str) -> bytes:
    """The hop-by-hop header the kernel sends for ``level`` in CALIPSO DOI ``doi``."""
    return calipso.CalipsoDoi(doi).encode_header(Level.parse(level), next_header=17)


def ethertype(packet: bytes) -> bytes:
    return b"\x08\x00" if packet[0] >> 4 == 4 else b"\x86\xdd"


def ethernet(packet: bytes, vlans: Sequence[tuple[int, int]] = ()) -> bytes:
    """An Ethernet frame; ``vlans`` are (tag protocol identifier, VLAN id), outermost first."""
    frame = bytes.fromhex("020000000002020000000001")
    for tpid, vid in vlans:
        frame += struct.pack("!HH", tpid, vid)
    return frame + ethertype(packet) + packet


def sll(packet: bytes) -> bytes:
    # packet type 0 (to us), ARPHRD_ETHER, address length 6, address, 2 pad, protocol
    return struct.pack("!HHH8s", 0, 1, 6, bytes(8)) + ethertype(packet) + packet


def sll2(packet: bytes) -> bytes:
    # protocol, reserved, interface index, ARPHRD_ETHER, packet type, address length, address
    return ethertype(packet) + struct.pack("!HIHBB8s", 0, 2, 1, 0, 6, bytes(8)) + packet


def null(packet: bytes) -> bytes:
    family = 2 if packet[0] >> 4 == 4 else 24
    return struct.pack("<I", family) + packet


def loop(packet: bytes) -> bytes:
    family = 2 if packet[0] >> 4 == 4 else 24
    return struct.pack(">I", family) + packet


def frame(linktype: int, packet: bytes) -> bytes:
    """``packet`` wrapped in the link layer of ``linktype``."""
    wrap = {
        LinkType.ETHERNET: ethernet,
        LinkType.LINUX_SLL: sll,
        LinkType.LINUX_SLL2: sll2,
        LinkType.NULL: null,
        LinkType.LOOP: loop,
    }.get(LinkType(linktype))
    return packet if wrap is None else wrap(packet)


def carried_by(linktype: int, packets: list[bytes]) -> list[bytes]:
    """The ``packets`` a capture of ``linktype`` can hold: raw IPv4 and raw IPv6 captures
    hold only their own IP version, every other link type holds both."""
    if linktype == LinkType.IPV4:
        return [p for p in packets if p[0] >> 4 == 4]
    if linktype == LinkType.IPV6:
        return [p for p in packets if p[0] >> 4 == 6]
    return packets
