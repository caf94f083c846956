"""python -m calipso: decode and encode, exit statuses and one-line errors."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from functools import partial
from pathlib import Path

import pytest

import calipso
from calipso.__main__ import main
from mls import Level
from tests.support import (
    ACCEPTED_VERDICT_JSON,
    assert_stdin_decodes_as_argument,
    assert_usage_error,
    run_module_fresh,
    usage_error_table,
)

GOOD = "070c000000020103980f84000000"  # calipso.md §2: DOI 2, s3:c0,c5
HEADER = "3a01" + GOOD  # the kernel's hop-by-hop header for it (next header 58)
#: An ICMPv6 echo request from 2001:db8::1 to 2001:db8::2 carrying HEADER.
PACKET = (
    "600000000018004020010db8000000000000000000000001"
    "20010db8000000000000000000000002" + HEADER + "8000244800000000"
)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def fields(out: str) -> dict[str, str]:
    """``name  value`` lines as a dict (the first occurrence of each name)."""
    found: dict[str, str] = {}
    for line in out.splitlines():
        name, _, value = line.strip().partition("  ")
        found.setdefault(name.strip(), value.strip())
    return found


def decoded(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, str]:
    """The fields of a command's output; the command must succeed."""
    status, out, _ = run(capsys, *argv)
    assert status == 0, out
    return fields(out)


# --- decode ------------------------------------------------------------------------------------


def test_decode_option(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(capsys, "decode", GOOD)
    assert status == 0 and err == ""
    # Every line, and no kernel verdict without --doi.
    assert fields(out) == {
        "option": "07 0c 00 00 00 02 01 03 98 0f 84 00 00 00",
        "length": "12 data bytes",
        "doi": "2",
        "cmpt len": "1 word of bitmap",
        "level": "3",
        "checksum": "ok 0x0f98 (bytes 98 0f)",
        "bitmap": "84 00 00 00",
        "label": "s3:c0,c5",
    }


def test_decode_accepts_spaces_colons_and_0x(capsys: pytest.CaptureFixture[str]) -> None:
    spaced = " ".join(GOOD[i : i + 2] for i in range(0, len(GOOD), 2))
    for argv in (["decode", spaced], ["decode", "0x" + GOOD], ["decode", *spaced.split()]):
        status, out, _ = run(capsys, *argv)
        assert status == 0 and fields(out)["label"] == "s3:c0,c5"
    status, out, _ = run(capsys, "decode", spaced.replace(" ", ":"))
    assert status == 0


def test_decode_bad_checksum(capsys: pytest.CaptureFixture[str]) -> None:
    damaged = GOOD[:16] + "3412" + GOOD[20:]
    status, out, _ = run(capsys, "decode", damaged)
    assert status == 0  # decoded; only --doi asks for the kernel's verdict
    assert fields(out)["checksum"] == (
        "bad: expected 0x0f98 (bytes 98 0f), found 0x1234 (bytes 34 12)"
    )
    status, out, _ = run(capsys, "decode", damaged, "--doi", "2")
    assert status == 1
    assert fields(out)["kernel"].startswith(
        "dropped: silently (no ICMPv6 error), at option byte 8: checksum 0x1234"
    )


def test_decode_extra_data(capsys: pytest.CaptureFixture[str]) -> None:
    data = calipso.encode(calipso.CalipsoOption(2, 3, b"\x84\0\0\0", b"\xde\xad")).hex()
    got = decoded(capsys, "decode", data, "--doi", "2")
    assert got["extra"] == "de ad (after the bitmap)"
    assert got["kernel"] == "accepted"


def test_decode_with_doi(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "decode", GOOD, "--doi", "2")
    assert status == 0 and fields(out)["kernel"] == "accepted"
    status, out, _ = run(capsys, "decode", GOOD, "--doi", "3", "--doi", "4")
    assert status == 1
    assert (
        fields(out)["kernel"]
        == "dropped: silently (no ICMPv6 error), at option byte 2: DOI 2 is not configured"
    )
    status, out, _ = run(capsys, "decode", GOOD, "--doi", "3", "--doi", "pass doi:2")
    assert status == 0


@pytest.mark.parametrize(
    ("option", "check_line"),
    [
        ("0707000000020000cf", "option byte 1: option data length 7 is below the minimum of 8"),
        ("070c000000020203980f84000000", "option byte 6: compartment length 2 words"),
    ],
)
def test_decode_malformed(capsys: pytest.CaptureFixture[str], option: str, check_line: str) -> None:
    # Without --doi a malformed option is bad input; with --doi it is the kernel's drop.
    status, out, err = run(capsys, "decode", option)
    assert status == 2 and out == ""
    assert err.startswith("python -m calipso: error: malformed CALIPSO option: ")
    assert len(err.splitlines()) == 1
    status, out, err = run(capsys, "decode", option, "--doi", "2")
    assert status == 1 and err == ""
    assert "malformed at " in out
    assert f"kernel    dropped: silently (no ICMPv6 error), at {check_line}" in out


def test_decode_header(capsys: pytest.CaptureFixture[str]) -> None:
    got = decoded(capsys, "decode", HEADER)
    assert got["header"] == "hop-by-hop, 16 bytes, next header 58"
    assert got["options"] == "CALIPSO at 2 (14 bytes)"
    assert got["calipso"] == "at header byte 2"
    assert got["label"] == "s3:c0,c5"
    status, out, _ = run(capsys, "decode", HEADER, "--doi", "2")
    assert status == 0 and fields(out)["kernel"] == "accepted"


def test_decode_header_with_two_options(capsys: pytest.CaptureFixture[str]) -> None:
    second = calipso.CalipsoDoi(2).encode_label(Level.parse("s9"))
    both = bytes((0, 3)) + bytes.fromhex(GOOD) + second + bytes.fromhex("010400000000")
    assert len(both) == 32
    status, out, _ = run(capsys, "decode", both.hex(), "--doi", "2")
    assert status == 0
    assert "calipso   at header byte 16 (the kernel reads the label from the first)" in out
    assert out.count("  label     ") == 2


def test_decode_header_with_stray_option(capsys: pytest.CaptureFixture[str]) -> None:
    header = "3a02" + GOOD + "9e00" + "010400000000"
    status, out, _ = run(capsys, "decode", header, "--doi", "2")
    assert status == 1
    assert fields(out)["kernel"] == (
        "parameter-problem: ICMPv6 Parameter Problem code 2, pointer 56, at header byte 16: "
        "unknown option type 0x9e"
    )
    header = "3a02" + GOOD + "5e00" + "010400000000"
    status, out, _ = run(capsys, "decode", header, "--doi", "2")
    assert status == 1
    assert fields(out)["kernel"].startswith(
        "dropped: silently (no ICMPv6 error), at header byte 16"
    )


def test_decode_header_without_calipso(capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = run(capsys, "decode", "0000050200000100")
    assert status == 2
    assert err == "python -m calipso: error: the hop-by-hop header carries no CALIPSO option\n"
    status, out, _ = run(capsys, "decode", "0000050200000100", "--doi", "2")
    assert status == 0 and fields(out)["kernel"] == "accepted"


def test_decode_malformed_header(capsys: pytest.CaptureFixture[str]) -> None:
    # The last option claims more bytes than the header has.
    header = "3a01" + "010400000000" + GOOD[:16]
    status, _, err = run(capsys, "decode", header, "--as", "hbh")
    assert status == 2 and "malformed hop-by-hop header" in err
    status, out, _ = run(capsys, "decode", header, "--as", "hbh", "--doi", "2")
    assert status == 1
    assert "malformed at header byte 9" in out
    assert fields(out)["kernel"].startswith("dropped: silently (no ICMPv6 error), at header byte 9")


def test_decode_packet(capsys: pytest.CaptureFixture[str]) -> None:
    got = decoded(capsys, "decode", PACKET, "--doi", "2")
    assert got["ipv6"] == "64 bytes, payload length 24"
    assert got["header"] == "hop-by-hop, 16 bytes, next header 58"
    assert got["label"] == "s3:c0,c5"
    assert got["kernel"] == "accepted"


def test_decode_packet_without_hop_by_hop(capsys: pytest.CaptureFixture[str]) -> None:
    packet = PACKET[:12] + "3a" + PACKET[14:80] + PACKET[112:]
    status, _, err = run(capsys, "decode", packet, "--as", "ipv6")
    assert status == 2
    assert "next header is 58, not 0" in err


@pytest.mark.parametrize(("kind", "data"), [("option", GOOD), ("hbh", HEADER), ("ipv6", PACKET)])
def test_as_forces_the_kind(capsys: pytest.CaptureFixture[str], kind: str, data: str) -> None:
    status, out, _ = run(capsys, "decode", data, "--as", kind)
    assert status == 0 and fields(out)["label"] == "s3:c0,c5"


@usage_error_table(
    [
        (["decode", "zz"], "'z' is not a hex digit"),
        (["decode", "070"], "3 hex digits: an odd number cannot be whole bytes"),
        (["decode", ""], "no bytes given"),
        (["decode", "0102030405"], "are neither a CALIPSO option"),
        (["decode", GOOD, "--as", "ipv6"], "shorter than an IPv6 header"),
        (["decode", GOOD, "--as", "hbh"], "is not a hop-by-hop header"),
        (["decode", "3aff" + GOOD, "--as", "option"], "option type 0x3a is not CALIPSO"),
        (["decode", PACKET[: 2 * 48], "--as", "ipv6"], "only 8 follow"),
        (["encode", "s3:cx", "--doi", "2"], "'cx' is not a category"),
        (["encode", "s256", "--doi", "2"], "s256"),
        (["encode", "s3:c1952", "--doi", "2"], "category c1952 is above c1951"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    status, out, err = run(capsys, *argv)
    assert status == 2
    assert_usage_error(out, err, "python -m calipso", message)
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([], "the following arguments are required: COMMAND"),
        (["frobnicate"], "invalid choice"),
        (["encode", "s3"], "--doi"),
        (["encode", "s3", "--doi", "0"], "a CALIPSO DOI is 1..4294967295 (0 is reserved)"),
        (["encode", "s3", "--doi", "two"], "ASCII digits 0-9 in 'doi:two'"),
        (["encode", "s3", "--doi", "4294967296"], "4294967296 is above 4294967295"),
        (["decode", GOOD, "--as", "tcp"], "invalid choice"),
        (["encode", "s3", "--doi", "2", "--hbh", "--next-header", "300"], "not 0..255"),
    ],
)
def test_usage_errors_are_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    with pytest.raises(SystemExit) as caught:
        main(argv)
    assert caught.value.code == 2
    out, err = capsys.readouterr()
    assert out == "" and message in err
    assert err.count("\n") == 1


# --- encode ------------------------------------------------------------------------------------


def test_encode(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "encode", "s3:c0,c5", "--doi", "2")
    assert (status, out) == (0, GOOD + "\n")


def test_encode_hop_by_hop_header(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "encode", "s3:c0,c5", "--doi", "2", "--hbh")
    assert (status, out) == (0, "0001" + GOOD + "\n")
    status, out, _ = run(capsys, "encode", "s3", "--doi", "2", "--hbh", "--next-header", "58")
    level = calipso.CalipsoDoi(2).label_option(Level(3))
    assert out.strip() == calipso.build_header(level, next_header=58).hex()
    assert out.strip().endswith("01020000")  # PadN(4) to a multiple of 8


@pytest.mark.parametrize("level", ["s0", "s255", "s1:c31", "s1:c32", "s7:c0.c1951"])
def test_encode_equals_encode_label_and_decodes_back(
    capsys: pytest.CaptureFixture[str], level: str
) -> None:
    status, out, _ = run(capsys, "encode", level, "--doi", "4294967295")
    assert status == 0
    expected = calipso.CalipsoDoi(0xFFFFFFFF).encode_label(Level.parse(level))
    assert out.strip() == expected.hex()
    status, out, _ = run(capsys, "decode", out.strip(), "--doi", "4294967295")
    assert status == 0 and fields(out)["label"] == str(Level.parse(level))


# --- the program as users run it ---------------------------------------------------------------


def test_help_explains_with_examples() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "calipso", "--help"], capture_output=True, text=True, check=True
    )
    assert "examples:" in proc.stdout
    assert "python -m calipso decode" in proc.stdout
    assert "python -m calipso encode" in proc.stdout
    assert "exit status" in proc.stdout
    for command in ("decode", "encode"):
        sub = subprocess.run(
            [sys.executable, "-m", "calipso", command, "--help"],
            capture_output=True,
            text=True,
            check=True,
        )
        assert "--doi" in sub.stdout


def test_help_examples_print_what_they_say() -> None:
    # Every example line of the epilog runs, and a "prints X" note is its output.
    from calipso.__main__ import EPILOG

    lines = EPILOG.splitlines()
    examples = [(i, line.strip()) for i, line in enumerate(lines) if "python -m calipso" in line]
    assert len(examples) >= 5
    for index, example in examples:
        argv = example.split()[3:]
        argv = [arg.strip("'") for arg in argv]
        if argv[0] == "decode" and "'" in example:
            argv = ["decode", example.split("'")[1], *example.split("'")[2].split()]
        proc = subprocess.run(
            [sys.executable, "-m", "calipso", *argv], capture_output=True, text=True, check=False
        )
        assert proc.returncode in (0, 1), (example, proc.stderr)
        note = lines[index + 1].strip()
        if note.startswith("prints "):
            assert proc.stdout.strip() == note.split()[1].rstrip(",")


def test_exit_status_from_the_shell() -> None:
    def status(*argv: str) -> int:
        return subprocess.run(
            [sys.executable, "-m", "calipso", *argv], capture_output=True, check=False
        ).returncode

    assert status("decode", GOOD) == 0
    assert status("decode", GOOD, "--doi", "7") == 1
    assert status("decode", "nothex") == 2


def test_does_not_import_netlabel_or_labelnet() -> None:
    # Layering: calipso sits below netlabel and labelnet (design.md), also in its command.
    source = Path(calipso.__file__).with_name("__main__.py").read_text()
    imported: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            imported.add(node.module.split(".")[0])
    assert not imported & {"netlabel", "labelnet", "cipso", "scapy", "hypothesis"}
    _, loaded = run_module_fresh(
        "calipso", ["decode", GOOD], ("netlabel", "labelnet", "cipso", "scapy", "hypothesis")
    )
    assert loaded == []


@pytest.mark.parametrize(
    "data",
    [GOOD + "00", GOOD[:-2], "3aff" + GOOD],
    ids=["trailing byte", "truncated", "not type 7"],
)
def test_bytes_that_are_not_one_option_are_not_a_kernel_drop(
    capsys: pytest.CaptureFixture[str], data: str
) -> None:
    # In a header such bytes would be read as further options; only the header has a verdict.
    status, out, err = run(capsys, "decode", data, "--as", "option", "--doi", "2")
    assert status == 2 and out == ""
    assert err.startswith("python -m calipso: error: not one whole CALIPSO option: ")
    assert "--as hbh" in err and err.count("\n") == 1


# --- stdin, JSON, refused options ---------------------------------------------------------------


@pytest.mark.parametrize(
    "given",
    [GOOD.encode() + b"\n", b"07 0c 00 00 00 02\n01 03 98 0f 84 00 00 00\n", bytes.fromhex(GOOD)],
)
def test_decode_reads_stdin(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, given: bytes
) -> None:
    assert_stdin_decodes_as_argument(partial(run, capsys), monkeypatch, GOOD, given)


def test_decode_stdin_raw_packet() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "calipso", "decode", "-", "--doi", "2"],
        input=bytes.fromhex(PACKET),
        capture_output=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode().splitlines()[-1] == "kernel    accepted"


def test_decode_json(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "decode", HEADER, "--doi", "2", "--format", "json")
    assert status == 0
    assert json.loads(out) == {
        "protocol": "calipso",
        "input": "hbh",
        "options": [
            {
                "start": 2,
                "bytes": GOOD,
                "error": None,
                "error_offset": None,
                "size": 14,
                "doi": 2,
                "wire_label": "s3:c0,c5",
                "label": "s3:c0,c5",
                "level": 3,
                "words": 1,
                "bitmap": "84000000",
                "extra": "",
                "checksum": 0x0F98,
                "checksum_ok": True,
                "expected_checksum": 0x0F98,
            }
        ],
        "header": {
            "size": 16,
            "next_header": 58,
            "error": None,
            "error_offset": None,
            "tlvs": [{"type": 7, "name": "CALIPSO", "offset": 2, "size": 14}],
        },
        **ACCEPTED_VERDICT_JSON,
        "check": None,
    }


def test_decode_json_dropped(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "decode", HEADER, "--doi", "3", "--format", "json")
    shown = json.loads(out)
    assert status == 1
    assert (shown["verdict"], shown["offset"], shown["option_offset"], shown["check"]) == (
        "dropped",
        4,
        2,
        "unknown-doi",
    )
    assert shown["pointer"] is None and shown["code"] is None
    status, out, _ = run(capsys, "decode", GOOD, "--doi", "3", "--format", "json")
    shown = json.loads(out)
    assert (status, shown["offset"], shown["option_offset"], "header" in shown) == (1, 2, 2, False)


def test_next_header_without_a_header_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(capsys, "encode", "s3", "--doi", "2", "--next-header", "17")
    assert (status, out) == (2, "")
    assert err == (
        "python -m calipso: error: --next-header is the hop-by-hop header's first byte: "
        "give --as hbh\n"
    )


def test_encode_as_hbh(capsys: pytest.CaptureFixture[str]) -> None:
    hbh = run(capsys, "encode", "s3:c0,c5", "--doi", "2", "--as", "hbh", "--next-header", "58")
    assert hbh == (0, HEADER + "\n", "")
    assert run(capsys, "encode", "s3:c0,c5", "--doi", "2", "--as", "option")[1] == GOOD + "\n"
