from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings

from mls._cli import SELINUX_ROOT_VARIABLE
from netlabel.harness import KernelHarness
from tests.support import need_kernel_harness

# The commands name labels by the active policy's setrans.conf when there is one. The suite runs
# as on a machine without one, whatever machine it runs on (child processes inherit this): the
# root stands for /etc/selinux, and no file can be found under /dev/null. Tests of the default
# point the variable at a directory of their own.
os.environ[SELINUX_ROOT_VARIABLE] = os.devnull

# Property tests run a fixed, derandomised budget in CI so that a run is repeatable and the whole
# suite stays well under ten minutes; locally they explore new examples on every run.
settings.register_profile(
    "ci",
    max_examples=200,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", max_examples=100, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))


@pytest.fixture(scope="session")
def kernel_harness() -> Iterator[KernelHarness]:
    """One pair of network namespaces for every test against the live kernel in the session
    (creating a pair takes about 0.15 s; the verdicts themselves take microseconds)."""
    need_kernel_harness()
    with KernelHarness() as harness:
        yield harness
