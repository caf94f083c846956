from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

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
