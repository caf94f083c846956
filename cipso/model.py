"""The decoded CIPSO option: one small frozen class per tag type.

Each class keeps exactly what is on the wire, so that an option decodes and re-encodes byte
for byte (the alignment octet, a bitmap's trailing zero bytes, an enumerated list in the order
given, ranges as given including an omitted last low), and offers the meaning beside it: the
wire sensitivity ``level``, the ``categories`` as an :class:`mls.CategorySet` and both
together as an :class:`mls.Level` (``mls_level``). Numbers here are wire numbers; a TRANS DOI
maps them to host numbers (:mod:`cipso.doi`).

Layout (cipso.md §1-2)::

    option   86 | L | DOI (4, big-endian) | tags ...          L = 6 + tag lengths <= 40
    tag 1/6  type | len | alignment (0) | level | bitmap (0..30 bytes, MSB = category 0)
    tag 2    2 | len | alignment | level | u16 categories (0..15, ascending)
    tag 5    5 | len | alignment | level | u16 high, u16 low, ... (descending; the last low
             may be left out when it is 0)
    tag 7    7 | len | free-form data
    tag 128  128 | 6 | LSM secid (u32, host byte order)
"""

from __future__ import annotations

import struct
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, fields
from enum import IntEnum
from types import MappingProxyType
from typing import TYPE_CHECKING, ClassVar, Literal, TypeAlias

from mls import CategorySet, Level

from . import _codec  # a module: the codec imports this one's names
from .errors import CipsoDecodeError, CipsoEncodeError

if TYPE_CHECKING:
    from typing_extensions import Self

#: IPv4 option type of CIPSO: copied on fragmentation, class 0, number 6 (IPOPT_CIPSO).
OPTION_TYPE = 0x86
#: Option type, option length and the 4-byte DOI (CIPSO_V4_HDR_LEN).
HEADER_LENGTH = 6
#: The IPv4 options area is at most 40 bytes (60-byte header minus 20): CIPSO_V4_OPT_LEN_MAX.
MAX_OPTION_LENGTH = 40
#: What is left for tags: 40 - 6.
MAX_TAG_LENGTH = MAX_OPTION_LENGTH - HEADER_LENGTH
#: Type, length, alignment octet and level of tags 1, 2, 5 (and 6).
TAG_BASE_LENGTH = 4
#: Tag 128 is always 6 bytes (CIPSO_V4_TAG_LOC_BLEN).
LOCAL_TAG_LENGTH = 6
#: Room for category data after a 4-byte tag base: bitmap bytes (categories 0..239).
MAX_BITMAP_LENGTH = MAX_TAG_LENGTH - TAG_BASE_LENGTH
#: Largest wire sensitivity (CIPSO_V4_MAX_REM_LVLS).
MAX_LEVEL = 255
#: Largest number a 16-bit category field can hold (the draft calls 65535 invalid; the kernel's
#: validator does not check it).
MAX_WIRE_CATEGORY = 0xFFFF
#: Largest category the kernel maps (CIPSO_V4_MAX_REM_CATS).
MAX_REMOTE_CATEGORY = 65534
#: At most 15 enumerated categories fit in 30 bytes.
MAX_ENUMERATED = MAX_BITMAP_LENGTH // 2
#: At most 8 ranges fit in 30 bytes, the last one with its zero low left out
#: (CIPSO_V4_TAG_RNG_CAT_MAX).
MAX_RANGES = 8
#: So a tag 5 carries at most 15 16-bit bounds: 7 (high, low) pairs and a last high.
MAX_RANGE_BOUNDS = 2 * MAX_RANGES - 1
#: U16_STRUCTS[n] packs and unpacks n big-endian 16-bit numbers (n <= 15 fit in a tag).
U16_STRUCTS = tuple(struct.Struct(f">{n}H") for n in range(MAX_BITMAP_LENGTH // 2 + 1))
#: The optimised tag-1 format's fixed bitmap length (draft §3.4.2.6, sysctl cipso_rbm_optfmt).
OPTIMIZED_BITMAP_LENGTH = 10


class TagType(IntEnum):
    """CIPSO tag types (include/net/cipso_ipv4.h, draft-ietf-cipso-ipsecurity-01, FIPS-188)."""

    RESTRICTED_BITMAP = 1  #: level + category bitmap, categories 0..239 (CIPSO_V4_TAG_RBITMAP)
    ENUMERATED = 2  #: level + up to 15 u16 categories, ascending (CIPSO_V4_TAG_ENUM)
    RANGED = 5  #: level + up to 8 u16 (high, low) ranges, descending (CIPSO_V4_TAG_RANGE)
    PERMISSIVE_BITMAP = 6  #: FIPS-188 permissive bitmap; defined by Linux, never accepted
    FREE_FORM = 7  #: FIPS-188 free-form data; defined by Linux, never accepted
    LOCAL = 128  #: Linux-private: the sender's LSM secid, loopback only (CIPSO_V4_TAG_LOCAL)


class MapType(IntEnum):
    """How a DOI maps host labels to wire labels (CIPSO_V4_MAP_*)."""

    TRANS = 1  #: translate levels and categories through tables (netlabelctl "trans"/"std")
    PASS = 2  #: host numbers go on the wire unchanged (netlabelctl "pass")
    LOCAL = 3  #: loopback only, tag 128 carries the secid (netlabelctl "local")


def _check_int(value: object, name: str, maximum: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= maximum:
        raise CipsoEncodeError(f"{name} must be an int in 0..{maximum}, not {value!r}")


def _freeze_tuple(owner: object, name: str) -> None:
    # Accept any iterable from callers, store a tuple (frozen and hashable).
    value = getattr(owner, name)
    if not isinstance(value, tuple):
        object.__setattr__(owner, name, tuple(value))


def _check_bytes(owner: object, name: str, maximum: int) -> None:
    value = getattr(owner, name)
    if not isinstance(value, bytes):
        if not isinstance(value, (bytearray, memoryview)):
            raise CipsoEncodeError(f"{name} must be bytes, not {type(value).__name__}")
        value = bytes(value)
        object.__setattr__(owner, name, value)
    if len(value) > maximum:
        raise CipsoEncodeError(f"{name} is {len(value)} bytes, at most {maximum} fit in a tag")


def _level_text(tag: _BitmapTag | EnumeratedTag | RangedTag, detail: str) -> str:
    # The one line format of the tags that carry a level (python -m cipso shows it).
    extra = f", alignment {tag.alignment}" if tag.alignment else ""
    return f"{tag.name}, length {tag.length}, level {tag.level}, {detail}{extra} -> {tag.mls_level}"


def ranged_bits(bounds: tuple[int, ...]) -> int:
    """The category bit integer of tag 5's ``bounds``: (high, low) pairs in wire order, the
    last low left out meaning 0; a pair with low > high adds none, as in the kernel's
    netlbl_catmap_setrng."""
    bits = 0
    highs = bounds[0::2]
    lows = bounds[1::2]
    if len(highs) > len(lows):
        lows = (*lows, 0)
    for high, low in zip(highs, lows, strict=True):
        if low <= high:
            bits |= ((2 << (high - low)) - 1) << low
    return bits


def _u16_data(tag_type: int, data: bytes) -> tuple[int, int, tuple[int, ...]]:
    # Alignment octet, level and the 16-bit numbers of tags 2 and 5; offsets count from the
    # tag's type byte.
    if len(data) < TAG_BASE_LENGTH - 2:
        raise CipsoDecodeError(
            f"tag {tag_type} needs at least 4 bytes, its length is {len(data) + 2}", 1
        )
    if len(data) & 1:
        raise CipsoDecodeError(
            f"tag {tag_type} data is {len(data) - 2} bytes, not a whole number of u16", 1
        )
    return data[0], data[1], U16_STRUCTS[(len(data) - 2) >> 1].unpack_from(data, 2)


class _TagWire:
    # What every tag class shares: the type and length bytes around its data. A class
    # describes its data with _data (encode) and _from_data (decode, the data already cut to
    # the length byte); to_bytes and from_bytes frame it. Decoded values are valid by their
    # size (a tag fits the 34 bytes after the option header), so _from_data builds through
    # _trusted, without __post_init__'s checks.

    __slots__ = ()

    if TYPE_CHECKING:

        @property
        def tag_type(self) -> int: ...

        @property
        def length(self) -> int: ...

    def _data(self) -> bytes:
        raise NotImplementedError

    @classmethod
    def _from_data(cls, tag_type: int, data: bytes) -> Self:
        raise NotImplementedError

    def to_bytes(self) -> bytes:
        """The tag's wire bytes: type, length, data."""
        return bytes((self.tag_type, self.length)) + self._data()

    @classmethod
    def _trusted(cls, *values: object) -> Self:
        # The instance with these field values (in field order), which come from checked bytes.
        setters = _FIELD_SETTERS.get(cls)
        if setters is None:
            # The fields' slot descriptors (tags 1 and 6 inherit theirs).
            names = [field.name for field in fields(cls)]  # type: ignore[arg-type]
            setters = _FIELD_SETTERS[cls] = tuple(getattr(cls, name).__set__ for name in names)
        tag = object.__new__(cls)
        for setter, value in zip(setters, values):  # noqa: B905 (as many as the fields)
            setter(tag, value)
        return tag

    @classmethod
    def from_bytes(cls, data: bytes | bytearray | memoryview) -> Self:
        """Decode exactly one tag of this class, type byte first. Malformed bytes raise
        :class:`cipso.CipsoDecodeError` with the offset of the byte at fault in ``data``."""
        data = bytes(data)
        if len(data) < 2:
            raise CipsoDecodeError("a tag is at least its type and length bytes", len(data))
        if data[1] != len(data):
            raise CipsoDecodeError(f"tag length {data[1]} is not the {len(data)} bytes given", 1)
        if len(data) > MAX_TAG_LENGTH:
            raise CipsoDecodeError(
                f"tag length {len(data)} exceeds the {MAX_TAG_LENGTH} bytes an option has for tags",
                1,
            )
        if tag_class(data[0]) is not cls:
            raise CipsoDecodeError(f"tag type {data[0]} is not a {cls.__name__}", 0)
        return cls._from_data(data[0], data[2:])


#: Each tag class's field setters in field order, for _TagWire._trusted.
_FIELD_SETTERS: dict[type, tuple[Callable[[object, object], None], ...]] = {}
#: Type, length, alignment octet and level: the tag base of tags 1, 2, 5 and 6.
_TAG_BASE = struct.Struct(">BBBB")


@dataclass(frozen=True, slots=True)
class _BitmapTag(_TagWire):
    # The layout tags 1 and 6 share: a level and a category bitmap after the tag base.

    name: ClassVar[str]

    level: int
    bitmap: bytes = b""
    alignment: int = 0

    def __post_init__(self) -> None:
        _check_int(self.level, "level", MAX_LEVEL)
        _check_int(self.alignment, "alignment", 0xFF)
        _check_bytes(self, "bitmap", MAX_BITMAP_LENGTH)

    @property
    def categories(self) -> CategorySet:
        """The wire categories whose bits are set."""
        return CategorySet.from_bitmap(self.bitmap)

    @property
    def mls_level(self) -> Level:
        """Wire level and categories as an :class:`mls.Level`."""
        return Level(self.level, self.categories)

    @property
    def length(self) -> int:
        """The tag length byte: 4 + bitmap length."""
        return TAG_BASE_LENGTH + len(self.bitmap)

    def _data(self) -> bytes:
        return bytes((self.alignment, self.level)) + self.bitmap

    def to_bytes(self) -> bytes:
        """The tag's wire bytes: type, length, data."""
        bitmap = self.bitmap
        length = TAG_BASE_LENGTH + len(bitmap)
        return _TAG_BASE.pack(self.tag_type, length, self.alignment, self.level) + bitmap

    @classmethod
    def _from_data(cls, tag_type: int, data: bytes) -> Self:
        if len(data) < TAG_BASE_LENGTH - 2:
            raise CipsoDecodeError(
                f"tag {tag_type} needs at least 4 bytes, its length is {len(data) + 2}", 1
            )
        return cls._trusted(data[1], data[2:], data[0])

    def __str__(self) -> str:
        return _level_text(self, f"bitmap {self.bitmap.hex() or '(none)'}")


@dataclass(frozen=True, slots=True)
class RestrictedBitmapTag(_BitmapTag):
    """Tag 1: a sensitivity level and a category bitmap (category N is bit ``0x80 >> N % 8``
    of byte ``N // 8``).

    ``bitmap`` is kept exactly as sent, trailing zero bytes included (the kernel sends the
    minimal bitmap, or 10 bytes in the optimised format). Build one from categories with
    :meth:`from_categories`.
    """

    tag_type: ClassVar[TagType] = TagType.RESTRICTED_BITMAP
    name: ClassVar[str] = "restricted bitmap"

    @classmethod
    def from_categories(
        cls, level: int, categories: CategorySet | Iterable[int], *, min_length: int = 0
    ) -> Self:
        """The tag for wire ``level`` and ``categories`` with the minimal bitmap, or at least
        ``min_length`` bytes (10 gives the optimised format)."""
        if not isinstance(categories, CategorySet):
            categories = CategorySet(categories)
        if categories.max is not None and categories.max >= MAX_BITMAP_LENGTH * 8:
            raise CipsoEncodeError(
                f"category {categories.max} does not fit a tag-1 bitmap (categories 0..239)"
            )
        return cls(level, categories.to_bitmap(min_length=min_length))


@dataclass(frozen=True, slots=True)
class PermissiveBitmapTag(_BitmapTag):
    """Tag 6 (FIPS-188 permissive bitmap): laid out like tag 1. Linux defines the number but
    refuses it in every DOI, so the kernel rejects any option carrying it."""

    tag_type: ClassVar[TagType] = TagType.PERMISSIVE_BITMAP
    name: ClassVar[str] = "permissive bitmap"


class _U16Tag(_TagWire):
    # The layout tags 2 and 5 share: a level, then 16-bit numbers (categories or range bounds)
    # after the tag base. A subclass names its numbers' field with _numbers.

    __slots__ = ()

    #: The field holding the numbers, what they are called (all, one) and how many fit.
    _numbers_field: ClassVar[str]
    _numbers_name: ClassVar[str]
    _number_name: ClassVar[str]
    _max_numbers: ClassVar[int]

    if TYPE_CHECKING:
        level: int
        alignment: int

        @property
        def _numbers(self) -> tuple[int, ...]: ...

        @property
        def categories(self) -> CategorySet: ...

    def __post_init__(self) -> None:
        _check_int(self.level, "level", MAX_LEVEL)
        _check_int(self.alignment, "alignment", 0xFF)
        field = self._numbers_field
        numbers = getattr(self, field)
        if type(numbers) is not tuple:
            numbers = tuple(numbers)
            object.__setattr__(self, field, numbers)
        if len(numbers) > self._max_numbers:
            raise CipsoEncodeError(
                f"{len(numbers)} {self._numbers_name} take {2 * len(numbers)} bytes, at most "
                f"{2 * self._max_numbers} fit"
            )
        for number in numbers:
            if type(number) is not int or not 0 <= number <= MAX_WIRE_CATEGORY:
                _check_int(number, self._number_name, MAX_WIRE_CATEGORY)

    @property
    def mls_level(self) -> Level:
        """Wire level and categories as an :class:`mls.Level`."""
        return Level(self.level, self.categories)

    @property
    def length(self) -> int:
        """The tag length byte: 4 + 2 per number."""
        return TAG_BASE_LENGTH + 2 * len(self._numbers)

    def _data(self) -> bytes:
        numbers = self._numbers
        return bytes((self.alignment, self.level)) + U16_STRUCTS[len(numbers)].pack(*numbers)

    def to_bytes(self) -> bytes:
        """The tag's wire bytes: type, length, data."""
        numbers = self._numbers
        head = _TAG_BASE.pack(
            self.tag_type, TAG_BASE_LENGTH + 2 * len(numbers), self.alignment, self.level
        )
        return head + U16_STRUCTS[len(numbers)].pack(*numbers)

    @classmethod
    def _from_data(cls, tag_type: int, data: bytes) -> Self:
        alignment, level, numbers = _u16_data(tag_type, data)
        return cls._trusted(level, numbers, alignment)


@dataclass(frozen=True, slots=True)
class EnumeratedTag(_U16Tag):
    """Tag 2: a sensitivity level and a list of 16-bit category numbers.

    ``category_list`` is kept as sent; the kernel sends it strictly ascending and rejects
    anything else (cipso.md §4, check 7c). At most 15 entries fit.
    """

    level: int
    category_list: tuple[int, ...] = ()
    alignment: int = 0

    tag_type: ClassVar[TagType] = TagType.ENUMERATED
    name: ClassVar[str] = "enumerated"
    _numbers_field: ClassVar[str] = "category_list"
    _numbers_name: ClassVar[str] = "enumerated categories"
    _number_name: ClassVar[str] = "an enumerated category"
    _max_numbers: ClassVar[int] = MAX_ENUMERATED

    @classmethod
    def from_categories(cls, level: int, categories: CategorySet | Iterable[int]) -> Self:
        """The tag for wire ``level`` and ``categories``, ascending as the kernel sends them."""
        if not isinstance(categories, CategorySet):
            categories = CategorySet(categories)
        return cls(level, tuple(categories))

    @property
    def categories(self) -> CategorySet:
        """The set of the listed categories."""
        bits = 0
        for category in self.category_list:
            bits |= 1 << category
        return CategorySet.from_int(bits)

    @property
    def _numbers(self) -> tuple[int, ...]:
        return self.category_list

    def __str__(self) -> str:
        listed = ",".join(map(str, self.category_list)) or "(none)"
        return _level_text(self, f"categories {listed}")


@dataclass(frozen=True, slots=True)
class RangedTag(_U16Tag):
    """Tag 5: a sensitivity level and inclusive category ranges.

    ``bounds`` holds the 16-bit numbers exactly as on the wire: high, low, high, low, ... with
    the highest range first (as the kernel sends). An odd count means the last range's low is
    left out, which the draft allows when it is 0. :attr:`ranges` pairs them up. At most 15
    numbers fit (8 ranges, the last without its low). Build one with :meth:`from_categories`
    or :meth:`from_ranges`.
    """

    level: int
    bounds: tuple[int, ...] = ()
    alignment: int = 0

    tag_type: ClassVar[TagType] = TagType.RANGED
    name: ClassVar[str] = "ranged"
    _numbers_field: ClassVar[str] = "bounds"
    _numbers_name: ClassVar[str] = "range bounds"
    _number_name: ClassVar[str] = "a range bound"
    _max_numbers: ClassVar[int] = MAX_RANGE_BOUNDS

    @classmethod
    def from_ranges(cls, level: int, ranges: Iterable[tuple[int, int | None]]) -> Self:
        """The tag with ``(high, low)`` pairs in the order given; the last low may be None
        (left out of the data)."""
        bounds: list[int] = []
        pairs = list(ranges)
        for index, (high, low) in enumerate(pairs):
            bounds.append(high)
            if low is not None:
                bounds.append(low)
            elif index != len(pairs) - 1:
                raise CipsoEncodeError("only the last range may leave out its low category")
        return cls(level, tuple(bounds))

    @classmethod
    def from_categories(cls, level: int, categories: CategorySet | Iterable[int]) -> Self:
        """The tag the kernel sends for wire ``level`` and ``categories``: runs highest first,
        the lowest run's low left out when it is category 0."""
        if not isinstance(categories, CategorySet):
            categories = CategorySet(categories)
        return cls.from_runs(level, list(categories.runs()))

    @classmethod
    def from_runs(cls, level: int, runs: list[tuple[int, int]]) -> Self:
        """:meth:`from_categories` given the categories' runs, ``(low, high)`` ascending, as
        :meth:`mls.CategorySet.runs` gives them."""
        bounds: list[int] = []
        for low, high in reversed(runs):
            bounds.append(high)
            if low:
                bounds.append(low)
        return cls(level, tuple(bounds))

    @property
    def ranges(self) -> tuple[tuple[int, int | None], ...]:
        """``(high, low)`` pairs in wire order; the last low is None when left out (it then
        means 0)."""
        bounds = self.bounds
        return tuple(
            (bounds[index], bounds[index + 1] if index + 1 < len(bounds) else None)
            for index in range(0, len(bounds), 2)
        )

    @property
    def categories(self) -> CategorySet:
        """Every category from low to high of each range (a pair with low > high adds none, as
        in the kernel's netlbl_catmap_setrng)."""
        return CategorySet.from_int(ranged_bits(self.bounds))

    @property
    def _numbers(self) -> tuple[int, ...]:
        return self.bounds

    def __str__(self) -> str:
        ranges = [f"{high}-{0 if low is None else low}" for high, low in self.ranges]
        return _level_text(self, "ranges high-low " + (",".join(ranges) or "(none)"))


@dataclass(frozen=True, slots=True)
class FreeFormTag(_TagWire):
    """Tag 7 (FIPS-188 free form): opaque data after the type and length bytes. Linux defines
    the number but refuses it in every DOI."""

    data: bytes = b""

    tag_type: ClassVar[TagType] = TagType.FREE_FORM
    name: ClassVar[str] = "free form"

    def __post_init__(self) -> None:
        _check_bytes(self, "data", MAX_TAG_LENGTH - 2)

    @property
    def length(self) -> int:
        """The tag length byte: 2 + data length."""
        return 2 + len(self.data)

    def _data(self) -> bytes:
        return self.data

    @classmethod
    def _from_data(cls, tag_type: int, data: bytes) -> Self:
        return cls._trusted(data)

    def __str__(self) -> str:
        return f"{self.name}, length {self.length}, data {self.data.hex() or '(none)'}"


@dataclass(frozen=True, slots=True)
class LocalTag(_TagWire):
    """Tag 128 (Linux-private): the sending LSM's secid, in the sender's **host** byte order.

    It carries no MLS level: the receiver hands the secid straight to its LSM, which is only
    meaningful on the same machine, so the kernel accepts it only on loopback. ``byteorder``
    records how the four bytes are read (native order by default) so that they re-encode
    unchanged.
    """

    secid: int
    byteorder: Literal["little", "big"] = sys.byteorder

    tag_type: ClassVar[TagType] = TagType.LOCAL
    name: ClassVar[str] = "local"

    def __post_init__(self) -> None:
        _check_int(self.secid, "secid", 0xFFFFFFFF)
        if self.byteorder not in ("little", "big"):
            raise CipsoEncodeError(f"byteorder must be 'little' or 'big', not {self.byteorder!r}")

    @property
    def length(self) -> int:
        """The tag length byte: always 6."""
        return LOCAL_TAG_LENGTH

    def _data(self) -> bytes:
        return self.secid.to_bytes(4, self.byteorder)

    @classmethod
    def _from_data(cls, tag_type: int, data: bytes) -> Self:
        if len(data) != LOCAL_TAG_LENGTH - 2:
            raise CipsoDecodeError(f"tag 128 is always 6 bytes, not {len(data) + 2}", 1)
        # The secid is in the sender's byte order; reading it natively re-encodes it unchanged.
        return cls._trusted(int.from_bytes(data, sys.byteorder), sys.byteorder)

    def __str__(self) -> str:
        return f"{self.name}, length {self.length}, secid {self.secid} (host byte order)"


@dataclass(frozen=True, slots=True)
class GenericTag(_TagWire):
    """A tag of a type this package has no class for (0, 3, 4, 8..127, 129..255), kept as raw
    bytes so that any well-formed option round-trips. The kernel rejects all of them."""

    tag_type: int
    data: bytes = b""

    name: ClassVar[str] = "unknown"

    def __post_init__(self) -> None:
        _check_int(self.tag_type, "tag_type", 0xFF)
        if self.tag_type in TAG_CLASS_BY_TYPE:
            raise CipsoEncodeError(
                f"tag type {self.tag_type} has its own class ({TagType(self.tag_type).name})"
            )
        _check_bytes(self, "data", MAX_TAG_LENGTH - 2)

    @property
    def length(self) -> int:
        """The tag length byte: 2 + data length."""
        return 2 + len(self.data)

    def _data(self) -> bytes:
        return self.data

    @classmethod
    def _from_data(cls, tag_type: int, data: bytes) -> Self:
        return cls._trusted(tag_type, data)

    def __str__(self) -> str:
        return f"type {self.tag_type}, length {self.length}, data {self.data.hex() or '(none)'}"


#: Any tag.
Tag: TypeAlias = (
    RestrictedBitmapTag
    | EnumeratedTag
    | RangedTag
    | PermissiveBitmapTag
    | FreeFormTag
    | LocalTag
    | GenericTag
)
#: The tags that carry an MLS level and categories.
MlsTag: TypeAlias = RestrictedBitmapTag | EnumeratedTag | RangedTag | PermissiveBitmapTag

MLS_TAG_CLASSES: tuple[type[MlsTag], ...] = (
    RestrictedBitmapTag,
    EnumeratedTag,
    RangedTag,
    PermissiveBitmapTag,
)

# The classes of a type of their own (GenericTag's type is a field).
_OWN_CLASSES: tuple[type[MlsTag | FreeFormTag | LocalTag], ...] = (
    RestrictedBitmapTag,
    EnumeratedTag,
    RangedTag,
    PermissiveBitmapTag,
    FreeFormTag,
    LocalTag,
)
#: Tag type -> the class that decodes, encodes and shows it: the one table the codec, the schema,
#: the scapy layers and the command line dispatch through. A type not in it is a
#: :class:`GenericTag` (:func:`tag_class`).
TAG_CLASS_BY_TYPE: Mapping[int, type[Tag]] = MappingProxyType(
    {int(cls.tag_type): cls for cls in _OWN_CLASSES}
)
#: Every tag class, the generic fallback last.
TAG_CLASSES: tuple[type[Tag], ...] = (*_OWN_CLASSES, GenericTag)

#: Tag types that have their own class; :class:`GenericTag` takes every other number.
KNOWN_TAG_TYPES = frozenset(TAG_CLASS_BY_TYPE)


def tag_class(tag_type: int) -> type[Tag]:
    """The class for tags of type ``tag_type``: its own, or :class:`GenericTag`."""
    return TAG_CLASS_BY_TYPE.get(tag_type, GenericTag)


@dataclass(frozen=True, slots=True)
class CipsoOption:
    """A CIPSO option: a DOI and its tags (Linux sends exactly one tag).

    The whole option, 6 header bytes plus the tags, must fit the 40-byte IPv4 options area.
    """

    doi: int
    tags: tuple[Tag, ...] = ()

    def __post_init__(self) -> None:
        _check_int(self.doi, "doi", 0xFFFFFFFF)
        _freeze_tuple(self, "tags")
        for tag in self.tags:
            if not isinstance(tag, TAG_CLASSES):
                raise CipsoEncodeError(f"{tag!r} is not a CIPSO tag")
        if self.length > MAX_OPTION_LENGTH:
            raise CipsoEncodeError(
                f"the option would be {self.length} bytes, at most {MAX_OPTION_LENGTH} fit"
            )

    @property
    def length(self) -> int:
        """The option length byte: 6 + the tags' lengths."""
        return HEADER_LENGTH + sum(tag.length for tag in self.tags)

    @property
    def size(self) -> int:
        """Bytes on the wire (the same as the length byte, which counts them all)."""
        return self.length

    @property
    def tag(self) -> Tag | None:
        """The first tag (the only one the kernel reads), or None."""
        return self.tags[0] if self.tags else None

    @property
    def mls_level(self) -> Level | None:
        """The wire level of the first tag, or None when it carries no level (tag 128, 7,
        unknown tags, no tag). Map it through a TRANS DOI with
        :meth:`cipso.CipsoDoi.decode_label`."""
        tag = self.tags[0] if self.tags else None
        if isinstance(tag, MLS_TAG_CLASSES):
            return tag.mls_level
        return None

    def to_bytes(self) -> bytes:
        """The option's wire bytes (same as :func:`cipso.encode`)."""
        return _codec.encode(self)

    @classmethod
    def from_bytes(cls, data: bytes) -> CipsoOption:
        """Decode one option (same as :func:`cipso.decode`)."""
        return _codec.decode(data)
