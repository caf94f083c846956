"""Helpers shared by the test suite.

Tests against real references (the live kernel, netlabelctl, tshark) may skip on a developer's
machine that lacks them, but under CI=true a missing reference is a failure: a broken set-up
must never pass silently.
"""

from __future__ import annotations

import os
import shutil

import pytest

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def need(condition: bool, why: str) -> None:
    """Skip the calling test when ``condition`` is false, or fail it under CI=true."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"required test set-up is missing under CI=true: {why}")
    pytest.skip(why)


def need_root() -> None:
    need(os.geteuid() == 0, "needs root (network namespaces, NetLabel configuration)")


def need_program(name: str) -> str:
    path = shutil.which(name)
    need(path is not None, f"needs the program {name!r} on PATH")
    assert path is not None
    return path


def need_kernel_harness() -> None:
    """Skip (or fail under CI=true) unless root, ip netns and NetLabel (pyroute2) are all here."""
    from netlabel.harness import unavailable_reason

    need_root()
    reason = unavailable_reason()
    need(reason is None, reason or "")
