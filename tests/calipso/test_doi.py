"""DOI definitions and the PASS label mapping of calipso_genopt / calipso_opt_getattr."""

from __future__ import annotations

import pickle

import pytest
from hypothesis import given

from calipso import (
    CalipsoDoi,
    CalipsoDoiError,
    CalipsoEncodeError,
    CalipsoValidationError,
    Check,
    MapType,
    encode,
)
from calipso.doi import CalipsoDoiSyntaxError
from calipso.strategies import doi_numbers
from mls import CategorySet, Level

DOI = CalipsoDoi(2)


def test_map_types() -> None:
    assert int(MapType.PASS) == 2
    assert int(MapType.UNKNOWN) == 0
    assert CalipsoDoi(7).map_type is MapType.PASS
    assert CalipsoDoi(7, 2).map_type is MapType.PASS  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("doi", "map_type"),
    [
        (0, MapType.PASS),
        (-1, MapType.PASS),
        (1 << 32, MapType.PASS),
        (1, MapType.UNKNOWN),
        (1, 1),
        (1, 3),
        (True, MapType.PASS),
    ],
)
def test_kernel_refuses_these_dois(doi: int, map_type: int) -> None:
    with pytest.raises(CalipsoDoiError):
        CalipsoDoi(doi, map_type)  # type: ignore[arg-type]


def test_largest_doi() -> None:
    option = CalipsoDoi(0xFFFFFFFF).label_option(Level(0))
    assert encode(option)[2:6] == b"\xff\xff\xff\xff"


@pytest.mark.parametrize(
    ("level", "bitmap_hex"),
    [
        ("s0", ""),
        ("s3:c0,c5", "84000000"),
        ("s1:c31", "00000001"),
        ("s1:c32", "0000000080000000"),
        ("s1:c0.c31", "ffffffff"),
        ("s2:c12,c345", "0008" + "00" * 41 + "40"),
    ],
)
def test_encode_label_trims_to_the_last_word_with_a_set_bit(level: str, bitmap_hex: str) -> None:
    option = DOI.label_option(Level.parse(level))
    assert option.bitmap.hex() == bitmap_hex
    assert option.words == len(bitmap_hex) // 8
    assert option.level == Level.parse(level).sensitivity
    assert option.doi == 2
    assert option.checksum_ok
    # calipso_genopt: [1] = total - 2, [6] = (total - 10) / 4
    data = encode(option)
    assert data[1] == len(data) - 2
    assert data[6] == (len(data) - 10) // 4


def test_empty_category_map_quirk() -> None:
    option = DOI.label_option(Level(1), empty_bitmap_word=True)
    assert option.bitmap == bytes(4)
    assert encode(option).hex() == "070c000000020101a16700000000"
    # With categories the flag changes nothing.
    with_cats = Level.parse("s1:c3")
    assert DOI.label_option(with_cats, empty_bitmap_word=True) == DOI.label_option(with_cats)


def test_encode_label_refuses_what_the_kernel_would_truncate() -> None:
    with pytest.raises(CalipsoEncodeError) as caught:
        DOI.label_option(Level(256))
    assert caught.value.offset == 7
    with pytest.raises(CalipsoEncodeError) as caught:
        DOI.label_option(Level(0, CategorySet.of(1952)))
    assert caught.value.offset == 10
    assert DOI.label_option(Level(255, CategorySet.of(1951))).words == 61


def test_decode_label() -> None:
    data = bytes.fromhex("070c000000020103980f84000000")
    assert DOI.decode_label(data) == Level.parse("s3:c0,c5")
    assert CalipsoDoi(2).decode_label(DOI.label_option(Level.parse("s9:c1.c700"))) == Level.parse(
        "s9:c1.c700"
    )


@pytest.mark.parametrize(
    ("data", "check", "offset"),
    [
        ("070c000000030103654284000000", Check.UNKNOWN_DOI, 2),
        ("070c000000020103990f84000000", Check.CHECKSUM, 8),
        ("070c000000020203980f84000000", Check.COMPARTMENT_LENGTH, 6),
    ],
)
def test_decode_label_refuses_what_the_kernel_drops(data: str, check: Check, offset: int) -> None:
    with pytest.raises(CalipsoValidationError) as caught:
        DOI.decode_label(bytes.fromhex(data))
    assert caught.value.check is check
    assert caught.value.offset == offset


def test_encode_header_and_decode_header() -> None:
    header = DOI.encode_header(Level.parse("s3"))
    assert header.hex(" ") == "00 01 07 08 00 00 00 02 00 03 ab 21 01 02 00 00"
    assert DOI.decode_header(header) == Level(3)
    assert DOI.encode_header(Level(3), next_header=58)[0] == 58
    with pytest.raises(CalipsoValidationError) as caught:
        CalipsoDoi(5).decode_header(header)
    assert caught.value.check is Check.UNKNOWN_DOI
    assert caught.value.offset == 4  # the DOI of the option at header offset 2


def test_decode_header_checks_every_calipso_option() -> None:
    good = DOI.label_option(Level(3))
    bad = encode(good)[:8] + b"\0\0"  # same option, checksum zeroed
    header = bytes((0, 2)) + encode(good) + bad + b"\x01\x00"
    assert len(header) == 24
    with pytest.raises(CalipsoValidationError) as caught:
        DOI.decode_header(header)
    assert caught.value.check is Check.CHECKSUM
    assert caught.value.offset == 12 + 8


def test_decode_header_without_calipso() -> None:
    with pytest.raises(CalipsoValidationError) as caught:
        DOI.decode_header(bytes.fromhex("0000050200000100"))
    assert caught.value.check is Check.NOT_CALIPSO


@pytest.mark.parametrize("level", ["s0", "s3:c0,c5", "s255:c1951"])
def test_encode_label_is_the_bytes_of_label_option(level: str) -> None:
    option = DOI.label_option(Level.parse(level))
    assert DOI.encode_label(Level.parse(level)) == encode(option)
    assert option.mls_level == Level.parse(level)
    quirk = DOI.encode_label(Level(1), empty_bitmap_word=True)
    assert quirk == encode(DOI.label_option(Level(1), empty_bitmap_word=True))
    assert quirk[6] == 1  # one all-zero bitmap word


# -- netlabelctl syntax ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["pass doi:2", "calipso add pass doi:2", "netlabelctl calipso add pass doi:02", "doi:2 pass"],
)
def test_from_netlabelctl(text: str) -> None:
    assert CalipsoDoi.from_netlabelctl(text) == DOI
    assert CalipsoDoi.from_netlabelctl(text.split()) == DOI


@pytest.mark.parametrize(
    ("text", "argument", "position"),
    [
        ("", "", 0),
        ("pass", "pass", 0),
        ("trans doi:2", "trans doi:2", 0),
        ("pass doi:2 tags:1", "tags:1", 0),
        ("pass doi:2 doi:3", "pass doi:2 doi:3", 0),
        ("pass doi:2x", "doi:2x", 4),
        ("pass doi:²", "doi:²", 4),
        ("pass doi:٣", "doi:٣", 4),
        ("pass doi:4294967296", "doi:4294967296", 4),
        ("pass doi:" + "9" * 4301, "doi:" + "9" * 4301, 4),
    ],
)
def test_from_netlabelctl_refuses(text: str, argument: str, position: int) -> None:
    with pytest.raises(CalipsoDoiSyntaxError) as info:
        CalipsoDoi.from_netlabelctl(text)
    assert (info.value.argument, info.value.position) == (argument, position)
    assert isinstance(info.value, CalipsoDoiError) and len(str(info.value)) < 300
    copy = pickle.loads(pickle.dumps(info.value))
    assert str(copy) == str(info.value)


def test_from_netlabelctl_leaves_the_range_to_the_definition() -> None:
    with pytest.raises(CalipsoDoiError, match="0 is reserved"):
        CalipsoDoi.from_netlabelctl("pass doi:0")


@given(doi_numbers())
def test_to_netlabelctl_round_trips(number: int) -> None:
    doi = CalipsoDoi(number)
    assert doi.to_netlabelctl() == f"pass doi:{number}"
    assert CalipsoDoi.from_netlabelctl(doi.to_netlabelctl()) == doi
