"""The dump: labels, the kernel's verdicts, malformed options, filters, formats, stats, jobs."""

from __future__ import annotations

import concurrent.futures
import contextlib
import csv
import io
import json
import random
import struct
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

import calipso
import cipso
from labelnet import _parallel as parallel_module
from labelnet import _render as render_module
from labelnet import dump as dump_module
from labelnet._render import Renderer
from labelnet.capture import (
    CaptureError,
    LinkType,
    Segment,
    iter_labeled,
    read_segments,
    write_pcap,
    write_pcapng,
)
from labelnet.dump import (
    FIELDS,
    Analyzer,
    DoiConfig,
    DumpSettings,
    LabelOption,
    dump,
    records,
)
from mls import Level
from tests.support import python_output

from .packets import calipso_header, cipso_option, ethernet, ipv4, ipv6
from .test_dump_destination_options import AFTER_HOP_BY_HOP, FIRST

PASS3 = "cipso pass doi:3 tags:1"
TRANS3 = "cipso trans doi:3 tags:1 levels:3=5,0=0 categories:0=1,1=0,7=7"
CALIPSO2 = "calipso pass doi:2"


def kind(option: LabelOption) -> str | None:
    """The verdict's kind, None without a DOI configuration."""
    return None if option.verdict is None else option.verdict.kind.value


def analyse4(
    options: bytes, *dois: str, loopback: bool = False, truncated: bool = False
) -> LabelOption:
    found = Analyzer(DoiConfig.parse(dois), loopback=loopback).ipv4(options, truncated)
    assert found is not None
    return found


def analyse6(header: bytes, *dois: str) -> LabelOption:
    found = Analyzer(DoiConfig.parse(dois)).ipv6(header)
    assert found is not None
    return found


# -- one option ---------------------------------------------------------------------------------


def test_without_configuration_labels_are_shown_as_on_the_wire() -> None:
    option = analyse4(cipso_option(3, "s3:c0,c5") + b"\0")
    assert (option.protocol, option.doi, option.tag) == ("cipso", 3, 1)
    assert option.level == option.wire_level == Level.parse("s3:c0,c5")
    assert kind(option) is None
    ranged = analyse4(cipso_option(16, "s7:c0.c3,c10.c12", tag=5))
    assert ranged.tag == 5 and str(ranged.level) == "s7:c0.c3,c10.c12"
    v6 = analyse6(calipso_header(2, "s1:c7,c40"))
    assert (v6.protocol, v6.doi, v6.tag, str(v6.level)) == ("calipso", 2, None, "s1:c7,c40")
    assert kind(v6) is None


def test_accepted_by_a_pass_doi() -> None:
    assert kind(analyse4(cipso_option(3, "s3:c0,c5"), PASS3)) == "accepted"
    assert kind(analyse6(calipso_header(2, "s3"), CALIPSO2)) == "accepted"


def test_trans_doi_translates_the_wire_label() -> None:
    # wire level 5 -> host 3; wire category 0 -> host 1, 1 -> 0, 7 -> 7
    wire = cipso.CipsoDoi(3, cipso.MapType.PASS, (cipso.TagType.RESTRICTED_BITMAP,))
    option = wire.encode_label(Level.parse("s5:c0,c7"))
    found = analyse4(option, TRANS3)
    assert kind(found) == "accepted"
    assert str(found.wire_level) == "s5:c0,c7"
    assert str(found.level) == "s3:c1,c7"


def test_trans_doi_rejects_an_unmapped_category_at_the_kernels_offset() -> None:
    found = analyse4(cipso_option(3, "s5:c2"), TRANS3)
    assert kind(found) == "parameter-problem"
    assert found.offset == 10 and found.pointer == 30
    assert "category 2" in found.reason
    assert found.level is None and str(found.wire_level) == "s5:c2"


def test_unknown_doi_is_rejected_at_the_doi_field() -> None:
    found = analyse4(cipso_option(7, "s1"), PASS3)
    assert (kind(found), found.offset, found.pointer) == ("parameter-problem", 2, 22)
    assert found.reason == "DOI 7 is not configured"
    # the pointer counts from the IP header: NOPs in front move it
    moved = analyse4(b"\x01\x01" + cipso_option(7, "s1"), PASS3)
    assert (moved.offset, moved.pointer) == (2, 24)


def test_same_verdict_as_cipso_validate() -> None:
    dois = DoiConfig.parse([PASS3, "cipso pass doi:5 tags:5"])
    for doi, level, tag in [(3, "s3", 1), (3, "s3:c1", 5), (5, "s9:c1.c4", 5), (9, "s0", 1)]:
        raw = cipso_option(doi, level, tag)
        found = analyse4(raw, PASS3, "cipso pass doi:5 tags:5")
        try:
            cipso.validate(raw, dois.cipso)
        except cipso.CipsoValidationError as exc:
            assert (kind(found), found.offset, found.reason) == (
                "parameter-problem",
                exc.offset,
                exc.reason,
            )
        else:
            assert kind(found) == "accepted"


def test_tag_128_is_accepted_only_on_loopback() -> None:
    option = bytes.fromhex("860c00000005") + bytes.fromhex("8006") + (42).to_bytes(4, "little")
    local = "cipso local doi:5"
    assert kind(analyse4(option, local)) == "parameter-problem"
    found = analyse4(option, local, loopback=True)
    assert kind(found) == "accepted" and found.tag == 128 and found.level is None


def test_calipso_failures_are_silent_drops_with_offsets() -> None:
    header = bytearray(calipso_header(2, "s3:c0"))
    assert header[2] == 0x07
    unknown = analyse6(bytes(header), "calipso pass doi:9")
    assert (kind(unknown), unknown.offset, unknown.pointer) == ("dropped", 2, 44)
    header[8 + 2] ^= 0xFF  # break the checksum (option byte 8)
    bad = analyse6(bytes(header), CALIPSO2)
    assert (kind(bad), bad.offset) == ("dropped", 8)
    assert "checksum" in bad.reason
    assert bad.level is not None  # decoded anyway: the label is shown beside the verdict


def test_a_bad_second_calipso_option_is_not_blamed_on_the_first() -> None:
    # The kernel checks every CALIPSO option (calipso.md section 3); the label is the first.
    first = calipso_header(2, "s3")
    option = first[2 : 2 + 2 + first[3]]
    second = bytearray(option)
    second[8] ^= 0xFF  # bad checksum
    body = option + bytes(second)
    body += bytes(-(len(body) + 2) % 8)
    header = bytes([17, (len(body) + 2) // 8 - 1]) + body
    found = analyse6(header, CALIPSO2)
    assert kind(found) == "dropped"
    assert found.offset is None and found.pointer == 40 + 2 + len(option) + 8
    assert str(found.level) == "s3" and "checksum" in found.reason


def test_calipso_verdict_agrees_with_calipso_validate() -> None:
    header = calipso_header(2, "s3:c0,c100")
    option = header[2 : 2 + 2 + header[3]]
    for dois in ([2], [9]):
        found = analyse6(header, *(f"calipso pass doi:{d}" for d in dois))
        try:
            calipso.validate(option, dois)
        except calipso.CalipsoValidationError as exc:
            assert kind(found) == "dropped" and found.offset == exc.offset
        else:
            assert kind(found) == "accepted"


# -- malformed options: a record with the error, never a traceback -------------------------------


@pytest.mark.parametrize(
    ("options", "error_offset"),
    [
        # The options walker's faults are at the option's type byte, as the kernel points.
        (bytes.fromhex("8628000000030105"), 0),  # length 40 runs past an 8-byte area
        (bytes.fromhex("860a00000003011000000000"), 7),  # tag length 16 runs past the option
        (bytes.fromhex("8604000000030000"), 1),  # option length 4 below the header
        (bytes.fromhex("0101010101010186"), 0),  # no length byte
        (bytes.fromhex("860900000003020300"), 7),  # tag 2 with a 3-byte tag
        (bytes.fromhex("8600000000030000"), 0),  # option length 0
    ],
)
def test_malformed_cipso_is_reported_with_its_offset(options: bytes, error_offset: int) -> None:
    for dois in ((), (PASS3,)):
        found = analyse4(options, *dois)
        assert found.error and found.error_offset == error_offset
        assert found.level is None
        if dois:
            assert kind(found) == "parameter-problem"


def test_malformed_calipso_is_reported() -> None:
    good = calipso_header(2, "s3")
    runs_past = bytearray(good)
    runs_past[3] = 40
    found = analyse6(bytes(runs_past), CALIPSO2)
    assert found.error and found.error_offset == 1 and kind(found) == "dropped"
    short = bytearray(good)
    short[3] = 4  # option data length 4 < 8
    found = analyse6(bytes(short[:8]), CALIPSO2)
    assert found.error_offset == 1 and kind(found) == "dropped"


def test_no_label_option_gives_none() -> None:
    analyzer = Analyzer(DoiConfig())
    assert analyzer.ipv4(b"\x00\x86\x08") is None  # after EOL
    assert analyzer.ipv4(bytes([7, 4, 0x86, 0])) is None  # inside a record route option
    assert analyzer.ipv6(bytes([17, 0, 1, 4, 0, 0, 0, 0])) is None  # PadN only


def test_random_option_bytes_never_raise() -> None:
    rng = random.Random(5)
    analyzer = Analyzer(DoiConfig.parse([PASS3, TRANS3.replace("doi:3", "doi:4"), CALIPSO2]))
    seeds4 = [
        cipso_option(3, "s3:c0,c5"),
        cipso_option(4, "s1:c0.c9", 5),
        cipso_option(3, "s2:c1,c70", 2),
    ]
    seeds6 = [calipso_header(2, "s3:c0,c100"), calipso_header(2, "s0")]
    for _ in range(3000):
        area = bytearray(rng.choice(seeds4))
        for _ in range(rng.randrange(1, 4)):
            area[rng.randrange(len(area))] = rng.randrange(256)
        analyzer.ipv4(bytes(area[: rng.randrange(1, 41)]))
        header = bytearray(rng.choice(seeds6))
        for _ in range(rng.randrange(1, 4)):
            header[rng.randrange(2, len(header))] = rng.randrange(256)
        analyzer.ipv6(bytes(header))
        analyzer.ipv6(bytes(header[: rng.randrange(len(header))]), truncated=True)


# -- whole captures ------------------------------------------------------------------------------


def capture(tmp_path: Path) -> Path:
    """Labels from several DOIs and address pairs, unlabeled and malformed packets."""
    packets = [
        ipv4("10.0.0.1", "10.0.1.1", cipso_option(3, "s3:c0,c5")),  # 1
        ipv4("10.0.0.1", "10.0.1.1"),  # 2 unlabeled
        ipv6("2001:db8::1", "2001:db8::2", calipso_header(2, "s1:c7")),  # 3
        ipv4("10.0.0.2", "192.168.1.9", cipso_option(5, "s7:c0.c3,c10", 5)),  # 4
        ipv4("10.0.0.1", "10.0.1.1", cipso_option(3, "s3:c0,c5")),  # 5
        ipv4("10.0.0.9", "10.0.1.1", bytes.fromhex("860a00000003011000000000")),  # 6 malformed
        ipv4("10.0.0.1", "10.0.1.1", cipso_option(3, "s0")),  # 7
        ipv6("2001:db8::1", "2001:db8::2", calipso_header(2, "s15:c0.c10")),  # 8
    ]
    path = tmp_path / "labels.pcap"
    write_pcap(path, [((1700000000 + i, 250000), ethernet(p)) for i, p in enumerate(packets)])
    return path


def run(path: Path, **settings: object) -> str:
    out = io.StringIO()
    dump(path, out, DumpSettings(**settings))  # type: ignore[arg-type]
    return out.getvalue()


def numbers(path: Path, **settings: object) -> list[int]:
    text = run(path, format="jsonl", **settings)
    return [json.loads(line)["packet"] for line in text.splitlines()]


def test_text_output_is_aligned(tmp_path: Path) -> None:
    lines = run(capture(tmp_path)).splitlines()
    assert lines[0].split() == [
        "PACKET",
        "TIME",
        "SOURCE",
        "DESTINATION",
        "OPTION",
        "DOI",
        "TAG",
        "LABEL",
        "VERDICT",
    ]
    assert lines[1].split() == [
        "1",
        "1700000000.250000",
        "10.0.0.1",
        "10.0.1.1",
        "cipso",
        "3",
        "1",
        "s3:c0,c5",
        "no-doi-config",
    ]
    assert len(lines) == 8  # header and 7 labeled packets (6 is malformed, still listed)
    for column in ("TIME", "SOURCE", "DESTINATION", "LABEL", "VERDICT"):
        at = lines[0].index(column)
        assert all(
            line[at - 1] == " " and line[at] != " " for line in lines[1:] if "2001" not in line
        )
    malformed = next(line for line in lines if line.split()[0] == "6")
    assert "malformed at 7" in malformed and "tag length 16" in malformed


def test_text_columns_fit_long_ipv6_addresses(tmp_path: Path) -> None:
    path = tmp_path / "v6.pcap"
    long = "2001:db8:85a3:1234:5678:8a2e:370:7334"
    packets = [
        ipv4("10.0.0.1", "10.0.0.2", cipso_option(3, "s1")),
        ipv6(long, "fe80::1", calipso_header(2, "s2:c1")),
    ]
    write_pcap(path, [(i, ethernet(p)) for i, p in enumerate(packets)])
    lines = run(path).splitlines()
    assert lines[2].split()[2] == long
    for column in ("DESTINATION", "OPTION", "LABEL"):
        at = lines[0].index(column)
        assert all(line[at - 1] == " " and line[at] != " " for line in lines[1:])


def test_jsonl_has_every_field(tmp_path: Path) -> None:
    text = run(capture(tmp_path), format="jsonl", dois=(PASS3, CALIPSO2))
    rows = [json.loads(line) for line in text.splitlines()]
    assert [r["packet"] for r in rows] == [1, 3, 4, 5, 6, 7, 8]
    assert all(list(r) == list(FIELDS) for r in rows)
    first = rows[0]
    assert first == {
        "packet": 1,
        "time": 1700000000.25,
        "source": "10.0.0.1",
        "destination": "10.0.1.1",
        "protocol": "cipso",
        "doi": 3,
        "tag": 1,
        "label": "s3:c0,c5",
        "wire_label": "s3:c0,c5",
        "verdict": "accepted",
        "offset": None,
        "pointer": None,
        "reason": None,
        "error": None,
        "error_offset": None,
    }
    fourth = rows[2]
    assert (fourth["verdict"], fourth["offset"], fourth["pointer"]) == ("parameter-problem", 2, 22)
    malformed = rows[4]
    assert malformed["error_offset"] == 7 and malformed["label"] is None
    assert rows[1]["protocol"] == "calipso" and rows[1]["tag"] is None


def test_csv_round_trips(tmp_path: Path) -> None:
    text = run(capture(tmp_path), format="csv", dois=(PASS3,))
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [int(r["packet"]) for r in rows] == [1, 3, 4, 5, 6, 7, 8]
    assert rows[2]["label"] == "s7:c0.c3,c10" and rows[2]["verdict"] == "parameter-problem"
    assert (
        rows[1]["verdict"] == "dropped"
        and rows[1]["reason"] == "CALIPSO option at 2: DOI 2 is not configured"
    )
    assert rows[0]["time"] == "1700000000.250000" and rows[0]["offset"] == ""


def test_filters(tmp_path: Path) -> None:
    path = capture(tmp_path)
    assert numbers(path, doi_filter=frozenset({3})) == [1, 5, 6, 7]
    assert numbers(path, doi_filter=frozenset({2, 5})) == [3, 4, 8]
    assert numbers(path, addresses=("192.168.1.9",)) == [4]
    assert numbers(path, addresses=("10.0.1.0/24",)) == [1, 5, 6, 7]
    assert numbers(path, addresses=("2001:db8::/32", "10.0.0.2")) == [3, 4, 8]
    assert numbers(path, dominated_by="s3:c0.c10") == [1, 3, 5, 7]
    assert numbers(path, dominates="s3:c0") == [1, 4, 5, 8]
    assert numbers(path, equals="s3:c0,c5") == [1, 5]
    assert numbers(path, dominates="s1", dominated_by="s7:c0.c10") == [1, 3, 4, 5]
    assert numbers(path, equals="s3:c0,c5", addresses=("10.9.9.9",)) == []


def test_stats_count_labels_per_address_pair(tmp_path: Path) -> None:
    path = capture(tmp_path)
    out = io.StringIO()
    summary = dump(path, out, DumpSettings(stats=True, show_records=False))
    assert summary.written == 7
    assert summary.stats[("10.0.0.1", "10.0.1.1", "cipso", 3, "s3:c0,c5")] == 2
    assert summary.stats[("10.0.0.9", "10.0.1.1", "cipso", 3, "-")] == 1
    text = out.getvalue().splitlines()
    assert text[1] == "labels per address pair (7 packets)"
    assert text[2].split() == ["SOURCE", "DESTINATION", "OPTION", "DOI", "LABEL", "PACKETS"]
    assert text[3].split() == ["10.0.0.1", "10.0.1.1", "cipso", "3", "s3:c0,c5", "2"]
    jsonl = run(path, format="jsonl", stats=True, show_records=False)
    first = json.loads(jsonl.splitlines()[0])["stats"]
    assert first["packets"] == 2 and first["label"] == "s3:c0,c5"


def test_records_api(tmp_path: Path) -> None:
    found = list(records(capture(tmp_path), [PASS3]))
    assert [r.packet for r in found] == [1, 3, 4, 5, 6, 7, 8]
    assert found[0].source == "10.0.0.1" and kind(found[0].option) == "accepted"
    assert found[1].time == "1700000002.250000"


def test_bad_settings_fail_before_any_output() -> None:
    with pytest.raises(ValueError, match="not an IP address"):
        DumpSettings(addresses=("10.0.0.300",))
    with pytest.raises(ValueError):
        DumpSettings(dominates="s3:c5.c1")
    with pytest.raises(ValueError, match="cipso or calipso"):
        DumpSettings(dois=("pass doi:3 tags:1",))
    with pytest.raises(ValueError):
        DumpSettings(dois=("cipso pass doi:0 tags:1",))
    with pytest.raises(ValueError, match="twice"):
        DumpSettings(dois=(PASS3, PASS3))


def big_capture(tmp_path: Path, count: int = 3000) -> Path:
    rng = random.Random(7)
    options = [
        cipso_option(3, f"s{s}:c{c}", tag) for s in range(4) for c in range(5) for tag in (1, 5)
    ]
    headers = [calipso_header(2, f"s{s}:c{c}") for s in range(3) for c in range(4)]
    packets = []
    for i in range(count):
        src, dst = f"10.0.{rng.randrange(8)}.1", f"10.1.{rng.randrange(8)}.2"
        kind = rng.randrange(4)
        if kind == 0:
            packet = ipv4(src, dst)
        elif kind == 1:
            packet = ipv6(f"2001:db8::{i % 9}", "2001:db8::ff", rng.choice(headers))
        else:
            packet = ipv4(src, dst, rng.choice(options))
        packets.append((0, (1700000000 + i, i), ethernet(packet)))
    path = tmp_path / "big.pcapng"
    write_pcapng(path, packets)
    return path


def many_segments(monkeypatch: pytest.MonkeyPatch) -> None:
    """Small segments, so that the captures of these tests are shared by workers."""
    monkeypatch.setattr(dump_module, "SERIAL_CHUNK", 4 << 10)
    monkeypatch.setattr(parallel_module, "PARALLEL_CHUNK", 16 << 10)


def pools_started(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    """(workers, number of the first packet handed to them) for each pool a dump starts."""
    pools: list[tuple[int, int]] = []
    results = parallel_module.Pool.results

    def recorded(
        self: parallel_module.Pool[object], groups: Iterator[list[Segment]], *args: object
    ) -> Iterator[object]:
        handed = list(groups)
        pools.append((self.jobs, handed[0][0].first_packet))
        yield from results(self, iter(handed), *args)  # type: ignore[arg-type]

    monkeypatch.setattr(parallel_module.Pool, "results", recorded)
    return pools


def test_jobs_give_the_same_output_in_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    many_segments(monkeypatch)
    pools = pools_started(monkeypatch)
    path = big_capture(tmp_path)
    settings = DumpSettings(format="jsonl", dois=(PASS3,), stats=True)
    serial, parallel = io.StringIO(), io.StringIO()
    one = dump(path, serial, settings)
    two = dump(path, parallel, settings, jobs=2)
    assert serial.getvalue() == parallel.getvalue()
    assert one.written == two.written > 2000
    assert one.stats == two.stats
    # A stream (standard input) cannot be reopened by the workers: its bytes are sent instead.
    streamed = io.StringIO()
    with path.open("rb") as stream:
        dump(stream, streamed, settings, jobs=2)
    assert streamed.getvalue() == serial.getvalue()
    # Two workers shared it, from a path and from a stream, the first segment too (this
    # process only frames the capture then: no worker waits for it).
    assert pools == [(2, 1), (2, 1)]


@pytest.mark.parametrize("jobs", [1, 2])
def test_progress_counts_every_packet_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, jobs: int
) -> None:
    # Regression: the packets done were the number of the last labeled packet of each
    # segment, so a capture ending in unlabeled packets never reached its last packet.
    many_segments(monkeypatch)
    labeled = ethernet(ipv4("10.0.0.1", "10.0.0.2", cipso_option(3, "s1:c2")))
    plain = ethernet(ipv4("10.0.0.1", "10.0.0.2"))
    times = [(1700000000, i) for i in range(2500)]
    packets = [labeled if i < 2000 else plain for i in range(2500)]
    pcap, pcapng = tmp_path / "tail.pcap", tmp_path / "tail.pcapng"
    write_pcap(pcap, list(zip(times, packets, strict=True)))
    write_pcapng(pcapng, [(0, *record) for record in zip(times, packets, strict=True)])
    for path in (pcap, pcapng):
        seen: list[tuple[int, int]] = []

        def progress(done: int, packets: int, seen: list[tuple[int, int]] = seen) -> None:
            seen.append((done, packets))

        dump(path, io.StringIO(), DumpSettings(), jobs=jobs, progress=progress)
        assert len(seen) > 4
        assert seen == sorted(seen)
        assert seen[-1] == (path.stat().st_size, 2500)


def test_a_segment_is_rendered_without_garbage_collections(tmp_path: Path) -> None:
    # Regression: a segment's packets were gathered in a list first; past the interpreter's
    # free list of tuples, every 700 tuples allocated started a garbage collection (about 5%
    # of a worker's time on segments of 1 MiB). Walked and rendered a few hundred at a time,
    # the tuples are reused.
    import gc

    path = tmp_path / "one-label.pcap"
    packet = ethernet(ipv4("10.0.0.1", "10.0.0.2", cipso_option(3, "s1:c2")))
    write_pcap(path, [((1700000000, i), packet) for i in range(20000)])
    with path.open("rb") as stream:
        (segment,) = read_segments(stream, 1 << 24)
    renderer = dump_module.make_renderer(DumpSettings())
    parallel_module.render_segment(renderer, segment)  # its one label's line made
    gc.collect()  # which empties the free lists: the next rendering fills them again
    parallel_module.render_segment(renderer, segment)
    before = gc.get_stats()[0]["collections"]
    result = parallel_module.render_segment(renderer, segment)
    assert gc.get_stats()[0]["collections"] == before
    assert result.written == 20000 and result.last_packet == 20000


def test_jobs_print_the_same_column_widths(tmp_path: Path) -> None:
    # Regression: the text format's address column is as wide as the longest address of the
    # first segment, and the workers' segments were bigger: an IPv6 address after the first
    # 256 KiB widened the columns with --jobs 2 only.
    option = cipso_option(3, "s1:c2")
    early = [((1700000000, i), ethernet(ipv4("10.0.0.1", "10.0.0.2", option))) for i in range(8000)]
    late = ethernet(ipv6("2001:db8::1234:5678", "2001:db8::ff", calipso_header(2, "s2")))
    path = tmp_path / "widths.pcap"
    write_pcap(path, [*early, ((1700000001, 0), late), *early * 3])
    data = path.read_bytes()
    ipv6_at = data.find(bytes.fromhex("20010db8"))
    assert dump_module.SERIAL_CHUNK < ipv6_at < parallel_module.PARALLEL_CHUNK
    assert len(data) > 2 * parallel_module.PARALLEL_CHUNK  # so two workers start
    serial, parallel = io.StringIO(), io.StringIO()
    dump(path, serial, DumpSettings())
    dump(path, parallel, DumpSettings(), jobs=2)
    assert serial.getvalue() == parallel.getvalue()
    assert serial.getvalue().splitlines()[1].split("10.0.0.1")[1].startswith(" " * 8 + "10.0.0.2")


class CountingText(io.TextIOWrapper):
    """A text file that counts the characters written through it (not the workers')."""

    written = 0

    def write(self, text: str) -> int:
        self.written += len(text)
        return super().write(text)


@pytest.mark.parametrize("start_method", [None, "fork", "forkserver"])
def test_workers_write_to_a_file_themselves(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, start_method: str | None
) -> None:
    many_segments(monkeypatch)
    monkeypatch.setattr(parallel_module, "_WRITE_PIECE", 1000)  # a segment's text in pieces
    path = big_capture(tmp_path)
    settings = DumpSettings(stats=True)
    expected = run(path, stats=True)
    target = tmp_path / "out.txt"
    with CountingText(target.open("wb"), encoding="utf-8") as out:
        summary = dump(path, out, settings, jobs=2, start_method=start_method)
        through_this_process = out.written
    assert target.read_text() == expected
    assert summary.written > 2000
    if start_method == "forkserver":  # the workers do not inherit the file: all comes here
        assert through_this_process == len(expected)
    else:
        # The header and the table of labels only: the lines went from the workers to the file.
        assert through_this_process < len(expected) // 4


def test_the_command_forks_its_workers_where_python_would_not(tmp_path: Path) -> None:
    # Python 3.14 starts workers by forkserver (set here by hand). The command's own process
    # runs no other thread, so it forks them, and they write the lines themselves; main() in a
    # caller's program keeps Python's way. The output is the same.
    path = big_capture(tmp_path)
    by_main, by_command = tmp_path / "main.txt", tmp_path / "command.txt"
    program = f"""
import atexit, multiprocessing, sys
multiprocessing.set_start_method("forkserver")
import labelnet.dump
from labelnet import _parallel
from labelnet.__main__ import command, main
labelnet.dump.SERIAL_CHUNK, _parallel.PARALLEL_CHUNK = 4 << 10, 16 << 10
writers = []
to = _parallel._Writer.to
_parallel._Writer.to = lambda sink, context: writers.append(context.get_start_method()) or to(
    sink, context
)
assert main(["dump", {str(path)!r}, "--jobs", "2", "-o", {str(by_main)!r}]) == 0
print("main", writers, flush=True)
atexit.register(lambda: print("command", writers))
sys.argv[1:] = ["dump", {str(path)!r}, "--jobs", "2", "-o", {str(by_command)!r}]
command()
"""
    printed = python_output(program).splitlines()
    assert printed == ["main []", "command ['fork']"]
    assert by_main.read_text() == by_command.read_text() == run(path)


def test_workers_leave_an_encoding_with_a_byte_order_mark_to_this_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Encoded a piece at a time, UTF-16 would start every piece with its mark.
    many_segments(monkeypatch)
    path = big_capture(tmp_path)
    target = tmp_path / "out.txt"
    with target.open("w", encoding="utf-16") as out:
        dump(path, out, DumpSettings(), jobs=2)
    assert target.read_text(encoding="utf-16") == run(path)
    assert target.read_bytes().count("\ufeff".encode("utf-16-le")) == 1


def test_a_failing_worker_stops_the_writing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The segments after a failed one are not written, and no worker waits for its turn for
    # ever (the failed one's turn passes).
    many_segments(monkeypatch)
    path = big_capture(tmp_path)
    expected = run(path, format="csv")
    render = parallel_module.render_segment

    def failing(renderer: Renderer, segment: Segment, stats: object = None) -> object:
        numbers = [packet[0] for packet in iter_labeled(segment)]
        if numbers and numbers[0] <= 1200 <= numbers[-1]:  # one segment in the middle
            raise RuntimeError("a worker failed")
        return render(renderer, segment)

    monkeypatch.setattr(parallel_module, "render_segment", failing)
    target = tmp_path / "out.csv"
    with target.open("w", encoding="utf-8") as out, pytest.raises(RuntimeError):
        dump(path, out, DumpSettings(format="csv"), jobs=2)
    written = target.read_text()
    assert expected.startswith(written) and written.endswith("\n")
    assert 0 < len(written.splitlines()) < 1200


def test_a_worker_killed_while_writing_does_not_hang_the_dump(tmp_path: Path) -> None:
    # It dies holding the writers' lock: the pool ends the other worker, and the main process
    # must not wait for that lock for ever when it stops the writing.
    path = big_capture(tmp_path)
    program = f"""
import os
import labelnet.dump
from labelnet import _parallel
labelnet.dump.SERIAL_CHUNK, _parallel.PARALLEL_CHUNK = 4 << 10, 16 << 10
_parallel._Writer._write_text = lambda self, text: os._exit(3)
with open(os.devnull, "w") as out:
    try:
        labelnet.dump.dump({str(path)!r}, out, labelnet.dump.DumpSettings(), jobs=2)
    except Exception as exc:
        print(type(exc).__name__)
"""
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "BrokenProcessPool"


def test_truncated_capture_with_jobs_writes_everything_before_the_break(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    many_segments(monkeypatch)
    data = big_capture(tmp_path).read_bytes()
    cut = tmp_path / "cut.pcapng"
    cut.write_bytes(data[: len(data) * 2 // 3 + 5])
    outputs = []
    for jobs in (1, 2):
        out = io.StringIO()
        with pytest.raises(CaptureError, match="truncated") as caught:
            dump(cut, out, DumpSettings(format="csv"), jobs=jobs)
        outputs.append((out.getvalue(), caught.value.packet))
    assert outputs[0] == outputs[1]
    last = int(outputs[0][0].splitlines()[-1].split(",")[0])
    assert outputs[0][1] is not None and last < outputs[0][1]


@pytest.mark.parametrize("small_segments", [False, True])
def test_a_corrupt_block_stops_the_dump_after_every_packet_before_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, small_segments: bool
) -> None:
    # Regression: a corrupt block header lost the good packets framed in the same read of
    # the file (up to 256 KiB of them), in one process and with --jobs.
    if small_segments:
        many_segments(monkeypatch)
    data = bytearray(big_capture(tmp_path).read_bytes())
    pos = packets = 0
    while pos < len(data) * 2 // 3:  # to the block that starts past two thirds of the file
        block_type, length = struct.unpack_from("<II", data, pos)
        packets += block_type == 6
        pos += length
    good = tmp_path / "good.pcapng"
    good.write_bytes(data[:pos])
    struct.pack_into("<I", data, pos + 4, 13)  # an impossible block length
    broken = tmp_path / "broken.pcapng"
    broken.write_bytes(data)
    expected = run(good, format="csv")
    for jobs in (1, 2):
        out = io.StringIO()
        with pytest.raises(CaptureError, match="impossible") as caught:
            dump(broken, out, DumpSettings(format="csv"), jobs=jobs)
        assert out.getvalue() == expected
        assert caught.value.packet == packets + 1 and caught.value.offset == pos + 4


def test_small_caches_give_the_same_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = big_capture(tmp_path, 600)
    expected = run(path, dois=(PASS3,))
    monkeypatch.setattr(render_module, "CACHE_LIMIT", 3)
    assert run(path, dois=(PASS3,)) == expected


def test_mixed_link_types_and_stdin_style_stream(tmp_path: Path) -> None:
    path = tmp_path / "mixed.pcapng"
    v4 = ipv4("10.0.0.1", "10.0.0.2", cipso_option(3, "s2"))
    v6 = ipv6("::1", "::2", calipso_header(2, "s2"))
    write_pcapng(path, [(0, 0, v4), (1, 1, ethernet(v6))], (LinkType.RAW, LinkType.ETHERNET))
    out = io.StringIO()
    with path.open("rb") as stream:
        dump(stream, out, DumpSettings(format="csv"))
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert [(r["protocol"], r["label"]) for r in rows] == [("cipso", "s2"), ("calipso", "s2")]


def test_mutated_captures_raise_only_capture_errors(tmp_path: Path) -> None:
    # Any byte of a capture may be wrong: the dump either works or stops with CaptureError.
    rng = random.Random(11)
    pcap = capture(tmp_path).read_bytes()
    ng_path = tmp_path / "seed.pcapng"
    write_pcapng(
        ng_path,
        [
            (0, 0, ethernet(ipv4("10.0.0.1", "10.0.0.2", cipso_option(3, "s3:c0,c5")))),
            (0, 1, ethernet(ipv6("::1", "::2", calipso_header(2, "s1")))),
        ],
    )
    seeds = [pcap, ng_path.read_bytes()]
    settings = DumpSettings(dois=(PASS3, CALIPSO2), stats=True)
    for _ in range(1500):
        data = bytearray(rng.choice(seeds))
        for _ in range(rng.randrange(1, 6)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        if rng.random() < 0.3:
            del data[rng.randrange(len(data)) :]
        for format_ in ("text", "jsonl"):
            with contextlib.suppress(CaptureError):
                dump(io.BytesIO(bytes(data)), io.StringIO(), replace(settings, format=format_))


# -- what the outputs show -----------------------------------------------------------------------


def one_packet_capture(tmp_path: Path, options: bytes) -> Path:
    path = tmp_path / "one.pcap"
    write_pcap(path, [(0, ethernet(ipv4("10.0.0.1", "10.0.0.2", options)))])
    return path


def test_tag_128_shows_its_secid(tmp_path: Path) -> None:
    # Regression: the label column showed "-" where `python -m cipso decode` shows the secid.
    option = bytes.fromhex("860c00000005") + bytes.fromhex("8006") + (42).to_bytes(4, "little")
    path = one_packet_capture(tmp_path, option)
    assert analyse4(option).secid == 42
    assert run(path).splitlines()[1].split()[6:10] == ["128", "secid", "42", "no-doi-config"]
    (row,) = [json.loads(line) for line in run(path, format="jsonl").splitlines()]
    assert (row["label"], row["wire_label"]) == ("secid 42", None)
    summary = dump(path, io.StringIO(), DumpSettings(stats=True, show_records=False))
    assert list(summary.stats) == [("10.0.0.1", "10.0.0.2", "cipso", 5, "secid 42")]


def test_a_malformed_options_reason_is_said_once(tmp_path: Path) -> None:
    # Regression: the verdict's reason and the decoder's error were both printed in full.
    path = one_packet_capture(tmp_path, bytes.fromhex("860a00000003011000000000"))
    line = run(path, dois=(PASS3,)).splitlines()[1]
    assert line.count("tag length 16 runs past the option") == 1
    assert line.endswith(
        "parameter-problem at 7: tag length 16 runs past the option (4 bytes left) (malformed)"
    )
    bare = run(path).splitlines()[1]
    assert bare.endswith(
        "no-doi-config (malformed at 7: tag length 16 runs past the option (4 bytes left))"
    )


def test_truncated_options_get_the_protocols_own_verdict() -> None:
    found = analyse4(cipso_option(3, "s3:c0.c100")[:8], PASS3, truncated=True)
    assert isinstance(found.verdict, cipso.Verdict)
    assert found.verdict.kind is cipso.VerdictKind.TRUNCATED
    assert "snapshot length" in found.error
    header = calipso_header(2, "s3:c0.c100")
    found6 = Analyzer(DoiConfig.parse([CALIPSO2])).ipv6(header[:12], truncated=True)
    assert found6 is not None and isinstance(found6.verdict, calipso.Verdict)
    assert found6.verdict.kind is calipso.VerdictKind.TRUNCATED


class _Verdict:
    """A verdict with a reason that needs quoting in CSV and escaping in JSON."""

    kind = cipso.VerdictKind.PARAMETER_PROBLEM
    reason = 'a "quoted", comma\nand line'
    offset = 3
    pointer = 23
    option_start = 0
    option_offset = 3


def test_machine_formats_write_what_the_json_and_csv_modules_write() -> None:
    option = replace(
        analyse4(cipso_option(3, "s3:c0,c5")),
        verdict=_Verdict(),  # type: ignore[arg-type]
        error='bad "tag", here',
        error_offset=7,
    )
    label, wire = render_module.label_texts(option)
    values = [
        "cipso", 3, 1, "s3:c0,c5", "s3:c0,c5", "parameter-problem", 3, 23,
        _Verdict.reason, 'bad "tag", here', 7,
    ]  # fmt: skip
    jsonl = render_module.tail(option, render_module.Format.JSONL, label, wire)
    pairs = zip(FIELDS[4:], values, strict=True)
    assert jsonl == ", ".join(f"{json.dumps(n)}: {json.dumps(v)}" for n, v in pairs) + "}\n"
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(values)
    assert render_module.tail(option, render_module.Format.CSV, label, wire) == buffer.getvalue()


def test_more_jobs_than_work_start_no_workers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Regression: --jobs 1000 on a 2-packet file started 1,000 processes (5.8 s).
    def no_pool(*args: object, **kwargs: object) -> None:
        raise AssertionError("a process pool was started")

    monkeypatch.setattr(concurrent.futures, "ProcessPoolExecutor", no_pool)
    path = capture(tmp_path)
    out = io.StringIO()
    assert dump(path, out, DumpSettings(), jobs=1000).written == 7
    assert out.getvalue() == run(path)
    with path.open("rb") as stream:  # a stream: its size is unknown, its segments are not
        assert dump(stream, io.StringIO(), DumpSettings(), jobs=1000).written == 7
    assert parallel_module.workers_for(1000, 3 * parallel_module.PARALLEL_CHUNK) <= 3


def varied_capture(tmp_path: Path) -> Path:
    """Every kind of area the lines-only loop meets: labels that repeat and that do not,
    unlabeled and malformed options, tag 128, destination options, and (with a snapshot
    length of 60) labels the capture cut."""
    rng = random.Random(11)
    packets = []
    for i in range(400):
        src, dst = f"10.0.{rng.randrange(4)}.1", f"10.1.{i % 50}.2"
        choice = rng.randrange(8)
        if choice == 0:
            packet = ipv4(src, dst)
        elif choice == 1:
            packet = ipv4(src, dst, bytes.fromhex("860a00000003011000000000"))  # malformed
        elif choice == 2:
            packet = ipv4(src, dst, cipso_option(3, f"s2:c0.c{rng.randrange(1, 230)}"))
        elif choice == 3:
            packet = ipv4(src, dst, bytes.fromhex("8608000000038004000000050000"))  # tag 128
        elif choice == 4:
            level = f"s3:c{rng.randrange(200)},c{rng.randrange(200, 250)}"
            packet = ipv6(f"2001:db8::{i}", "2001:db8::ff", calipso_header(2, level))
        elif choice == 5:
            packet = rng.choice([FIRST, AFTER_HOP_BY_HOP])  # CALIPSO in destination options
        else:
            packet = ipv4(src, dst, cipso_option(3, f"s{i % 4}:c{i % 5}", 5))
        packets.append(((1700000000 + i, i), ethernet(packet)))
    path = tmp_path / "varied.pcap"
    write_pcap(path, packets, snaplen=60)
    return path


@pytest.mark.parametrize("output", ["text", "jsonl", "csv"])
@pytest.mark.parametrize("cache_limit", [4096, 3])
def test_the_lines_only_loop_writes_what_the_general_loop_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, output: str, cache_limit: int
) -> None:
    monkeypatch.setattr(render_module, "CACHE_LIMIT", cache_limit)
    path = varied_capture(tmp_path)
    fast = run(path, format=output)
    made = render_module.Renderer.__init__

    def general(self: render_module.Renderer, *args: object, **kwargs: object) -> None:
        made(self, *args, **kwargs)  # type: ignore[arg-type]
        assert self.lines_only
        self.lines_only = False

    monkeypatch.setattr(render_module.Renderer, "__init__", general)
    assert run(path, format=output) == fast
    assert len(fast.splitlines()) > 250
