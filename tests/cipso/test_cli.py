"""python -m cipso: decode and encode, verdicts, exit statuses and one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from functools import partial

import pytest

import cipso
from cipso.__main__ import main
from tests.cipso import corpus
from tests.support import (
    ACCEPTED_VERDICT_JSON,
    assert_stdin_decodes_as_argument,
    feed_stdin,
    run_module_fresh,
)

VECTORS = corpus.VECTORS
EXAMPLE = "860b000000100105000384"  # cipso.md §8
PASS16 = "pass doi:16 tags:1"
# The example in an ICMP echo request: 20-byte header, 12 bytes of options, 8 of ICMP.
PACKET = "4800002800010000400100000a0000010a000002" + EXAMPLE + "00" + "0800f7ff00000000"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def run_exit(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """For argparse errors and --help, which exit through SystemExit."""
    with pytest.raises(SystemExit) as caught:
        main(list(argv))
    out, err = capsys.readouterr()
    return int(caught.value.code or 0), out, err


def run_vector(
    capsys: pytest.CaptureFixture[str], vector: dict[str, object], kind: str
) -> tuple[int, str, str]:
    """``decode`` a corpus vector's bytes read as ``kind``, with the DOIs the vector names."""
    args = ["decode", str(vector["hex"]), "--as", kind]
    for name in vector["dois"]:  # type: ignore[attr-defined]
        args += ["--doi", VECTORS["dois"][name]]
    return run(capsys, *args)


# --- decode -------------------------------------------------------------------------------------


def test_decode_option(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(capsys, "decode", EXAMPLE)
    assert (status, err) == (0, "")
    assert out.splitlines() == [
        "option    86 0b 00 00 00 10 01 05 00 03 84",
        "length    11",
        "doi       16",
        "tag 1     restricted bitmap, length 5, level 3, bitmap 84 -> s3:c0,c5",
        "label     s3:c0,c5",
    ]


def test_decode_accepts_spaces_and_colons(capsys: pytest.CaptureFixture[str]) -> None:
    spaced = run(capsys, "decode", "86 0b 00 00 00 10", "01:05:00:03:84")
    assert spaced == run(capsys, "decode", EXAMPLE)


@pytest.mark.parametrize(
    ("hex_option", "line"),
    [
        (
            "860e000000640208000300010005",
            "tag 2     enumerated, length 8, level 3, categories 1,5 -> s3:c1,c5",
        ),
        (
            "861000000064050a0003000c000a0003",
            "tag 5     ranged, length 10, level 3, ranges high-low 12-10,3-0 -> s3:c0.c3,c10.c12",
        ),
        ("860c00000005800601000000", "tag 128   local, length 6, secid 1 (host byte order)"),
        ("860a0000006407040003", "tag 7     free form, length 4, data 0003"),
        ("860a0000006403040003", "tag 3     type 3, length 4, data 0003"),
        (
            "860b000000100105ff0384",
            "tag 1     restricted bitmap, length 5, level 3, bitmap 84, alignment 255 -> s3:c0,c5",
        ),
    ],
)
def test_decode_tag_lines(capsys: pytest.CaptureFixture[str], hex_option: str, line: str) -> None:
    status, out, _ = run(capsys, "decode", hex_option)
    assert status == 0
    assert line in out.splitlines()


def test_decode_with_doi_accepted(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "decode", EXAMPLE, "--doi", PASS16)
    assert status == 0
    assert out.splitlines()[-2:] == ["kernel    accepted", "host      s3:c0,c5"]


def test_decode_trans_host_label(capsys: pytest.CaptureFixture[str]) -> None:
    doi = "trans doi:8 tags:1 levels:0=0,1=1 categories:0=1,1=0"
    status, out, _ = run(capsys, "decode", "860b0000000801050001c0", "--doi", doi)
    assert status == 0
    assert out.splitlines()[-1] == "host      s1:c0,c1"


def test_decode_with_doi_rejected(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(capsys, "decode", "860a0000001101040003", "--doi", "16", "--doi", "100")
    assert (status, err) == (1, "")
    assert out.splitlines()[-1] == (
        "kernel    parameter-problem: ICMP Parameter Problem code 0, pointer 22, at header "
        "byte 22, option byte 2: DOI 17 is not configured"
    )


@pytest.mark.parametrize(
    "vector",
    [v for v in VECTORS["options"] if not v.get("loopback") and v.get("strict_bitmap", True)],
    ids=lambda v: v["name"],
)
def test_decode_verdicts_match_the_vectors(
    capsys: pytest.CaptureFixture[str], vector: dict[str, object]
) -> None:
    status, out, err = run_vector(capsys, vector, "option")
    assert err == ""
    if vector["offset"] is None:
        assert status == 0
        assert "kernel    accepted" in out
    else:
        assert status == 1
        pointer = 20 + int(vector["offset"])  # type: ignore[call-overload]
        assert out.splitlines()[-1].startswith(
            f"kernel    parameter-problem: ICMP Parameter Problem code 0, pointer {pointer}, "
            f"at header byte {pointer}, option byte {vector['offset']}: "
        )
    if "decode_offset" in vector:
        assert f"malformed at option byte {vector['decode_offset']}: " in out


def test_decode_strictvalid_off_and_loopback(capsys: pytest.CaptureFixture[str]) -> None:
    doi = "trans doi:8 tags:1 levels:0=0,1=1 categories:0=1,1=0"
    assert run(capsys, "decode", "860a0000000801040002", "--doi", doi)[0] == 1
    assert run(capsys, "decode", "860a0000000801040002", "--doi", doi, "--no-strict-bitmap")[0] == 0
    local = ["decode", "860c00000005800601000000", "--doi", "local doi:5"]
    assert run(capsys, *local)[0] == 1
    status, out, _ = run(capsys, *local, "--loopback")
    assert status == 0
    assert out.splitlines()[-1].startswith("host      secid ")


def test_decode_ipv4_packet(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "decode", PACKET, "--doi", PASS16)
    assert status == 0
    lines = out.splitlines()
    assert lines[:3] == [
        "ipv4      header 32 bytes, options 12 bytes",
        "cipso     at header byte 20",
        "option    86 0b 00 00 00 10 01 05 00 03 84",
    ]
    assert "kernel    accepted" in lines


def test_decode_ipv4_pointer(capsys: pytest.CaptureFixture[str]) -> None:
    # The same packet with a NOP in front of the option and DOI 17: pointer 20 + 1 + 2.
    packet = "4800002800010000400100000a0000010a00000201860a000000110104000300" + "0800f7ff00000000"
    status, out, _ = run(capsys, "decode", packet, "--doi", PASS16)
    assert status == 1
    assert "cipso     at header byte 21" in out
    assert out.splitlines()[-1] == (
        "kernel    parameter-problem: ICMP Parameter Problem code 0, pointer 23, at header "
        "byte 23, option byte 2: DOI 17 is not configured"
    )


def test_decode_ipv4_second_option(capsys: pytest.CaptureFixture[str]) -> None:
    area = EXAMPLE + EXAMPLE + "0000"
    header = "4b00002c00000000400100000a0000010a000002"
    status, out, _ = run(capsys, "decode", header + area, "--doi", PASS16)
    assert status == 1
    assert out.splitlines()[-1].endswith("pointer 31, at header byte 31: a second CIPSO option")


def test_decode_options_area(capsys: pytest.CaptureFixture[str]) -> None:
    """An option followed by more bytes, or bytes starting with NOP or EOL, are an options
    area; the pointer counts from the IPv4 header that would precede it."""
    status, out, _ = run(capsys, "decode", EXAMPLE + "00", "--doi", PASS16)
    assert status == 0
    assert out.splitlines()[:2] == [
        "options   12 bytes (after a 20-byte IPv4 header)",
        "cipso     at header byte 20",
    ]
    status, out, _ = run(capsys, "decode", "01860a000000110104000300", "--doi", PASS16)
    assert status == 1
    assert out.splitlines()[-1] == (
        "kernel    parameter-problem: ICMP Parameter Problem code 0, pointer 23, at header "
        "byte 23, option byte 2: DOI 17 is not configured"
    )
    # Another option after CIPSO: its type byte is the pointer, not inside CIPSO.
    status, out, _ = run(capsys, "decode", EXAMPLE + "fe", "--doi", PASS16)
    assert status == 1
    assert out.splitlines()[-1] == (
        "kernel    parameter-problem: ICMP Parameter Problem code 0, pointer 31, at header "
        "byte 31: option 254 has no length byte"
    )
    # Without a DOI, only the option is decoded; with --as option the bytes must be exact.
    assert run(capsys, "decode", "0000" + EXAMPLE)[0] == 2
    assert run(capsys, "decode", EXAMPLE + "00", "--as", "option")[0] == 2


@pytest.mark.parametrize("vector", VECTORS["areas"], ids=lambda v: v["name"])
def test_decode_area_vectors(capsys: pytest.CaptureFixture[str], vector: dict[str, object]) -> None:
    status, out, err = run_vector(capsys, vector, "options")
    assert err == ""
    if vector["pointer"] is None:
        assert status == 0
        assert "kernel    accepted" in out.splitlines()
    else:
        assert status == 1
        assert f"pointer {vector['pointer']}" in out.splitlines()[-1]


def test_decode_as_forces_the_reading(capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = run(capsys, "decode", EXAMPLE, "--as", "ipv4")
    assert status == 2
    assert err == "python -m cipso: error: IP version 8, not 4\n"


# --- encode -------------------------------------------------------------------------------------


def test_encode(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "encode", "s3:c0,c5", "--doi", PASS16) == (0, EXAMPLE + "\n", "")
    assert run(capsys, "encode", "s3:c0,c5", "--doi", "16", "--padded") == (
        0,
        EXAMPLE + "00\n",
        "",
    )


def test_encode_options(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "encode", "s3:c0,c5", "--doi", PASS16, "--optimized-bitmap")
    assert (status, out) == (0, "861400000010010e000384000000000000000000\n")
    status, out, _ = run(capsys, "encode", "s3:c0.c3,c10.c12", "--doi", "pass doi:100 tags:5")
    assert (status, out) == (0, "861000000064050a0003000c000a0003\n")
    status, out, _ = run(capsys, "encode", "--doi", "local doi:5", "--secid", "7")
    assert status == 0
    assert cipso.decode(bytes.fromhex(out.strip())).tags[0] == cipso.LocalTag(7)


def test_encode_round_trips_through_decode(capsys: pytest.CaptureFixture[str]) -> None:
    doi = "trans doi:8 tags:1 levels:0=0,1=1 categories:0=1,1=0"
    _, out, _ = run(capsys, "encode", "s1:c0", "--doi", doi)
    status, decoded, _ = run(capsys, "decode", out.strip(), "--doi", doi)
    assert status == 0
    assert decoded.splitlines()[-1] == "host      s1:c0"


# --- bad input ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["decode", "zz"], "'z' is not a hex digit"),
        (["decode", "860"], "3 hex digits: an odd number cannot be whole bytes"),
        (["decode", " "], "no bytes given"),
        (
            ["decode", "12"],
            "the first byte 0x12 starts neither a CIPSO option (0x86), an options area",
        ),
        (["decode", "86070000001001"], "malformed CIPSO option: a tag type with no room for"),
        (["decode", "4500"], "2 bytes is shorter than an IPv4 header (20)"),
        (["decode", "4f" + "00" * 19], "IPv4 header length 60 runs past the 20 bytes given"),
        (["decode", "44" + "00" * 19], "IPv4 header length 16 is below 20"),
        (["decode", "45" + "00" * 19], "no CIPSO option in the options area"),
        (["decode", "0101"], "no CIPSO option in the options area"),
        (
            ["decode", "01" * 41, "--doi", "16"],
            "41 bytes of options: an IPv4 header holds at most 40",
        ),
        (["decode", EXAMPLE, "--doi", "pass doi:0 tags:1"], "DOI 0 is not usable"),
        (["decode", EXAMPLE, "--doi", "16", "--doi", "16"], "DOI 16 is defined twice"),
        (["decode", EXAMPLE, "--doi", "pass doi:16"], "missing tags:"),
        (["decode", EXAMPLE, "--doi", "bogus doi:16"], "unknown DOI type 'bogus'"),
        (["encode", "s3:c0,c5", "--doi", "pass doi:16 tags:3"], "tag type 3 is not supported"),
        (["encode", "s3:c300", "--doi", "16"], "no tag of DOI 16 can carry s3:c300"),
        (["encode", "x3", "--doi", "16"], "x3"),
        (["encode", "--doi", "16"], "give a label (e.g. s3:c0,c5), or --secid"),
        (["encode", "--doi", "local doi:5"], "give a label"),
    ],
)
def test_bad_input_is_one_line_exit_2(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    status, out, err = run(capsys, *argv)
    assert (status, out) == (2, "")
    assert err.startswith("python -m cipso: error: ")
    assert message in err
    assert err.count("\n") == 1


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["bogus"],
        ["decode"],
        ["encode", "s0"],
        ["decode", EXAMPLE, "--as", "ipv6"],
        ["encode", "--doi", "local doi:5", "--secid", "x"],
    ],
)
def test_usage_errors_are_one_line_exit_2(
    capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    status, out, err = run_exit(capsys, *argv)
    assert (status, out) == (2, "")
    assert err.startswith("python -m cipso")
    assert ": error: " in err and err.endswith(" (see --help)\n")
    assert err.count("\n") == 1


def test_help_has_examples(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run_exit(capsys, "--help")
    assert status == 0
    for text in ("decode", "encode", "netlabelctl", "pass doi:16 tags:1,2,5", "exit status"):
        assert text in out
    status, out, _ = run_exit(capsys, "decode", "--help")
    assert status == 0
    assert "--doi SPEC" in out and "--as {option,options,ipv4}" in out


def test_module_runs_without_netlabel() -> None:
    """python -m cipso imports neither netlabel nor labelnet (design.md layering)."""
    printed, loaded = run_module_fresh(
        "cipso", ["encode", "s3:c0,c5", "--doi", "16"], ("netlabel", "labelnet")
    )
    assert not loaded, loaded
    assert printed == EXAMPLE + "\n"


# --- stdin, JSON, refused options ---------------------------------------------------------------


@pytest.mark.parametrize(
    "given",
    [
        EXAMPLE.encode() + b"\n",
        b"86 0b 00 00 00 10\n01:05:00:03:84\n",
        bytes.fromhex(EXAMPLE),  # raw bytes
    ],
)
def test_decode_reads_stdin(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, given: bytes
) -> None:
    assert_stdin_decodes_as_argument(partial(run, capsys), monkeypatch, EXAMPLE, given)


def test_decode_stdin_empty(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    feed_stdin(monkeypatch, b"")
    assert run(capsys, "decode", "-") == (2, "", "python -m cipso: error: no bytes on stdin\n")


def test_decode_large_input_from_a_pipe() -> None:
    # More hex than fits in an argument list on many systems: the options area is refused as
    # too long, by the command, not by the shell.
    result = subprocess.run(
        [sys.executable, "-m", "cipso", "decode", "-", "--as", "options", "--doi", "16"],
        input=b"01" * 200_000,
        capture_output=True,
        check=False,
    )
    assert result.returncode == 2
    assert b"200000 bytes of options: an IPv4 header holds at most 40" in result.stderr


def test_decode_json(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "decode", PACKET, "--doi", PASS16, "--format", "json")
    assert status == 0
    shown = json.loads(out)
    assert shown == {
        "protocol": "cipso",
        "input": "ipv4",
        "options": [
            {
                "start": 0,
                "bytes": EXAMPLE,
                "error": None,
                "error_offset": None,
                "size": 11,
                "doi": 16,
                "wire_label": "s3:c0,c5",
                "label": "s3:c0,c5",
                "tags": [
                    {
                        "type": 1,
                        "name": "restricted bitmap",
                        "length": 5,
                        "level": 3,
                        "bitmap": "84",
                        "alignment": 0,
                        "wire_label": "s3:c0,c5",
                    }
                ],
            }
        ],
        **ACCEPTED_VERDICT_JSON,
    }


def test_decode_json_rejected_and_malformed(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(
        capsys, "decode", "01860a000000110104000300", "--doi", "16", "--format", "json"
    )
    assert status == 1
    shown = json.loads(out)
    assert (shown["verdict"], shown["offset"], shown["pointer"], shown["option_offset"]) == (
        "parameter-problem",
        3,
        23,
        2,
    )
    assert (shown["code"], shown["reason"]) == (0, "DOI 17 is not configured")
    assert shown["options"][0]["start"] == 1
    status, out, _ = run(capsys, "decode", "86070000001001", "--doi", "16", "--format", "json")
    option = json.loads(out)["options"][0]
    assert (status, option["error_offset"], "size" in option) == (1, 6, False)
    # Without --doi there is no verdict: its fields are null.
    shown = json.loads(run(capsys, "decode", EXAMPLE, "--format", "json")[1])
    assert shown["verdict"] is None and shown["options"][0]["label"] == "s3:c0,c5"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["decode", EXAMPLE, "--loopback"], "--loopback changes only the kernel's verdict"),
        (["decode", EXAMPLE, "--no-strict-bitmap"], "--no-strict-bitmap changes only the"),
        (["decode", PACKET, "--accept-source-route"], "--accept-source-route changes only"),
        (
            ["decode", EXAMPLE, "--doi", "16", "--accept-source-route"],
            "one CIPSO option has no source route",
        ),
        (["encode", "s3:c1", "--doi", "16", "--secid", "5"], "--secid is for a local DOI"),
        (["encode", "s3", "--doi", "local doi:5", "--secid", "5"], "sends a secid, not a label"),
        (
            ["encode", "s3", "--doi", "pass doi:16 tags:5", "--optimized-bitmap"],
            "--optimized-bitmap shapes tag 1, which DOI 16 does not use",
        ),
        (["encode", "--doi", "local doi:5", "--optimized-bitmap", "--secid", "1"], "tag 1"),
    ],
)
def test_options_that_change_nothing_are_refused(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    status, out, err = run(capsys, *argv)
    assert (status, out) == (2, "")
    assert message in err and err.count("\n") == 1


def test_encode_as_options_area(capsys: pytest.CaptureFixture[str]) -> None:
    padded = (0, EXAMPLE + "00\n", "")
    assert run(capsys, "encode", "s3:c0,c5", "--doi", "16", "--as", "options") == padded
    assert run(capsys, "encode", "s3:c0,c5", "--doi", "16", "--as", "option")[1] == EXAMPLE + "\n"


def test_decode_refuses_41_bytes_of_options_as_validate_does(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # An option whose length byte says 41: the verdict is the walker's (pointer 20).
    option = "86290000001001230003" + "00" * 31
    status, out, _ = run(capsys, "decode", option, "--doi", "16")
    assert status == 1
    assert "malformed at option byte 1: option length 41 exceeds" in out
    assert out.splitlines()[-1].startswith(
        "kernel    parameter-problem: ICMP Parameter Problem code 0, pointer 20, at header "
        "byte 20, option byte 0: "
    )
    with pytest.raises(cipso.CipsoValidationError):
        cipso.validate(bytes.fromhex(option), [cipso.CipsoDoi.pass_through(16)])
