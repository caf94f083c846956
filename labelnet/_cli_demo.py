"""``labelnet demo``: decode two real labeled packets with their MLS labels.

Both packets were written by the Linux 6.18 kernel itself and recorded off a loopback device:
a UDP socket labeled through ``IP_OPTIONS`` with the CIPSO option that a PASS DOI 16 (tags
1, 2, 5) gives ``s3:c1,c2,c5,c7.c300`` (the kernel chose tag 5: the categories do not fit tag 1
or tag 2), and a UDP socket labeled through ``IPV6_HOPOPTS`` with the hop-by-hop header that
CALIPSO DOI 2 gives ``s0:c1.c300,c400.c500``. The receiving kernel accepted both.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import calipso
import calipso.__main__
import cipso
import cipso.__main__
from mls import Context, Level, Range

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
    decode_command: Callable[[Sequence[str] | None], int]
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
        cipso.__main__.main,
        _cipso_level,
    ),
    Example(
        "CALIPSO: an IPv6 UDP packet from a socket labeled s0:c1.c300,c400.c500 (DOI 2)",
        CALIPSO_PACKET,
        "2",
        calipso.__main__.main,
        _calipso_level,
    ),
)


def run_demo() -> int:
    """Print both examples through the packages' own decode commands; 0 when both decode."""
    status = 0
    for example in EXAMPLES:
        print(f"== {example.title}")
        print(f"packet {example.packet.hex()}")
        status |= example.decode_command(
            ["decode", example.packet.hex(), "--doi", example.doi_argument]
        )
        level = Range.single(example.read_level(example.packet))
        peer = Context("system_u", "object_r", "netlabel_peer_t", level)
        print(f"peer   {peer}    (what getpeercon() gives an SELinux receiver)")
        print()
    return status


def _run(args: argparse.Namespace) -> int:
    return run_demo()


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    demo = commands.add_parser(
        "demo",
        help="decode two real labeled packets (CIPSO and CALIPSO) and show their MLS labels",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    demo.set_defaults(run=_run)
