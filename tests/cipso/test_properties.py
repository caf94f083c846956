"""Property tests: round trips, the fast codec against the construct schema, the kernel's tag
choice against its validator, and only typed errors from arbitrary bytes."""

from __future__ import annotations

import sys

from hypothesis import assume, given
from hypothesis import strategies as st

import cipso
from cipso import schema
from cipso.strategies import (
    dois,
    labels,
    local_tags,
    mutants,
    option_bytes,
    options,
    options_areas,
)
from mls import CategorySet, Level
from tests.cipso.support import encoded_labels

# Options whose first bytes look like CIPSO, so that random data reaches the tag parsers.
cipso_like = st.builds(
    lambda length, body: bytes([0x86, length]) + body,
    st.integers(0, 44),
    st.binary(max_size=42),
)
encoded_options = options().map(cipso.encode)
fuzz_inputs = st.one_of(
    st.binary(max_size=48), cipso_like, mutants(encoded_options), encoded_options, mutants()
)
FUZZ_DOIS = [
    cipso.CipsoDoi.from_netlabelctl("pass doi:16 tags:1"),
    cipso.CipsoDoi.from_netlabelctl("pass doi:1 tags:1,2,5"),
    cipso.CipsoDoi.from_netlabelctl("trans doi:8 tags:1 levels:0=0,1=1 categories:0=1,1=0"),
    cipso.CipsoDoi.local(5),
    cipso.CipsoDoi.from_netlabelctl("pass doi:0 tags:1,2,5,1,1".replace("doi:0", "doi:7")),
]


@given(options())
def test_decode_encode_round_trip(option: cipso.CipsoOption) -> None:
    data = cipso.encode(option)
    assert len(data) == option.length == data[1]
    assert cipso.decode(data) == option
    assert cipso.CipsoOption.from_bytes(option.to_bytes()) == option


@given(options())
def test_schema_and_codec_agree_on_valid_options(option: cipso.CipsoOption) -> None:
    data = cipso.encode(option)
    assert schema.build(option) == data
    assert schema.parse(data) == option
    assert schema.from_container(schema.CIPSO_OPTION.parse(data)) == option


@given(fuzz_inputs)
def test_schema_and_codec_agree_on_any_bytes(data: bytes) -> None:
    try:
        fast = cipso.decode(data)
    except cipso.CipsoDecodeError:
        fast = None
    try:
        slow = schema.parse(data)
    except cipso.CipsoDecodeError:
        slow = None
    assert fast == slow
    if fast is not None:
        assert cipso.encode(fast) == data  # any well-formed option re-encodes byte for byte


@given(fuzz_inputs)
def test_arbitrary_bytes_raise_only_typed_errors(data: bytes) -> None:
    try:
        cipso.decode(data)
    except cipso.CipsoDecodeError as error:
        assert 0 <= error.offset <= max(len(data), 1)
    for loopback in (False, True):
        try:
            cipso.validate(data, FUZZ_DOIS, loopback=loopback)
        except cipso.CipsoValidationError as error:
            assert 0 <= error.offset < 40
    verdict = cipso.verdict(data[:40], FUZZ_DOIS)
    assert verdict.accepted == (verdict.pointer is None)
    if verdict.pointer is not None:
        assert 20 <= verdict.pointer < 20 + len(data[:40])


@given(fuzz_inputs)
def test_validate_agrees_with_verdict_for_one_option(data: bytes) -> None:
    data = data[:40]
    try:
        cipso.validate(data, FUZZ_DOIS)
        offset = None
    except cipso.CipsoValidationError as error:
        offset = error.offset
    assume(len(data) >= 2 and data[0] == 0x86 and 2 <= data[1] <= len(data))
    # The same option alone in an area padded with EOL (trailing bytes are cut at its end).
    area = data[: data[1]]
    verdict = cipso.verdict(area + bytes(-len(area) % 4), FUZZ_DOIS)
    if offset is None:
        assert verdict.accepted or verdict.pointer == 20 + len(area)
    else:
        assert verdict.pointer == 20 + offset


@given(encoded_labels())
def test_encode_label_then_decode_label(
    encoded: tuple[cipso.CipsoDoi, Level, bytes],
) -> None:
    doi, level, data = encoded
    cipso.validate(data, [doi])
    assert doi.decode_label(data) == level
    padded = doi.encode_label(level, pad=True)
    assert len(padded) % 4 == 0 and padded.startswith(data) and not padded[len(data) :].strip(b"\0")
    assert cipso.verdict(padded, [doi]).accepted


@given(dois(), st.data())
def test_every_kernel_option_is_accepted(doi: cipso.CipsoDoi, data: st.DataObject) -> None:
    if doi.map_type is cipso.MapType.LOCAL:
        level = None
        secid = data.draw(st.integers(0, 2**32 - 1))
    else:
        level = data.draw(labels(doi))
        secid = None
    for optimized in (False, True):
        try:
            option = doi.label_option(level, secid=secid, optimized_bitmap=optimized)
        except cipso.CipsoLabelError:
            continue
        assert len(option.tags) == 1 and option.tags[0].tag_type in doi.tags
        cipso.validate(option, [doi], loopback=True)
        if doi.map_type is cipso.MapType.LOCAL and isinstance(option.tags[0], cipso.LocalTag):
            assert doi.decode_secid(option) == secid


@given(st.integers(0, 255), st.lists(st.integers(0, 239)))
def test_tag_1_categories(level: int, categories: list[int]) -> None:
    wanted = CategorySet(categories)
    tag = cipso.RestrictedBitmapTag.from_categories(level, wanted)
    assert tag.categories == wanted
    assert tag.mls_level == Level(level, wanted)
    assert len(tag.bitmap) == (0 if not categories else max(categories) // 8 + 1)
    padded = cipso.RestrictedBitmapTag.from_categories(level, wanted, min_length=10)
    assert padded.categories == wanted and len(padded.bitmap) >= 10


@given(st.integers(0, 255), st.lists(st.integers(0, 65535)))
def test_tag_5_categories(level: int, categories: list[int]) -> None:
    wanted = CategorySet(categories)
    assume(len(list(wanted.runs())) <= 7)
    tag = cipso.RangedTag.from_categories(level, wanted)
    assert tag.categories == wanted
    assert cipso.RangedTag.from_ranges(level, tag.ranges) == tag


@given(local_tags())
def test_tag_128_bytes_are_host_order(tag: cipso.LocalTag) -> None:
    data = cipso.encode(cipso.CipsoOption(5, (tag,)))
    assert data[8:] == tag.secid.to_bytes(4, sys.byteorder)
    foreign = cipso.LocalTag(tag.secid, "big" if sys.byteorder == "little" else "little")
    foreign_data = cipso.encode(cipso.CipsoOption(5, (foreign,)))
    assert foreign_data[8:] == data[8:][::-1]
    assert schema.build(cipso.CipsoOption(5, (foreign,))) == foreign_data


@given(option_bytes(doi=16, max_tags=1))
def test_option_bytes_are_encoded_options(data: bytes) -> None:
    option = cipso.decode(data)
    assert option.doi == 16 and len(option.tags) == 1
    assert cipso.encode(option) == data


@given(options_areas(doi=st.sampled_from([3, 16])))
def test_options_areas_hold_one_cipso_option_among_others(area: bytes) -> None:
    assert len(area) <= 40 and len(area) % 4 == 0
    walked = list(cipso.iter_options(area))  # strict: every option well formed
    found = [tlv for tlv in walked if tlv.type == cipso.OptionType.CIPSO]
    assert len(found) == 1 and cipso.find_option(area) == found[0].offset
    option = cipso.decode(area[found[0].offset : found[0].end])
    assert option.doi in (3, 16)
    assert not {tlv.type for tlv in walked} & {cipso.OptionType.LSRR, cipso.OptionType.SSRR}
