"""The option codec, its schema twin and the checksum, against calipso.md and its vectors."""

from __future__ import annotations

import random

import pytest

import calipso
from calipso import (
    CalipsoChecksumError,
    CalipsoDecodeError,
    CalipsoEncodeError,
    CalipsoOption,
    crc16_x25,
    decode,
    encode,
    schema,
)
from mls import CategorySet, Level
from tests.calipso import corpus
from tests.support import raises_at, reference_crc16_x25, refusal_table

VECTORS = corpus.VECTORS
OPTION_VECTORS = VECTORS["options"]
DECODABLE = [v for v in OPTION_VECTORS if "decode" in v]
UNDECODABLE = [v for v in OPTION_VECTORS if "decode_error_offset" in v]

SPEC_S0 = bytes.fromhex("07 08 00 00 00 02 00 00 cf ce")
SPEC_S3 = bytes.fromhex("07 0c 00 00 00 02 01 03 98 0f 84 00 00 00")


def test_crc_check_value() -> None:
    assert crc16_x25(b"123456789") == 0x906E
    assert reference_crc16_x25(b"123456789") == 0x906E


def test_crc_of_empty_input() -> None:
    assert crc16_x25(b"") == reference_crc16_x25(b"") == 0x0000


@pytest.mark.parametrize("vector", [SPEC_S0, SPEC_S3], ids=["s0", "s3:c0,c5"])
def test_spec_vectors_checksum(vector: bytes) -> None:
    zeroed = vector[:8] + b"\0\0" + vector[10:]
    crc = reference_crc16_x25(zeroed)
    assert crc16_x25(zeroed) == crc
    # Stored low byte first.
    assert vector[8:10] == bytes((crc & 0xFF, crc >> 8))


def test_spec_vector_fields() -> None:
    option = decode(SPEC_S3)
    assert option.doi == 2
    assert option.level == 3
    assert option.words == 1
    assert option.bitmap == b"\x84\0\0\0"
    assert option.categories == CategorySet.of(0, 5)
    assert option.mls_level == Level.parse("s3:c0,c5")
    assert option.checksum == 0x0F98
    assert option.checksum_ok
    assert option.data_length == 12
    assert option.size == 14


def test_encode_spec_vectors_from_fields() -> None:
    assert encode(CalipsoOption(2, 0)) == SPEC_S0
    assert encode(CalipsoOption.from_categories(2, 3, CategorySet.of(0, 5))) == SPEC_S3
    assert schema.build(CalipsoOption(2, 0)) == SPEC_S0


@pytest.mark.parametrize("vector", DECODABLE, ids=[v["name"] for v in DECODABLE])
def test_vector_decodes(vector: dict[str, object]) -> None:
    data = bytes.fromhex(str(vector["hex"]))
    expected = vector["decode"]
    assert isinstance(expected, dict)
    for parse in (decode, schema.parse):
        option = parse(data)
        assert option.doi == expected["doi"]
        assert option.level == expected["sensitivity"]
        assert option.bitmap.hex() == expected["bitmap"]
        assert option.extra.hex() == expected["extra"]
        assert option.checksum_ok is expected["checksum_ok"]
        assert option.checksum.to_bytes(2, "little").hex() == expected["checksum_bytes"]
        assert str(option.mls_level) == expected["level"]
        assert encode(option) == data
        assert schema.build(option) == data


@pytest.mark.parametrize("vector", UNDECODABLE, ids=[v["name"] for v in UNDECODABLE])
def test_vector_refused(vector: dict[str, object]) -> None:
    data = bytes.fromhex(str(vector["hex"]))
    with pytest.raises(CalipsoDecodeError) as caught:
        decode(data)
    assert caught.value.offset == vector["decode_error_offset"]
    with pytest.raises(CalipsoDecodeError):
        schema.parse(data)


@refusal_table(
    [
        ("", 0, "no bytes"),
        ("07", 1, "before its length byte"),
        ("08080000000200000000", 0, "not CALIPSO"),
        ("0707000000020000cf", 1, "below the minimum"),
        ("0709000000020000cfce", 1, "claims 9"),
        ("0708000000020000cfce00", 10, "follow the end"),
        ("0708000000020100cfce", 6, "overruns"),
        ("070c000000020203980f84000000", 6, "2 words"),
    ],
)
def test_decode_errors_say_what_and_where(text: str, offset: int, words: str) -> None:
    error = raises_at(CalipsoDecodeError, lambda: decode(bytes.fromhex(text)), offset, words)
    assert isinstance(error, ValueError)


def test_bad_checksum_is_kept_and_reported() -> None:
    data = bytearray(SPEC_S3)
    data[9] ^= 0x01
    option = decode(bytes(data))
    assert not option.checksum_ok
    assert option.bad_checksum == data[8] | data[9] << 8
    assert option.correct_checksum == 0x0F98
    assert encode(option) == bytes(data)
    assert option.mls_level == Level.parse("s3:c0,c5")


def test_strict_decode_raises_on_bad_checksum() -> None:
    data = bytearray(SPEC_S3)
    data[8] ^= 0xFF
    for parse in (decode, schema.parse):
        with pytest.raises(CalipsoChecksumError) as caught:
            parse(bytes(data), strict=True)
        assert caught.value.offset == 8
        assert caught.value.expected == 0x0F98
        assert caught.value.received == data[8] | data[9] << 8
    assert decode(SPEC_S3, strict=True).checksum_ok


def test_checksum_is_checked_right_at_every_option_size() -> None:
    # The decoder checks the received checksum through tables per option size (the CRC of the
    # option as received against its two checksum bytes): every size, against the bitwise
    # reference, with the right checksum and with each of its 16 bits flipped.
    rng = random.Random(5570)
    for size in range(10, 258):
        words = rng.randrange((size - 10) // 4 + 1)
        head = bytes((7, size - 2)) + rng.randbytes(4) + bytes((words, rng.randrange(256)))
        rest = rng.randbytes(size - 10)
        right = reference_crc16_x25(head + b"\0\0" + rest)
        assert decode(head + right.to_bytes(2, "little") + rest).checksum_ok, size
        for bit in range(16):
            wrong = right ^ 1 << bit
            option = decode(head + wrong.to_bytes(2, "little") + rest)
            assert option.bad_checksum == wrong, (size, bit)
            with pytest.raises(CalipsoChecksumError) as caught:
                decode(head + wrong.to_bytes(2, "little") + rest, strict=True)
            assert caught.value.expected == right


def test_swapped_checksum_bytes_are_wrong() -> None:
    # Wireshark shows the checksum big-endian; the kernel stores it low byte first.
    assert not decode(bytes.fromhex("070c0000000201030f9884000000")).checksum_ok


def test_a_correct_checksum_given_explicitly_is_normalised() -> None:
    assert CalipsoOption(2, 0, bad_checksum=0xCECF) == CalipsoOption(2, 0)
    assert CalipsoOption(2, 0, bad_checksum=0xCECF).bad_checksum is None
    assert CalipsoOption(2, 0, bad_checksum=0x1234).checksum == 0x1234


def test_replace_recomputes_a_correct_checksum() -> None:
    import dataclasses

    option = dataclasses.replace(decode(SPEC_S3), level=4)
    assert decode(encode(option)).checksum_ok


def test_decode_accepts_bytes_like() -> None:
    assert decode(bytearray(SPEC_S3)) == decode(memoryview(SPEC_S3)) == decode(SPEC_S3)


def test_decode_refuses_non_bytes() -> None:
    with pytest.raises(TypeError):
        decode("070800000002")  # type: ignore[arg-type]


def test_extra_bytes_round_trip() -> None:
    option = CalipsoOption(2, 4, b"\x40\0\0\0", b"\xde\xad\xbe")
    data = encode(option)
    assert data[1] == 15
    assert data[6] == 1
    assert decode(data) == option
    assert decode(data).categories == CategorySet.of(1)


def test_categories_are_cached_and_equal_options_compare_equal() -> None:
    option = decode(SPEC_S3)
    assert option.categories is option.categories
    assert option == CalipsoOption.from_categories(2, 3, CategorySet.of(0, 5))
    assert hash(option) == hash(CalipsoOption(2, 3, b"\x84\0\0\0"))


def test_options_pickle() -> None:
    import pickle

    option = decode(SPEC_S3)
    assert pickle.loads(pickle.dumps(option)) == option


@pytest.mark.parametrize(
    ("kwargs", "offset"),
    [
        ({"doi": -1, "level": 0}, 2),
        ({"doi": 1 << 32, "level": 0}, 2),
        ({"doi": True, "level": 0}, 2),
        ({"doi": 2, "level": 256}, 7),
        ({"doi": 2, "level": -1}, 7),
        ({"doi": 2, "level": 0, "bitmap": b"\0\0"}, 10),
        ({"doi": 2, "level": 0, "bitmap": "x"}, 10),
        ({"doi": 2, "level": 0, "bitmap": bytes(248)}, 1),
        ({"doi": 2, "level": 0, "extra": bytes(248)}, 1),
        ({"doi": 2, "level": 0, "bad_checksum": 0x10000}, 8),
    ],
)
def test_model_refuses_what_the_wire_cannot_carry(kwargs: dict[str, object], offset: int) -> None:
    with pytest.raises(CalipsoEncodeError) as caught:
        CalipsoOption(**kwargs)  # type: ignore[arg-type]
    assert caught.value.offset == offset


def test_largest_option() -> None:
    option = CalipsoOption.from_categories(2, 255, CategorySet.of(calipso.MAX_CATEGORY))
    assert option.words == calipso.MAX_WORDS == 61
    assert option.data_length == 252
    assert decode(encode(option)) == option
    CalipsoOption(2, 0, bytes(244), bytes(3))  # 255 data bytes: the most the length byte holds
    with pytest.raises(CalipsoEncodeError):
        CalipsoOption.from_categories(2, 0, CategorySet.of(calipso.MAX_CATEGORY + 1))


def test_from_categories_takes_any_iterable() -> None:
    assert CalipsoOption.from_categories(2, 3, [5, 0]) == decode(SPEC_S3)


def test_from_categories_with_words() -> None:
    option = CalipsoOption.from_categories(2, 1, CategorySet.of(3), words=2)
    assert option.bitmap == b"\x10" + bytes(7)
    with pytest.raises(CalipsoEncodeError) as caught:
        CalipsoOption.from_categories(2, 1, CategorySet.of(40), words=1)
    assert caught.value.offset == 6
    with pytest.raises(CalipsoEncodeError):
        CalipsoOption.from_categories(2, 1, words=62)


def test_schema_reads_like_the_layout() -> None:
    parsed = schema.OPTION.parse(SPEC_S3)
    assert (parsed.type, parsed.length, parsed.doi, parsed.words, parsed.level) == (
        7,
        12,
        2,
        1,
        3,
    )
    assert parsed.checksum == 0x0F98
    assert parsed.checksum_ok
    assert parsed.bitmap == b"\x84\0\0\0"
    assert parsed.extra == b""


def test_checksum_error_takes_reason_first() -> None:
    """The constructor shape of every error: (reason, offset, *, ...)."""
    error = CalipsoChecksumError("checksum 0x1234 is wrong", received=0x1234, expected=0x0F98)
    assert (error.reason, error.offset, error.received, error.expected) == (
        "checksum 0x1234 is wrong",
        8,
        0x1234,
        0x0F98,
    )
    assert str(error) == "checksum 0x1234 is wrong (byte 8)"


def test_option_to_bytes_and_from_bytes_are_the_codec() -> None:
    option = decode(SPEC_S3)
    assert option.to_bytes() == SPEC_S3 == encode(option)
    assert calipso.CalipsoOption.from_bytes(SPEC_S3) == option
    assert option.size == len(SPEC_S3)
