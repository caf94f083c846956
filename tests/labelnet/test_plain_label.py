"""The dump's plain path (labels read straight from the option bytes) against the full
analysis, on well-formed options, their mutants and random bytes."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

import calipso
import cipso
from labelnet._analysis import Analyzer, plain_label, plain_level
from labelnet._render import Format, label_texts, plain_tail, tail
from labelnet.dump import DoiConfig
from mls import CategorySet, Level

_ANALYZER = Analyzer(DoiConfig())
_TAG1 = cipso.CipsoDoi(3, cipso.MapType.PASS, (cipso.TagType.RESTRICTED_BITMAP,))
_TAG5 = cipso.CipsoDoi(7, cipso.MapType.PASS, (cipso.TagType.RANGED,))
_CALIPSO = calipso.CalipsoDoi(2)


@st.composite
def _areas(draw: st.DrawFn) -> tuple[int, bytes]:
    sensitivity = draw(st.integers(0, 255))
    if draw(st.booleans()):
        bits = draw(st.integers(0, (1 << 240) - 1))
        doi = draw(st.sampled_from((_TAG1, _TAG5)))
        version = 4
    else:
        bits = draw(st.integers(0, (1 << 2040) - 1)) >> draw(st.integers(0, 2040))
        doi = None
        version = 6
    level = Level(sensitivity, CategorySet.from_int(bits))
    try:
        if doi is None:
            area = bytearray(_CALIPSO.encode_header(level, next_header=17))
        else:
            area = bytearray(doi.encode_label(level, pad=True))
    except ValueError:  # does not fit the tag or the header: random bytes instead
        area = bytearray(draw(st.binary(min_size=2, max_size=60)))
        area[0] = 134 if version == 4 else area[0]
        if version == 6 and len(area) > 2:
            area[2] = 7
    for _ in range(draw(st.integers(0, 3))):
        if area:
            area[draw(st.integers(0, len(area) - 1))] = draw(st.integers(0, 255))
    if draw(st.booleans()):
        area = area[: draw(st.integers(0, len(area)))]
    return version, bytes(area)


@settings(max_examples=400)
@given(_areas())
def test_plain_label_is_what_the_analysis_shows(case: tuple[int, bytes]) -> None:
    version, area = case
    plain = plain_label(version, area)
    numbers = plain_level(version, area)
    analyse = _ANALYZER.ipv4 if version == 4 else _ANALYZER.ipv6
    option = analyse(area)
    assert (numbers is None) == (plain is None)  # the same shapes, as text and as numbers
    if plain is None or numbers is None:
        return
    assert option is not None and not option.error and option.level is not None
    assert (plain.protocol, plain.doi, plain.tag) == (option.protocol, option.doi, option.tag)
    assert plain.label == str(option.wire_level) == str(option.level)
    assert numbers == (
        option.protocol,
        option.doi,
        option.tag,
        option.level.sensitivity,
        option.level.categories.bits,
    )
    label, wire = label_texts(option)
    for output in Format:
        assert plain_tail(plain, output) == tail(option, output, label, wire)


def test_plain_label_reads_the_usual_options() -> None:
    level = Level(3, CategorySet.parse("c0.c5,c9,c200"))
    for doi in (_TAG1, _TAG5):
        found = plain_label(4, doi.encode_label(level, pad=True))
        assert found is not None and found.label == "s3:c0.c5,c9,c200"
    found = plain_label(6, _CALIPSO.encode_header(level, next_header=17))
    assert found is not None and found.label == "s3:c0.c5,c9,c200" and found.doi == 2


@given(st.lists(st.integers(0, 300), min_size=0, max_size=15), st.integers(0, 255))
def test_plain_tag_5_of_any_bounds_is_what_the_analysis_shows(
    bounds: list[int], sensitivity: int
) -> None:
    # Bounds touching, overlapping, out of order or odd in number take the general way.
    body = b"".join(bound.to_bytes(2, "big") for bound in bounds)
    tag = bytes((5, 4 + len(body), 0, sensitivity)) + body
    option = bytes((134, 6 + len(tag))) + (9).to_bytes(4, "big") + tag
    area = option + b"\x00" * (-len(option) % 4)
    plain = plain_label(4, area)
    assert plain is not None
    analysed = _ANALYZER.ipv4(area)
    assert analysed is not None and plain.label == str(analysed.wire_level)
    assert analysed.wire_level is not None
    wire = analysed.wire_level
    assert plain_level(4, area) == ("cipso", 9, 5, wire.sensitivity, wire.categories.bits)
