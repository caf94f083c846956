"""Hop-by-hop header building, insertion and removal (calipso.md §4)."""

from __future__ import annotations

import pytest

import calipso
from calipso import (
    CalipsoDoi,
    CalipsoDoiError,
    CalipsoEncodeError,
    CalipsoOption,
    CalipsoValidationError,
    Check,
    HopByHopError,
    OptionType,
    UnknownAction,
    build_header,
    encode,
    find_option,
    insert_option,
    iter_options,
    remove_option,
)
from calipso.hopbyhop import check_header, pad
from mls import Level
from tests.calipso import corpus
from tests.calipso.corpus import DOI

HEADERS = corpus.VECTORS["headers"]
ROUTER_ALERT = bytes.fromhex("00 00 05 02 00 00 01 00")


def option(level: str) -> CalipsoOption:
    return DOI.label_option(Level.parse(level))


@pytest.mark.parametrize(
    ("count", "expected"),
    [(0, ""), (1, "00"), (2, "0100"), (3, "010100"), (4, "01020000"), (7, "01050000000000")],
)
def test_pad(count: int, expected: str) -> None:
    assert pad(count).hex() == expected


@pytest.mark.parametrize("count", [-1, 8])
def test_pad_refuses_eight_or_more(count: int) -> None:
    with pytest.raises(CalipsoEncodeError):
        pad(count)


def test_new_header_without_categories() -> None:
    header = build_header(option("s3"))
    # NH 01 | 07 08 DOI 00 lvl ck ck | 01 02 00 00
    assert len(header) == 16
    assert header[:2] == b"\x00\x01"
    assert header[2:12] == encode(option("s3"))
    assert header[12:] == b"\x01\x02\x00\x00"


def test_new_header_with_one_word_has_no_padding() -> None:
    header = build_header(option("s3:c5"))
    assert len(header) == 16
    assert header[1] == 1
    assert header[2:] == encode(option("s3:c5"))


def test_new_header_with_two_words() -> None:
    header = build_header(option("s3:c40"))
    assert len(header) == 24
    assert header[1] == 2
    assert header[2:20] == encode(option("s3:c40"))
    assert header[20:] == b"\x01\x02\x00\x00"


def test_next_header_byte() -> None:
    assert build_header(option("s0"), next_header=17)[0] == 17
    assert insert_option(bytes((6,)) + ROUTER_ALERT[1:], option("s0"))[0] == 6
    assert insert_option(ROUTER_ALERT, option("s0"), next_header=58)[0] == 58
    with pytest.raises(CalipsoEncodeError):
        build_header(option("s0"), next_header=256)


@pytest.mark.parametrize("vector", HEADERS, ids=[v["name"] for v in HEADERS])
def test_header_vectors(vector: dict[str, str | None]) -> None:
    before = None if vector["before"] is None else bytes.fromhex(vector["before"])
    header = DOI.encode_header(Level.parse(str(vector["level"])), before)
    assert header.hex() == vector["hex"]
    removed = remove_option(header)
    assert (None if removed is None else removed.hex()) == vector["removed"]


def test_insert_after_existing_options() -> None:
    header = insert_option(ROUTER_ALERT, option("s3:c1"))
    tlvs = list(iter_options(header))
    assert [(t.offset, t.type) for t in tlvs] == [(2, 5), (6, 7), (20, 1)]
    assert tlvs[0].data == b"\0\0"
    assert len(header) == 24


@pytest.mark.parametrize("data_length", [0, 1, 2, 3, 4, 5])
def test_leading_pad_puts_calipso_at_4n_plus_2(data_length: int) -> None:
    # One skippable option ending at 4 + data_length, after which CALIPSO would begin.
    body = bytes((0x1E, data_length)) + bytes(data_length)
    size = 2 + len(body)
    header = bytes((0, (size + (-size % 8)) // 8 - 1)) + body + pad(-size % 8)
    result = insert_option(header, option("s1"))
    offset = find_option(result)
    assert offset is not None
    assert offset % 4 == 2
    assert len(result) % 8 == 0
    assert result[1] == len(result) // 8 - 1
    start = 4 + data_length
    assert result[:start] == header[:1] + result[1:2] + header[2:start]
    # The leading pad is the kernel's padding[start & 3] = {2, 1, 0, 3}.
    assert offset - start == (2, 1, 0, 3)[start & 3]
    assert result[start:offset] == pad(offset - start)


def test_trailing_pad_keeps_later_options_aligned() -> None:
    # CALIPSO first, then a Router Alert at offset 12 (12 & 7 = 4).
    header = bytes.fromhex("0001") + encode(option("s0")) + bytes.fromhex("05020000")
    assert [t.offset for t in iter_options(header)] == [2, 12]
    result = insert_option(header, option("s0:c40"))
    ra = next(t for t in iter_options(result) if t.type == OptionType.ROUTER_ALERT)
    assert ra.offset % 8 == 12 % 8
    new_end = 2 + option("s0:c40").size
    assert ra.offset - new_end == ((new_end & 4) + (12 & 7)) & 7  # the kernel's formula


def test_replacement_keeps_other_options() -> None:
    first = insert_option(ROUTER_ALERT, option("s3:c1"))
    second = insert_option(first, option("s7:c40"))
    assert second[:6] == first[:6]
    assert second[6:24] == encode(option("s7:c40"))
    assert [t.type for t in iter_options(second)] == [5, 7]
    assert DOI.decode_header(second) == Level.parse("s7:c40")


def test_replacement_takes_a_second_calipso_behind_padding_with_it() -> None:
    # calipso_opt_find extends the span over padding and any CALIPSO right behind it.
    body = encode(option("s1")) + encode(option("s2")) + b"\x01\x00"
    header = bytes((0, 2)) + body
    result = insert_option(header, option("s3"))
    assert [t.type for t in iter_options(result) if not t.is_padding] == [7]
    assert DOI.decode_header(result) == Level(3)


def test_removal_of_the_only_option_removes_the_header() -> None:
    assert remove_option(build_header(option("s3:c40"))) is None


def test_removal_in_multiples_of_eight() -> None:
    header = insert_option(ROUTER_ALERT, option("s3:c40"))  # RA, CALIPSO 18 bytes at 6
    assert len(header) == 24
    result = remove_option(header)
    assert result == ROUTER_ALERT
    # span 6..24 = 18 bytes: 16 removed, 2 refilled with PadN(2)
    assert result is not None and result[6:] == b"\x01\x00"


def test_removal_keeps_options_after_it() -> None:
    header = bytes.fromhex("0001") + encode(option("s0")) + bytes.fromhex("05020000")
    result = remove_option(header)
    assert result is not None
    assert [(t.offset, t.type) for t in iter_options(result)] == [(2, 1), (4, 5)]
    # span 2..12 is 10 bytes: 8 removed, 2 refilled with PadN(2)
    assert result.hex() == "0000" + "0100" + "05020000"


def test_removal_without_calipso_changes_nothing() -> None:
    assert remove_option(ROUTER_ALERT) == ROUTER_ALERT


@pytest.mark.parametrize(
    ("hex_header", "offset"),
    [
        ("0000050200000100" + "00", 1),  # not a multiple of 8
        ("0001050200000100", 1),  # length byte says 16
        ("000005020000", 1),  # shorter than 8
        ("0000050200000105", 7),  # PadN claims 5 bytes past the end
        ("000005020000001e", 7),  # a type byte with no length byte
    ],
)
def test_malformed_headers(hex_header: str, offset: int) -> None:
    with pytest.raises(HopByHopError) as caught:
        insert_option(bytes.fromhex(hex_header), option("s0"))
    assert caught.value.offset == offset
    with pytest.raises(HopByHopError):
        remove_option(bytes.fromhex(hex_header))


def test_header_size_limit() -> None:
    check_header(bytes((0, 255)) + bytes(2046))
    big = bytes((0, 255)) + bytes.fromhex("1e") + bytes((251,)) + bytes(251)
    big += (b"\x1e\xfb" + bytes(251)) * 7 + bytes(2048 - 2 - 8 * 253)
    with pytest.raises((CalipsoEncodeError, HopByHopError)):
        insert_option(big, option("s0:c1951"))


def test_insert_refuses_non_calipso_bytes() -> None:
    with pytest.raises(CalipsoEncodeError):
        insert_option(None, b"\x05\x02\x00\x00")
    # A raw option of odd size (extra bytes) still yields a whole header.
    odd = encode(CalipsoOption(2, 0, extra=b"\x01"))
    header = insert_option(ROUTER_ALERT, odd)
    assert len(header) % 8 == 0
    assert find_option(header) == 6


def test_tlv_views() -> None:
    tlvs = list(iter_options(ROUTER_ALERT))
    assert tlvs[0].action is UnknownAction.SKIP
    assert tlvs[1].is_padding and tlvs[1].size == 2 and tlvs[1].end == 8
    assert UnknownAction(0xC2 >> 6) is UnknownAction.DISCARD_ICMP_UNICAST


def test_tolerant_walk_yields_the_option_that_runs_past_the_end() -> None:
    header = bytes.fromhex("3a01 0104 00000000 07 0a 000000000000")
    with pytest.raises(HopByHopError) as caught:
        list(iter_options(header))
    last = list(iter_options(header, strict=False))[-1]
    assert (last.offset, last.type, last.fault_offset) == (8, 7, caught.value.offset)
    assert last.fault == caught.value.reason and last.data == bytes(6)
    # A header cut short is walked as far as its bytes go.
    cut = list(iter_options(header[:9], strict=False))
    assert [t.offset for t in cut] == [2, 8] and "no length byte" in cut[-1].fault


def test_two_calipso_options_under_two_configured_dois() -> None:
    """The kernel checks every CALIPSO option against all the DOIs it knows (the kernel test
    of the same header is in test_kernel.py); the label is the first option's."""
    first = encode(CalipsoDoi(2).label_option(Level.parse("s3:c1")))
    second = encode(CalipsoDoi(9).label_option(Level.parse("s5:c7")))
    fill = -(2 + len(first + second)) % 8
    size = 2 + len(first + second) + fill
    header = bytes((0, size // 8 - 1)) + first + second + pad(fill)
    with pytest.raises(CalipsoValidationError) as caught:
        CalipsoDoi(2).decode_header(header)
    assert caught.value.check is Check.UNKNOWN_DOI
    assert CalipsoDoi(2).decode_header(header, dois=[9]) == Level.parse("s3:c1")
    assert CalipsoDoi(2).decode_header(header, dois=[CalipsoDoi(9)]) == Level.parse("s3:c1")
    assert calipso.verdict(header, [2, 9]).accepted
    with pytest.raises(CalipsoDoiError) as wrong:
        CalipsoDoi(9).decode_header(header, dois=[2])
    assert wrong.value.offset == 4
