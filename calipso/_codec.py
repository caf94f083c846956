"""Fast decode and encode of one CALIPSO option, byte-identical to :mod:`calipso.schema`.

The hot path checks the whole frame with a handful of integer comparisons, verifies the
CRC with one ``crc_hqx`` call (see :mod:`calipso._checksum`) and builds the frozen option
through its slot setters without running ``__init__``. Anything that fails the quick checks
goes to :func:`_decode_error`, which finds the first problem and says where it is.
"""

from __future__ import annotations

import struct
from binascii import crc_hqx

from mls.categories import bits_from_bitmap
from mls.label import format_level_bits

from ._checks import checksum_mismatch
from ._checksum import BIT_REVERSED, TERMS_BY_SIZE, option_checksum, received_checksum_terms
from .errors import CalipsoChecksumError, CalipsoDecodeError
from .model import (
    MIN_DATA_LENGTH,
    OPTION_TYPE,
    CalipsoOption,
    _set_bad_checksum,
    _set_bitmap,
    _set_doi,
    _set_extra,
    _set_level,
)

# Type, data length, DOI, compartment length (words), sensitivity level.
_unpack_head = struct.Struct(">BBIBB").unpack_from
_pack_fixed = struct.Struct(">BBIBB").pack  # type, data length, DOI, compartment length, level
_ZERO_CHECKSUM = b"\0\0"
_new = object.__new__


def decode(data: bytes | bytearray | memoryview, *, strict: bool = False) -> CalipsoOption:
    """Decode exactly one CALIPSO option, from its type byte to the end of ``data``.

    The checksum is always verified. A wrong one is kept in ``bad_checksum`` (so the option
    re-encodes to the same bytes) and ``checksum_ok`` is False; with ``strict=True`` it raises
    :class:`~calipso.CalipsoChecksumError` instead. Structural faults (not type 0x07,
    truncated, trailing bytes, data length below 8, a compartment length that overruns the
    data) raise :class:`~calipso.CalipsoDecodeError` with the offset of the byte at fault.
    """
    if type(data) is not bytes:
        data = _as_bytes(data)
    size = len(data)
    if size < 10:
        raise _decode_error(data)
    kind, length, doi, words, level = _unpack_head(data)
    end = 10 + 4 * words
    if kind != OPTION_TYPE or length + 2 != size or end > size:
        raise _decode_error(data)
    # Bit-reversed bytes turn the reflected X-25 CRC into crc_hqx's non-reflected one; the
    # CRC of the whole option as received is checked against its own checksum bytes through
    # two tables for its length (calipso/_checksum.py).
    reversed_bytes = data.translate(BIT_REVERSED)
    high, low = TERMS_BY_SIZE[size] or received_checksum_terms(size)
    option: CalipsoOption = _new(CalipsoOption)
    _set_doi(option, doi)
    _set_level(option, level)
    if end == size:
        _set_bitmap(option, data[10:])
        _set_extra(option, b"")
    else:
        _set_bitmap(option, data[10:end])
        _set_extra(option, data[end:])
    if crc_hqx(reversed_bytes, 0xFFFF) == high[reversed_bytes[8]] ^ low[reversed_bytes[9]]:
        _set_bad_checksum(option, None)
    else:
        bad = data[8] | data[9] << 8
        if strict:
            expected = option_checksum(data)
            raise CalipsoChecksumError(
                checksum_mismatch(bad, expected), received=bad, expected=expected
            )
        _set_bad_checksum(option, bad)
    return option


def encode(option: CalipsoOption) -> bytes:
    """The option's wire bytes, from the type byte on; the checksum is computed unless the
    option keeps a bad one."""
    bitmap = option.bitmap
    extra = option.extra
    if extra:
        bitmap += extra
    head = _pack_fixed(
        OPTION_TYPE,
        MIN_DATA_LENGTH + len(bitmap),
        option.doi,
        len(option.bitmap) >> 2,
        option.level,
    )
    bad = option.bad_checksum
    if bad is None:
        inverted = crc_hqx((head + _ZERO_CHECKSUM + bitmap).translate(BIT_REVERSED), 0xFFFF)
        # The reflected result's low byte is the reverse of crc_hqx's high byte; both inverted.
        checksum = (inverted ^ 0xFFFF).to_bytes(2, "big").translate(BIT_REVERSED)
    else:
        checksum = bytes((bad & 0xFF, bad >> 8))
    return head + checksum + bitmap


def _as_bytes(data: object) -> bytes:
    if isinstance(data, (bytearray, memoryview)):
        return bytes(data)
    raise TypeError(f"a CALIPSO option is bytes, not {type(data).__name__}")


def _decode_error(data: bytes) -> CalipsoDecodeError:
    """The first structural fault of ``data``, which failed the decoder's quick checks."""
    size = len(data)
    if size == 0:
        return CalipsoDecodeError("no bytes: an option starts with its type byte 0x07", 0)
    if data[0] != OPTION_TYPE:
        return CalipsoDecodeError(f"option type {data[0]:#04x} is not CALIPSO (0x07)", 0)
    if size == 1:
        return CalipsoDecodeError("the option ends before its length byte", 1)
    data_length = data[1]
    if data_length < MIN_DATA_LENGTH:
        return CalipsoDecodeError(
            f"option data length {data_length} is below the minimum of {MIN_DATA_LENGTH}", 1
        )
    if data_length + 2 > size:
        return CalipsoDecodeError(
            f"the length byte claims {data_length} data bytes but only {size - 2} follow", 1
        )
    if data_length + 2 < size:
        return CalipsoDecodeError(
            f"{size - data_length - 2} bytes follow the end of the option", data_length + 2
        )
    words = data[6]
    return CalipsoDecodeError(
        f"compartment length {words} words ({4 * words} bytes) overruns the "
        f"{data_length - MIN_DATA_LENGTH} bytes left in the option data",
        6,
    )


def first_label_text(header: bytes) -> tuple[int, str] | None:
    """``(DOI, wire level text)`` of a hop-by-hop header whose first option is a CALIPSO
    option right after its two bytes, whole inside the header's length, read without building
    objects (for readers of many distinct labels); None for any other shape, which
    :func:`decode` handles. The checksum does not change the label."""
    found = first_label(header)
    if found is None:
        return None
    doi, level, bits = found
    return doi, format_level_bits(level, bits)


def first_label(header: bytes) -> tuple[int, int, int] | None:
    """``(DOI, sensitivity, category bit integer)`` of the wire level of a hop-by-hop header
    of the shape :func:`first_label_text` reads, without building objects; None for any
    other shape."""
    size = len(header)
    if size < 12 or header[2] != OPTION_TYPE:
        return None
    end = 4 + header[3]
    if end > size or end > (header[1] + 1) * 8:
        return None
    _, _, doi, words, level = _unpack_head(header, 2)
    if end < 12 or 12 + 4 * words > end:
        return None
    return doi, level, bits_from_bitmap(header[12 : 12 + 4 * words])
