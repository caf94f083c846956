from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from mls import CategorySet, Context, Level, MlsSyntaxError, Range, Relation
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
