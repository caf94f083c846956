"""``labelnet dump`` finds CALIPSO in an IPv6 destination options header (first, or right after
a hop-by-hop header) and says what the kernel does with it there: skips it (type 0x07 has action
bits 00 and the kernel handles CALIPSO only in the hop-by-hop header). tests/kernel has the
same packets judged by the live kernel."""

from __future__ import annotations

import csv
import io
import json
import subprocess
from pathlib import Path

import pytest

import calipso
from labelnet._analysis import DESTINATION_OPTIONS_NOTE
from labelnet.capture import AreaKind, LinkType, labeled_packets, read_segments, write_pcap
from labelnet.dump import DumpSettings, dump, records
from mls import Level
from tests.support import need_program

LEVEL = Level.parse("s1:c2,c9")
SRC, DST = bytes.fromhex("fd00" + "00" * 13 + "01"), bytes.fromhex("fd00" + "00" * 13 + "02")
UDP = bytes.fromhex("0001000200100000") + b"labelnet"
OPTIONS = calipso.CalipsoDoi(5).encode_header(LEVEL, next_header=17)  # next header: UDP
PADDING = bytes((60, 0, 1, 4, 0, 0, 0, 0))  # a hop-by-hop header of padding, then 60


def packet(first: int, *headers: bytes) -> bytes:
    body = b"".join(headers) + UDP
    return (
        bytes.fromhex("60000000")
        + len(body).to_bytes(2, "big")
        + bytes((first, 64))
        + SRC
        + DST
        + body
    )


def with_next(header: bytes, next_header: int) -> bytes:
    return bytes((next_header,)) + header[1:]


FIRST = packet(60, OPTIONS)
AFTER_HOP_BY_HOP = packet(0, PADDING, OPTIONS)


def capture(tmp_path: Path, *packets: bytes, snaplen: int = 65535) -> Path:
    path = tmp_path / "dst.pcap"
    write_pcap(path, [(1.0 + n, p) for n, p in enumerate(packets)], LinkType.RAW, snaplen=snaplen)
    return path


def lines(path: Path, **settings: object) -> list[str]:
    out = io.StringIO()
    dump(path, out, DumpSettings(**settings))  # type: ignore[arg-type]
    return out.getvalue().splitlines()


def test_the_walk_finds_both_places(tmp_path: Path) -> None:
    path = capture(tmp_path, FIRST, AFTER_HOP_BY_HOP, packet(0, with_next(OPTIONS, 60), OPTIONS))
    with path.open("rb") as stream:
        found = [p for s in read_segments(stream) for p in labeled_packets(s)]
    assert [(p.version, p.kind) for p in found] == [
        (6, AreaKind.DESTINATION_OPTIONS),
        (6, AreaKind.HOP_BY_HOP_AND_DESTINATION_OPTIONS),
        (6, AreaKind.HOP_BY_HOP),  # CALIPSO in the hop-by-hop header: that one counts
    ]
    assert found[0].area == OPTIONS and found[1].area == PADDING + OPTIONS


def test_text_shows_the_label_and_that_the_kernel_skips_it(tmp_path: Path) -> None:
    path = capture(tmp_path, FIRST, AFTER_HOP_BY_HOP)
    shown = lines(path, dois=("calipso pass doi:5",))
    assert shown[1].split()[4:8] == ["calipso", "5", "-", str(LEVEL)]
    assert shown[1].endswith(f"accepted: {DESTINATION_OPTIONS_NOTE}")
    assert shown[2].endswith(f"accepted: {DESTINATION_OPTIONS_NOTE}")
    plain = lines(path)
    assert plain[1].endswith(f"no-doi-config: {DESTINATION_OPTIONS_NOTE}")


def test_json_and_csv_carry_the_note_as_the_reason(tmp_path: Path) -> None:
    path = capture(tmp_path, AFTER_HOP_BY_HOP)
    (line,) = lines(path, format="jsonl", dois=("calipso pass doi:6",))
    record = json.loads(line)
    # An unconfigured DOI drops a packet in the hop-by-hop header; here it is not even read.
    assert record["verdict"] == "accepted" and record["reason"] == DESTINATION_OPTIONS_NOTE
    assert record["label"] == str(LEVEL) and record["offset"] is None
    _header, row = lines(path, format="csv")
    (fields,) = csv.reader([row])
    assert fields[9] == "no-doi-config" and fields[12] == DESTINATION_OPTIONS_NOTE


def test_a_hop_by_hop_header_that_drops_the_packet_decides(tmp_path: Path) -> None:
    broken = bytes((60, 0, 1, 4, 0, 0, 5, 0))  # PadN with a non-zero byte, at header byte 6
    (record,) = records(capture(tmp_path, packet(0, broken, OPTIONS)), ["calipso pass doi:5"])
    verdict = record.option.verdict
    assert verdict is not None and verdict.kind is calipso.VerdictKind.DROPPED
    assert verdict.offset == 6 and record.option.pointer == 46
    assert record.option.reason == f"PadN carries a non-zero byte; {DESTINATION_OPTIONS_NOTE}"


def test_calipso_in_the_hop_by_hop_header_comes_first(tmp_path: Path) -> None:
    other = calipso.CalipsoDoi(9).encode_header(Level.parse("s4"), next_header=60)
    path = capture(tmp_path, packet(0, other, OPTIONS), packet(0, with_next(OPTIONS, 60), OPTIONS))
    shown = [(r.option.doi, r.option.label, r.option.reason) for r in records(path)]
    assert shown == [(9, "s4", ""), (5, str(LEVEL), "")]
    # The same lines as for the hop-by-hop header alone.
    alone = capture(tmp_path, packet(0, with_next(other, 17)))
    assert (
        lines(path, format="jsonl")[0].split('"protocol"')[1]
        == lines(alone, format="jsonl")[0].split('"protocol"')[1]
    )


def test_a_calipso_type_byte_in_the_hop_by_hop_header_hides_the_next_header(
    tmp_path: Path,
) -> None:
    # The documented price of the fast byte test: a hop-by-hop header holding 0x07 outside any
    # CALIPSO option is taken for the carrier, found empty, and the packet is not shown.
    hiding = bytes((60, 0, 1, 4, 0, 0, 7, 0))
    assert list(records(capture(tmp_path, packet(0, hiding, OPTIONS)))) == []


def test_offsets_count_from_the_end_of_the_ipv6_header(tmp_path: Path) -> None:
    # An unknown option with action bits 10 after CALIPSO: a Parameter Problem pointing at it.
    body = OPTIONS[2:] + bytes((0x9E, 6)) + bytes(6)
    header = bytes((17, len(OPTIONS) // 8)) + body
    (record,) = records(capture(tmp_path, packet(0, PADDING, header)), ["calipso pass doi:5"])
    option = record.option
    assert option.start == 8 + 2
    ours = calipso.verdict(header, [5], destination_options=True)
    assert option.verdict is not None and option.verdict.kind is ours.kind
    assert ours.pointer is not None and option.pointer == ours.pointer + 8
    assert option.verdict.offset == 8 + len(OPTIONS)


def test_a_header_cut_by_the_snapshot_length_is_truncated(tmp_path: Path) -> None:
    path = capture(tmp_path, FIRST, snaplen=40 + len(OPTIONS) - 4)
    (record,) = records(path, ["calipso pass doi:5"])
    assert record.option.verdict is not None
    assert record.option.verdict.kind is calipso.VerdictKind.TRUNCATED
    assert record.option.error  # the option runs past what the capture holds


def test_tshark_sees_the_same_option_in_the_destination_options_header(tmp_path: Path) -> None:
    tshark = need_program("tshark")
    path = capture(tmp_path, FIRST, AFTER_HOP_BY_HOP)
    out = subprocess.run(
        [tshark, "-r", str(path), "-T", "fields", "-E", "separator=,", "-e", "ipv6.hopopts.nxt",
         "-e", "ipv6.dstopts.nxt", "-e", "ipv6.opt.calipso.doi", "-e",
         "ipv6.opt.calipso.sens_level"],
        capture_output=True, text=True, check=True,
    ).stdout.splitlines()  # fmt: skip
    assert out == [f",17,5,{LEVEL.sensitivity}", f"60,17,5,{LEVEL.sensitivity}"]
    ours = [(r.option.doi, r.option.label) for r in records(path)]
    assert ours == [(5, str(LEVEL))] * 2


@pytest.mark.parametrize("cut", range(40, 40 + 8 + len(OPTIONS)))
def test_any_cut_of_the_headers_is_shown_or_left_out_without_error(
    tmp_path: Path, cut: int
) -> None:
    path = capture(tmp_path, AFTER_HOP_BY_HOP, snaplen=cut)
    for record in records(path, ["calipso pass doi:5"]):
        assert record.option.verdict is not None
        assert record.option.verdict.kind is calipso.VerdictKind.TRUNCATED
