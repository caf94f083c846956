"""``labelnet demo``: decode two real labeled packets with their MLS labels; ``--write FILE``
writes a sample capture for ``labelnet dump`` instead.

Both packets were written by the Linux 6.18 kernel itself and recorded off a loopback device:
a UDP socket labeled through ``IP_OPTIONS`` with the CIPSO option that a PASS DOI 16 (tags
1, 2, 5) gives ``s3:c1,c2,c5,c7.c300`` (the kernel chose tag 5: the categories do not fit tag 1
or tag 2), and a UDP socket labeled through ``IPV6_HOPOPTS`` with the hop-by-hop header that
CALIPSO DOI 2 gives ``s0:c1.c300,c400.c500``. The receiving kernel accepted both.

With a setrans.conf (``--setrans FILE``, or the system's) the labels are also shown by their
names, and the peer context as ``ls -Z`` and ``ps -Z`` show it through mcstrans.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import io
import ipaddress
import os
import re
import struct
from collections.abc import Callable
from dataclasses import dataclass

import calipso
import cipso
from labelnet.capture import ipv4_packet, ipv6_packet, write_pcap, write_pcapng
from mls import Context, Level, Range
from mls._cli import (
    add_setrans_arguments,
    load_setrans,
    read_setrans,
    setrans_epilog,
    setrans_path,
)

# 127.0.0.1 -> 127.0.0.1, UDP 45363 -> 4242, payload "labelnet demo".
CIPSO_PACKET = bytes.fromhex(
    "4b00004189764000401120ba7f0000017f000001"
    "86160000001005100003012c00070005000500020001" + "0000"
    "b13310920015fe28" + b"labelnet demo".hex()
)
# ::1 -> ::1, hop-by-hop header (CALIPSO at offset 2, PadN), UDP 43269 -> 4242.
CALIPSO_PACKET = bytes.fromhex(
    "600a6462006500400000000000000000000000000000000100000000000000000000000000000001"
    "1109" + "0748000000021000bd9a" + "7f" + "ff" * 36 + "f8" + "00" * 12 + "ff" * 12 + "f800"
    "01020000"
    "a90510920015b0af" + b"labelnet demo".hex()
)


@dataclass(frozen=True, slots=True)
class Example:
    title: str
    packet: bytes
    doi_argument: str  #: the DOI configuration, as the package's --doi option takes it
    #: The module of the package's command line, whose ``main`` decodes (imported when the
    #: demo runs: the other labelnet commands start without it).
    decode_module: str
    read_level: Callable[[bytes], Level]


def _cipso_level(packet: bytes) -> Level:
    options = packet[20 : (packet[0] & 0x0F) * 4]
    start = cipso.find_option(options)
    if start is None:
        raise ValueError("the built-in IPv4 packet carries no CIPSO option")
    doi = cipso.CipsoDoi.from_netlabelctl("pass doi:16 tags:1,2,5")
    return doi.decode_label(options[start : start + options[start + 1]])


def _calipso_level(packet: bytes) -> Level:
    header_length = (packet[41] + 1) * 8
    return calipso.CalipsoDoi(2).decode_header(packet[40 : 40 + header_length])


EXAMPLES = (
    Example(
        "CIPSO: an IPv4 UDP packet from a socket labeled s3:c1,c2,c5,c7.c300 (DOI 16, PASS)",
        CIPSO_PACKET,
        "pass doi:16 tags:1,2,5",
        "cipso.__main__",
        _cipso_level,
    ),
    Example(
        "CALIPSO: an IPv6 UDP packet from a socket labeled s0:c1.c300,c400.c500 (DOI 2)",
        CALIPSO_PACKET,
        "2",
        "calipso.__main__",
        _calipso_level,
    ),
)


def run_demo(setrans: str | None = None) -> int:
    """Print both examples through the packages' own decode commands; 0 when both decode.
    ``setrans``: a setrans.conf that names the labels (the decode commands get it too)."""
    translator = None if setrans is None else read_setrans(setrans)
    names = ["--no-setrans"] if setrans is None else ["--setrans", setrans]
    status = 0
    for example in EXAMPLES:
        print(f"== {example.title}")
        print(f"packet {example.packet.hex()}")
        decoded = io.StringIO()
        with contextlib.redirect_stdout(decoded):
            decode_command = importlib.import_module(example.decode_module).main
            status |= decode_command(
                ["decode", example.packet.hex(), "--doi", example.doi_argument, *names]
            )
        text = decoded.getvalue()
        print(text, end="")
        level = Range.single(example.read_level(example.packet))
        peer = Context("system_u", "object_r", "netlabel_peer_t", level)
        column = _value_column(text)
        print(f"{'peer':<{column}}{peer}    (what getpeercon() gives an SELinux receiver)")
        if translator is not None:
            shown = translator.translate_context(peer)
            print(f"{'':<{column}}{shown}    (what ls -Z and ps -Z show, through setrans.conf)")
        print()
    return status


def _value_column(decoded: str) -> int:
    """Where the values start in the decode command's last unindented row (``kernel``), so
    that the ``peer`` row lines up with it."""
    rows = [
        len(m.group()) for m in re.finditer(r"^[a-z][a-z0-9 ]*?  +(?=\S)", decoded, re.MULTILINE)
    ]
    return rows[-1] if rows else 7


# -- a sample capture -------------------------------------------------------------------------

#: The sample capture's first timestamp (seconds).
_SAMPLE_TIME = 1_700_000_000


#: UDP 45363 -> 4242 carrying "labelnet demo", as in the kernel's packets above.
_UDP = struct.pack("!HHHH", 45363, 4242, 8 + 13, 0) + b"labelnet demo"


def _ipv4(src: str, dst: str, options: bytes = b"") -> bytes:
    return ipv4_packet(src, dst, options, _UDP)


def _ipv6(src: str, dst: str, hop_by_hop: bytes) -> bytes:
    return ipv6_packet(src, dst, hop_by_hop, _UDP)


def _cipso(doi: int, level: str, tag: cipso.TagType = cipso.TagType.RESTRICTED_BITMAP) -> bytes:
    return cipso.CipsoDoi(doi, cipso.MapType.PASS, (tag,)).encode_label(Level.parse(level))


def sample_packets() -> list[bytes]:
    """The IP packets of the sample capture: CIPSO tags 1, 5 and 128 in several DOIs, CALIPSO,
    the two kernel-recorded packets, a malformed option, a source route, an unlabeled packet."""
    ranged = cipso.TagType.RANGED
    s6 = Level.parse("s6")
    local = bytes.fromhex("860c00000007") + bytes((128, 6)) + (42).to_bytes(4, "little")
    loose_route = bytes((131, 7, 4)) + ipaddress.IPv4Address("10.9.9.9").packed
    return [
        _ipv4("10.0.0.1", "10.1.0.2", _cipso(3, "s4:c8,c15,c32,c97")),
        _ipv4("10.0.1.1", "10.1.1.2", _cipso(5, "s2:c0.c3,c10.c12", ranged)),
        _ipv6(
            "2001:db8::3",
            "fe80::66",
            calipso.CalipsoDoi(2).encode_header(s6, next_header=17),
        ),
        _ipv4("10.0.0.1", "10.1.0.2", _cipso(3, "s0:c1")),
        _ipv4("10.0.0.1", "10.1.0.2"),  # no label
        _ipv4("10.0.0.1", "10.1.0.2", _cipso(3, "s0:c1")),
        CIPSO_PACKET,
        CALIPSO_PACKET,
        _ipv4("10.0.2.1", "10.1.2.2", local),
        _ipv4("10.0.3.1", "10.1.3.2", bytes.fromhex("860a00000003011000000000")),  # tag too long
        _ipv4("10.0.4.1", "10.1.0.2", loose_route + b"\x01" + _cipso(3, "s0:c1")),
    ]


def write_sample(path: str | os.PathLike[str]) -> int:
    """Write the sample capture (pcapng when ``path`` ends in ``.pcapng``, else pcap) of raw
    IP packets, one millisecond apart; returns how many packets it holds."""
    packets = sample_packets()
    stamps = [(_SAMPLE_TIME, n * 1000) for n in range(len(packets))]
    if str(path).endswith(".pcapng"):
        write_pcapng(path, [(0, t, p) for t, p in zip(stamps, packets, strict=True)], (101,))
    else:
        write_pcap(path, list(zip(stamps, packets, strict=True)), 101)
    return len(packets)


def _run(args: argparse.Namespace) -> int:
    if args.write is not None:
        count = write_sample(args.write)
        print(f"{args.write}: {count} packets; try: labelnet dump {args.write}")
        return 0
    load_setrans(args)  # a file that cannot be used is one line, before any output
    setrans = setrans_path(args)
    return run_demo() if setrans is None else run_demo(setrans)


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    demo = commands.add_parser(
        "demo",
        help="decode two real labeled packets (CIPSO and CALIPSO) and show their MLS labels",
        description=__doc__,
        epilog=setrans_epilog(
            "labelnet demo --setrans /etc/selinux/mls/setrans.conf",
            "the labels' names in setrans rows, the peer context as ls -Z shows it",
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_setrans_arguments(demo)
    demo.add_argument(
        "--write",
        metavar="FILE",
        help="write a sample capture (pcap, or pcapng for a name ending in .pcapng) for "
        "'labelnet dump' instead",
    )
    demo.set_defaults(run=_run)
