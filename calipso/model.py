"""The CALIPSO option as a value: a frozen dataclass that re-encodes byte for byte.

Layout (RFC 5570 §5.1; offsets from the option type byte; calipso.md §1)::

     0        1        2        3        4        5        6        7
    +--------+--------+--------+--------+--------+--------+--------+--------+
    | 0x07   |OptDtLen|  Domain of Interpretation (DOI), big-endian  |CmptLen |SensLvl |
    +--------+--------+--------+--------+--------+--------+--------+--------+
    |Checksum (CRC-16)| Compartment bitmap, CmptLen 32-bit words ...     | extra ...
    +--------+--------+--------+--------+--------+--------+--------+--------+
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass

from mls import EMPTY, CategorySet, Level

from . import _codec  # a module: the codec imports this one's names
from ._checksum import option_checksum
from .errors import CalipsoEncodeError

#: IPv6 option type of CALIPSO (IPV6_TLV_CALIPSO): action bits 00 (skip if unknown), not mutable.
OPTION_TYPE = 0x07
#: Option Data Length of an option without bitmap (DOI, cmpt length, level, checksum).
MIN_DATA_LENGTH = 8
#: Opt Data Len is one byte.
MAX_DATA_LENGTH = 255
#: The most 32-bit bitmap words that fit: 8 + 4 * 61 = 252 <= 255 (calipso.md §1).
MAX_WORDS = 61
#: The highest category a CALIPSO bitmap can carry: 61 words of 32 bits.
MAX_CATEGORY = MAX_WORDS * 32 - 1
#: Sensitivity levels are one byte on the wire.
MAX_SENSITIVITY = 255
#: The largest DOI (32 bits).
MAX_DOI = 0xFFFFFFFF


class MapType(enum.IntEnum):
    """How a DOI maps local labels to wire labels (include/net/calipso.h)."""

    UNKNOWN = 0  #: CALIPSO_MAP_UNKNOWN: reserved, the kernel refuses a DOI of this type
    PASS = 2  #: CALIPSO_MAP_PASS: level and categories go on the wire unchanged (Linux's only)


class _CategoryCache:
    """Holds the category set derived from the bitmap, outside the dataclass fields (so it
    takes no part in equality, repr, ``asdict`` or pickling, and the decoder need not set it).
    """

    __slots__ = ("_categories",)
    _categories: CategorySet


@dataclass(frozen=True, slots=True)
class CalipsoOption(_CategoryCache):
    """One CALIPSO option, everything needed to re-encode it byte for byte.

    ``level`` is the sensitivity level byte on the wire (0..255), ``bitmap`` the compartment
    bitmap (whole 32-bit words; category N is bit ``0x80 >> N % 8`` of byte ``N // 8``, trailing
    zero words are kept). ``extra`` holds data bytes beyond the bitmap, which the kernel
    tolerates and covers only by the checksum. ``bad_checksum`` is None when the checksum is
    right (it is computed when encoding) or the wrong value kept as received; a value that
    happens to be right is stored as None, so that equal options encode equally.

    Build one from a category set with :meth:`from_categories`; read it back with
    :attr:`categories` or :attr:`mls_level`.
    """

    doi: int
    level: int
    bitmap: bytes = b""
    extra: bytes = b""
    bad_checksum: int | None = None

    def __post_init__(self) -> None:
        doi, level, bitmap, extra = self.doi, self.level, self.bitmap, self.extra
        if not _is_int(doi) or not 0 <= doi <= MAX_DOI:
            raise CalipsoEncodeError(f"a DOI is a 32-bit unsigned int, not {doi!r}", 2)
        if not _is_int(level) or not 0 <= level <= MAX_SENSITIVITY:
            raise CalipsoEncodeError(f"a CALIPSO sensitivity level is 0..255, not {level!r}", 7)
        if not isinstance(bitmap, (bytes, bytearray, memoryview)):
            raise CalipsoEncodeError(f"bitmap must be bytes, not {type(bitmap).__name__}", 10)
        if not isinstance(extra, (bytes, bytearray, memoryview)):
            raise CalipsoEncodeError(f"extra must be bytes, not {type(extra).__name__}", 10)
        if type(bitmap) is not bytes:
            _set_bitmap(self, bytes(bitmap))
            bitmap = self.bitmap
        if type(extra) is not bytes:
            _set_extra(self, bytes(extra))
            extra = self.extra
        if len(bitmap) % 4:
            raise CalipsoEncodeError(
                f"the compartment bitmap is whole 32-bit words, not {len(bitmap)} bytes", 10
            )
        data_length = MIN_DATA_LENGTH + len(bitmap) + len(extra)
        if data_length > MAX_DATA_LENGTH:
            raise CalipsoEncodeError(
                f"option data of {data_length} bytes does not fit the one-byte length field "
                f"(at most {MAX_DATA_LENGTH}; a bitmap holds at most {MAX_WORDS} words)",
                1,
            )
        bad = self.bad_checksum
        if bad is not None:
            if not _is_int(bad) or not 0 <= bad <= 0xFFFF:
                raise CalipsoEncodeError(f"a checksum is a 16-bit unsigned int, not {bad!r}", 8)
            if bad == self.correct_checksum:
                _set_bad_checksum(self, None)

    @classmethod
    def from_categories(
        cls,
        doi: int,
        level: int,
        categories: CategorySet | Iterable[int] = EMPTY,
        *,
        words: int | None = None,
        extra: bytes = b"",
        bad_checksum: int | None = None,
    ) -> CalipsoOption:
        """An option carrying ``categories``, its bitmap trimmed to the last word with a set bit
        (as the kernel writes it) or ``words`` words long."""
        if not isinstance(categories, CategorySet):
            categories = CategorySet(categories)
        if categories.bits and categories.bits.bit_length() > MAX_CATEGORY + 1:
            raise CalipsoEncodeError(
                f"category c{categories.max} is above c{MAX_CATEGORY}, the last a CALIPSO "
                "bitmap can carry",
                10,
            )
        bitmap = categories.to_bitmap(align=4)
        if words is not None:
            if not _is_int(words) or not 0 <= words <= MAX_WORDS:
                raise CalipsoEncodeError(f"a bitmap has 0..{MAX_WORDS} words, not {words!r}", 6)
            if len(bitmap) > 4 * words:
                raise CalipsoEncodeError(
                    f"categories up to c{categories.max} need {len(bitmap) // 4} bitmap words, "
                    f"more than {words}",
                    6,
                )
            bitmap += bytes(4 * words - len(bitmap))
        return cls(doi, level, bitmap, extra, bad_checksum)

    # -- derived values -------------------------------------------------------------------

    @property
    def categories(self) -> CategorySet:
        """The categories whose bits are set in the bitmap."""
        categories: CategorySet | None = getattr(self, "_categories", None)
        if categories is None:  # first use
            categories = CategorySet.from_bitmap(self.bitmap)
            _set_categories(self, categories)
        return categories

    @property
    def mls_level(self) -> Level:
        """Wire level and categories as an :class:`mls.Level` (PASS mapping: wire values
        unchanged)."""
        return Level(self.level, self.categories)

    @property
    def words(self) -> int:
        """The compartment length byte: bitmap length in 32-bit words."""
        return len(self.bitmap) >> 2

    @property
    def data_length(self) -> int:
        """The Opt Data Len byte: bytes after the two-byte TLV header."""
        return MIN_DATA_LENGTH + len(self.bitmap) + len(self.extra)

    @property
    def size(self) -> int:
        """Bytes on the wire, type and length bytes included."""
        return 2 + MIN_DATA_LENGTH + len(self.bitmap) + len(self.extra)

    @property
    def checksum(self) -> int:
        """The checksum on the wire as an integer (low byte first on the wire)."""
        bad = self.bad_checksum
        return self.correct_checksum if bad is None else bad

    @property
    def correct_checksum(self) -> int:
        """The CRC-16/X-25 the contents call for."""
        head = bytes((OPTION_TYPE, self.data_length)) + self.doi.to_bytes(4, "big")
        head += bytes((len(self.bitmap) >> 2, self.level, 0, 0))
        return option_checksum(head + self.bitmap + self.extra)

    @property
    def checksum_ok(self) -> bool:
        """Whether the checksum matches the contents (the kernel drops the packet if not)."""
        return self.bad_checksum is None

    def to_bytes(self) -> bytes:
        """The option's wire bytes (same as :func:`calipso.encode`)."""
        return _codec.encode(self)

    @classmethod
    def from_bytes(cls, data: bytes) -> CalipsoOption:
        """Decode one option (same as :func:`calipso.decode`)."""
        return _codec.decode(data)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# Slot setters: __post_init__ normalises fields of a frozen instance, the decoder builds
# instances without running __init__ (its input has been checked already), and the category
# set is stored on first use.
_set_doi = CalipsoOption.__dict__["doi"].__set__
_set_level = CalipsoOption.__dict__["level"].__set__
_set_bitmap = CalipsoOption.__dict__["bitmap"].__set__
_set_extra = CalipsoOption.__dict__["extra"].__set__
_set_bad_checksum = CalipsoOption.__dict__["bad_checksum"].__set__
_set_categories = _CategoryCache.__dict__["_categories"].__set__
