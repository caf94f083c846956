"""What the NetLabel test modules share: our command line run in this process, and DOI
numbers that nothing on this machine uses yet."""

from __future__ import annotations

import contextlib
import io
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

from netlabel.__main__ import main
from netlabel.harness import free_dois

if TYPE_CHECKING:  # the client needs pyroute2, which the tests without a kernel do not
    from netlabel.client import NetLabel


@dataclass
class Run:
    status: int
    out: str
    err: str


def ours(*args: str) -> Run:
    """Run ``python -m netlabel`` in this process."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            status = main(list(args))
        except SystemExit as exc:
            status = int(exc.code or 0)
    return Run(status, out.getvalue(), err.getvalue())


def unused_dois(client: NetLabel, count: int, base: int) -> list[int]:
    """``count`` numbers that are neither a CIPSO nor a CALIPSO DOI, from a place above
    ``base`` that depends on this process, so that test runs side by side do not collide."""
    taken = {d.doi for d in client.list_cipso_dois()} | {d.doi for d in client.list_calipso_dois()}
    return free_dois(taken, base + (os.getpid() % 1000) * 16, count)
