from __future__ import annotations

import pytest

from tests.support import run_python

from .support import run_cli


def test_canon_levels_ranges_and_contexts(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run_cli(
        capsys, "canon", "s0:c3,c1,c2", "s0-s0", "sysadm_u:sysadm_r:sysadm_t:s0-s0:c1"
    )
    assert status == 0
    assert out.splitlines() == ["s0:c1.c3", "s0", "sysadm_u:sysadm_r:sysadm_t:s0-s0:c1"]


@pytest.mark.parametrize(
    ("first", "second", "relation"),
    [
        ("s3:c1.c5", "s1:c2", "dom"),
        ("s1:c2", "s3:c1.c5", "domby"),
        ("s0:c1", "s0:c1", "eq"),
        ("s0:c1", "s0:c2", "incomparable"),
    ],
)
def test_compare(
    capsys: pytest.CaptureFixture[str], first: str, second: str, relation: str
) -> None:
    assert run_cli(capsys, "compare", first, second)[1] == relation + "\n"


def test_bitmap_both_ways(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(capsys, "bitmap", "s0:c0,c5")[1] == "84\n"
    assert run_cli(capsys, "bitmap", "--align", "4", "s0:c0,c5")[1] == "84000000\n"
    assert run_cli(capsys, "from-bitmap", "84", "-s", "3")[1] == "s3:c0,c5\n"


@pytest.mark.parametrize(
    "argv",
    [
        ("canon", "s0:c0.c4294967295"),
        ("compare", "s0", "x"),
        ("from-bitmap", "zz"),
        ("canon", "u:r"),
    ],
)
def test_bad_input_is_one_line_and_status_2(
    capsys: pytest.CaptureFixture[str], argv: tuple[str, ...]
) -> None:
    status, out, err = run_cli(capsys, *argv)
    assert status == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1 and "error" in err


def test_limits_on_the_command_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(capsys, "--max-sensitivity", "1000", "canon", "s999")[1] == "s999\n"
    assert run_cli(capsys, "--max-category", "1023", "canon", "s0:c1023")[1] == "s0:c1023\n"
    # No limit may pass the widest wire format: c0.c4294967295 would need half a gigabyte.
    status, out, err = run_cli(
        capsys, "--max-category", "4294967295", "canon", "s0:c0.c4294967295,c5"
    )
    assert (status, out) == (2, "")
    assert "max_category must be between 0 and 65535" in err


@pytest.mark.parametrize(
    ("argv", "complaint"),
    [
        # The sensitivity of from-bitmap obeys the limit of a level typed out.
        (("from-bitmap", "84", "-s", "256"), "above the limit s255"),
        (("from-bitmap", "84", "-s", "1" * 23), "above the limit s255"),
        (("canon", "s256"), "above the limit s255"),
        (("from-bitmap", "84", "-s", "\u0663"), "not a sensitivity"),
        (("--max-category", "1023", "from-bitmap", "00" * 128 + "01"), "c1031"),
        (("bitmap", "--align", "0", "s0:c1"), "--align must be between 1 and 8192"),
        (("bitmap", "--align", "9000", "s0:c1"), "--align must be between 1 and 8192"),
        (("from-bitmap", "8"), "odd number of digits (1)"),
        (("from-bitmap", "0x123"), "odd number of digits (3)"),
        (("from-bitmap", "8g"), "'g', not a hexadecimal digit, at offset 1"),
    ],
)
def test_refusals_say_what_is_wrong(
    capsys: pytest.CaptureFixture[str], argv: tuple[str, ...], complaint: str
) -> None:
    status, out, err = run_cli(capsys, *argv)
    assert (status, out) == (2, "")
    assert len(err.splitlines()) == 1 and complaint in err


@pytest.mark.parametrize(
    "argv",
    [
        ("bitmap", "--align", "-4", "s0:c1"),
        ("bitmap", "--align", "\uff14", "s0:c1"),
        ("--max-category", "1_000", "canon", "s0"),
        ("--max-sensitivity", "9" * 30, "canon", "s0"),
        ("canon",),
    ],
)
def test_argument_errors_are_one_line_and_status_2(
    capsys: pytest.CaptureFixture[str], argv: tuple[str, ...]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        run_cli(capsys, *argv)
    out, err = capsys.readouterr()
    assert (exit_info.value.code, out) == (2, "")
    assert len(err.splitlines()) == 1 and "error" in err


def test_a_large_bitmap_prints_in_proportion(capsys: pytest.CaptureFixture[str]) -> None:
    # 8 KiB of 0xaa: 32768 runs of one category, printed in linear time.
    status, out, _ = run_cli(capsys, "from-bitmap", "aa" * 8192)
    assert status == 0
    assert out.startswith("s0:c0,c2,c4,") and out.endswith(",c65534\n")


def test_module_runs_as_a_program() -> None:
    done = run_python("-m", "mls", "canon", "s0:c3,c1,c2")
    assert (done.returncode, done.stdout) == (0, "s0:c1.c3\n")
    done = run_python("-m", "mls", "--help")
    assert done.returncode == 0 and "canon" in done.stdout and "examples:" in done.stdout
