"""The measuring core shared by every benchmark module.

Each ``bench_*.py`` module in this folder defines ``cases() -> list[Case]``. A case is one
operation measured for one implementation; cases with the same ``group`` are shown side by side,
and their speed is given as a ratio to the ``labelnet`` implementation.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass

#: The implementation every other is compared with.
OURS = "labelnet"


@dataclass(frozen=True, slots=True)
class Case:
    group: str  #: what is measured, e.g. "cipso decode, tag 1"
    impl: str  #: who does it: "labelnet", "construct", "scapy", "tshark" ...
    func: Callable[[], object]  #: one operation
    target: float | None = None  #: required ops/s for our implementation, if any
    batch: int = 1  #: how many operations one call of ``func`` performs
    #: The target as a multiple of another implementation's rate measured in the same run:
    #: ``(3.0, "tshark")`` is three times tshark's ops/s in this group.
    target_times: tuple[float, str] | None = None
    #: What runs only while this case is measured (a cluster of processes): started before
    #: its first call, stopped after its last, so that it takes nothing from other cases.
    running: Callable[[], AbstractContextManager[object]] = nullcontext


def ops_per_second(case: Case, seconds: float) -> float:
    """Best of five timed rounds, each about ``seconds / 5`` long."""
    with case.running():
        return _best_rate(case, seconds)


def _best_rate(case: Case, seconds: float) -> float:
    func = case.func
    func()  # warm caches and lazily built tables outside the timing
    calls = 1
    while True:  # find a loop count that lasts about a round
        started = time.perf_counter()
        for _ in range(calls):
            func()
        elapsed = time.perf_counter() - started
        if elapsed >= seconds / 25 or calls >= 1 << 24:
            break
        calls *= 4
    per_round = max(1, int(calls * (seconds / 5) / max(elapsed, 1e-9)))
    best = 0.0
    for _ in range(5):
        started = time.perf_counter()
        for _ in range(per_round):
            func()
        elapsed = time.perf_counter() - started
        best = max(best, per_round * case.batch / elapsed)
    return best
