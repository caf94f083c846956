"""MLS label parsing, canonical printing and bitmap conversion."""

from __future__ import annotations

from _bench import OURS, Case

from mls import CategorySet, Level, Range

TYPICAL_MCS = "s0:c12,c345"
MLS_RANGE = "s0-s15:c0.c1023"
SCATTERED = "s3:c1,c2,c5,c7.c300,c400.c500"


def cases() -> list[Case]:
    mcs = Level.parse(TYPICAL_MCS)
    scattered = Level.parse(SCATTERED)
    mls_range = Range.parse(MLS_RANGE)
    bitmap = scattered.categories.to_bitmap()
    return [
        Case(f"mls parse level {TYPICAL_MCS}", OURS, lambda: Level.parse(TYPICAL_MCS), 500_000),
        Case(f"mls format level {TYPICAL_MCS}", OURS, mcs.__str__, 500_000),
        Case(f"mls parse level {SCATTERED}", OURS, lambda: Level.parse(SCATTERED)),
        Case(f"mls format level {SCATTERED}", OURS, scattered.__str__),
        Case(f"mls parse range {MLS_RANGE}", OURS, lambda: Range.parse(MLS_RANGE)),
        Case(f"mls format range {MLS_RANGE}", OURS, mls_range.__str__),
        Case("mls categories to wire bitmap (c1..c500)", OURS, scattered.categories.to_bitmap),
        Case(
            "mls categories from wire bitmap (c1..c500)",
            OURS,
            lambda: CategorySet.from_bitmap(bitmap),
        ),
    ]
