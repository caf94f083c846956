"""SELinux MLS/MCS labels: category sets, levels, ranges and contexts.

Standard library only. Parse text as the kernel does, print the kernel's canonical form,
compare by dominance, and convert category sets to and from the wire bitmaps of CIPSO and
CALIPSO::

    >>> from mls import Level
    >>> level = Level.parse("s0:c3,c1,c2")
    >>> str(level)
    's0:c1.c3'
    >>> level.categories.to_bitmap().hex()
    '70'
"""

from __future__ import annotations

from .categories import EMPTY, CategorySet
from .errors import MlsError, MlsLimitError, MlsSyntaxError
from .label import Context, Level, Range, Relation
from .limits import (
    DEFAULT_LIMITS,
    MAX_CATEGORY_CEILING,
    MAX_SENSITIVITY_CEILING,
    REFPOLICY_MCS_LIMITS,
    REFPOLICY_MLS_LIMITS,
    WIRE_MAX_CATEGORY,
    WIRE_MAX_SENSITIVITY,
    Limits,
)

# The version of the labelnet distribution; pyproject.toml reads it from here.
__version__ = "0.2.0"

__all__ = [
    "DEFAULT_LIMITS",
    "EMPTY",
    "MAX_CATEGORY_CEILING",
    "MAX_SENSITIVITY_CEILING",
    "REFPOLICY_MCS_LIMITS",
    "REFPOLICY_MLS_LIMITS",
    "WIRE_MAX_CATEGORY",
    "WIRE_MAX_SENSITIVITY",
    "CategorySet",
    "Context",
    "Level",
    "Limits",
    "MlsError",
    "MlsLimitError",
    "MlsSyntaxError",
    "Range",
    "Relation",
]
