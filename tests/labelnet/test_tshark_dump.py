"""The dump against Wireshark: same packets, addresses, DOIs, tag types, levels and categories.

tshark decodes fields but judges little (kernel-testing.md), so only decoded fields are
compared here; verdicts are the kernel's business (cipso.validate / calipso.validate).
"""

from __future__ import annotations

import subprocess
from decimal import Decimal
from pathlib import Path

import pytest

from labelnet._tshark import LABEL_FIELDS, fields_command
from labelnet.capture import LinkType, write_pcap, write_pcapng
from labelnet.dump import Record, records
from mls import CategorySet
from tests.support import need_program

from .packets import calipso_header, carried_by, cipso_option, frame, ipv4, ipv6

pytestmark = pytest.mark.tshark

FIELDS = (*LABEL_FIELDS, "frame.time_epoch")


def labeled_packets() -> list[bytes]:
    packets = []
    for n, (doi, level, tag) in enumerate(
        [
            (3, "s3:c0,c5", 1),
            (16, "s0", 1),
            (4, "s7:c1,c9,c300", 2),
            (5, "s2:c0.c3,c10.c12,c40", 5),
            (5, "s2:c1.c3,c10.c12,c40", 5),
            (5, "s9", 5),
            (0xFFFFFFFF, "s255:c0.c200", 1),
        ]
    ):
        packets.append(ipv4(f"10.0.{n}.1", f"10.1.{n}.2", cipso_option(doi, level, tag)))
        packets.append(ipv4(f"10.0.{n}.3", f"10.1.{n}.4"))  # unlabeled
    for n, level in enumerate(["s3:c0,c5,c40", "s0", "s255:c0.c1000", "s1:c31,c32"]):
        packets.append(ipv6(f"2001:db8::{n}", f"fe80::{n + 1}", calipso_header(2 + n, level)))
        packets.append(ipv6(f"2001:db8::{n}", "fe80::1"))  # unlabeled
    return packets


def tshark_rows(path: Path) -> dict[int, list[str]]:
    program = need_program("tshark")
    args = fields_command(program, path, FIELDS, ["-E", "separator=|", "-E", "occurrence=f"])
    proc = subprocess.run(args, capture_output=True, text=True, check=True)
    rows = {}
    for line in proc.stdout.splitlines():
        cells = line.split("|")
        if cells[5] or cells[9]:  # a CIPSO or CALIPSO DOI
            rows[int(cells[0])] = cells
    return rows


def tshark_categories(text: str) -> CategorySet:
    """tshark lists tag 1/2 categories as "0,5" and tag 5 ranges as "high-low"."""
    numbers: list[int] = []
    for item in filter(None, text.split(",")):
        high, _, low = item.partition("-")
        numbers.extend(range(int(low or high), int(high) + 1))
    return CategorySet.of(*numbers)


def compare(ours: list[Record], theirs: dict[int, list[str]]) -> None:
    assert [r.packet for r in ours] == sorted(theirs)
    for record in ours:
        row = theirs[record.packet]
        assert Decimal(record.time) == Decimal(row[12])
        option = record.option
        assert option.wire_level is not None
        if option.protocol == "cipso":
            assert (record.source, record.destination) == (row[1], row[2])
            assert option.doi == int(row[5])
            assert option.tag == int(row[6])
            assert option.wire_level.sensitivity == int(row[7])
            assert option.wire_level.categories == tshark_categories(row[8])
        else:
            assert (record.source, record.destination) == (row[3], row[4])
            assert option.doi == int(row[9])
            assert option.wire_level.sensitivity == int(row[10])
            bitmap = bytes.fromhex(row[11].replace("<MISSING>", ""))  # tshark's empty bitmap
            assert option.wire_level.categories == CategorySet.from_bitmap(bitmap)


@pytest.mark.parametrize("linktype", [int(t) for t in LinkType])
def test_same_fields_as_tshark_for_every_link_type(tmp_path: Path, linktype: int) -> None:
    packets = carried_by(linktype, labeled_packets())
    path = tmp_path / "labels.pcap"
    stamps = [(1700000000 + i, i * 1_000_003 % 10**9) for i in range(len(packets))]
    write_pcap(
        path,
        [(t, frame(linktype, p)) for t, p in zip(stamps, packets, strict=True)],
        linktype,
        nanoseconds=True,
    )
    ours = list(records(path))
    assert len(ours) == len(packets) // 2  # every other packet is labeled
    compare(ours, tshark_rows(path))


def test_same_fields_as_tshark_in_pcapng_with_vlans(tmp_path: Path) -> None:
    from .packets import ethernet

    packets = labeled_packets()
    path = tmp_path / "labels.pcapng"
    framed = [
        (
            i % 2,
            i,
            ethernet(p, [(0x88A8, 3), (0x8100, 7)]) if i % 2 else frame(LinkType.LINUX_SLL, p),
        )
        for i, p in enumerate(packets)
    ]
    write_pcapng(path, framed, (LinkType.LINUX_SLL, LinkType.ETHERNET))
    compare(list(records(path)), tshark_rows(path))
