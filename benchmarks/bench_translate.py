"""mcstrans-style translation (lookups and computed names) and sVirt MCS allocation."""

from __future__ import annotations

import random
from pathlib import Path

from _bench import OURS, Case

from mls import Level
from mls.mcs import McsAllocator, svirt_label
from mls.translate import Translator
from tests.mls.setrans_texts import TARGETED

# Base classifications and modifier words, as in mcstrans' "pipes" example: names are computed.
COMPUTED = (Path(__file__).resolve().parent / "computed-setrans.conf").read_text()

# 1000 modifier words and a 2.9 KB name of 960 of them: the cost must follow the name's length,
# not its length times the words configured.
MANY_WORDS = "Base=Levels\ns1=Unclassified\nModifierGroup=G\nWhitespace=/\n" + "".join(
    f"c{n}=W{n}\n" for n in range(1000)
)
LONG_NAME = "Unclassified " + "W7 " * 959 + "W9"

MCS_LEVEL = "s0:c12,c345"
COMPUTED_LEVEL = "s3:c101,c103,c200.c202,c206.c511"
COMPUTED_NAME = "Confidential Handle Via Plastic,Copper Pipes Only REL TO GBR/NZL/USA"
ALLOCATIONS = 1000


def _allocate_batch(rng: random.Random | None) -> None:
    allocator = McsAllocator(rng=rng)
    allocate = allocator.allocate
    for _ in range(ALLOCATIONS):
        allocate()


def cases() -> list[Case]:
    targeted = Translator.from_text(TARGETED)
    computed = Translator.from_text(COMPUTED)
    assert computed.translate(COMPUTED_LEVEL) == COMPUTED_NAME
    assert computed.untranslate(COMPUTED_NAME) == COMPUTED_LEVEL
    # Computed answers are remembered (as mcstransd does); these cases time the computation
    # itself, on a domain's rules, without the lookup that would follow.
    domain = computed._domains[0]
    many_words = Translator.from_text(MANY_WORDS)
    assert many_words.untranslate(LONG_NAME) == "s1:c7,c9"
    level = Level.parse(MCS_LEVEL)
    pseudo_random = random.Random(1)
    return [
        Case(
            "mls translate s0-s0:c0.c1023 -> SystemLow-SystemHigh (lookup)",
            OURS,
            lambda: targeted.translate("s0-s0:c0.c1023"),
        ),
        Case(
            "mls untranslate SystemHigh -> s0:c0.c1023 (lookup)",
            OURS,
            lambda: targeted.untranslate("SystemHigh"),
        ),
        Case(
            f"mls translate {MCS_LEVEL} (no name: raw back)",
            OURS,
            lambda: targeted.translate(MCS_LEVEL),
        ),
        Case(
            f"mls translate {COMPUTED_LEVEL} (computed, uncached)",
            OURS,
            lambda: computed._compute_name(COMPUTED_LEVEL, domain),
        ),
        Case(
            "mls untranslate 'Confidential Handle Via ... REL TO GBR/NZL/USA' (computed, uncached)",
            OURS,
            lambda: computed._compute_raw(COMPUTED_NAME, domain),
        ),
        Case(
            "mls untranslate 2.9 KB name, 1000 words configured (computed, uncached)",
            OURS,
            lambda: many_words._compute_raw(LONG_NAME, many_words._domains[0]),
        ),
        Case(
            f"mls translate {COMPUTED_LEVEL} (remembered)",
            OURS,
            lambda: computed.translate(COMPUTED_LEVEL),
        ),
        Case(
            f"mcs allocate pair from c0..c1023, secrets (x{ALLOCATIONS})",
            OURS,
            lambda: _allocate_batch(None),
            batch=ALLOCATIONS,
        ),
        Case(
            f"mcs allocate pair from c0..c1023, random.Random (x{ALLOCATIONS})",
            OURS,
            lambda: _allocate_batch(pseudo_random),
            batch=ALLOCATIONS,
        ),
        Case("mcs svirt process and image contexts", OURS, lambda: svirt_label(level)),
    ]
