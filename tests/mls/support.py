"""What the mls test modules share: ``python -m mls`` run in this process."""

from __future__ import annotations

import pytest

from mls.__main__ import main


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Run ``python -m mls ARGV``; its exit status, standard output and standard error."""
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err
