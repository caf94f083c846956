"""MLS label parsing, canonical printing and bitmap conversion.

Cases named "distinct" go through a pool of different labels, one per call, so that nothing a
label carries from an earlier call can help: this is the speed of a capture or a log whose
labels do not repeat. ``python benchmarks/bench_mls.py`` measures this module alone.
"""

from __future__ import annotations

import random
import sys
from collections.abc import Callable
from itertools import cycle
from typing import TypeVar

from _bench import OURS, Case

from mls import CategorySet, Level, Range

TYPICAL_MCS = "s0:c12,c345"
MLS_RANGE = "s0-s15:c0.c1023"
SCATTERED = "s3:c1,c2,c5,c7.c300,c400.c500"

# How many different labels a "distinct" case cycles through.
POOL = 4096


def _sixteen_runs(rng: random.Random) -> Level:
    # Runs of one, two, three or more categories (printed cA, cA,cB and cA.cZ), with gaps of
    # 2..11 categories: 16 runs over c0..c250 or so.
    spans = []
    position = rng.randrange(8)
    for _ in range(16):
        length = rng.choice((1, 1, 2, 3, 5, 12))
        spans.append((position, position + length - 1))
        position += length + rng.randrange(2, 12)
    return Level(rng.randrange(16), CategorySet.from_ranges(spans))


def _dense_bitmap(rng: random.Random, length: int) -> bytes:
    # About half of the categories set, at random: runs are short and many.
    return rng.randbytes(length)


Item = TypeVar("Item")


def _each(items: list[Item], func: Callable[[Item], object]) -> Callable[[], object]:
    following = cycle(items).__next__
    return lambda: func(following())


def cases() -> list[Case]:
    rng = random.Random(20261205)
    mcs = Level.parse(TYPICAL_MCS)
    scattered = Level.parse(SCATTERED)
    mls_range = Range.parse(MLS_RANGE)
    bitmap = scattered.categories.to_bitmap()
    sixteen = [_sixteen_runs(rng) for _ in range(POOL)]
    assert all(len(list(level.categories.runs())) == 16 for level in sixteen)
    tag1_sets = [CategorySet.from_bitmap(_dense_bitmap(rng, 30)) for _ in range(POOL)]
    calipso_sets = [CategorySet.from_bitmap(_dense_bitmap(rng, 244)) for _ in range(POOL // 4)]
    tag1_bitmaps = [_dense_bitmap(rng, 30) for _ in range(POOL)]
    mcs_texts = [
        f"s0:c{a},c{b}" for a, b in (sorted(rng.sample(range(1024), 2)) for _ in range(POOL))
    ]
    return [
        Case(f"mls parse level {TYPICAL_MCS}", OURS, lambda: Level.parse(TYPICAL_MCS), 800_000),
        Case(f"mls format level {TYPICAL_MCS}", OURS, mcs.__str__, 500_000),
        Case(f"mls parse level {SCATTERED}", OURS, lambda: Level.parse(SCATTERED), 600_000),
        Case(f"mls format level {SCATTERED}", OURS, scattered.__str__),
        Case(f"mls parse range {MLS_RANGE}", OURS, lambda: Range.parse(MLS_RANGE)),
        Case(f"mls format range {MLS_RANGE}", OURS, mls_range.__str__, 1_000_000),
        Case("mls categories to wire bitmap (c1..c500)", OURS, scattered.categories.to_bitmap),
        Case(
            "mls categories from wire bitmap (c1..c500)",
            OURS,
            lambda: CategorySet.from_bitmap(bitmap),
        ),
        Case("mls parse level s0:cA,cB (distinct)", OURS, _each(mcs_texts, Level.parse)),
        Case("mls format level with 16 runs (distinct)", OURS, _each(sixteen, str), 500_000),
        Case("mls format dense categories, 30-byte bitmap (distinct)", OURS, _each(tag1_sets, str)),
        Case(
            "mls format dense categories, 244-byte bitmap (distinct)",
            OURS,
            _each(calipso_sets, str),
        ),
        Case(
            "mls from wire bitmap + format, dense 30 bytes (distinct)",
            OURS,
            _each(tag1_bitmaps, lambda data: str(CategorySet.from_bitmap(data))),
        ),
    ]


if __name__ == "__main__":
    import run

    sys.exit(run.main(["-k", "mls", *sys.argv[1:]]))
