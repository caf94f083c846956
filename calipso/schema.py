"""The CALIPSO option as a declarative construct schema, readable against RFC 5570 §5.1.

This is the reference the fast codec (:mod:`calipso._codec`) is tested against byte for
byte; it is slower and meant for reading, cross-checking and composing into larger construct
definitions. ::

    >>> from calipso.schema import OPTION
    >>> parsed = OPTION.parse(bytes.fromhex("070c000000020103980f84000000"))
    >>> parsed.doi, parsed.level, parsed.bitmap, parsed.checksum_ok
    (2, 3, b'\\x84\\x00\\x00\\x00', True)
    >>> OPTION.build(dict(doi=2, level=0, bitmap=b"", extra=b"", checksum=None)).hex()
    '0708000000020000cfce'

The checksum is CRC-16/X-25 over the whole option with its own two bytes taken as zero.
construct's ``Checksum`` cannot express "over the option with this field zeroed", so
:class:`OptionChecksum` wraps the option: on build it fills in the CRC when ``checksum`` is
None, on parse it recomputes it and sets ``checksum_ok``. The schema never runs compiled.
"""

from __future__ import annotations

from typing import Any

from construct import (
    Bytes,
    Const,
    ConstructError,
    Container,
    Int8ub,
    Int16ul,
    Int32ub,
    Rebuild,
    Struct,
    Subconstruct,
    Terminated,
    this,
)
from construct import Check as Require
from construct.core import stream_read, stream_seek, stream_tell, stream_write

from ._checks import checksum_mismatch
from ._checksum import option_checksum
from .errors import CalipsoChecksumError, CalipsoDecodeError
from .model import MIN_DATA_LENGTH, OPTION_TYPE, CalipsoOption

#: Byte offset of each field from the option type byte, for error messages.
FIELD_OFFSETS = {
    "type": 0,
    "length": 1,
    "doi": 2,
    "words": 6,
    "level": 7,
    "checksum": 8,
    "bitmap": 10,
}


class OptionChecksum(Subconstruct):  # type: ignore[misc]
    """Computes the option's CRC-16/X-25 on build and verifies it on parse.

    Building: the wrapped option is built with a zero checksum, the CRC of those bytes is
    written into offsets 8 and 9 (low byte first) unless ``checksum`` is given. Parsing: the
    bytes the option spans are read again with offsets 8 and 9 zeroed, and the result's
    ``checksum_ok`` says whether the received value matches.
    """

    def _parse(self, stream: Any, context: Any, path: str) -> Any:
        start = stream_tell(stream, path)
        obj = self.subcon._parsereport(stream, context, path)
        end = stream_tell(stream, path)
        stream_seek(stream, start, 0, path)
        raw = stream_read(stream, end - start, path)
        obj.checksum_ok = option_checksum(raw) == obj.checksum
        return obj

    def _build(self, obj: Any, stream: Any, context: Any, path: str) -> Any:
        given = obj.get("checksum")
        raw = bytearray(self.subcon.build(dict(obj, checksum=0), **context))
        checksum = option_checksum(bytes(raw)) if given is None else given
        raw[8:10] = checksum.to_bytes(2, "little")
        stream_write(stream, bytes(raw), len(raw), path)
        return obj


#: One CALIPSO option, type byte first (calipso.md §1).
OPTION = OptionChecksum(
    Struct(
        "type" / Const(OPTION_TYPE, Int8ub),
        # Opt Data Len: the bytes after this field.
        "length" / Rebuild(Int8ub, lambda ctx: MIN_DATA_LENGTH + len(ctx.bitmap) + len(ctx.extra)),
        Require(this.length >= MIN_DATA_LENGTH),
        # Domain of Interpretation, big-endian; 0 is reserved.
        "doi" / Int32ub,
        # Compartment Length: the bitmap's length in 32-bit words.
        "words" / Rebuild(Int8ub, lambda ctx: len(ctx.bitmap) // 4),
        Require(this.words * 4 + MIN_DATA_LENGTH <= this.length),
        # Sensitivity Level.
        "level" / Int8ub,
        # CRC-16/X-25 of the option with these two bytes as zero, low byte first.
        "checksum" / Int16ul,
        # Compartment Bitmap: category N is bit 0x80 >> N % 8 of byte N // 8.
        "bitmap" / Bytes(this.words * 4),
        # Data beyond the bitmap: tolerated by Linux, covered only by the checksum.
        "extra" / Bytes(this.length - MIN_DATA_LENGTH - this.words * 4),
    )
)

_WHOLE = Struct("option" / OPTION, Terminated)


def parse(data: bytes, *, strict: bool = False) -> CalipsoOption:
    """Decode one option through the schema; same contract as :func:`calipso.decode`."""
    try:
        parsed = _WHOLE.parse(bytes(data)).option
    except ConstructError as error:
        raise CalipsoDecodeError(
            "not a well-formed CALIPSO option: " + str(error).replace("\n", ": "),
            _error_offset(error, data),
        ) from None
    received = parsed.checksum
    if parsed.checksum_ok:
        bad = None
    elif strict:
        expected = option_checksum(bytes(data))
        raise CalipsoChecksumError(
            checksum_mismatch(received, expected), received=received, expected=expected
        )
    else:
        bad = received
    return CalipsoOption(parsed.doi, parsed.level, parsed.bitmap, parsed.extra, bad)


def build(option: CalipsoOption) -> bytes:
    """Encode an option through the schema; same contract as :func:`calipso.encode`."""
    return bytes(OPTION.build(_fields(option)))


def _fields(option: CalipsoOption) -> Container:
    return Container(
        doi=option.doi,
        level=option.level,
        bitmap=option.bitmap,
        extra=option.extra,
        checksum=option.bad_checksum,
    )


def _error_offset(error: ConstructError, data: bytes) -> int:
    path = str(getattr(error, "path", "") or "")
    if "Terminated" in type(error).__name__ or "expected end of stream" in str(error):
        return data[1] + 2 if len(data) > 1 else len(data)
    if "extra" in path:
        return 10 + 4 * data[6]
    for name, offset in FIELD_OFFSETS.items():
        if f"-> {name}" in path:
            return offset
    if "Check" in type(error).__name__:
        # The first Require guards the length byte, the second the compartment length.
        return 1 if len(data) > 1 and data[1] < MIN_DATA_LENGTH else 6
    return 0
