"""Hypothesis strategies for MLS labels, for property tests and fuzzing.

Named as every strategies module is (docs/strategies.md): plural nouns draw values
(``levels``, ``ranges``, ``contexts``), ``level_texts`` their text in any accepted spelling.
Requires the ``hypothesis`` extra (``pip install labelnet[hypothesis]``)::

    from hypothesis import given
    from mls import Level
    from mls.strategies import levels

    @given(levels(max_category=1023))
    def test_round_trip(level):
        assert Level.parse(str(level)) == level
"""

from __future__ import annotations

from ._extras import needs_extra

with needs_extra("hypothesis", by=__name__):
    import hypothesis  # noqa: F401

from hypothesis import strategies as st

from .categories import CategorySet
from .label import Context, Level, Range
from .limits import WIRE_MAX_CATEGORY, WIRE_MAX_SENSITIVITY

__all__ = [
    "category_sets",
    "contexts",
    "doi_numbers",
    "identifiers",
    "level_texts",
    "levels",
    "ranges",
]


#: A DOI, which qualifies a level on the wire in CIPSO and CALIPSO alike, is 32 bits.
_MAX_DOI = 0xFFFFFFFF


def doi_numbers() -> st.SearchStrategy[int]:
    """DOI numbers a kernel accepts (1..2**32 - 1), small ones and the edges favoured; the
    same for CIPSO and CALIPSO (``cipso.strategies`` and ``calipso.strategies`` give it too)."""
    return st.one_of(
        st.integers(1, 16), st.sampled_from([255, 256, 65535, _MAX_DOI]), st.integers(1, _MAX_DOI)
    )


def option_doi_numbers(doi: int | st.SearchStrategy[int] | None) -> st.SearchStrategy[int]:
    """The DOI numbers ``cipso.strategies.options`` and ``calipso.strategies.options`` draw:
    ``doi`` itself, or from the strategy given; None: any 32-bit number, 0 (which no kernel
    accepts) too."""
    if doi is None:
        return st.one_of(st.just(0), doi_numbers())
    return st.just(doi) if isinstance(doi, int) else doi


@st.composite
def category_sets(
    draw: st.DrawFn,
    *,
    max_category: int = 1023,
    max_runs: int = 8,
    max_run_length: int = 64,
) -> CategorySet:
    """Category sets made of up to ``max_runs`` spans, so that both scattered categories and
    long runs (which print as ``cA.cB``) are common."""
    bits = 0
    for _ in range(draw(st.integers(0, max_runs))):
        first = draw(st.integers(0, max_category))
        length = draw(st.integers(1, max(1, min(max_run_length, max_category - first + 1))))
        bits |= ((1 << length) - 1) << first
    return CategorySet.from_int(bits)


@st.composite
def levels(
    draw: st.DrawFn,
    *,
    max_sensitivity: int = 15,
    max_category: int = 1023,
    max_runs: int = 8,
) -> Level:
    """Levels with sensitivity 0..max_sensitivity and categories 0..max_category."""
    sensitivity = draw(st.integers(0, max_sensitivity))
    categories = draw(category_sets(max_category=max_category, max_runs=max_runs))
    return Level(sensitivity, categories)


@st.composite
def ranges(
    draw: st.DrawFn,
    *,
    max_sensitivity: int = 15,
    max_category: int = 1023,
    max_runs: int = 8,
) -> Range:
    """Valid ranges: the high level is built to dominate the low level."""
    low = draw(
        levels(max_sensitivity=max_sensitivity, max_category=max_category, max_runs=max_runs)
    )
    extra = draw(category_sets(max_category=max_category, max_runs=max_runs))
    high = Level(draw(st.integers(low.sensitivity, max_sensitivity)), low.categories | extra)
    return Range(low, high)


def identifiers() -> st.SearchStrategy[str]:
    """SELinux-style user, role and type names such as ``system_u`` or ``netlabel_peer_t``."""
    return st.from_regex(r"[a-z][a-z0-9_]{0,20}", fullmatch=True)


@st.composite
def contexts(
    draw: st.DrawFn,
    *,
    max_sensitivity: int = 15,
    max_category: int = 1023,
    with_range: bool | None = None,
) -> Context:
    """Security contexts; ``with_range`` None draws contexts with and without an MLS part."""
    has_range = draw(st.booleans()) if with_range is None else with_range
    mls_range = (
        draw(ranges(max_sensitivity=max_sensitivity, max_category=max_category))
        if has_range
        else None
    )
    return Context(draw(identifiers()), draw(identifiers()), draw(identifiers()), mls_range)


def level_texts(
    *, max_sensitivity: int = WIRE_MAX_SENSITIVITY, max_category: int = WIRE_MAX_CATEGORY
) -> st.SearchStrategy[str]:
    """Level text in any accepted spelling: items in any order, repeats, overlapping spans."""

    @st.composite
    def build(draw: st.DrawFn) -> str:
        text = f"s{draw(st.integers(0, max_sensitivity))}"
        items = []
        for _ in range(draw(st.integers(0, 6))):
            low = draw(st.integers(0, max_category - 1))
            if draw(st.booleans()):
                high = draw(st.integers(low + 1, min(max_category, low + 300)))
                items.append(f"c{low}.c{high}")
            else:
                items.append(f"c{low}")
        return text + (":" + ",".join(items) if items else "")

    return build()
