"""MLS levels, ranges and security contexts: parsing, canonical printing and dominance.

The grammar and the canonical form follow the Linux kernel (security/selinux/ss/mls.c) with
the default policies' names: sensitivities ``s0``, ``s1``, ... and categories ``c0``, ``c1``,
... whose numbers are their values, so sensitivity ``sN`` is wire level N and category ``cN`` is
wire bit N.

Dominance is a partial order, so levels deliberately have no ``<``/``>`` operators: use
:meth:`Level.dominates`, :meth:`Level.dominated_by`, :meth:`Level.incomparable` or
:meth:`Level.compare`.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from functools import reduce
from operator import or_

from .categories import (
    _POWERS,
    EMPTY,
    CategorySet,
    _from_bits,
    _set_bits,
    format_category_bits,
    parse_category_bits,
)
from .errors import MlsError, MlsLimitError, MlsSyntaxError
from .limits import DEFAULT_LIMITS, Limits

_MAX_DIGITS = 10
# Longer level text goes to the careful parser, whose cost is linear in the text.
_MAX_SHAPE_LENGTH = 256


class Relation(str, enum.Enum):
    """How two levels compare under dominance (the kernel's mls_level_* relations)."""

    EQ = "eq"  #: same sensitivity and same categories
    DOM = "dom"  #: strictly dominates: sensitivity >= and categories a superset, not equal
    DOMBY = "domby"  #: strictly dominated by the other level
    INCOMPARABLE = "incomparable"  #: neither dominates the other

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True, slots=True)
class Level:
    """A sensitivity and a set of categories, e.g. ``s0:c1,c2`` (sensitivity 0, {c1, c2})."""

    sensitivity: int
    categories: CategorySet = EMPTY

    def __post_init__(self) -> None:
        sensitivity = self.sensitivity
        if not isinstance(sensitivity, int) or isinstance(sensitivity, bool) or sensitivity < 0:
            raise MlsError(f"a sensitivity must be a non-negative int, not {sensitivity!r}")
        if not isinstance(self.categories, CategorySet):
            raise MlsError(
                f"categories must be a CategorySet, not {type(self.categories).__name__}"
            )

    @classmethod
    def parse(cls, text: str, *, limits: Limits = DEFAULT_LIMITS) -> Level:
        """Parse ``s0``, ``s3:c1.c5``, ``s0:c1,c2,c5,c7.c300`` ... (any item order)."""
        return _parse_level(text, 0, len(text), limits)

    def __str__(self) -> str:
        # format_level_bits written out: this is the hot path of every printer.
        bits = self.categories._bits
        if bits:
            return f"s{self.sensitivity}:{format_category_bits(bits)}"
        return f"s{self.sensitivity}"

    def __repr__(self) -> str:
        return f"Level.parse({str(self)!r})"

    # -- dominance (mls_types.h) ----------------------------------------------------------

    def dominates(self, other: Level) -> bool:
        """``self dom other``: sensitivity at least other's and categories a superset.

        Reflexive: every level dominates itself.
        """
        return (
            self.sensitivity >= other.sensitivity
            and other.categories._bits & ~self.categories._bits == 0
        )

    def dominated_by(self, other: Level) -> bool:
        """``self domby other``, i.e. ``other dom self``."""
        return other.dominates(self)

    def incomparable(self, other: Level) -> bool:
        """Neither level dominates the other (e.g. ``s0:c1`` and ``s0:c2``)."""
        return not self.dominates(other) and not other.dominates(self)

    def compare(self, other: Level) -> Relation:
        """The one relation that holds between ``self`` and ``other``."""
        dom = self.dominates(other)
        domby = other.dominates(self)
        if dom and domby:
            return Relation.EQ
        if dom:
            return Relation.DOM
        if domby:
            return Relation.DOMBY
        return Relation.INCOMPARABLE

    def join(self, other: Level) -> Level:
        """The least level dominating both (higher sensitivity, union of categories)."""
        return _make_level(
            max(self.sensitivity, other.sensitivity),
            _from_bits(self.categories._bits | other.categories._bits),
        )

    def meet(self, other: Level) -> Level:
        """The greatest level dominated by both (lower sensitivity, common categories)."""
        return _make_level(
            min(self.sensitivity, other.sensitivity),
            _from_bits(self.categories._bits & other.categories._bits),
        )


@dataclass(frozen=True, slots=True)
class Range:
    """A low (effective) level and a high level (clearance); high must dominate low."""

    low: Level
    high: Level

    def __post_init__(self) -> None:
        if not (isinstance(self.low, Level) and isinstance(self.high, Level)):
            raise MlsError("a Range is made of two Level objects")
        if not self.high.dominates(self.low):
            raise MlsError(f"high level {self.high} does not dominate low level {self.low}")

    @classmethod
    def single(cls, level: Level) -> Range:
        """The range holding exactly one level (printed as that level)."""
        return cls(level, level)

    @classmethod
    def parse(cls, text: str, *, limits: Limits = DEFAULT_LIMITS) -> Range:
        """Parse ``s0``, ``s0-s15:c0.c1023``, ``s1:c1-s2:c1,c3`` ..."""
        return _parse_range(text, 0, limits)

    def __str__(self) -> str:
        low = self.low
        high = self.high
        low_bits = low.categories._bits
        high_bits = high.categories._bits
        if low.sensitivity == high.sensitivity and low_bits == high_bits:
            return format_level_bits(low.sensitivity, low_bits)
        return (
            f"{format_level_bits(low.sensitivity, low_bits)}-"
            f"{format_level_bits(high.sensitivity, high_bits)}"
        )

    def __repr__(self) -> str:
        return f"Range.parse({str(self)!r})"

    def contains(self, item: Level | Range) -> bool:
        """A level lies in the range (``item dom low`` and ``high dom item``), or a range lies
        entirely inside this one (the kernel's mls_range_contains)."""
        if isinstance(item, Range):
            return item.low.dominates(self.low) and self.high.dominates(item.high)
        return item.dominates(self.low) and self.high.dominates(item)

    def __contains__(self, item: object) -> bool:
        return isinstance(item, (Level, Range)) and self.contains(item)

    def intersection(self, other: Range) -> Range | None:
        """The levels in both ranges, as a range, or None when they share no level."""
        low = self.low.join(other.low)
        high = self.high.meet(other.high)
        if not high.dominates(low):
            return None
        return Range(low, high)


@dataclass(frozen=True, slots=True)
class Context:
    """A security context ``user:role:type[:range]``, e.g.
    ``system_u:object_r:netlabel_peer_t:s0:c1,c2``."""

    user: str
    role: str
    type: str
    range: Range | None = None

    def __post_init__(self) -> None:
        for name in ("user", "role", "type"):
            value = getattr(self, name)
            problem = _identifier_problem(value)
            if problem:
                raise MlsError(f"context {name} {value!r}: {problem}")
        if self.range is not None and not isinstance(self.range, Range):
            raise MlsError("a Context's range must be a Range or None")

    @classmethod
    def parse(cls, text: str, *, limits: Limits = DEFAULT_LIMITS) -> Context:
        """Parse ``user:role:type`` optionally followed by ``:range``."""
        fields = text.split(":", 3)
        if len(fields) < 3:
            raise MlsSyntaxError(
                text, len(text), "a context needs user:role:type (at least two ':')"
            )
        position = 0
        for name, value in zip(("user", "role", "type"), fields[:3], strict=True):
            problem = _identifier_problem(value)
            if problem:
                raise MlsSyntaxError(text, position, f"context {name} {problem}")
            position += len(value) + 1
        mls_range = _parse_range(text, position, limits) if len(fields) == 4 else None
        return cls(fields[0], fields[1], fields[2], mls_range)

    @property
    def level(self) -> Level | None:
        """The low (effective) level: what NetLabel puts on the wire."""
        return self.range.low if self.range is not None else None

    def __str__(self) -> str:
        head = f"{self.user}:{self.role}:{self.type}"
        return head if self.range is None else f"{head}:{self.range}"

    def __repr__(self) -> str:
        return f"Context.parse({str(self)!r})"


def format_level_bits(sensitivity: int, bits: int) -> str:
    """The canonical text of the level with this sensitivity and category bit integer, without
    building the :class:`Level` (``str(Level(s, CategorySet.from_int(bits)))``)."""
    if bits:
        return f"s{sensitivity}:{format_category_bits(bits)}"
    return f"s{sensitivity}"


def _identifier_problem(value: object) -> str | None:
    if not isinstance(value, str):
        return "must be a string"
    if not value:
        return "is empty"
    if ":" in value:
        return "must not contain ':'"
    # Of the white space characters only the ASCII space is printable, so one test of each
    # kind covers them all (a test checks this over every code point).
    if not value.isprintable() or " " in value:
        return "must not contain white space or control characters"
    return None


def _make_level(sensitivity: int, categories: CategorySet) -> Level:
    # Parsers have already checked both fields; skip __post_init__ on the hot path.
    level = object.__new__(Level)
    object.__setattr__(level, "sensitivity", sensitivity)
    object.__setattr__(level, "categories", categories)
    return level


# A level in the default policies' naming. Used only to accept well-formed input quickly; any
# text it rejects goes through _parse_level_carefully, which finds and explains the error.
_NUMBER = r"(?:0|[1-9][0-9]{0,9})"
_CATEGORY_ITEM = rf"c{_NUMBER}(?:\.c{_NUMBER})?"
_LEVEL_SHAPE = re.compile(rf"s({_NUMBER})(?::({_CATEGORY_ITEM}(?:,{_CATEGORY_ITEM})*))?", re.ASCII)
_match_level_shape = _LEVEL_SHAPE.fullmatch

# Slot setters of the frozen classes: parsers have validated their values already, so they
# build objects without __init__/__post_init__ (this halves the cost of a parse).
_new = object.__new__
_set_sensitivity = Level.__dict__["sensitivity"].__set__
_set_categories = Level.__dict__["categories"].__set__


# Token tables for the common case: a level's parts are looked up as whole tokens, which checks
# their spelling (ASCII digits, no leading zero, no sign or space) and converts them in one
# step. A token not in a table (a larger number, or a mistake) goes to the general parsers.
# The powers of two are the printer's (_POWERS), shared rather than made again.
_TABLE_CATEGORIES = 1024  # refpolicy's c0..c1023
_SENSITIVITY_OF = {f"s{number}": number for number in range(256)}
_CATEGORY_BIT_OF = {f"c{number}": _POWERS[number] for number in range(_TABLE_CATEGORIES)}
_category_bit_of = _CATEGORY_BIT_OF.__getitem__
#: 2**(N + 1) for cN: where a run that ends at cN stops.
_END_BIT_OF = {f"c{number}": _POWERS[number + 1] for number in range(_TABLE_CATEGORIES)}
assert DEFAULT_LIMITS.max_sensitivity >= len(_SENSITIVITY_OF) - 1
assert DEFAULT_LIMITS.max_category >= _TABLE_CATEGORIES - 1


def _parse_level(text: str, start: int, end: int, limits: Limits) -> Level:
    colon = text.find(":", start, end)
    sensitivity = _SENSITIVITY_OF.get(text[start:end] if colon < 0 else text[start:colon])
    # Every token in the tables is within the default limits: only others are checked.
    checked = limits is not DEFAULT_LIMITS
    if sensitivity is None or (checked and sensitivity > limits.max_sensitivity):
        return _parse_level_by_shape(text, start, end, limits)
    categories = EMPTY
    if colon >= 0:
        category_text = text[colon + 1 : end]
        try:
            if "." not in category_text:
                bits = reduce(or_, map(_category_bit_of, category_text.split(",")))
            else:
                bits = 0
                for item in category_text.split(","):
                    if "." in item:
                        low_text, _, high_text = item.partition(".")
                        low = _CATEGORY_BIT_OF[low_text]
                        # Categories low .. high: 2**(high + 1) - 2**low, which is at most
                        # 2**low when high <= low.
                        run = _END_BIT_OF[high_text] - low
                        if run <= low:
                            return _parse_level_carefully(text, start, end, limits)
                        bits |= run
                    else:
                        bits |= _CATEGORY_BIT_OF[item]
        except KeyError:
            return _parse_level_by_shape(text, start, end, limits)
        if checked and bits.bit_length() > limits.max_category + 1:
            return _parse_level_carefully(text, start, end, limits)
        categories = _new(CategorySet)  # _from_bits written out
        _set_bits(categories, bits)
    level: Level = _new(Level)
    _set_sensitivity(level, sensitivity)
    _set_categories(level, categories)
    return level


def _parse_level_by_shape(text: str, start: int, end: int, limits: Limits) -> Level:
    match = _match_level_shape(text, start, end)
    if match is None or end - start > _MAX_SHAPE_LENGTH:
        return _parse_level_carefully(text, start, end, limits)
    sensitivity_text, category_text = match.groups()
    sensitivity = int(sensitivity_text)
    if sensitivity > limits.max_sensitivity:
        return _parse_level_carefully(text, start, end, limits)
    categories = EMPTY
    if category_text:
        max_category = limits.max_category
        bits = 0
        for item in category_text.split(","):
            if "." in item:
                low_text, high_text = item.split(".")
                low = int(low_text[1:])
                high = int(high_text[1:])
                if high <= low or high > max_category:
                    return _parse_level_carefully(text, start, end, limits)
                bits |= ((2 << (high - low)) - 1) << low
            else:
                number = int(item[1:])
                if number > max_category:
                    return _parse_level_carefully(text, start, end, limits)
                bits |= 1 << number
        categories = _from_bits(bits)
    return _make_level(sensitivity, categories)


def _parse_level_carefully(text: str, start: int, end: int, limits: Limits) -> Level:
    colon = text.find(":", start, end)
    sens_end = end if colon < 0 else colon
    digits = text[start + 1 : sens_end]
    if (
        text[start : start + 1] != "s"
        or not digits.isdigit()
        or not digits.isascii()
        or (digits[0] == "0" and len(digits) > 1)
    ):
        if start >= end:
            raise MlsSyntaxError(text, start, "empty level")
        raise MlsSyntaxError(
            text, start, f"{text[start:sens_end]!r} is not a sensitivity (expected s<number>)"
        )
    if len(digits) > _MAX_DIGITS or int(digits) > limits.max_sensitivity:
        raise MlsLimitError(
            text,
            start,
            f"sensitivity s{digits} is above the limit s{limits.max_sensitivity} (see mls.Limits)",
        )
    categories = (
        EMPTY if colon < 0 else _from_bits(parse_category_bits(text, colon + 1, end, limits))
    )
    return _make_level(int(digits), categories)


def _parse_range(text: str, start: int, limits: Limits) -> Range:
    # The kernel splits a range on its first '-' (a level itself never contains one).
    dash = text.find("-", start)
    if dash < 0:
        level = _parse_level(text, start, len(text), limits)
        return _make_range(level, level)
    low = _parse_level(text, start, dash, limits)
    high = _parse_level(text, dash + 1, len(text), limits)
    if not high.dominates(low):
        raise MlsSyntaxError(text, dash + 1, f"high level {high} does not dominate low level {low}")
    return _make_range(low, high)


def _make_range(low: Level, high: Level) -> Range:
    mls_range = object.__new__(Range)
    object.__setattr__(mls_range, "low", low)
    object.__setattr__(mls_range, "high", high)
    return mls_range
