"""Label names on every command that shows labels (``--setrans FILE``, the system's
setrans.conf by default, ``--no-setrans``): labelnet dump and demo, python -m cipso and
python -m calipso decode, python -m netlabel peer-server.

The names printed are compared with what the unmodified mcstransd answers for the same labels on
the same configuration (tests/mcstransd.py)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest

import calipso.__main__
import cipso.__main__
import labelnet.__main__
import mls.__main__
import netlabel.__main__
from labelnet._cli_demo import CIPSO_PACKET, sample_packets, write_sample
from labelnet.capture import write_pcap
from mls import Level
from mls._cli import SELINUX_ROOT_VARIABLE, load_setrans
from mls.translate import Translator
from netlabel._cli_peer import _print_peer
from netlabel.model import Protocol
from netlabel.sockets import PeerLabel
from tests.mcstransd import RAW_TO_TRANS_CONTEXT, LiveDaemon, build_shim

# Exact names (a level, a range, a name with a blank), and names computed from base
# classifications and modifier words, for the labels of `labelnet demo --write`'s capture.
NAMES = """\
s0=SystemLow
s0-s0:c0.c1023=SystemLow-SystemHigh
s0:c0.c1023=SystemHigh
s0:c1=Sandbox
s6=Top Secret
s3:c0,c5=Eyes Only
Base=Sensitivity
s2=Confidential
s3=Secret
s4=Restricted
ModifierGroup=Projects
Whitespace=,
Join=,
c0.c3=Apollo
c10.c12=Gemini
c1=One
c2=Two
c5=Five
c7.c300=Wide
"""

# One CIPSO option (DOI 16, tag 1, s3:c0,c5) and one CALIPSO option (DOI 2, s3:c0,c5).
CIPSO_OPTION = "860b000000100105000384"
CALIPSO_OPTION = "070c000000020103980f84000000"

Main = Callable[[Sequence[str] | None], int]


def run(main: Main, argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Run a command line in this process: its status, standard output and standard error."""
    try:
        status = main(argv)
    except SystemExit as exc:
        status = int(exc.code or 0)
    out, err = capsys.readouterr()
    return status, out, err


@pytest.fixture
def setrans(tmp_path: Path) -> Path:
    path = tmp_path / "setrans.conf"
    path.write_text(NAMES)
    return path


@pytest.fixture
def capture(tmp_path: Path) -> Path:
    path = tmp_path / "trace.pcapng"
    write_sample(path)
    return path


@pytest.fixture(scope="module")
def mcstransd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[str], str]]:
    """The name mcstransd gives a raw level, read from NAMES."""
    shim = build_shim(tmp_path_factory.mktemp("shim"))
    config = tmp_path_factory.mktemp("mcstransd") / "setrans.conf"
    config.write_text(NAMES)
    daemon = LiveDaemon(shim, config)

    def name(raw: str) -> str:
        return daemon.settled(RAW_TO_TRANS_CONTEXT, f"a:b:c:{raw}").removeprefix("a:b:c:")

    try:
        yield name
    finally:
        daemon.close()


def assert_daemon_agrees(pairs: dict[str, str], mcstransd: Callable[[str], str]) -> None:
    assert pairs
    assert {raw: mcstransd(raw) for raw in pairs} == pairs


# -- labelnet dump -------------------------------------------------------------------------------


def dump(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    return run(labelnet.__main__.main, ["dump", *argv], capsys)


def test_dump_text_has_a_setrans_column_and_the_other_columns_unchanged(
    capture: Path,
    setrans: Path,
    capsys: pytest.CaptureFixture[str],
    mcstransd: Callable[[str], str],
) -> None:
    _, plain, _ = dump(capsys, str(capture))
    status, named, err = dump(capsys, str(capture), "--setrans", str(setrans))
    assert (status, err) == (0, "")
    header = named.splitlines()[0]
    column = header.index("SETRANS")
    assert header[column:] == "SETRANS              VERDICT"
    pairs = {}
    for before, after in zip(plain.splitlines()[1:], named.splitlines()[1:], strict=True):
        # The line is the line without a setrans.conf, the name's cell inserted before VERDICT.
        width = len(after) - len(before) - 1
        name = after[column : column + width].rstrip()
        assert after[:column] + after[column + width + 1 :] == before
        label = before[column - 21 :]
        label = "secid 42" if label.startswith("secid") else label.split()[0]
        if label in ("-", "secid 42"):
            assert name == "-"
        else:
            pairs[label] = name
    assert pairs["s0:c1"] == "Sandbox"
    assert pairs["s6"] == "Top Secret"
    assert pairs["s2:c0.c3,c10.c12"] == "Confidential Apollo,Gemini"
    assert_daemon_agrees(pairs, mcstransd)


def test_dump_reads_its_setrans_conf_once_per_version_of_the_file(
    capture: Path,
    setrans: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The settings (checked on creation and on each replace) and the renderer share one read;
    # the command line reads it once more to refuse a bad file before any output.
    reads: list[str] = []
    original = Translator.from_file.__func__  # type: ignore[attr-defined]

    def counted(cls: type[Translator], path: str) -> Translator:
        reads.append(str(path))
        return original(cls, path)  # type: ignore[no-any-return]

    monkeypatch.setattr(Translator, "from_file", classmethod(counted))
    argv = (str(capture), "--setrans", str(setrans), "--dominates", "SystemLow")
    status, first, _ = dump(capsys, *argv)
    assert status == 0
    assert "Sandbox" in first
    assert reads == [str(setrans)] * 2
    setrans.write_text(NAMES.replace("Sandbox", "Playpen"))  # a new version is read again
    _, second, _ = dump(capsys, *argv)
    assert "Playpen" in second
    assert "Sandbox" not in second
    assert len(reads) == 4


def test_dump_jsonl_and_csv_add_setrans_beside_the_label(
    capture: Path,
    setrans: Path,
    capsys: pytest.CaptureFixture[str],
    mcstransd: Callable[[str], str],
) -> None:
    _, plain_json, _ = dump(capsys, str(capture), "--format", "jsonl")
    _, named_json, _ = dump(capsys, str(capture), "--format", "jsonl", "--setrans", str(setrans))
    plain_rows = [json.loads(line) for line in plain_json.splitlines()]
    named_rows = [json.loads(line) for line in named_json.splitlines()]
    pairs = {}
    for before, after in zip(plain_rows, named_rows, strict=True):
        keys = list(after)
        assert keys[keys.index("wire_label") + 1] == "setrans"
        name = after.pop("setrans")
        assert after == before
        if before["label"] is None or before["label"].startswith("secid"):
            assert name is None
        else:
            pairs[before["label"]] = name
    assert_daemon_agrees(pairs, mcstransd)

    _, plain_csv, _ = dump(capsys, str(capture), "--format", "csv")
    _, named_csv, _ = dump(capsys, str(capture), "--format", "csv", "--setrans", str(setrans))
    plain_table = list(csv.reader(io.StringIO(plain_csv)))
    named_table = list(csv.reader(io.StringIO(named_csv)))
    at = named_table[0].index("setrans")
    assert named_table[0][at - 1] == "wire_label"
    assert [row[:at] + row[at + 1 :] for row in named_table] == plain_table
    assert {row[7]: row[at] for row in named_table[1:] if row[at]} == pairs


def test_dump_names_need_escaping_in_json_and_csv(
    capture: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    odd = tmp_path / "odd.conf"
    odd.write_text('s0:c1=Sandbox, "quoted" \\ line\n')
    _, out, _ = dump(capsys, str(capture), "--format", "jsonl", "--setrans", str(odd))
    names = {row["label"]: row["setrans"] for row in map(json.loads, out.splitlines())}
    assert names["s0:c1"] == 'Sandbox, "quoted" \\ line'
    _, out, _ = dump(capsys, str(capture), "--format", "csv", "--setrans", str(odd))
    rows = list(csv.DictReader(io.StringIO(out)))
    assert {row["label"]: row["setrans"] for row in rows}["s0:c1"] == 'Sandbox, "quoted" \\ line'


@pytest.mark.parametrize("output", ["text", "jsonl", "csv"])
def test_dump_stats_name_the_labels(
    capture: Path, setrans: Path, capsys: pytest.CaptureFixture[str], output: str
) -> None:
    argv = [str(capture), "--stats", "--quiet", "--format", output]
    _, plain, _ = dump(capsys, *argv)
    _, named, _ = dump(capsys, *argv, "--setrans", str(setrans))
    if output == "jsonl":
        rows = [json.loads(line)["stats"] for line in named.splitlines()]
        assert [{k: v for k, v in row.items() if k != "setrans"} for row in rows] == [
            json.loads(line)["stats"] for line in plain.splitlines()
        ]
        names = {row["label"]: row["setrans"] for row in rows}
    elif output == "csv":
        rows = list(csv.DictReader(io.StringIO(named.lstrip("\n"))))
        assert list(rows[0]) == [
            "source",
            "destination",
            "protocol",
            "doi",
            "label",
            "setrans",
            "packets",
        ]
        names = {row["label"]: row["setrans"] or None for row in rows}
    else:
        lines = named.splitlines()
        assert lines[2].split() == [
            "SOURCE",
            "DESTINATION",
            "OPTION",
            "DOI",
            "LABEL",
            "SETRANS",
            "PACKETS",
        ]
        at = lines[2].index("SETRANS")
        names = {line.split()[4]: line[at:].rsplit(None, 1)[0] for line in lines[3:]}
        names = {label: None if name == "-" else name for label, name in names.items()}
    assert names["s0:c1"] == "Sandbox"
    assert names["s6"] == "Top Secret"
    assert names["-"] is None
    assert names.get("secid", names.get("secid 42")) is None


def test_dump_parquet_fills_the_setrans_column(
    capture: Path, setrans: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    output = tmp_path / "labels.parquet"
    status, _, err = dump(
        capsys, str(capture), "--format", "parquet", "-o", str(output), "--setrans", str(setrans)
    )
    assert (status, err) == (0, "")
    table = pq.read_table(output)
    names = dict(zip(table["label"].to_pylist(), table["setrans"].to_pylist(), strict=True))
    assert names["s0:c1"] == "Sandbox"
    assert names["secid 42"] is None
    dump(capsys, str(capture), "--format", "parquet", "-o", str(output))
    plain = pq.read_table(output)
    assert plain.num_rows == table.num_rows > 0
    assert plain["setrans"].null_count == plain.num_rows


def test_dump_workers_name_the_labels_too(
    tmp_path: Path, setrans: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # More than three 1 MiB segments, so that --jobs 2 hands segments to worker processes.
    packets = sample_packets()
    big = tmp_path / "big.pcap"
    write_pcap(big, [((n, 0), packets[n % len(packets)]) for n in range(60_000)], 101)
    assert big.stat().st_size > 4 << 20
    argv = [str(big), "--setrans", str(setrans), "--dominates", "SystemLow", "--stats"]
    one = dump(capsys, *argv)
    two = dump(capsys, *argv, "--jobs", "2")
    assert one[0] == 0 and one == two
    assert "Sandbox" in one[1]


@pytest.mark.parametrize(
    ("argv", "packets"),
    [
        (["--equals", "Sandbox"], [4, 6, 11]),
        (["--equals", "s0:c1"], [4, 6, 11]),  # levels are still levels
        (["--dominated-by", "Confidential Apollo,Gemini"], [2, 4, 6, 11]),
        (["--dominates", "Top Secret"], [3]),
        (["--dominates", "SystemLow", "--dominated-by", "SystemHigh"], [4, 6, 8, 11]),
    ],
)
def test_dump_filters_take_names(
    capture: Path,
    setrans: Path,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    packets: list[int],
) -> None:
    status, out, err = dump(capsys, str(capture), "--setrans", str(setrans), *argv)
    assert (status, err) == (0, "")
    assert [int(line.split()[0]) for line in out.splitlines()[1:]] == packets


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--equals", "Nonesuch"], "--equals 'Nonesuch' is neither an MLS level nor a name in"),
        (
            ["--dominates", "SystemLow-SystemHigh"],
            "--dominates 'SystemLow-SystemHigh' names 's0-s0:c0.c1023' in",
        ),
    ],
)
def test_dump_filter_names_that_do_not_translate_are_one_line(
    capture: Path,
    setrans: Path,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    message: str,
) -> None:
    status, out, err = dump(capsys, str(capture), "--setrans", str(setrans), *argv)
    assert (status, out) == (2, "")
    assert err.startswith("labelnet dump: error: ") and err.count("\n") == 1
    assert message in err


def test_dump_filter_names_need_a_setrans(
    capture: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = dump(capsys, str(capture), "--equals", "Sandbox")
    assert (status, out) == (2, "")
    assert err.startswith("labelnet dump: error: ") and err.count("\n") == 1


# -- python -m cipso / calipso decode ---------------------------------------------------------


@pytest.mark.parametrize(
    ("main", "option"),
    [(cipso.__main__.main, CIPSO_OPTION), (calipso.__main__.main, CALIPSO_OPTION)],
    ids=["cipso", "calipso"],
)
def test_decode_names_the_label(
    setrans: Path,
    capsys: pytest.CaptureFixture[str],
    mcstransd: Callable[[str], str],
    main: Main,
    option: str,
) -> None:
    _, plain, _ = run(main, ["decode", option], capsys)
    status, named, _ = run(main, ["decode", option, "--setrans", str(setrans)], capsys)
    assert status == 0
    assert named == plain + "setrans   Eyes Only\n"
    _, out, _ = run(main, ["decode", option, "--format", "json", "--setrans", str(setrans)], capsys)
    shown = json.loads(out)["options"][0]
    assert list(shown)[list(shown).index("label") + 1] == "setrans"
    assert_daemon_agrees({shown["label"]: shown["setrans"]}, mcstransd)
    _, out, _ = run(main, ["decode", option, "--format", "json"], capsys)
    assert "setrans" not in json.loads(out)["options"][0]


def test_cipso_decode_names_the_host_label(
    setrans: Path, capsys: pytest.CaptureFixture[str], mcstransd: Callable[[str], str]
) -> None:
    # With a TRANS DOI the name is the host label's (wire c5 is host c1 here).
    trans = "trans doi:16 tags:1 levels:3=3 categories:0=0,1=5"
    argv = ["decode", CIPSO_OPTION, "--doi", trans, "--setrans", str(setrans)]
    _, out, _ = run(cipso.__main__.main, argv, capsys)
    assert out.splitlines()[-2:] == ["host      s3:c0,c1", f"setrans   {mcstransd('s3:c0,c1')}"]


def test_cipso_decode_names_no_secid(setrans: Path, capsys: pytest.CaptureFixture[str]) -> None:
    local = "860c00000007" + "8006" + (42).to_bytes(4, "little").hex()
    argv = ["decode", local, "--doi", "local doi:7", "--loopback", "--setrans", str(setrans)]
    status, out, _ = run(cipso.__main__.main, [*argv, "--format", "json"], capsys)
    assert status == 0
    option = json.loads(out)["options"][0]
    assert (option["label"], option["setrans"]) == ("secid 42", None)
    _, out, _ = run(cipso.__main__.main, argv, capsys)
    assert "setrans" not in out


def test_calipso_decode_names_each_option_of_a_header(
    setrans: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    header = "3a01" + CALIPSO_OPTION  # in a hop-by-hop header: indented with the option
    argv = ["decode", header, "--doi", "2", "--setrans", str(setrans)]
    _, out, _ = run(calipso.__main__.main, argv, capsys)
    assert "  label     s3:c0,c5\n  setrans   Eyes Only\nkernel    accepted\n" in out


# -- labelnet demo ------------------------------------------------------------------------------


def test_demo_names_the_labels_and_the_peer_context(
    setrans: Path, capsys: pytest.CaptureFixture[str], mcstransd: Callable[[str], str]
) -> None:
    _, plain, _ = run(labelnet.__main__.main, ["demo"], capsys)
    status, named, err = run(labelnet.__main__.main, ["demo", "--setrans", str(setrans)], capsys)
    assert (status, err) == (0, "")
    lines = named.splitlines()
    # The plain demo's lines, in order, with the names' lines between them.
    extra = [line for line in lines if line not in plain.splitlines()]
    assert [line for line in lines if line not in extra] == plain.splitlines()
    labels = [line.split()[-1] for line in lines if line.strip().startswith("label ")]
    names = [line.strip().split(None, 1)[1] for line in lines if line.strip().startswith("setrans")]
    assert len(labels) == len(names) == 2
    pairs = dict(zip(labels, names, strict=True))
    assert_daemon_agrees(pairs, mcstransd)
    assert pairs["s3:c1,c2,c5,c7.c300"] == "Secret Wide,One,Two,Five"  # mcstrans' word order
    shown = [line.strip().split("    (")[0] for line in extra if "(what ls -Z" in line]
    assert shown == [f"system_u:object_r:netlabel_peer_t:{mcstransd(label)}" for label in labels]


# -- python -m netlabel peer-server --------------------------------------------------------------


def test_peer_server_lines_end_with_the_name(
    setrans: Path, capsys: pytest.CaptureFixture[str], mcstransd: Callable[[str], str]
) -> None:
    names = Translator.from_file(setrans)
    pairs = {}
    for level in ("s3:c0,c5", "s0:c1", "s3:c1,c2,c5,c7.c300", "s5:c9"):
        label = PeerLabel(Protocol.CIPSOV4, 16, Level.parse(level), bytes.fromhex(CIPSO_OPTION))
        _print_peer(("127.0.0.1", 4242), label, names)
        _print_peer(("127.0.0.1", 4242), label, None)
        named, plain = capsys.readouterr().out.splitlines()
        context = f"system_u:object_r:netlabel_peer_t:{level}"
        assert plain == f"connect(127.0.0.1, {context})"
        head, _, name = named.partition(") setrans ")
        assert head + ")" == plain
        pairs[level] = name
    assert_daemon_agrees(pairs, mcstransd)
    _print_peer(("::1", 4242, 0, 0), None, names)
    assert capsys.readouterr().out == "connect(::1, NO_CONTEXT)\n"


# -- every command: the system's setrans.conf, --no-setrans, a bad file ---------------------------


@pytest.fixture
def system_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A root standing for /etc/selinux whose active policy (mls) has NAMES as setrans.conf."""
    root = tmp_path / "selinux"
    (root / "mls").mkdir(parents=True)
    (root / "config").write_text("SELINUX=enforcing\nSELINUXTYPE=mls\n")
    (root / "mls" / "setrans.conf").write_text(NAMES)
    monkeypatch.setenv(SELINUX_ROOT_VARIABLE, str(root))
    return root / "mls" / "setrans.conf"


def commands(capture: Path) -> dict[str, tuple[Main, list[str]]]:
    return {
        "dump": (labelnet.__main__.main, ["dump", str(capture)]),
        "demo": (labelnet.__main__.main, ["demo"]),
        "cipso decode": (cipso.__main__.main, ["decode", CIPSO_OPTION]),
        "calipso decode": (calipso.__main__.main, ["decode", CALIPSO_OPTION]),
        "cipso decode json": (cipso.__main__.main, ["decode", CIPSO_OPTION, "--format", "json"]),
        "dump jsonl": (labelnet.__main__.main, ["dump", str(capture), "--format", "jsonl"]),
    }


COMMANDS = ["dump", "demo", "cipso decode", "calipso decode", "cipso decode json", "dump jsonl"]


@pytest.mark.parametrize("command", COMMANDS)
def test_the_system_setrans_conf_is_the_default_and_no_setrans_turns_it_off(
    capture: Path,
    setrans: Path,
    system_root: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    command: str,
) -> None:
    main, argv = commands(capture)[command]
    by_default = run(main, argv, capsys)
    assert by_default == run(main, [*argv, "--setrans", str(setrans)], capsys)
    off = run(main, [*argv, "--no-setrans"], capsys)
    monkeypatch.setenv(SELINUX_ROOT_VARIABLE, str(system_root.parent.parent / "elsewhere"))
    assert off == run(main, argv, capsys)  # no file there: no names
    assert by_default[0] == off[0] == 0
    assert "setrans" in by_default[1].lower()
    assert "setrans" not in off[1].lower()


def test_peer_server_and_mls_translate_read_the_system_setrans_conf(
    system_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    parser = netlabel.__main__.build_parser()
    names = load_setrans(parser.parse_args(["peer-server", "0"]))
    assert names is not None and names.translate("s0:c1") == "Sandbox"
    assert load_setrans(parser.parse_args(["peer-server", "0", "--no-setrans"])) is None
    assert run(mls.__main__.main, ["translate", "s0:c1"], capsys) == (0, "Sandbox\n", "")


def test_without_the_variable_the_default_is_under_etc_selinux(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from mls._cli import system_setrans_path

    monkeypatch.delenv(SELINUX_ROOT_VARIABLE)
    assert str(system_setrans_path()).startswith("/etc/selinux/")
    assert system_setrans_path().name == "setrans.conf"


@pytest.mark.parametrize(
    ("command", "argv", "prefix"),
    [
        ("labelnet", ["dump", "CAPTURE"], "labelnet dump: error: "),
        ("labelnet", ["demo"], "labelnet demo: error: "),
        ("cipso", ["decode", CIPSO_OPTION], "python -m cipso: error: "),
        ("calipso", ["decode", CALIPSO_OPTION], "python -m calipso: error: "),
        ("netlabel", ["peer-server", "0", "--count", "1"], "netlabel: error, peer-server: "),
    ],
)
def test_a_bad_setrans_file_is_one_line_and_status_2(
    capture: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    command: str,
    argv: list[str],
    prefix: str,
) -> None:
    main: Main = {
        "labelnet": labelnet.__main__.main,
        "cipso": cipso.__main__.main,
        "calipso": calipso.__main__.main,
        "netlabel": netlabel.__main__.main,
    }[command]
    argv = [str(capture) if arg == "CAPTURE" else arg for arg in argv]
    bad = tmp_path / "bad.conf"
    bad.write_text("s0=SystemLow\nModifierGroup=G\nc1=A-B\n")
    for path, where in (
        (bad, f"{bad}:3:"),
        (tmp_path / "missing.conf", "cannot read"),
        (tmp_path, "is a directory"),
    ):
        status, out, err = run(main, [*argv, "--setrans", str(path)], capsys)
        assert (status, out) == (2, ""), err
        assert err.startswith(prefix) and err.count("\n") == 1, err
        assert where in err


def test_a_bad_system_setrans_file_says_how_to_do_without(
    system_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    system_root.write_text("nonsense\n")
    status, out, err = run(cipso.__main__.main, ["decode", CIPSO_OPTION], capsys)
    assert (status, out) == (2, "")
    assert f"{system_root}:1:1:" in err and "--no-setrans" in err and err.count("\n") == 1
    assert run(cipso.__main__.main, ["decode", CIPSO_OPTION, "--no-setrans"], capsys)[0] == 0


def test_the_demo_packets_are_the_ones_named() -> None:
    # The CIPSO packet of the demo carries s3:c1,c2,c5,c7.c300, which NAMES computes a name for.
    assert CIPSO_PACKET in sample_packets()
