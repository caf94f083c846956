"""Upper bounds on sensitivity and category numbers accepted from text.

The defaults cover what the wire formats can carry: CIPSO and CALIPSO have an 8-bit
sensitivity level and CIPSO's enumerated and ranged tags carry 16-bit category numbers.
Refpolicy's MLS policy uses far less (s0..s15, c0..c1023), so a stricter bound can be passed
where a policy's dimensions are known.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Largest sensitivity a wire format can carry (one octet in CIPSO and CALIPSO).
WIRE_MAX_SENSITIVITY = 255
#: Largest category a wire format can carry (CIPSO tags 2 and 5 use 16-bit numbers).
WIRE_MAX_CATEGORY = 65535


@dataclass(frozen=True, slots=True)
class Limits:
    """The largest sensitivity and category number a parser accepts.

    Raise them for policies beyond the wire formats, e.g.
    ``Level.parse(text, limits=Limits(max_category=1 << 20))``. Parsing checks the bound before
    it builds a category set, so an oversized number costs nothing.
    """

    max_sensitivity: int = WIRE_MAX_SENSITIVITY
    max_category: int = WIRE_MAX_CATEGORY

    def __post_init__(self) -> None:
        if self.max_sensitivity < 0 or self.max_category < 0:
            raise ValueError("limits must not be negative")


#: The limits used when a caller passes none.
DEFAULT_LIMITS = Limits()

#: Refpolicy / Fedora MLS policy dimensions (MLS_SENS=16, MLS_CATS=1024).
REFPOLICY_MLS_LIMITS = Limits(max_sensitivity=15, max_category=1023)
#: Refpolicy / Fedora targeted (MCS) policy dimensions: one sensitivity, 1024 categories.
REFPOLICY_MCS_LIMITS = Limits(max_sensitivity=0, max_category=1023)
