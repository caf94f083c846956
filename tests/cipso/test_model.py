"""The option and tag classes: field checks, lengths, meaning, and the codec on each tag type."""

from __future__ import annotations

import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

import cipso
from cipso import (
    CipsoOption,
    EnumeratedTag,
    FreeFormTag,
    GenericTag,
    LocalTag,
    PermissiveBitmapTag,
    RangedTag,
    RestrictedBitmapTag,
    schema,
)
from mls import CategorySet, Level


def test_tag_128_option_is_twelve_bytes() -> None:
    option = CipsoOption(5, (LocalTag(0x01020304),))
    data = cipso.encode(option)
    assert data[:8] == bytes.fromhex("860c000000058006")
    assert data[8:] == (0x01020304).to_bytes(4, sys.byteorder)
    assert len(data) == option.length == 12
    assert cipso.decode(data) == option
    assert option.mls_level is None


@pytest.mark.parametrize(
    ("tag", "wire"),
    [
        (RestrictedBitmapTag(3, b"\x84"), "01050003 84"),
        (RestrictedBitmapTag(3, b"\x84\x00", alignment=7), "01060703 8400"),
        (PermissiveBitmapTag(3, b"\x84"), "06050003 84"),
        (EnumeratedTag(3, (5, 1)), "02080003 0005 0001"),
        (RangedTag(3, (12, 10, 3)), "050a0003 000c 000a 0003"),
        (RangedTag(3, (12, 10, 3, 0)), "050c0003 000c 000a 0003 0000"),
        (FreeFormTag(b"xy"), "0704 7879"),
        (GenericTag(0, b""), "0002"),
        (GenericTag(200, b"\x01"), "c803 01"),
    ],
)
def test_each_tag_type_on_the_wire(tag: cipso.Tag, wire: str) -> None:
    option = CipsoOption(1, (tag,))
    data = cipso.encode(option)
    assert data == bytes.fromhex(
        "86" + f"{6 + tag.length:02x}" + "00000001" + wire.replace(" ", "")
    )
    assert cipso.decode(data) == option


@given(st.lists(st.integers(0, 0xFFFF), max_size=15))
def test_ranged_bits_is_the_union_of_the_ranges(bounds: list[int]) -> None:
    # The kernel's netlbl_catmap_setrng per (high, low) pair; a last high alone runs from 0.
    expected: set[int] = set()
    for index in range(0, len(bounds), 2):
        high = bounds[index]
        low = bounds[index + 1] if index + 1 < len(bounds) else 0
        expected.update(range(low, high + 1))
    bits = cipso.model.ranged_bits(tuple(bounds))
    assert bits == sum(1 << category for category in expected)
    assert RangedTag(0, tuple(bounds)).categories.bits == bits


def test_meaning_of_tags() -> None:
    assert RestrictedBitmapTag(3, b"\x84\x00").categories == CategorySet.of(0, 5)
    assert EnumeratedTag(2, (7, 1)).mls_level == Level.parse("s2:c1,c7")
    assert RangedTag(1, (12, 10, 3)).categories == CategorySet.parse("c0.c3,c10.c12")
    assert RangedTag(1, (3, 7)).categories == CategorySet()  # low above high: nothing
    assert RangedTag(1, (3, 7)).ranges == ((3, 7),)
    assert PermissiveBitmapTag(0, b"\x01").mls_level == Level.parse("s0:c7")
    option = CipsoOption(1, (RangedTag(4, (9,)), RestrictedBitmapTag(1)))
    assert option.mls_level == Level.parse("s4:c0.c9")
    assert option.tag == RangedTag(4, (9,))
    assert CipsoOption(1).tag is None and CipsoOption(1).mls_level is None


def test_from_categories_and_ranges() -> None:
    assert RestrictedBitmapTag.from_categories(3, [0, 5]).bitmap == b"\x84"
    assert RestrictedBitmapTag.from_categories(3, [0, 5], min_length=10).bitmap == b"\x84" + bytes(
        9
    )
    with pytest.raises(cipso.CipsoEncodeError):
        RestrictedBitmapTag.from_categories(3, [240])
    assert EnumeratedTag.from_categories(1, [9, 2]).category_list == (2, 9)
    assert RangedTag.from_categories(3, CategorySet.parse("c0.c3,c10.c12")).bounds == (12, 10, 3)
    assert RangedTag.from_categories(3, CategorySet.parse("c1.c3")).bounds == (3, 1)
    assert RangedTag.from_ranges(3, [(12, 10), (3, None)]).bounds == (12, 10, 3)
    with pytest.raises(cipso.CipsoEncodeError):
        RangedTag.from_ranges(3, [(12, None), (3, 1)])


@pytest.mark.parametrize(
    "make",
    [
        lambda: RestrictedBitmapTag(-1),
        lambda: RestrictedBitmapTag(256),
        lambda: RestrictedBitmapTag(True),  # type: ignore[arg-type]
        lambda: RestrictedBitmapTag(1, bytes(31)),
        lambda: RestrictedBitmapTag(1, "x"),  # type: ignore[arg-type]
        lambda: RestrictedBitmapTag(1, alignment=256),
        lambda: EnumeratedTag(1, tuple(range(16))),
        lambda: EnumeratedTag(1, (65536,)),
        lambda: RangedTag(1, tuple(range(16))),
        lambda: RangedTag(1, (-1,)),
        lambda: FreeFormTag(bytes(33)),
        lambda: LocalTag(1 << 32),
        lambda: LocalTag(1, "middle"),  # type: ignore[arg-type]
        lambda: GenericTag(1, b""),
        lambda: GenericTag(128, b""),
        lambda: GenericTag(256, b""),
        lambda: CipsoOption(1 << 32),
        lambda: CipsoOption(1, ("not a tag",)),  # type: ignore[arg-type]
        lambda: CipsoOption(1, (RestrictedBitmapTag(1, bytes(30)), RestrictedBitmapTag(1))),
    ],
)
def test_fields_that_cannot_go_on_the_wire(make: object) -> None:
    with pytest.raises(cipso.CipsoEncodeError):
        make()  # type: ignore[operator]


def test_largest_option_is_forty_bytes() -> None:
    option = CipsoOption(1, (RestrictedBitmapTag(1, bytes(30)),))
    assert option.length == 40 and len(cipso.encode(option)) == 40
    assert cipso.decode(cipso.encode(option)).tags[0].bitmap == bytes(30)


def test_models_are_frozen_and_hashable() -> None:
    tag = RestrictedBitmapTag(1, bytearray(b"\x80"))  # type: ignore[arg-type]
    assert tag.bitmap == b"\x80" and isinstance(tag.bitmap, bytes)
    with pytest.raises(AttributeError):
        tag.level = 2  # type: ignore[misc]
    option = CipsoOption(1, [tag])  # type: ignore[arg-type]
    assert option.tags == (tag,)
    assert len({option, CipsoOption(1, (RestrictedBitmapTag(1, b"\x80"),))}) == 1


def test_decode_accepts_buffers_and_refuses_other_types() -> None:
    data = bytes.fromhex("860b000000100105000384")
    assert cipso.decode(bytearray(data)) == cipso.decode(memoryview(data)) == cipso.decode(data)
    with pytest.raises(TypeError):
        cipso.decode("860b")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("hexdata", "offset"),
    [
        ("", 0),
        ("87", 0),
        ("86", 1),
        ("8605", 1),
        ("8629" + "00" * 39, 1),
        ("860800000001", 1),
        ("860600000001ff", 6),
        ("860800000001 0101", 7),
        ("860a00000001 80040000", 7),
    ],
)
def test_decode_errors_name_the_byte(hexdata: str, offset: int) -> None:
    with pytest.raises(cipso.CipsoDecodeError) as caught:
        cipso.decode(bytes.fromhex(hexdata))
    assert caught.value.offset == offset
    assert isinstance(caught.value, ValueError) and caught.value.reason


# --- the tag table ------------------------------------------------------------------------------


def test_tag_table_has_every_type_and_the_generic_fallback() -> None:
    assert set(cipso.TAG_CLASS_BY_TYPE) == {int(t) for t in cipso.TagType}
    for tag_type, cls in cipso.TAG_CLASS_BY_TYPE.items():
        assert cls.tag_type == tag_type
        assert cipso.tag_class(tag_type) is cls
    for unknown in (0, 3, 4, 8, 127, 129, 255):
        assert cipso.tag_class(unknown) is GenericTag
    with pytest.raises(TypeError):
        cipso.TAG_CLASS_BY_TYPE[9] = GenericTag  # type: ignore[index]


TAGS = [
    RestrictedBitmapTag(3, b"\x84", 7),
    PermissiveBitmapTag(3, b"\x84"),
    EnumeratedTag(3, (1, 5)),
    RangedTag(3, (12, 10, 3)),
    FreeFormTag(b"\x00\x03"),
    LocalTag(1),
    GenericTag(3, b"\x00\x03"),
]


@pytest.mark.parametrize("tag", TAGS, ids=lambda tag: type(tag).__name__)
def test_each_tag_frames_itself(tag: cipso.Tag) -> None:
    data = tag.to_bytes()
    assert data[:2] == bytes((tag.tag_type, tag.length)) and len(data) == tag.length
    assert type(tag).from_bytes(data) == tag
    assert cipso.tag_class(data[0]).from_bytes(data) == tag
    # The option codec and the schema frame the same bytes.
    option = CipsoOption(100, (tag,))
    assert cipso.encode(option)[6:] == data
    assert schema.build(option)[6:] == data
    assert schema.parse(cipso.encode(option)) == option


@pytest.mark.parametrize(
    ("cls", "data", "offset", "reason"),
    [
        (RestrictedBitmapTag, "0103", 1, "is not the 2 bytes given"),
        (RestrictedBitmapTag, "0205000300", 0, "tag type 2 is not a RestrictedBitmapTag"),
        (RestrictedBitmapTag, "010300", 1, "tag 1 needs at least 4 bytes"),
        (EnumeratedTag, "020500030000", 1, "is not the 6 bytes given"),
        (EnumeratedTag, "0205000300", 1, "not a whole number of u16"),
        (LocalTag, "800500000000", 1, "is not the 6 bytes given"),
        (LocalTag, "8005000000", 1, "tag 128 is always 6 bytes, not 5"),
        (GenericTag, "01", 1, "at least its type and length bytes"),
        (FreeFormTag, "0723" + "00" * 33, 1, "exceeds the 34 bytes an option has for tags"),
    ],
)
def test_from_bytes_names_the_byte(
    cls: type[cipso.Tag], data: str, offset: int, reason: str
) -> None:
    with pytest.raises(cipso.CipsoDecodeError) as caught:
        cls.from_bytes(bytes.fromhex(data))
    assert caught.value.offset == offset
    assert reason in caught.value.reason


def test_the_careful_decoder_adds_the_tag_offset() -> None:
    # A second tag (at option byte 10) whose u16 data is odd: the error is at its length byte.
    data = bytes.fromhex("860f00000064" + "01040003" + "0205000300")
    with pytest.raises(cipso.CipsoDecodeError) as caught:
        cipso.decode(data)
    assert caught.value.offset == 11


@pytest.mark.parametrize(
    ("tag", "text"),
    [
        (
            RestrictedBitmapTag(3, b"\x84"),
            "restricted bitmap, length 5, level 3, bitmap 84 -> s3:c0,c5",
        ),
        (PermissiveBitmapTag(3, b""), "permissive bitmap, length 4, level 3, bitmap (none) -> s3"),
        (GenericTag(9, b""), "type 9, length 2, data (none)"),
    ],
)
def test_each_tag_shows_itself(tag: cipso.Tag, text: str) -> None:
    assert str(tag) == text


def test_option_size_is_its_length() -> None:
    option = CipsoOption(16, (RestrictedBitmapTag(3, b"\x84"),))
    assert option.size == option.length == len(option.to_bytes()) == 11


def test_decoded_tags_equal_constructed_ones() -> None:
    """The decoder builds tags without re-running their checks: the result is the same."""
    for tag in TAGS:
        decoded = cipso.decode(CipsoOption(100, (tag, tag)).to_bytes())
        assert decoded.tags == (tag, tag)
        assert hash(decoded.tags[0]) == hash(tag) and repr(decoded.tags[1]) == repr(tag)
