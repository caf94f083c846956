"""The columnar form of the dump: the Parquet file holds exactly what the JSON lines say."""

from __future__ import annotations

import io
import json
import os
import struct
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

from labelnet import columnar  # noqa: E402
from labelnet.__main__ import main  # noqa: E402
from labelnet.capture import (  # noqa: E402
    CaptureError,
    LinkType,
    Segment,
    read_segments,
    write_pcap,
    write_pcapng,
)
from labelnet.dump import DumpSettings, Format, dump  # noqa: E402
from mls import Level  # noqa: E402
from mls.translate import Translator  # noqa: E402
from tests.support import python_output  # noqa: E402

from .packets import calipso_header, cipso_option, ethernet, ipv4, ipv6  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
DOIS = (
    "cipso pass doi:3 tags:1",
    "cipso trans doi:4 tags:1 levels:3=5,0=0 categories:0=1,1=0,7=7",
    "cipso local doi:5",
    "calipso pass doi:2",
)
TAG_128 = bytes.fromhex("860c00000005") + bytes.fromhex("8006") + (42).to_bytes(4, "little")
LOOSE_SOURCE_ROUTE = bytes.fromhex("8307040a000001")  # LSRR through 10.0.0.1
MALFORMED = bytes.fromhex("860a00000003011000000000")  # tag length 16 runs past the option


def labeled_packets() -> list[bytes]:
    """IPv4 and IPv6 packets for every verdict but truncated (see :func:`cut_capture`):
    accepted (PASS, TRANS, CALIPSO), parameter-problem (unknown DOI, tag 128 off loopback, a
    malformed option), dropped (CALIPSO with an unknown DOI, a bad CALIPSO length, an IPv4
    source route)."""
    bad_length = bytearray(calipso_header(2, "s3"))
    bad_length[3] = 40
    return [
        ipv4("10.0.0.1", "10.0.1.1", cipso_option(3, "s3:c0,c5")),
        ipv4("10.0.0.1", "10.0.1.1"),  # unlabeled: no row
        ipv6("2001:db8::1", "2001:db8::2", calipso_header(2, "s1:c7,c40")),
        ipv4("10.0.0.2", "192.168.1.9", cipso_option(4, "s5:c0,c7")),  # TRANS: s3:c1,c7
        ipv4("10.0.0.2", "192.168.1.9", cipso_option(7, "s1")),  # DOI 7 unknown
        ipv4("10.0.0.3", "10.0.0.4", TAG_128),
        ipv4("10.0.0.9", "10.0.1.1", MALFORMED),
        ipv6("2001:db8::1", "fe80::2", calipso_header(9, "s2")),  # DOI 9 unknown: dropped
        ipv6("2001:db8::3", "2001:db8::2", bytes(bad_length)),
        ipv4("10.0.0.1", "10.0.1.1", cipso_option(3, "s0")),
        ipv4("10.0.0.1", "10.0.1.1", cipso_option(3, "s15:c0.c200", tag=5)),
        ipv4("10.0.0.5", "10.0.1.1", LOOSE_SOURCE_ROUTE + cipso_option(3, "s2")),  # dropped
    ]


def write_captures(tmp_path: Path) -> list[Path]:
    """The packets as pcap (microseconds) and pcapng, and a capture cut by its snapshot
    length (truncated verdicts)."""
    packets = labeled_packets()
    pcap = tmp_path / "labels.pcap"
    write_pcap(pcap, [((1700000000 + i, 250001), ethernet(p)) for i, p in enumerate(packets)])
    pcapng = tmp_path / "labels.pcapng"
    write_pcapng(
        pcapng,
        [(0, (1700000100 + i, i), p) for i, p in enumerate(packets)],
        (LinkType.RAW,),
    )
    return [pcap, pcapng, cut_capture(tmp_path)]


def cut_capture(tmp_path: Path) -> Path:
    path = tmp_path / "cut.pcap"
    packets = [
        ipv4("10.0.0.1", "10.0.1.1", cipso_option(3, "s3:c0.c200")),
        ipv6("2001:db8::1", "2001:db8::2", calipso_header(2, "s3:c0.c100")),
    ]
    write_pcap(path, [((5, 0), p) for p in packets], LinkType.RAW, snaplen=48, nanoseconds=True)
    return path


def jsonl_rows(path: Path, settings: DumpSettings) -> list[dict[str, Any]]:
    out = io.StringIO()
    dump(path, out, DumpSettings(**{**_fields(settings), "format": Format.JSONL}))
    return [json.loads(line, parse_float=Decimal) for line in out.getvalue().splitlines()]


def _fields(settings: DumpSettings) -> dict[str, Any]:
    return {name: getattr(settings, name) for name in settings.__slots__}


def assert_same_rows(
    table: Any, paths: list[Path], settings: DumpSettings, files: list[str] | None = None
) -> None:
    """Every row of ``table`` is the JSON line of the same packet, value for value, and the
    typed columns agree with the texts."""
    assert table.schema.equals(columnar.SCHEMA)
    rows = table.to_pylist()
    expected = []
    for index, path in enumerate(paths):
        name = str(path) if files is None else files[index]
        expected += [(name, line) for line in jsonl_rows(path, settings)]
    assert len(rows) == len(expected)
    for row, (file, line) in zip(rows, expected, strict=True):
        assert row["file"] == file
        time = line.pop("time")
        stamp = row["time"]
        nanoseconds = int(stamp.timestamp()) * 10**9 + stamp.microsecond * 1000
        if hasattr(stamp, "nanosecond"):
            nanoseconds += stamp.nanosecond
        assert nanoseconds == int(Decimal(time) * 10**9), (time, stamp)
        for name, value in line.items():
            assert row[name] == value, (name, row, line)
        assert row["family"] == {"cipso": "ipv4", "calipso": "ipv6"}[row["protocol"]]
        label = row["label"]
        if label is None or label.startswith("secid"):
            assert row["sensitivity"] is None and row["categories"] is None
        else:
            level = Level.parse(label)
            assert row["sensitivity"] == level.sensitivity
            listed = list(level.categories)
            assert row["categories"] == (
                listed if len(listed) <= columnar.LISTED_CATEGORIES else None
            )


def to_parquet(tmp_path: Path, capture: Path, settings: DumpSettings, **options: Any) -> Any:
    out = tmp_path / (capture.name + ".parquet")
    written = columnar.write_parquet(capture, out, settings, **options)
    table = pq.read_table(out)
    assert written == table.num_rows
    return table


SETTINGS = [
    DumpSettings(),
    DumpSettings(dois=DOIS),
    DumpSettings(dois=DOIS, loopback=True),
    DumpSettings(dois=DOIS, doi_filter=frozenset({3, 2})),
    DumpSettings(addresses=("10.0.0.2", "2001:db8::/64"), dominated_by="s3:c0.c10"),
    # Labels read from their bytes (no DOIs, no label filter), the address filter applied.
    DumpSettings(addresses=("10.0.0.2", "2001:db8::/64")),
]


@pytest.mark.parametrize("settings", SETTINGS)
def test_parquet_holds_exactly_what_the_json_lines_say(
    tmp_path: Path, settings: DumpSettings
) -> None:
    for capture in write_captures(tmp_path):
        assert_same_rows(to_parquet(tmp_path, capture, settings), [capture], settings)


def test_every_verdict_kind_is_covered(tmp_path: Path) -> None:
    # The comparison above would pass on captures without them.
    captures = write_captures(tmp_path)
    seen = set()
    for settings in SETTINGS[:3]:
        for capture in captures:
            table = to_parquet(tmp_path, capture, settings)
            seen |= set(zip(*table.select(["family", "verdict"]).to_pydict().values(), strict=True))
    for family in ("ipv4", "ipv6"):
        for verdict in ("no-doi-config", "accepted", "dropped", "truncated"):
            assert (family, verdict) in seen
    assert ("ipv4", "parameter-problem") in seen
    translated = to_parquet(tmp_path, captures[0], DumpSettings(dois=DOIS))
    trans = translated.filter(pa.compute.equal(translated["doi"], 4)).to_pylist()
    assert [(r["label"], r["wire_label"], r["categories"]) for r in trans] == [
        ("s3:c1,c7", "s5:c0,c7", [1, 7])
    ]
    errors = [r for r in translated.to_pylist() if r["error"]]
    assert {r["error_offset"] for r in errors} == {7, 1}


def test_row_groups_are_bounded(tmp_path: Path) -> None:
    packets = [
        ethernet(ipv4("10.0.0.1", "10.0.1.1", cipso_option(3, f"s{i % 16}:c{i}")))
        for i in range(50)
    ]
    capture = tmp_path / "many.pcap"
    write_pcap(capture, [((i, 0), p) for i, p in enumerate(packets)])
    table = to_parquet(tmp_path, capture, DumpSettings(), row_group_rows=7)
    metadata = pq.ParquetFile(tmp_path / "many.pcap.parquet").metadata
    assert [metadata.row_group(i).num_rows for i in range(metadata.num_row_groups)] == [7] * 7 + [1]
    assert table["packet"].to_pylist() == list(range(1, 51))
    # A segment holds more rows than a batch: batches are cut inside segments too.
    sizes = [b.num_rows for b in columnar.record_batches(capture, batch_rows=20)]
    assert sizes == [20, 20, 10]
    with pytest.raises(ValueError, match="at least one row"):
        next(columnar.record_batches(capture, batch_rows=0))


def test_batches_are_bounded_by_their_categories(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Regression: a CIPSO tag 5 range takes 4 bytes and lists up to 65,536 categories, so
    # rows alone did not bound a batch: 20,000 packets of c0.c65535 (1 MB of capture) took
    # 11.4 GB of memory. A batch now ends once its rows list BATCH_CATEGORIES categories.
    monkeypatch.setattr(columnar, "BATCH_CATEGORIES", 6144)
    option = cipso_option(3, "s1:c0.c2047", 5)  # LISTED_CATEGORIES: listed
    small = cipso_option(3, "s1:c7", 5)
    packets = [ethernet(ipv4("10.0.0.1", "10.0.1.1", option)) for _ in range(10)]
    packets[5:5] = [ethernet(ipv4("10.0.0.1", "10.0.1.1", small))] * 3
    capture = tmp_path / "wide.pcap"
    write_pcap(capture, [((i, 0), p) for i, p in enumerate(packets)])
    batches = list(columnar.record_batches(capture))
    # 2,048 categories a wide row: the third reaches 6,144; then two wide rows, the three
    # small ones and a wide row; then three wide rows; then the last one.
    assert [b.num_rows for b in batches] == [3, 6, 3, 1]
    table = pa.Table.from_batches(batches)
    lists = table["categories"].to_pylist()
    assert [len(c) for c in lists] == [2048] * 5 + [1] * 3 + [2048] * 5
    assert lists[0] == list(range(2048)) and lists[5] == [7]
    assert columnar.segment_table(str(capture), _one_segment(capture)).equals(table)


def test_a_label_of_more_categories_than_are_listed_has_its_text_only(tmp_path: Path) -> None:
    # Regression: a CIPSO tag 5 range c0.c65535 lists 65,536 categories in four bytes of the
    # capture: 20,000 such packets (1 MB) made a 605 MB file in 41 s. Past
    # LISTED_CATEGORIES the list is null; the label text holds the runs.
    wide = cipso_option(3, "s1:c0.c65535", 5)
    edge = cipso_option(3, "s1:c0.c2048", 5)  # one more than is listed
    listed = cipso_option(3, "s1:c1.c2048", 5)
    packets = [ethernet(ipv4("10.0.0.1", "10.0.1.1", o)) for o in (wide, edge, listed) * 1000]
    capture = tmp_path / "wide.pcap"
    write_pcap(capture, [((i, 0), p) for i, p in enumerate(packets)])
    out = tmp_path / "wide.parquet"
    assert columnar.write_parquet(capture, out) == 3000
    table = pq.read_table(out)
    assert table["label"].to_pylist()[:3] == ["s1:c0.c65535", "s1:c0.c2048", "s1:c1.c2048"]
    lists = table["categories"].to_pylist()
    assert lists[:2] == [None, None] and lists[2] == list(range(1, 2049))
    assert table["categories"].null_count == 2000
    # The file holds the listed sets, not the wide ones: about 2,048 numbers per three rows.
    assert out.stat().st_size < capture.stat().st_size * 10


def _one_segment(capture: Path) -> Segment:
    with capture.open("rb") as stream:
        (segment,) = read_segments(stream, 1 << 24)
    return segment


def test_an_address_filter_after_a_new_label_keeps_the_batch_whole(tmp_path: Path) -> None:
    # Regression: the last packet of a batch brought a new label and was then dropped by the
    # address filter; its option still counted among the batch's, and with every kept packet
    # having its own option the columns came out one row too long.
    packets = [
        ethernet(ipv4("10.0.0.2", "10.0.1.1", cipso_option(3, "s1:c1"))),
        ethernet(ipv4("10.9.9.9", "10.9.9.8", cipso_option(3, "s2:c2"))),
    ]
    capture = tmp_path / "dropped.pcap"
    write_pcap(capture, [((i, 0), p) for i, p in enumerate(packets)])
    for settings in (DumpSettings(addresses=("10.0.0.2",)), DumpSettings(dois=DOIS[:1])):
        batches = list(columnar.record_batches(capture, settings))
        table = pa.Table.from_batches(batches, columnar.SCHEMA)
        expected = jsonl_rows(capture, settings)
        assert table.num_rows == len(expected)
        assert table["label"].to_pylist() == [row["label"] for row in expected]


def test_setrans_names_the_labels(tmp_path: Path) -> None:
    translator = Translator.from_text("s0=SystemLow\ns3:c0,c5=Secret\n")
    capture = write_captures(tmp_path)[0]
    table = to_parquet(tmp_path, capture, DumpSettings(), translator=translator)
    names = dict(zip(table["label"].to_pylist(), table["setrans"].to_pylist(), strict=True))
    assert names["s3:c0,c5"] == "Secret" and names["s0"] == "SystemLow"
    assert names["s1:c7,c40"] == "s1:c7,c40"  # no name: the raw level, as mcstrans gives it
    assert names["secid 42"] is None and names[None] is None
    plain = to_parquet(tmp_path, capture, DumpSettings())
    assert plain["setrans"].null_count == plain.num_rows


def test_a_broken_capture_leaves_the_rows_before_the_break(tmp_path: Path) -> None:
    capture = write_captures(tmp_path)[0]
    data = capture.read_bytes()
    broken = tmp_path / "broken.pcap"
    broken.write_bytes(data[:-10])
    out = tmp_path / "broken.parquet"
    with pytest.raises(CaptureError) as caught:
        # Two full row groups, and two rows waiting for the third when the file breaks.
        columnar.write_parquet(broken, out, row_group_rows=4)
    assert caught.value.packet == len(labeled_packets())
    table = pq.read_table(out)
    assert table["packet"].to_pylist() == [1, 3, 4, 5, 6, 7, 8, 9, 10, 11]


def test_a_file_that_is_no_capture_leaves_the_destination_alone(tmp_path: Path) -> None:
    # Regression: the Parquet file was made before the capture was read, so a wrong argument
    # replaced the destination with an empty file of the schema.
    text = tmp_path / "notes.txt"
    text.write_text("hello, this is not a capture\n")
    kept = tmp_path / "kept.parquet"
    kept.write_bytes(b"earlier file")
    with pytest.raises(CaptureError, match="not a pcap or pcapng file"):
        columnar.write_parquet(text, kept)
    assert kept.read_bytes() == b"earlier file"
    fresh = tmp_path / "fresh.parquet"
    assert main(["dump", str(text), "--format", "parquet", "-o", str(fresh)]) == 2
    assert not fresh.exists()


def test_an_empty_capture_gives_an_empty_file_of_the_schema(tmp_path: Path) -> None:
    capture = tmp_path / "empty.pcap"
    write_pcap(capture, [])
    table = to_parquet(tmp_path, capture, DumpSettings())
    assert table.num_rows == 0 and table.schema.equals(columnar.SCHEMA)


def test_a_stream_is_read_and_named(tmp_path: Path) -> None:
    capture = write_captures(tmp_path)[1]
    with open(capture, "rb") as stream:
        (batch,) = columnar.record_batches(stream)
    assert set(batch.column("file").to_pylist()) == {str(capture)}
    assert batch.num_rows == len(jsonl_rows(capture, DumpSettings()))


def test_times_finer_than_nanoseconds_are_cut() -> None:
    stamps = columnar._nanoseconds(["1.1234567891", "2.5", "", "7", "1700000000.000001"])
    assert stamps.cast(pa.int64()).to_pylist() == [
        1_123_456_789,
        2_500_000_000,
        None,
        7_000_000_000,
        1_700_000_000_000_001_000,
    ]


@pytest.mark.parametrize(
    "texts",
    [
        ["1700000000.123456", "1700000001.000000", "-1.500000"],  # one resolution: Arrow
        ["1700000000.123456789", "0.000000001"],
        ["1700000000.123456", "1700000000.5"],  # two resolutions: a time at a time
        ["1700000000.123456", ""],
        ["12", "13"],
        [],
    ],
)
def test_times_of_one_or_many_resolutions_agree(texts: list[str]) -> None:
    expected = [columnar._cut_to_ns(text) for text in texts]
    assert columnar._nanoseconds(texts).cast(pa.int64()).to_pylist() == expected
    assert expected[:1] == [int(Decimal(text) * 10**9) for text in texts[:1]]


def test_a_time_that_nanoseconds_cannot_hold_is_null(tmp_path: Path) -> None:
    # Regression: a pcapng interface whose if_tsoffset is 2**62 seconds gave an OverflowError
    # from pyarrow in the middle of the Parquet file; tshark prints such times too.
    assert columnar._nanoseconds(["4611686020127387904.500000", "1.500000"]).cast(
        pa.int64()
    ).to_pylist() == [None, 1_500_000_000]
    assert columnar._nanoseconds(["9223372036.854775808", "-9223372036.854775808"]).cast(
        pa.int64()
    ).to_pylist() == [None, -(2**63)]
    packet = ethernet(ipv4("10.0.0.1", "10.0.0.2", cipso_option(3, "s3:c0,c5")))
    shb = _block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))
    offset = struct.pack("<HHq", 14, 8, 2**62) + bytes(4)  # if_tsoffset, end of options
    idb = _block(1, struct.pack("<HHI", 1, 0, 0) + offset)
    epb = _block(6, struct.pack("<IIIII", 0, 0, 5, len(packet), len(packet)) + packet)
    capture = tmp_path / "far.pcapng"
    capture.write_bytes(shb + idb + epb)
    columnar.write_parquet(capture, tmp_path / "far.parquet")
    (row,) = pq.read_table(tmp_path / "far.parquet").to_pylist()
    assert row["time"] is None and row["label"] == "s3:c0,c5"


def _block(kind: int, body: bytes) -> bytes:
    body += bytes(-len(body) % 4)
    return struct.pack("<II", kind, 12 + len(body)) + body + struct.pack("<I", 12 + len(body))


def test_a_time_before_the_epoch_is_read_as_printed() -> None:
    # A pcapng interface's negative if_tsoffset: the dump prints "-1.500000" as tshark's
    # frame.time_epoch does, and the column holds that number (also past nine digits).
    stamps = columnar._nanoseconds(["-1.500000", "-0.25", "-2.1234567891"])
    assert stamps.cast(pa.int64()).to_pylist() == [-1_500_000_000, -250_000_000, -2_123_456_789]
    arrow = pa.array(["-1.500000", "-0.25"]).cast(pa.decimal128(20, 9))
    assert [int(d * 10**9) for d in arrow.to_pylist()] == [-1_500_000_000, -250_000_000]


def test_the_command_writes_parquet(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capture = write_captures(tmp_path)[0]
    out = tmp_path / "cli.parquet"
    doi = ["--doi", "cipso pass doi:3 tags:1", "--doi", "calipso pass doi:2"]
    args = ["dump", str(capture), "--format", "parquet", "-o", str(out), *doi, "--doi", "3"]
    assert main(args) == 0
    settings = DumpSettings(dois=DOIS[::3], doi_filter=frozenset({3}))
    assert_same_rows(pq.read_table(out), [capture], settings)
    assert capsys.readouterr().out == ""
    # -o works for the text formats too
    text = tmp_path / "out.jsonl"
    assert main(["dump", str(capture), "--format", "jsonl", "-o", str(text)]) == 0
    assert text.read_text().count("\n") == len(jsonl_rows(capture, DumpSettings()))


def test_a_file_name_that_is_not_utf8_is_written_escaped(tmp_path: Path) -> None:
    # Regression: a capture named by bytes that are not UTF-8 (as the command line gives
    # them: surrogates in the str) stopped the dump, Arrow's strings being UTF-8.
    capture = write_captures(tmp_path)[0]
    odd = capture.with_name(os.fsdecode(b"caf\xe9-\xff.pcap"))
    capture.rename(odd)
    out = tmp_path / "odd.parquet"
    assert main(["dump", str(odd), "--format", "parquet", "-o", str(out)]) == 0
    files = set(pq.read_table(out)["file"].to_pylist())
    assert files == {str(tmp_path / "caf\\xe9-\\xff.pcap")}


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ([], "name it with -o FILE"),
        (["-o", "x.parquet", "--stats"], "for the text formats"),
        (["-o", "x.parquet", "--jobs", "2"], "runs in one process"),
    ],
)
def test_the_command_refuses_what_parquet_cannot_do(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    capture = write_captures(tmp_path)[0]
    assert main(["dump", str(capture), "--format", "parquet", *extra]) != 0
    assert message in capsys.readouterr().err


BLOCKED = ["pyarrow", "dask", "pandas"]


def _blocked(code: str) -> subprocess.CompletedProcess[str]:
    program = f"import sys\nfor name in {BLOCKED!r}: sys.modules[name] = None\n{code}"
    return subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, cwd=ROOT, check=False
    )


def test_the_dump_needs_neither_pyarrow_nor_dask() -> None:
    done = _blocked("import labelnet, labelnet.dump, labelnet._cli_dump, labelnet.__main__\n")
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize(("module", "extra"), [("columnar", "parquet"), ("dask", "dask")])
def test_a_missing_extra_is_named(module: str, extra: str) -> None:
    done = _blocked(f"import labelnet.{module}\n")
    assert done.returncode != 0
    assert f"pip install 'labelnet[{extra}]'" in done.stderr, done.stderr


def test_category_lists_agree_with_the_sets() -> None:
    import random

    from mls import CategorySet

    rng = random.Random(7)
    for size in (0, 1, 8, 9, 240, 1024):
        categories = CategorySet.from_int(rng.getrandbits(size) if size else 0)
        assert columnar._categories_array([categories.bits]).to_pylist() == [list(categories)]
    assert columnar._categories_array([1 << 1023]).to_pylist() == [[1023]]


@pytest.mark.parametrize("largest", [2047, 4095, 4096, 70000, 1 << 20])
def test_the_categories_column_lists_each_set(largest: int) -> None:
    # Listed by Arrow from the joined bitmaps (c4095: in two pieces), or a set at a time
    # when one is larger than the bitmaps are made for (c1048576): the same lists either way,
    # nulls and empty sets kept.
    import random

    from mls import CategorySet

    rng = random.Random(largest)
    sets: list[int | None] = [None, 0, 1, 1 << 7, 1 << 8, 1 << largest]
    sets += [rng.getrandbits(rng.choice((3, 8, 9, 240, 2016))) for _ in range(300)]
    sets += [None, 0]
    column = columnar._categories_array(sets)
    assert column.type == columnar.SCHEMA.field("categories").type
    assert column.to_pylist() == [
        None if bits is None else list(CategorySet.from_int(bits)) for bits in sets
    ]


def test_the_command_names_the_missing_extra(tmp_path: Path) -> None:
    capture = write_captures(tmp_path)[0]
    out = tmp_path / "x.parquet"
    done = _blocked(
        "from labelnet.__main__ import main\n"
        f"sys.exit(main(['dump', {str(capture)!r}, '--format', 'parquet', '-o', {str(out)!r}]))\n"
    )
    assert done.returncode != 0 and "Traceback" not in done.stderr, done.stderr
    assert "pip install 'labelnet[parquet]'" in done.stderr
    assert not out.exists()


def _dump_in_child(tmp_path: Path, call: str, then: str) -> str:
    # A Parquet dump with names in a fresh process, by ``call`` (main or command, given the
    # argument list as ARGV); ``then`` runs after it (command exits: an atexit hook).
    capture = write_captures(tmp_path)[0]
    out = tmp_path / "x.parquet"
    names = tmp_path / "setrans.conf"
    names.write_text("s3:c0,c5=Secret\n")
    argv = ["dump", str(capture), "--format", "parquet", "-o", str(out), "--setrans", str(names)]
    printed = python_output(
        "import atexit, sys\n"
        "from labelnet.__main__ import command, main\n"
        f"ARGV = {argv!r}\n"
        f"def then(status):\n    {then}\n"
        f"{call}\n"
    )
    assert "Secret" in pq.read_table(out)["setrans"].to_pylist()
    return printed.strip().splitlines()[-1]


def _loaded(*packages: str) -> str:
    return f"sorted(n for n in sys.modules if n.split('.')[0] in {packages!r})"


def test_the_command_loads_neither_pandas_nor_numpy(tmp_path: Path) -> None:
    # pa.array imports pandas when it is installed (0.3 s and 40 MB of a short dump), and
    # pyarrow imports numpy (45 ms and 11 MB) and cloudpickle (10-20 ms); the dump uses none.
    pytest.importorskip("pandas")
    pytest.importorskip("cloudpickle")
    printed = _dump_in_child(
        tmp_path,
        "sys.argv[1:] = ARGV\natexit.register(then, 'exited')\ncommand()",
        f"print(status, {_loaded('pandas', 'numpy', 'cloudpickle')})",
    )
    assert printed == "exited []"


def test_a_callers_pyarrow_keeps_numpy(tmp_path: Path) -> None:
    # main() inside a caller's program loads pyarrow whole: pandas works with it afterwards.
    pytest.importorskip("pandas")
    printed = _dump_in_child(
        tmp_path,
        "then(main(ARGV))",
        "import pyarrow as pa; "
        "print(status, 'pandas' not in sys.modules, pa.table({'a': [1]}).to_pandas()['a'][0])",
    )
    assert printed == "0 True 1"


def _allocator_after_dump(tmp_path: Path, chosen: str | None) -> tuple[bool, str]:
    # The command's Arrow allocator, with ARROW_DEFAULT_MEMORY_POOL set to ``chosen`` (or not
    # set), and whether this pyarrow has jemalloc.
    setting = (
        "os.environ.pop('ARROW_DEFAULT_MEMORY_POOL', None)"
        if chosen is None
        else f"os.environ['ARROW_DEFAULT_MEMORY_POOL'] = {chosen!r}"
    )
    printed = _dump_in_child(
        tmp_path,
        f"import os\n{setting}\nsys.argv[1:] = ARGV\natexit.register(then, 'exited')\ncommand()",
        "import pyarrow as pa; print('jemalloc' in pa.supported_memory_backends(), "
        "pa.default_memory_pool().backend_name)",
    )
    has_jemalloc, backend = printed.split()
    return has_jemalloc == "True", backend


def test_the_command_allocates_through_jemalloc_where_arrow_has_it(tmp_path: Path) -> None:
    # Arrow's default (mimalloc) peaked 21-32 MB higher for the same CPU time.
    has_jemalloc, backend = _allocator_after_dump(tmp_path, None)
    assert backend == "jemalloc" if has_jemalloc else backend != "jemalloc"


def test_the_command_keeps_the_allocator_the_user_named(tmp_path: Path) -> None:
    assert _allocator_after_dump(tmp_path, "system")[1] == "system"


@pytest.mark.parametrize(
    ("header", "chosen"),
    [
        (
            "#define ARROW_IPC\n#define ARROW_JEMALLOC\n#define ARROW_JEMALLOC_VENDORED\n",
            "jemalloc",
        ),
        ("#define ARROW_JEMALLOC  \r\n", "jemalloc"),
        ("/* #undef ARROW_JEMALLOC */\n#define ARROW_MIMALLOC\n", None),
        ("#define ARROW_JEMALLOC_VENDORED\n", None),
        (None, None),  # no header: a pyarrow packaged without it
    ],
)
def test_jemalloc_is_chosen_from_pyarrows_configuration_header(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, header: str | None, chosen: str | None
) -> None:
    import importlib.machinery
    import importlib.util

    from labelnet import _cli_dump

    package = tmp_path / "pyarrow"
    (package / "include" / "arrow" / "util").mkdir(parents=True)
    if header is not None:
        (package / "include" / "arrow" / "util" / "config.h").write_text(header)
    spec = importlib.machinery.ModuleSpec("pyarrow", None, origin=str(package / "__init__.py"))
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: spec)
    monkeypatch.delenv(_cli_dump.ARROW_ALLOCATOR, raising=False)
    _cli_dump._choose_arrow_allocator()
    assert os.environ.get(_cli_dump.ARROW_ALLOCATOR) == chosen
    # A name the user gave stays.
    monkeypatch.setenv(_cli_dump.ARROW_ALLOCATOR, "system")
    _cli_dump._choose_arrow_allocator()
    assert os.environ[_cli_dump.ARROW_ALLOCATOR] == "system"


_TEXTS = st.one_of(st.none(), st.text(max_size=8), st.sampled_from(["s0", "c1.c2", "é", ""]))


@pytest.mark.parametrize(
    ("kind", "values"),
    [
        ("int64", st.integers(-(1 << 63), (1 << 63) - 1)),
        ("int32", st.one_of(st.none(), st.integers(-(1 << 31), (1 << 31) - 1))),
        ("uint32", st.one_of(st.none(), st.integers(0, (1 << 32) - 1))),
        ("uint8", st.one_of(st.none(), st.integers(0, 255))),
        ("bool_", st.booleans()),
        ("string", _TEXTS),
    ],
)
def test_arrays_built_from_buffers_equal_pa_array(kind: str, values: Any) -> None:
    @given(st.lists(values, max_size=40))
    @hypothesis_settings(max_examples=60)
    def check(items: list[object]) -> None:
        made = columnar._from_buffers(items, getattr(pa, kind)())
        made.validate(full=True)
        assert made.equals(pa.array(items, getattr(pa, kind)()))

    check()


def test_progress_counts_every_packet_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Regression: the packets done were the number of the last row's packet, so a capture
    # ending in unlabeled packets never reached its last packet.
    monkeypatch.setattr(columnar, "SERIAL_CHUNK", 4 << 10)
    labeled = ethernet(ipv4("10.0.0.1", "10.0.0.2", cipso_option(3, "s1:c2")))
    plain = ethernet(ipv4("10.0.0.1", "10.0.0.2"))
    capture = tmp_path / "tail.pcap"
    write_pcap(capture, [((1700000000, i), labeled if i < 200 else plain) for i in range(500)])
    seen: list[tuple[int, int]] = []
    written = columnar.write_parquet(
        capture, tmp_path / "x.parquet", progress=lambda done, packets: seen.append((done, packets))
    )
    assert written == 200
    assert len(seen) > 4 and seen == sorted(seen)
    assert seen[-1] == (capture.stat().st_size, 500)


def test_packet_numbers_and_times_are_stored_as_differences(tmp_path: Path) -> None:
    # Ascending numbers: DELTA_BINARY_PACKED keeps them to a few bytes a page, where Arrow's
    # default (a dictionary tried, then plain) kept 8 bytes a row before compression.
    capture = write_captures(tmp_path)[0]
    out = tmp_path / "x.parquet"
    columnar.write_parquet(capture, out)
    group = pq.ParquetFile(out).metadata.row_group(0)
    encodings = {
        group.column(i).path_in_schema: group.column(i).encodings for i in range(group.num_columns)
    }
    assert "DELTA_BINARY_PACKED" in encodings["packet"]
    assert "DELTA_BINARY_PACKED" in encodings["time"]
    assert "RLE_DICTIONARY" in encodings["label"]
    assert "RLE_DICTIONARY" in encodings["categories.list.element"]
