"""A short run of the CIPSO fuzzer (python -m tests.cipso.fuzz for long runs)."""

from __future__ import annotations

from tests.cipso.fuzz import run


def test_fuzz_twenty_thousand_inputs() -> None:
    stats = run(20_000, seed=2026, schema_every=10, report=False)
    # The mix must reach every outcome, or the fuzzer is not exercising much.
    assert stats["decoded"] > 2_000 and stats["decode error"] > 2_000
    assert stats["accepted"] > 500
    assert sum(value for key, value in stats.items() if key.startswith("rejected at")) > 5_000
    assert stats["area accepted"] > 100 and stats["area rejected"] > 100
