"""Property tests: round trips, schema and fast codec byte for byte, label mapping, checksum
against a bitwise reference, and only our error types on arbitrary input."""

from __future__ import annotations

import contextlib
from collections.abc import Callable

from hypothesis import given
from hypothesis import strategies as st

import calipso
from calipso import (
    CalipsoDecodeError,
    CalipsoDoi,
    CalipsoEncodeError,
    CalipsoError,
    CalipsoOption,
    CalipsoValidationError,
    HopByHopError,
    crc16_x25,
    decode,
    encode,
    find_option,
    insert_option,
    iter_options,
    remove_option,
    schema,
    validate,
)
from calipso.strategies import (
    dois,
    hop_by_hop_headers,
    labels,
    mutants,
    option_bytes,
    options,
)
from mls import Level
from tests.support import reference_crc16_x25


@given(options())
def test_an_option_round_trips_and_schema_and_codec_build_the_same_bytes(
    option: CalipsoOption,
) -> None:
    data = encode(option)
    assert decode(data) == option
    assert schema.build(option) == data


@given(option_bytes())
def test_bytes_round_trip_and_schema_and_codec_parse_the_same_option(data: bytes) -> None:
    option = decode(data)
    assert encode(option) == data
    assert schema.parse(data) == option


@given(st.one_of(mutants(), st.binary(max_size=40)))
def test_schema_and_codec_refuse_the_same_bytes(data: bytes) -> None:
    outcomes: list[CalipsoOption | None] = []
    for parse in (decode, schema.parse):
        try:
            outcomes.append(parse(data))
        except CalipsoDecodeError:
            outcomes.append(None)
    assert outcomes[0] == outcomes[1]


@given(st.binary(max_size=300))
def test_fast_crc_equals_bitwise_reference(data: bytes) -> None:
    assert crc16_x25(data) == reference_crc16_x25(data)


@given(dois(), labels())
def test_label_round_trip(doi: CalipsoDoi, level: Level) -> None:
    option = doi.label_option(level)
    assert option.mls_level == level
    assert doi.decode_label(encode(option)) == level
    validate(option, [doi])
    # Trimmed to the last word with a set bit.
    assert option.words == (0 if not level.categories else level.categories.max // 32 + 1)  # type: ignore[operator]


@given(dois(), labels())
def test_label_header_round_trip(doi: CalipsoDoi, level: Level) -> None:
    header = doi.encode_header(level)
    assert doi.decode_header(header) == level
    assert calipso.verdict(header, [doi]).accepted
    assert find_option(header) == 2
    assert remove_option(header) is None


@given(option_bytes(), st.sets(st.integers(0, 20)))
def test_validate_agrees_with_decode(data: bytes, configured: set[int]) -> None:
    option = decode(data)
    expected = option.checksum_ok and option.doi in configured
    try:
        validate(data, configured)
    except CalipsoValidationError:
        assert not expected
    else:
        assert expected


@given(mutants(option_bytes(doi=2, bad_checksums=False)))
def test_validate_refuses_near_valid_options(data: bytes) -> None:
    try:
        validate(data, [2])
    except CalipsoValidationError as error:
        assert error.offset is not None and 0 <= error.offset <= len(data)
    else:
        raise AssertionError(f"accepted {data.hex()}")


@given(hop_by_hop_headers(doi=2))
def test_kernel_style_headers_are_accepted(header: bytes) -> None:
    assert calipso.verdict(header, [2]).accepted
    offset = find_option(header)
    assert offset is not None and offset % 4 == 2


@given(hop_by_hop_headers(doi=2), options(doi=2, extra=False, bad_checksums=False))
def test_insertion_keeps_other_options(header: bytes, option: CalipsoOption) -> None:
    result = insert_option(header, option)
    assert len(result) % 8 == 0 and result[1] == len(result) // 8 - 1
    assert result[0] == header[0]

    def others(data: bytes) -> list[tuple[int, bytes]]:
        return [(t.type, t.data) for t in iter_options(data) if not t.is_padding and t.type != 7]

    assert others(result) == others(header)
    # Options behind the CALIPSO option keep their offsets modulo 8.
    calipso_at = find_option(header)
    after = [
        t.offset % 8
        for t in iter_options(header)
        if not t.is_padding and t.type != 7 and calipso_at is not None and t.offset > calipso_at
    ]
    new_at = find_option(result)
    assert new_at is not None and new_at % 4 == 2
    after_new = [
        t.offset % 8
        for t in iter_options(result)
        if not t.is_padding and t.type != 7 and t.offset > new_at
    ]
    assert after_new == after
    assert CalipsoDoi(2).decode_header(result) == option.mls_level
    assert calipso.verdict(result, [2]).accepted
    removed = remove_option(result)
    if removed is None:
        assert others(header) == []
    else:
        assert find_option(removed) is None
        assert others(removed) == others(header)
        assert calipso.verdict(removed, []).accepted


@given(st.one_of(st.binary(max_size=64), mutants()))
def test_arbitrary_bytes_raise_only_our_errors(data: bytes) -> None:
    calls: list[tuple[Callable[[], object], type[CalipsoError]]] = [
        (lambda: decode(data), CalipsoDecodeError),
        (lambda: decode(data, strict=True), CalipsoDecodeError),
        (lambda: schema.parse(data), CalipsoDecodeError),
        (lambda: validate(data, [2]), CalipsoValidationError),
        (lambda: CalipsoDoi(2).decode_label(data), CalipsoValidationError),
    ]
    for call, allowed in calls:
        with contextlib.suppress(allowed):
            call()


@given(st.one_of(st.binary(max_size=64), hop_by_hop_headers()))
def test_arbitrary_headers_raise_only_our_errors(data: bytes) -> None:
    verdict = calipso.verdict(data, [2])  # a verdict, never an exception
    assert verdict.accepted or verdict.offset is not None
    calls: list[tuple[Callable[[], object], tuple[type[CalipsoError], ...]]] = [
        (lambda: list(iter_options(data)), (HopByHopError,)),
        (lambda: remove_option(data), (HopByHopError,)),
        (lambda: insert_option(data, CalipsoOption(2, 0)), (HopByHopError, CalipsoEncodeError)),
        (lambda: CalipsoDoi(2).decode_header(data), (HopByHopError, CalipsoValidationError)),
    ]
    for call, allowed in calls:
        with contextlib.suppress(*allowed):
            call()


@given(hop_by_hop_headers(doi=st.sampled_from([2, 9])))
def test_hop_by_hop_headers_take_the_doi_as_options_do(header: bytes) -> None:
    assert calipso.verdict(header, [2, 9]).accepted
    offset = find_option(header)
    assert offset is not None
    assert int.from_bytes(header[offset + 2 : offset + 6], "big") in (2, 9)
