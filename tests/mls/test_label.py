from __future__ import annotations

import pickle
import sys

import pytest

from mls import (
    EMPTY,
    MAX_CATEGORY_CEILING,
    MAX_SENSITIVITY_CEILING,
    CategorySet,
    Context,
    Level,
    Limits,
    MlsError,
    MlsLimitError,
    MlsSyntaxError,
    Range,
    Relation,
)
from tests.support import raises_at, refusal_table

ROUND_TRIP = [
    "s0",
    "s0:c0",
    "s0:c1,c2,c5,c7.c300",
    "s0:c1.c300,c400.c500",
    "s0-s0:c0.c1023",
    "s15:c0.c36",
    "s3:c1.c5",
    "s0-s15:c0.c1023",
    "s1:c1-s2:c1,c3",
]


@pytest.mark.parametrize("text", ROUND_TRIP)
def test_canonical_text_round_trips(text: str) -> None:
    assert str(Range.parse(text)) == text


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("s0:c3,c1,c2", "s0:c1.c3"),
        ("s0:c1,c1", "s0:c1"),
        ("s0:c1.c5,c3", "s0:c1.c5"),
        ("s0:c5,c1", "s0:c1,c5"),
        ("s0:c1,c2", "s0:c1,c2"),
        ("s0:c1.c2", "s0:c1,c2"),
        ("s0:c0,c1,c2,c5,c7,c8,c9,c10", "s0:c0.c2,c5,c7.c10"),
        ("s0:c1,c2,c5,c6", "s0:c1,c2,c5,c6"),
        ("s0:c1,c3,c5", "s0:c1,c3,c5"),
        ("s0:c4.c6,c9,c10", "s0:c4.c6,c9,c10"),
        ("s0:c0.c1023", "s0:c0.c1023"),
    ],
)
def test_level_prints_in_kernel_canonical_form(text: str, canonical: str) -> None:
    assert str(Level.parse(text)) == canonical


@pytest.mark.parametrize(
    ("text", "canonical"),
    [("s0-s0", "s0"), ("s0:c1-s0:c1", "s0:c1"), ("s0-s0:c0.c1023", "s0-s0:c0.c1023")],
)
def test_range_with_equal_ends_prints_one_level(text: str, canonical: str) -> None:
    assert str(Range.parse(text)) == canonical


@refusal_table(
    [
        ("", 0, "empty level"),
        ("S0", 0, "not a sensitivity"),
        ("s", 0, "not a sensitivity"),
        ("s01", 0, "not a sensitivity"),
        ("s-1", 0, "not a sensitivity"),
        ("s0:", 3, "empty category list"),
        ("s0:c1,", 6, "empty category"),
        ("s0:,c1", 3, "empty category"),
        ("s0-", 3, "empty level"),
        ("s0:c1..c3", 6, "not a category"),
        ("s0:c3.c3", 6, "lower to higher"),
        ("s0:c5.c3", 6, "lower to higher"),
        ("s0:c1.c2.c3", 6, "not a category"),
        ("s0:C1", 3, "not a category"),
        ("s0:c01", 3, "not a category"),
        ("s0:c1 ", 3, "not a category"),
        (" s0", 0, "not a sensitivity"),
        ("s0\n", 0, "not a sensitivity"),
        ("s0:c\u0663", 3, "not a category"),  # a non-ASCII digit
        ("s\u00b2", 0, "not a sensitivity"),  # superscript two passes str.isdigit
        ("s0:c1_0", 3, "not a category"),  # int() would accept the underscore
        ("s2-s1", 3, "does not dominate"),
        ("s0:c1-s0", 6, "does not dominate"),
        ("s0:c1-s1:c2", 6, "does not dominate"),
    ],
)
def test_bad_text_is_rejected_with_offset_and_reason(text: str, offset: int, words: str) -> None:
    error = raises_at(MlsSyntaxError, lambda: Range.parse(text), offset, words)
    assert isinstance(error, ValueError)


def test_huge_category_is_refused_by_the_limit_without_allocating() -> None:
    with pytest.raises(MlsLimitError) as caught:
        Level.parse("s0:c0.c4294967295")
    assert caught.value.offset == 6
    # A million digits must not reach int(): Python would refuse or take long.
    with pytest.raises(MlsLimitError):
        Level.parse("s0:c" + "9" * 1_000_000)
    with pytest.raises(MlsLimitError):
        Level.parse("s" + "9" * 1_000_000)


def test_limits_are_explicit_and_can_be_raised() -> None:
    with pytest.raises(MlsLimitError):
        Level.parse("s256")
    with pytest.raises(MlsLimitError):
        Level.parse("s0:c65536")
    assert Level.parse("s0:c65535").categories.max == 65535
    roomy = Limits(max_sensitivity=1000, max_category=65535)
    assert Level.parse("s999:c65535", limits=roomy).sensitivity == 999
    strict = Limits(max_sensitivity=15, max_category=1023)
    with pytest.raises(MlsLimitError):
        Level.parse("s0:c1024", limits=strict)
    with pytest.raises(MlsLimitError):
        Range.parse("s0-s16", limits=strict)
    # Numbers the fast path knows as tokens (s0..s255, c0..c1023) are checked against lower
    # limits too.
    lower = Limits(max_sensitivity=3, max_category=999)
    with pytest.raises(MlsLimitError):
        Level.parse("s0:c2.c1000", limits=lower)
    with pytest.raises(MlsLimitError):
        Level.parse("s4:c2", limits=lower)
    assert str(Level.parse("s3:c2.c999", limits=lower)) == "s3:c2.c999"


def test_dominance_relations() -> None:
    s3_c1_5 = Level.parse("s3:c1.c5")
    s1_c2 = Level.parse("s1:c2")
    assert s3_c1_5.dominates(s1_c2)
    assert s1_c2.dominated_by(s3_c1_5)
    assert s3_c1_5.compare(s1_c2) is Relation.DOM
    assert s1_c2.compare(s3_c1_5) is Relation.DOMBY
    assert s1_c2.compare(Level.parse("s1:c2")) is Relation.EQ
    assert Level.parse("s0:c1").incomparable(Level.parse("s0:c2"))
    assert Level.parse("s1:c1").compare(Level.parse("s2")) is Relation.INCOMPARABLE
    assert s1_c2.dominates(s1_c2)  # reflexive


def test_levels_have_no_total_ordering_operators() -> None:
    with pytest.raises(TypeError):
        _ = Level.parse("s0:c1") < Level.parse("s0:c2")  # type: ignore[operator]


def test_range_contains_and_intersection() -> None:
    clearance = Range.parse("s0-s3:c0.c10")
    assert clearance.contains(Level.parse("s2:c5"))
    assert Level.parse("s2:c5") in clearance
    assert not clearance.contains(Level.parse("s4"))
    assert not clearance.contains(Level.parse("s1:c11"))
    assert clearance.contains(Range.parse("s1-s2:c1"))
    assert not clearance.contains(Range.parse("s1-s4"))
    other = Range.parse("s1:c2-s5:c2.c20")
    assert str(clearance.intersection(other)) == "s1:c2-s3:c2.c10"
    assert clearance.intersection(Range.parse("s4-s5")) is None


def test_range_constructor_refuses_high_below_low() -> None:
    with pytest.raises(MlsError):
        Range(Level(2), Level(1))
    with pytest.raises(MlsError):
        Level(-1)
    with pytest.raises(MlsError):
        Level(True)


def test_context_parse_and_print() -> None:
    text = "system_u:object_r:netlabel_peer_t:s0:c1,c2,c5,c7.c300"
    context = Context.parse(text)
    assert (context.user, context.role, context.type) == (
        "system_u",
        "object_r",
        "netlabel_peer_t",
    )
    assert str(context.level) == "s0:c1,c2,c5,c7.c300"
    assert str(context) == text
    ranged = Context.parse("unconfined_u:unconfined_r:unconfined_t:s0-s0:c0.c1023")
    assert ranged.range is not None and str(ranged.range.high) == "s0:c0.c1023"
    assert Context.parse("u:r:t").range is None
    assert str(Context.parse("u:r:t:s0:c3,c1,c2-s1:c1.c3")) == "u:r:t:s0:c1.c3-s1:c1.c3"


@pytest.mark.parametrize(
    ("text", "offset"),
    [
        ("u:r", 3),
        ("u::t:s0", 2),
        (":r:t:s0", 0),
        ("u:r:t:", 6),
        ("u:r:t:s0:", 9),
        ("u s:r:t:s0", 0),
        ("u:r:t:x0", 6),
        ("u:r\t:t:s0", 2),
        ("u:r:t:s1-s0", 9),
    ],
)
def test_bad_contexts_are_rejected(text: str, offset: int) -> None:
    raises_at(MlsSyntaxError, lambda: Context.parse(text), offset)


def test_labels_are_immutable_hashable_and_picklable() -> None:
    level = Level.parse("s1:c1.c5")
    with pytest.raises(AttributeError):
        level.sensitivity = 2  # type: ignore[misc]
    assert {level, Level.parse("s1:c1.c5")} == {level}
    context = Context.parse("u:r:t:s0-s1:c2")
    assert pickle.loads(pickle.dumps(context)) == context
    assert Level(0) == Level(0, EMPTY) == Level.parse("s0")
    assert Level(3, CategorySet.of(0, 5)) == Level.parse("s3:c0,c5")


@pytest.mark.parametrize(
    "limits",
    [
        {"max_category": 65536},
        {"max_category": 4294967295},
        {"max_sensitivity": 1 << 32},
        {"max_category": -1},
        {"max_sensitivity": -1},
    ],
)
def test_limits_have_a_ceiling(limits: dict[str, int]) -> None:
    # c0.c4294967295 would need a 512 MiB set: no limit may go past the widest wire format.
    with pytest.raises(MlsError, match="must be between 0 and"):
        Limits(**limits)
    assert Limits(max_category=MAX_CATEGORY_CEILING, max_sensitivity=MAX_SENSITIVITY_CEILING)


@pytest.mark.parametrize(
    "text",
    [
        "s\u0663",
        "s0:c\u0663",
        "s0:c1.c\u0663",
        "s\u00b2",
        "s0:c\u00b2",
        "s\uff11",
        "s0:c+1",
        "s0:c 1",
    ],
)
def test_numbers_are_ascii_digits_only(text: str) -> None:
    # int() would accept Arabic-Indic and full-width digits, and ignore '+' and blanks.
    with pytest.raises(MlsSyntaxError):
        Level.parse(text)


def test_absurdly_long_numbers_are_a_typed_error() -> None:
    for text in ("s0:c1." + "c" + "1" * 5000, "s0-s" + "1" * 5000, "s0:c1,c" + "0" * 5000):
        with pytest.raises(MlsSyntaxError):
            Range.parse(text)


def test_the_only_printable_white_space_is_the_ascii_space() -> None:
    # Context identifiers are checked with isprintable() and a search for " " alone.
    printable_spaces = [
        code
        for code in range(sys.maxunicode + 1)
        if chr(code).isspace() and chr(code).isprintable()
    ]
    assert printable_spaces == [0x20]


@pytest.mark.parametrize(
    "space", [" ", "\t", "\n", "\x0b", "\x1c", "\x85", "\xa0", "\u2028", "\u3000"]
)
def test_white_space_anywhere_in_an_identifier_is_refused(space: str) -> None:
    with pytest.raises(MlsError, match="white space"):
        Context(f"user{space}u", "object_r", "t_t")
