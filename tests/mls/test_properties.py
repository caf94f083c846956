from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mls import DEFAULT_LIMITS, CategorySet, Context, Level, Limits, MlsSyntaxError, Range, Relation
from mls.categories import (
    _BYTE_CATEGORIES,
    _CACHED_CATEGORIES,
    _format_by_bytes,
    _format_by_text_search,
    _format_by_units,
    format_category_bits,
)
from mls.strategies import category_sets, contexts, level_texts, levels, ranges


@given(levels(max_sensitivity=255, max_category=4000))
def test_level_text_round_trips(level: Level) -> None:
    assert Level.parse(str(level)) == level


@given(ranges())
def test_range_text_round_trips(mls_range: Range) -> None:
    assert Range.parse(str(mls_range)) == mls_range


@given(contexts())
def test_context_text_round_trips(context: Context) -> None:
    assert Context.parse(str(context)) == context


@given(level_texts())
def test_any_spelling_parses_to_its_canonical_form(text: str) -> None:
    level = Level.parse(text)
    canonical = str(level)
    assert Level.parse(canonical) == level
    assert str(Level.parse(canonical)) == canonical


@given(category_sets(max_category=2000))
def test_bitmap_round_trips_and_is_trimmed(cats: CategorySet) -> None:
    bitmap = cats.to_bitmap()
    assert CategorySet.from_bitmap(bitmap) == cats
    assert not bitmap or bitmap[-1] != 0
    for category in cats:
        assert bitmap[category // 8] & (0x80 >> (category % 8))
    words = cats.to_bitmap(align=4)
    assert len(words) % 4 == 0 and CategorySet.from_bitmap(words) == cats
    assert CategorySet.from_int(int(cats)) == cats


@given(st.binary(max_size=64))
def test_any_bitmap_decodes_and_re_encodes_without_trailing_zeros(bitmap: bytes) -> None:
    assert CategorySet.from_bitmap(bitmap).to_bitmap() == bitmap.rstrip(b"\0")


@given(category_sets(max_category=300))
def test_iteration_is_ascending_and_matches_runs(cats: CategorySet) -> None:
    members = list(cats)
    assert members == sorted(set(members))
    assert len(members) == len(cats)
    from_runs = [c for low, high in cats.runs() for c in range(low, high + 1)]
    assert from_runs == members


@given(levels(max_category=64), levels(max_category=64), levels(max_category=64))
def test_dominance_is_a_partial_order(a: Level, b: Level, c: Level) -> None:
    assert a.dominates(a)
    if a.dominates(b) and b.dominates(a):
        assert a == b
    if a.dominates(b) and b.dominates(c):
        assert a.dominates(c)
    relation = a.compare(b)
    mirrored = {
        Relation.EQ: Relation.EQ,
        Relation.DOM: Relation.DOMBY,
        Relation.DOMBY: Relation.DOM,
        Relation.INCOMPARABLE: Relation.INCOMPARABLE,
    }
    assert b.compare(a) is mirrored[relation]
    assert a.join(b).dominates(a) and a.join(b).dominates(b)
    assert a.dominates(a.meet(b)) and b.dominates(a.meet(b))


@given(ranges(max_category=64), levels(max_category=64))
def test_range_intersection_contains_exactly_common_levels(r: Range, level: Level) -> None:
    other = Range(level.meet(r.low), level.join(r.high))
    common = r.intersection(other)
    if common is not None:
        assert r.contains(common) and other.contains(common)
    in_both = r.contains(level) and other.contains(level)
    assert in_both == (common is not None and common.contains(level))


@given(st.text(max_size=40))
def test_arbitrary_text_raises_only_syntax_errors(text: str) -> None:
    for parse in (Level.parse, Range.parse, Context.parse, CategorySet.parse):
        try:
            parse(text)
        except MlsSyntaxError as exc:
            assert 0 <= exc.offset <= len(text)


@given(st.text(alphabet="sc0123456789:,.-", max_size=30))
def test_label_alphabet_soup_raises_only_syntax_errors(text: str) -> None:
    try:
        level = Range.parse(text)
    except MlsSyntaxError as exc:
        assert 0 <= exc.offset <= len(text)
    else:
        assert Range.parse(str(level)) == level


# -- fast paths against simple references ----------------------------------------------------


def reference_format(bits: int) -> str:
    """The kernel's canonical text, written the obvious way: one category at a time."""
    members = [n for n in range(bits.bit_length()) if bits >> n & 1]
    items = []
    index = 0
    while index < len(members):
        last = index
        while last + 1 < len(members) and members[last + 1] == members[last] + 1:
            last += 1
        first, final = members[index], members[last]
        if final == first:
            items.append(f"c{first}")
        elif final == first + 1:
            items.append(f"c{first},c{final}")
        else:
            items.append(f"c{first}.c{final}")
        index = last + 1
    return ",".join(items)


# Dense bitmaps (tag 1: 30 bytes, CALIPSO: up to 250), sparse and huge integers, runs near the
# unit and cache edges (c2047, c2048).
category_bits = st.one_of(
    st.binary(max_size=260).map(lambda data: CategorySet.from_bitmap(data).bits),
    st.binary(max_size=32).map(lambda data: CategorySet.from_bitmap(data).bits),
    st.integers(min_value=0, max_value=1 << 2100),
    st.lists(st.integers(min_value=0, max_value=70000), max_size=40).map(
        lambda numbers: CategorySet(numbers).bits
    ),
    st.lists(st.tuples(st.integers(0, 2100), st.integers(0, 40)), max_size=30).map(
        lambda spans: CategorySet.from_ranges([(low, low + size) for low, size in spans]).bits
    ),
)


@given(category_bits)
def test_every_way_of_printing_categories_equals_the_reference(bits: int) -> None:
    expected = reference_format(bits)
    assert format_category_bits(bits) == expected  # run by run where there are few runs
    if bits:
        assert _format_by_text_search(bits) == expected
        if bits.bit_length() <= _CACHED_CATEGORIES:
            assert _format_by_units(bits) == expected
        if bits.bit_length() <= _BYTE_CATEGORIES:
            assert _format_by_bytes(bits, bits.bit_length()) == expected


@pytest.mark.parametrize(
    "spans",
    [
        [(2048, 2048)],  # the highest edge the table of powers holds
        [(3, 5), (2049, 2049)],  # one past it: few runs, found in the binary text
        [(0, 2049)],
        [(0, 100_000)],  # one run far beyond every table
        [(7, 7), (100_000, 100_001)],
        [(low, low + 1) for low in range(0, 48, 3)],  # the most runs walked one by one
        [(low, low + 1) for low in range(0, 51, 3)],  # one more: printed from cached text
    ],
)
def test_printing_categories_at_the_edges_of_each_way(spans: list[tuple[int, int]]) -> None:
    bits = CategorySet.from_ranges(spans).bits
    assert format_category_bits(bits) == reference_format(bits)


def reference_parse(text: str, limits: Limits = DEFAULT_LIMITS) -> Level | None:
    """A level by the grammar, written the obvious way; None where it must be refused."""
    head, colon, tail = text.partition(":")
    number = re.compile(r"(0|[1-9][0-9]*)", re.ASCII)
    found = number.fullmatch(head[1:]) if head[:1] == "s" else None
    if found is None or int(head[1:]) > limits.max_sensitivity or (colon and not tail):
        return None
    bits = 0
    for item in tail.split(",") if colon else []:
        low_text, dot, high_text = item.partition(".")
        ends = [low_text, high_text] if dot else [low_text]
        if not all(end[:1] == "c" and number.fullmatch(end[1:]) for end in ends):
            return None
        low, high = int(ends[0][1:]), int(ends[-1][1:])
        if (dot and high <= low) or high > limits.max_category:
            return None
        bits |= ((2 << (high - low)) - 1) << low
    return Level(int(head[1:]), CategorySet.from_int(bits))


level_soup = st.text(alphabet="sc0123456789:,.\u0663+ ", max_size=30) | st.lists(
    st.sampled_from(
        [
            "s",
            "c",
            "0",
            "1",
            "7",
            "00",
            "255",
            "256",
            "1023",
            "1024",
            "65535",
            "65536",
            ":",
            ",",
            ".",
        ]
    ),
    max_size=14,
).map("".join)


@given(level_soup, st.sampled_from([DEFAULT_LIMITS, Limits(15, 1023), Limits(1000, 100)]))
def test_level_parsing_equals_the_reference(text: str, limits: Limits) -> None:
    expected = reference_parse(text, limits)
    try:
        level = Level.parse(text, limits=limits)
    except MlsSyntaxError:
        assert expected is None
    else:
        assert level == expected
