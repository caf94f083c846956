"""Scapy layers for CIPSO: ``import cipso.scapy`` and ``IP(raw_bytes)`` dissects option 134.

Scapy picks the class of an IPv4 option by the option *number*, the low five bits of the
type byte, through ``IPOption.registered_ip_options`` (scapy/layers/inet.py, 2.5 to 2.8).
CIPSO is type 134: copied flag 1, class 0, number 6. Scapy ships no class for number 6 (its
``IPOption_Security`` is number 2, type 130, the RFC 1108 Basic Security Option, a different
option, left alone), so defining :class:`IPOption_CIPSO` registers it. Like every scapy
option class it then also dissects the unassigned types that share number 6 (6, 38, 70, ...);
the type byte is kept as sent, so those bytes round-trip unchanged too.

The layer shows what :class:`calipso.scapy.CALIPSO` shows for the same concepts: ``doi``,
``level`` and ``bitmap`` (in hex), ``label`` (MLS text of the level the kernel reads, the
first tag's), ``mls_level``, a ``truncated`` flag with the bytes in ``value`` when they end
before the fields do, and summaries such as ``CIPSO doi=16 s3:c0,c5``.

Every option dissects and rebuilds byte for byte, including the malformed ones a fuzzer or a
kernel test crafts: a tag whose length byte does not fit its type's format is dissected as a
:class:`CIPSOTag` (type, length, raw data), and an option shorter than its 6-byte header keeps
the bytes after its length byte in ``value``. ``length`` fields left at None are computed
when building; set them to craft bad packets::

    >>> import cipso.scapy
    >>> from cipso.scapy import IPOption_CIPSO, CIPSOTag_RestrictedBitmap
    >>> option = IPOption_CIPSO(doi=16, tags=[CIPSOTag_RestrictedBitmap(level=3, bitmap=b"\\x84")])
    >>> bytes(option).hex(" ")
    '86 0b 00 00 00 10 01 05 00 03 84'
    >>> option.label, option.summary()
    ('s3:c0,c5', 'CIPSO doi=16 s3:c0,c5')

``fuzz()`` keeps the type bytes (of the option and of each tag) and draws field values that
fit the 40-byte options area, so a fuzzed option always builds, as one tag of a random class.
"""

from __future__ import annotations

from mls._extras import needs_extra

with needs_extra("scapy", by=__name__):
    import scapy  # noqa: F401

import random
import sys
from typing import Any, ClassVar

from scapy.fields import (
    BitEnumField,
    BitField,
    ByteEnumField,
    ByteField,
    ConditionalField,
    Field,
    FieldListField,
    IntField,
    PacketListField,
    ShortField,
    XStrLenField,
)
from scapy.layers.inet import IPOption
from scapy.packet import Packet, fuzz
from scapy.volatile import RandField, VolatileValue

import mls.scapy
from mls import CategorySet, Level

from ._codec import decode
from .doi import CipsoDoi
from .errors import CipsoEncodeError
from .model import (
    HEADER_LENGTH,
    LOCAL_TAG_LENGTH,
    MAX_BITMAP_LENGTH,
    MAX_RANGE_BOUNDS,
    MAX_TAG_LENGTH,
    OPTION_TYPE,
    TAG_BASE_LENGTH,
    CipsoOption,
    EnumeratedTag,
    FreeFormTag,
    LocalTag,
    MlsTag,
    PermissiveBitmapTag,
    RangedTag,
    RestrictedBitmapTag,
    TagType,
)

__all__ = [
    "CIPSOTag",
    "CIPSOTag_Enumerated",
    "CIPSOTag_FreeForm",
    "CIPSOTag_Local",
    "CIPSOTag_PermissiveBitmap",
    "CIPSOTag_Ranged",
    "CIPSOTag_RestrictedBitmap",
    "IPOption_CIPSO",
]

#: Tag type names as scapy shows them.
TAG_TYPE_NAMES = {0: "reserved", **{int(kind): kind.name.lower() for kind in TagType}}


#: Set by dissection when the bytes end before the fields do (or, given to a tag class
#: directly, do not fit its layout).
_TRUNCATED = mls.scapy.TruncatedField("the bytes end before the fields")
_OPTION_NUMBER = OPTION_TYPE & 0x1F  # 6: what scapy's option registry is keyed by
#: What one tag may hold after its type and length bytes in a 40-byte options area.
_MAX_TAG_DATA = MAX_TAG_LENGTH - 2


# --------------------------------------------------------------------------------------------
# Fields


class _TypeBitField(mls.scapy.KeptUnderFuzz, BitField):
    pass


class _TypeBitEnumField(mls.scapy.KeptUnderFuzz, BitEnumField):
    pass


class _TagTypeField(mls.scapy.KeptUnderFuzz, ByteEnumField):
    pass


class _RandShorts(RandField[list[int]]):
    """Up to ``count`` random 16-bit numbers (a fuzzed category or bound list that fits)."""

    def __init__(self, count: int) -> None:
        self.count = count

    def _fix(self) -> list[int]:
        return [random.randrange(0x10000) for _ in range(random.randint(0, self.count))]


class _ShortListField(FieldListField):
    """A list of 16-bit numbers filling the rest of a tag."""

    def __init__(self, name: str) -> None:
        super().__init__(name, [], ShortField(name, 0), length_from=_category_data_length)

    def randval(self) -> _RandShorts:
        return _RandShorts(MAX_RANGE_BOUNDS)


class _RandTags(RandField[list[Packet]]):
    """One fuzzed tag of a random class (the kernel reads only the first)."""

    def _fix(self) -> list[Packet]:
        classes: list[type[CIPSOTag]] = [CIPSOTag, *CIPSOTag.registered_tags.values()]
        return [fuzz(random.choice(classes)())]


class _TagListField(PacketListField):
    def randval(self) -> Any:
        return _RandTags()


def _truncated(pkt: Packet) -> bool:
    return bool(pkt.getfieldval("truncated"))


def _whole(pkt: Packet) -> bool:
    return not pkt.getfieldval("truncated")


def _data_length(pkt: Packet, base: int) -> int:
    """Bytes of data after the first ``base`` bytes, from the length byte (0 when unset)."""
    length = pkt.length
    return 0 if length is None else max(0, length - base)


def _value_length(pkt: Packet) -> int:
    return _data_length(pkt, 2)


def _category_data_length(pkt: Packet) -> int:
    return _data_length(pkt, TAG_BASE_LENGTH)


def _fill_length(packet: Packet, p: bytes) -> bytes:
    """``p`` with its length byte computed, unless set or not there."""
    if packet.length is None and len(p) >= 2:
        if len(p) > 0xFF:
            raise CipsoEncodeError(
                f"{packet.name} of {len(p)} bytes does not fit its one-byte length field "
                "(at most 255)",
                1,
            )
        return p[:1] + bytes((len(p),)) + p[2:]
    return p


def _cut_off(packet: Packet, s: bytes, fits: bool) -> bytes:
    """pre_dissect for the option and the tags: marks ``packet`` truncated unless ``fits``."""
    if len(s) < 2 or not fits:
        packet.fields["truncated"] = True
    return s


def _framed(
    type_field: Field[Any, Any], fields: list[Field[Any, Any]], *, carries_level: bool
) -> list[Any]:
    """A tag's fields: its type field, length byte and ``fields``, or, when truncated, the
    bytes its length byte covers in ``value``; then, for a tag that ``carries_level``,
    ``mls``, the label it carries."""
    return [
        type_field,
        mls.scapy.LengthField("length", None),
        ConditionalField(_TRUNCATED, _truncated),
        *(ConditionalField(field, _whole) for field in fields),
        ConditionalField(XStrLenField("value", b"", length_from=_value_length), _truncated),
        *([mls.scapy.LabelField()] if carries_level else []),
    ]


# --------------------------------------------------------------------------------------------
# Tags


class CIPSOTag(mls.scapy.LabeledLayer, Packet):
    """A CIPSO tag: type, length (counting both bytes), raw data (in hex).

    Tags of types without a class of their own (0, 3, 4, 8..127, 129..255), and tags whose
    length does not fit their type's format, are dissected as this class so that their bytes
    round-trip exactly. Constructed from bytes, it picks the class for the type.
    """

    name = "CIPSO tag"
    fields_desc: ClassVar[list[Any]] = _framed(
        ByteEnumField("type", 0, TAG_TYPE_NAMES),
        [XStrLenField("data", b"", length_from=_value_length, max_length=_MAX_TAG_DATA)],
        carries_level=False,
    )
    registered_tags: ClassVar[dict[int, type[CIPSOTag]]] = {}

    @classmethod
    def dispatch_hook(cls, _pkt: bytes | None = None, *args: Any, **kargs: Any) -> type[Packet]:
        if _pkt and len(_pkt) >= 2:
            candidate = cls.registered_tags.get(_pkt[0])
            if candidate is not None and candidate.fits(_pkt[1], len(_pkt)):
                return candidate
        return cls

    @classmethod
    def fits(cls, length: int, available: int) -> bool:
        """Whether a tag of this class with length byte ``length`` can be dissected field by
        field from ``available`` bytes."""
        return length <= available

    def pre_dissect(self, s: bytes) -> bytes:
        return _cut_off(self, s, len(s) >= 2 and self.fits(s[1], len(s)))

    def extract_padding(self, s: bytes) -> tuple[bytes, bytes]:
        # What follows the tag is the next tag, not a payload.
        return b"", s

    def post_build(self, p: bytes, pay: bytes) -> bytes:
        return _fill_length(self, p) + pay

    def _describe(self) -> str:
        """The kind of tag and what it says (``restricted_bitmap tag s3:c0,c5``)."""
        kind = f"{TAG_TYPE_NAMES.get(self.type, self.type)} tag"
        if self.truncated:
            return f"{kind} (truncated)"
        label = self.label
        return kind if label is None else f"{kind} {label}"

    def mysummary(self) -> str:
        return f"CIPSO {self._describe()}"


def _level_tag_fields(tag_type: TagType, category_data: Field[Any, Any]) -> list[Any]:
    """The fields of a tag that carries a level: type, length, alignment octet, level, then
    ``category_data`` to the end of the tag."""
    return _framed(
        _TagTypeField("type", tag_type, TAG_TYPE_NAMES),
        [ByteField("alignment", 0), ByteField("level", 0), category_data],
        carries_level=True,
    )


class _LevelTag(CIPSOTag):
    """Tags 1, 2, 5 and 6 start alike: type, length, alignment octet, sensitivity level."""

    @classmethod
    def fits(cls, length: int, available: int) -> bool:
        return TAG_BASE_LENGTH <= length <= available

    def _categories(self) -> CategorySet:
        raise NotImplementedError

    @property
    def mls_level(self) -> Level | None:
        """Wire level and categories as an :class:`mls.Level` (None when truncated)."""
        if self.truncated:
            return None
        return Level(self.level, self._categories())


class CIPSOTag_RestrictedBitmap(_LevelTag):
    """Tag 1: level and category bitmap (category N is bit ``0x80 >> N % 8`` of byte N // 8)."""

    name = "CIPSO restricted bitmap tag"
    fields_desc: ClassVar[list[Any]] = _level_tag_fields(
        TagType.RESTRICTED_BITMAP,
        XStrLenField(
            "bitmap", b"", length_from=_category_data_length, max_length=MAX_BITMAP_LENGTH
        ),
    )

    def _categories(self) -> CategorySet:
        return CategorySet.from_bitmap(bytes(self.bitmap or b""))


class CIPSOTag_PermissiveBitmap(CIPSOTag_RestrictedBitmap):
    """Tag 6 (FIPS-188 permissive bitmap), laid out like tag 1; Linux rejects it."""

    name = "CIPSO permissive bitmap tag"
    fields_desc: ClassVar[list[Any]] = [
        _TagTypeField("type", TagType.PERMISSIVE_BITMAP, TAG_TYPE_NAMES),
        *CIPSOTag_RestrictedBitmap.fields_desc[1:],
    ]


class _EvenDataTag(_LevelTag):
    @classmethod
    def fits(cls, length: int, available: int) -> bool:
        return TAG_BASE_LENGTH <= length <= available and not (length - TAG_BASE_LENGTH) & 1


class CIPSOTag_Enumerated(_EvenDataTag):
    """Tag 2: level and a list of 16-bit categories (the kernel wants them ascending)."""

    name = "CIPSO enumerated tag"
    fields_desc: ClassVar[list[Any]] = _level_tag_fields(
        TagType.ENUMERATED, _ShortListField("categories")
    )

    def _categories(self) -> CategorySet:
        return CategorySet(self.categories or ())


class CIPSOTag_Ranged(_EvenDataTag):
    """Tag 5: level and 16-bit range bounds ``high, low, high, low, ...`` (descending; the
    last low may be left out when it is 0)."""

    name = "CIPSO ranged tag"
    fields_desc: ClassVar[list[Any]] = _level_tag_fields(TagType.RANGED, _ShortListField("bounds"))

    def _categories(self) -> CategorySet:
        # What arrived may hold more bounds than a RangedTag takes (a standalone option is not
        # held to 40 bytes): whole (high, low) pairs in chunks, the odd last bound in the last.
        bounds = tuple(self.bounds or ())
        step = MAX_RANGE_BOUNDS & ~1
        categories = CategorySet()
        for start in range(0, len(bounds), step):
            categories |= RangedTag(0, bounds[start : start + step]).categories
        return categories


class CIPSOTag_FreeForm(CIPSOTag):
    """Tag 7 (FIPS-188 free form): raw data; Linux rejects it."""

    name = "CIPSO free-form tag"
    fields_desc: ClassVar[list[Any]] = [
        _TagTypeField("type", TagType.FREE_FORM, TAG_TYPE_NAMES),
        *CIPSOTag.fields_desc[1:],
    ]


class CIPSOTag_Local(CIPSOTag):
    """Tag 128 (Linux only): the sender's LSM secid in its host byte order (this machine's
    order here); the kernel accepts it on loopback only."""

    name = "CIPSO local tag"
    fields_desc: ClassVar[list[Any]] = _framed(
        _TagTypeField("type", TagType.LOCAL, TAG_TYPE_NAMES),
        [Field("secid", 0, "<I" if sys.byteorder == "little" else ">I")],
        carries_level=False,
    )

    @classmethod
    def fits(cls, length: int, available: int) -> bool:
        return length == LOCAL_TAG_LENGTH <= available

    def _describe(self) -> str:
        return super()._describe() if self.truncated else f"local tag secid={self.secid}"


#: The scapy class for each model tag class; the generic :class:`CIPSOTag` takes the rest.
_SCAPY_TAG_CLASSES: dict[type[MlsTag | FreeFormTag | LocalTag], type[CIPSOTag]] = {
    RestrictedBitmapTag: CIPSOTag_RestrictedBitmap,
    EnumeratedTag: CIPSOTag_Enumerated,
    RangedTag: CIPSOTag_Ranged,
    PermissiveBitmapTag: CIPSOTag_PermissiveBitmap,
    FreeFormTag: CIPSOTag_FreeForm,
    LocalTag: CIPSOTag_Local,
}
# The model's tag classes by type number. When cipso.model has its ``{tag type: class}``
# table, this line becomes that table (its generic fallback left out): scapy then dispatches
# through it, and a tag class added there without a scapy class fails here, at import.
_MODEL_TAG_CLASSES = {cls.tag_type: cls for cls in _SCAPY_TAG_CLASSES}
CIPSOTag.registered_tags.update(
    {tag_type: _SCAPY_TAG_CLASSES[cls] for tag_type, cls in _MODEL_TAG_CLASSES.items()}
)


# --------------------------------------------------------------------------------------------
# The option


def _has_header(pkt: Packet) -> bool:
    if pkt.getfieldval("truncated"):
        return False
    return pkt.length is None or pkt.length >= HEADER_LENGTH


class IPOption_CIPSO(mls.scapy.LabeledLayer, IPOption):
    """IPv4 option 134, CIPSO: type, length, DOI (u32, big-endian), tags.

    ``tags`` is a list of tag packets (:class:`CIPSOTag_RestrictedBitmap` and friends), or raw
    bytes, or a mix. ``length`` is computed when None. An option whose length byte is below 6,
    or whose bytes end before its DOI does (``truncated``), has no DOI field; the bytes after
    its length byte are in ``value``.
    """

    name = "IP Option CIPSO"
    copy_flag = 1
    option = _OPTION_NUMBER
    fields_desc: ClassVar[list[Any]] = [
        _TypeBitField("copy_flag", 1, 1),
        _TypeBitEnumField("optclass", 0, 2, {0: "control", 2: "debug"}),
        _TypeBitEnumField("option", _OPTION_NUMBER, 5, {_OPTION_NUMBER: "cipso"}),
        mls.scapy.LengthField("length", None),
        ConditionalField(_TRUNCATED, _truncated),
        ConditionalField(IntField("doi", 0), _has_header),
        ConditionalField(
            _TagListField(
                "tags", [], CIPSOTag, length_from=lambda pkt: _data_length(pkt, HEADER_LENGTH)
            ),
            _has_header,
        ),
        ConditionalField(
            XStrLenField("value", b"", length_from=_value_length),
            lambda pkt: not _has_header(pkt),
        ),
        mls.scapy.LabelField(),
    ]

    def pre_dissect(self, s: bytes) -> bytes:
        # Bytes that end inside the DOI are kept whole in ``value`` (they could not be dissected
        # field by field), so that they rebuild unchanged.
        has_doi = len(s) >= HEADER_LENGTH or (len(s) >= 2 and s[1] < HEADER_LENGTH)
        return _cut_off(self, s, has_doi)

    def post_build(self, p: bytes, pay: bytes) -> bytes:
        return _fill_length(self, p) + pay

    def getfieldval(self, attr: str) -> Any:
        # Scapy copies the empty default tag list into each packet's own fields, where fuzz()
        # cannot replace it; an option left without tags takes the random ones fuzz() drew.
        if attr == "tags" and not self.fields.get(attr):
            drawn = self.default_fields.get(attr)
            if isinstance(drawn, VolatileValue):
                return drawn
        return super().getfieldval(attr)

    # -- meaning ----------------------------------------------------------------------------

    def _first_tag(self) -> CIPSOTag | None:
        """The first tag (the only one the kernel reads), or None."""
        if not _has_header(self):
            return None
        tags = self.tags
        if isinstance(tags, (bytes, bytearray)):
            tags = [bytes(tags)]
        if not tags:
            return None
        first = tags[0]
        if isinstance(first, (bytes, bytearray)):
            return CIPSOTag(bytes(first))
        return first if isinstance(first, CIPSOTag) else None

    @property
    def mls_level(self) -> Level | None:
        """The first tag's level and categories (wire numbers; a TRANS DOI maps them with
        :meth:`cipso.CipsoDoi.decode_label`) as an :class:`mls.Level`, or None when the option
        carries none."""
        first = self._first_tag()
        return None if first is None else first.mls_level

    def to_option(self) -> CipsoOption:
        """This option as a :class:`cipso.CipsoOption` (raises :class:`cipso.CipsoDecodeError`
        for malformed bytes)."""
        return decode(bytes(self))

    def mysummary(self) -> str:
        cut_short = mls.scapy.cut_short_summary(
            self, "CIPSO", "length", has_fields=_has_header(self)
        )
        if cut_short is not None:
            return cut_short
        first = self._first_tag()
        if first is None:
            return f"CIPSO doi={self.doi} (no tag)"
        return f"CIPSO doi={self.doi} {first.label or first._describe()}"

    # -- constructors -----------------------------------------------------------------------

    @classmethod
    def from_option(cls, option: CipsoOption) -> IPOption_CIPSO:
        """The scapy option for a :class:`cipso.CipsoOption`."""
        return cls(option.to_bytes())

    @classmethod
    def from_label(
        cls,
        label: str | Level,
        doi: int | str | CipsoDoi,
        *,
        tags: tuple[int, ...] = (TagType.RESTRICTED_BITMAP,),
        optimized_bitmap: bool = False,
    ) -> IPOption_CIPSO:
        """The option the kernel sends for host ``label`` under ``doi``.

        ``doi`` is a :class:`cipso.CipsoDoi`, a DOI definition in netlabelctl syntax
        (``"pass doi:16 tags:1,2,5"``) or a DOI number, which means a PASS DOI with ``tags``.
        The kernel's tag choice applies (the first tag of the DOI that can carry the label);
        :class:`cipso.CipsoLabelError` says why none can.
        """
        if isinstance(label, str):
            label = Level.parse(label)
        if isinstance(doi, str):
            doi = CipsoDoi.from_netlabelctl(doi)
        elif not isinstance(doi, CipsoDoi):
            doi = CipsoDoi.pass_through(doi, tags)
        return cls(doi.encode_label(label, optimized_bitmap=optimized_bitmap))
