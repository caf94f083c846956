"""netlabelctl's global flags in python -m netlabel: -t SECONDS and -v."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import need_root

from .support import ours

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("text", ["x", "0", "-1", "nan", "inf", "\u0661"])
def test_bad_timeouts_are_usage_errors(text: str) -> None:
    run = ours("-t", text, "cipso", "list")
    assert run.status == 2 and "-t/--timeout" in run.err


def test_the_deadline_ends_a_command_that_gets_no_answer() -> None:
    code = (
        "import time\n"
        "from netlabel.__main__ import _deadline\n"
        "with _deadline(0.2):\n"
        "    time.sleep(10)\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", code],
        check=False,
        capture_output=True,
        text=True,
        timeout=20,
        cwd=ROOT,
    )
    assert run.returncode == 1
    assert run.stderr == "netlabel: error, no answer from NetLabel within 0.2 s\n"


@pytest.mark.kernel
def test_verbose_names_each_request_and_a_timeout_that_is_met() -> None:
    need_root()
    run = ours("-v", "-t", "5", "cipso", "list")
    assert run.status == 0
    assert run.err == "netlabel: request: cipso list\n"
