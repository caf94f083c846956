"""A short run of the fuzzer (python -m tests.calipso.fuzz --count N for a long one)."""

from __future__ import annotations

import pytest

from .fuzz import main, run


@pytest.mark.slow
def test_short_fuzz_run() -> None:
    outcomes = run(20_000, seed=20_250)
    # The mutators reach every verdict, so the run exercises every check.
    assert {
        "accepted",
        "rejected:checksum",
        "rejected:compartment-length",
        "rejected:data-length",
        "rejected:not-calipso",
        "rejected:trailing-data",
        "rejected:truncated",
        "rejected:unknown-doi",
    } <= set(outcomes)


def test_command_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--count", "200", "--seed", "1"]) == 0
    assert "200 inputs" in capsys.readouterr().out
