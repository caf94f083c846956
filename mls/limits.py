"""Upper bounds on sensitivity and category numbers accepted from text.

The defaults cover what the wire formats can carry: CIPSO and CALIPSO have an 8-bit
sensitivity level and CIPSO's enumerated and ranged tags carry 16-bit category numbers.
Refpolicy's MLS policy uses far less (s0..s15, c0..c1023), so a stricter bound can be passed
where a policy's dimensions are known.

A limit can be raised, but not past a ceiling: categories stop at
:data:`MAX_CATEGORY_CEILING` (c65535, the widest wire format), so a category set read from text
never takes more than 8 KiB and parsing, printing and bitmaps stay in proportion to the text;
sensitivities stop at :data:`MAX_SENSITIVITY_CEILING` (the kernel keeps them in 32 bits).
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import MlsError

#: Largest sensitivity a wire format can carry (one octet in CIPSO and CALIPSO).
WIRE_MAX_SENSITIVITY = 255
#: Largest category a wire format can carry (CIPSO tags 2 and 5 use 16-bit numbers).
WIRE_MAX_CATEGORY = 65535

#: No :class:`Limits` may allow a category above this: no wire format carries one (CIPSO tags 2
#: and 5 stop at c65535, CALIPSO at c1951), and the kernel's own limit is lower.
MAX_CATEGORY_CEILING = WIRE_MAX_CATEGORY
#: No :class:`Limits` may allow a sensitivity above this (a 32-bit value in the kernel).
MAX_SENSITIVITY_CEILING = (1 << 32) - 1


@dataclass(frozen=True, slots=True)
class Limits:
    """The largest sensitivity and category number a parser accepts.

    Lower them to a policy's dimensions, e.g. ``Limits(max_sensitivity=15, max_category=1023)``,
    or raise the sensitivity bound, e.g. ``Limits(max_sensitivity=1000)``; neither may pass its
    ceiling (:data:`MAX_CATEGORY_CEILING`, :data:`MAX_SENSITIVITY_CEILING`), and a negative
    bound is refused: both raise :class:`~mls.MlsError`. Parsing checks the bound before it
    builds a category set, so an oversized number costs nothing.
    """

    max_sensitivity: int = WIRE_MAX_SENSITIVITY
    max_category: int = WIRE_MAX_CATEGORY

    def __post_init__(self) -> None:
        for name, value, ceiling in (
            ("max_sensitivity", self.max_sensitivity, MAX_SENSITIVITY_CEILING),
            ("max_category", self.max_category, MAX_CATEGORY_CEILING),
        ):
            if not isinstance(value, int) or isinstance(value, bool):
                raise MlsError(f"{name} must be an int, not {type(value).__name__}")
            if not 0 <= value <= ceiling:
                raise MlsError(f"{name} must be between 0 and {ceiling}, not {value}")


#: The limits used when a caller passes none.
DEFAULT_LIMITS = Limits()

#: Refpolicy / Fedora MLS policy dimensions (MLS_SENS=16, MLS_CATS=1024).
REFPOLICY_MLS_LIMITS = Limits(max_sensitivity=15, max_category=1023)
#: Refpolicy / Fedora targeted (MCS) policy dimensions: one sensitivity, 1024 categories.
REFPOLICY_MCS_LIMITS = Limits(max_sensitivity=0, max_category=1023)
