"""Fixtures for tests against the live kernel: one namespace pair for the whole session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from netlabel.harness import KernelHarness, unavailable_reason
from tests.support import need, need_root


def need_kernel_harness() -> None:
    """Skip (or fail under CI=true) unless root, ip netns and netlabelctl are all here."""
    need_root()
    reason = unavailable_reason()
    need(reason is None, reason or "")


@pytest.fixture(scope="session")
def kernel_harness() -> Iterator[KernelHarness]:
    need_kernel_harness()
    with KernelHarness() as harness:
        yield harness
