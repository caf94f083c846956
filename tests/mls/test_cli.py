from __future__ import annotations

import subprocess
import sys

import pytest

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


def test_raised_limit_on_the_command_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(capsys, "--max-category", "100000", "canon", "s0:c99999")[1] == "s0:c99999\n"


def test_module_runs_as_a_program() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "mls", "canon", "s0:c3,c1,c2"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert (done.returncode, done.stdout) == (0, "s0:c1.c3\n")
    done = subprocess.run(
        [sys.executable, "-m", "mls", "--help"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0 and "canon" in done.stdout and "examples:" in done.stdout
