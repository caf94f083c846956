"""Scapy layers for CIPSO: ``import cipso.scapy`` and ``IP(raw_bytes)`` dissects option 134.

Scapy picks the class of an IPv4 option by the option *number*, the low five bits of the
type byte, through ``IPOption.registered_ip_options`` (scapy/layers/inet.py, 2.5 to 2.8).
CIPSO is type 134: copied flag 1, class 0, number 6. Scapy ships no class for number 6 (its
``IPOption_Security`` is number 2, type 130, the RFC 1108 Basic Security Option, a different
option, left alone), so defining :class:`IPOption_CIPSO` registers it. Like every scapy
option class it then also dissects the unassigned types that share number 6 (6, 38, 70, ...);
the type byte is kept as sent, so those bytes round-trip unchanged too.

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
    >>> IPOption_CIPSO.from_label("s3:c0,c5", doi=16).label
    'doi 16 s3:c0,c5'
"""

from __future__ import annotations

from mls._extras import needs_extra

with needs_extra("scapy", by=__name__):
    import scapy  # noqa: F401

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
    StrLenField,
)
from scapy.layers.inet import IPOption
from scapy.packet import Packet

from mls import CategorySet, Level

from ._codec import decode
from .doi import CipsoDoi
from .model import (
    HEADER_LENGTH,
    LOCAL_TAG_LENGTH,
    OPTION_TYPE,
    TAG_BASE_LENGTH,
    CipsoOption,
    RangedTag,
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
TAG_TYPE_NAMES = {
    0: "reserved",
    1: "restricted_bitmap",
    2: "enumerated",
    5: "ranged",
    6: "permissive_bitmap",
    7: "free_form",
    128: "local",
}

_OPTION_NUMBER = OPTION_TYPE & 0x1F  # 6: what scapy's option registry is keyed by


class _LabelField(Field[None, None]):
    """Takes no bytes on the wire; shows what the enclosing packet means as MLS text."""

    def __init__(self, name: str) -> None:
        super().__init__(name, None)

    def addfield(self, pkt: Packet, s: bytes, val: Any) -> bytes:
        return s

    def getfield(self, pkt: Packet, s: bytes) -> tuple[bytes, None]:
        return s, None

    def i2repr(self, pkt: Packet | None, x: Any) -> str:
        label = getattr(pkt, "label", None)
        return "(none)" if label is None else str(label)

    def i2len(self, pkt: Packet | None, x: Any) -> int:
        return 0


# --------------------------------------------------------------------------------------------
# Tags


class CIPSOTag(Packet):
    """A CIPSO tag: type, length (counting both bytes), raw data.

    Tags of types without a class of their own (0, 3, 4, 8..127, 129..255), and tags whose
    length does not fit their type's format, are dissected as this class so that their bytes
    round-trip exactly. Constructed from bytes, it picks the class for the type.
    """

    name = "CIPSO tag"
    fields_desc: ClassVar[list[Any]] = [
        ByteEnumField("type", 0, TAG_TYPE_NAMES),
        ByteField("length", None),
        StrLenField("data", b"", length_from=lambda pkt: _data_length(pkt, 2)),
    ]
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
        return 2 <= length <= available

    def extract_padding(self, s: bytes) -> tuple[bytes, bytes]:
        # What follows the tag is the next tag, not a payload.
        return b"", s

    def post_build(self, p: bytes, pay: bytes) -> bytes:
        if self.length is None:
            p = p[:1] + bytes((len(p) & 0xFF,)) + p[2:]
        return p + pay

    @property
    def label(self) -> str | None:
        """The MLS level this tag carries, as text, or None when it carries none."""
        return None

    def mysummary(self) -> str:
        label = self.label
        kind = TAG_TYPE_NAMES.get(self.type, str(self.type))
        return f"CIPSO tag {kind}" + ("" if label is None else f" {label}")


def _data_length(pkt: Packet, base: int) -> int:
    """Bytes of data after a tag's ``base`` bytes, from its length byte (0 when unset)."""
    length = pkt.length
    return 0 if length is None else max(0, length - base)


def _category_data_length(pkt: Packet) -> int:
    return _data_length(pkt, TAG_BASE_LENGTH)


def _level_tag_fields(tag_type: TagType, category_data: Field[Any, Any]) -> list[Any]:
    """The fields of a tag that carries a level: type, length, alignment octet, level, then
    ``category_data`` to the end of the tag (its length from :func:`_category_data_length`)."""
    return [
        ByteEnumField("type", tag_type, TAG_TYPE_NAMES),
        ByteField("length", None),
        ByteField("alignment", 0),
        ByteField("level", 0),
        category_data,
        _LabelField("mls"),
    ]


class _LevelTag(CIPSOTag):
    """Tags 1, 2, 5 and 6 start alike: type, length, alignment octet, sensitivity level."""

    @classmethod
    def fits(cls, length: int, available: int) -> bool:
        return TAG_BASE_LENGTH <= length <= available

    def _categories(self) -> CategorySet:
        raise NotImplementedError

    @property
    def mls_level(self) -> Level:
        """Wire level and categories as an :class:`mls.Level`."""
        return Level(self.level, self._categories())

    @property
    def label(self) -> str | None:
        return str(self.mls_level)


class CIPSOTag_RestrictedBitmap(_LevelTag):
    """Tag 1: level and category bitmap (category N is bit ``0x80 >> N % 8`` of byte N // 8)."""

    name = "CIPSO restricted bitmap tag"
    fields_desc: ClassVar[list[Any]] = _level_tag_fields(
        TagType.RESTRICTED_BITMAP,
        StrLenField("bitmap", b"", length_from=_category_data_length),
    )

    def _categories(self) -> CategorySet:
        return CategorySet.from_bitmap(bytes(self.bitmap))


class CIPSOTag_PermissiveBitmap(CIPSOTag_RestrictedBitmap):
    """Tag 6 (FIPS-188 permissive bitmap), laid out like tag 1; Linux rejects it."""

    name = "CIPSO permissive bitmap tag"
    fields_desc: ClassVar[list[Any]] = [
        ByteEnumField("type", TagType.PERMISSIVE_BITMAP, TAG_TYPE_NAMES),
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
        TagType.ENUMERATED,
        FieldListField(
            "categories", [], ShortField("category", 0), length_from=_category_data_length
        ),
    )

    def _categories(self) -> CategorySet:
        return CategorySet(self.categories)


class CIPSOTag_Ranged(_EvenDataTag):
    """Tag 5: level and 16-bit range bounds ``high, low, high, low, ...`` (descending; the
    last low may be left out when it is 0)."""

    name = "CIPSO ranged tag"
    fields_desc: ClassVar[list[Any]] = _level_tag_fields(
        TagType.RANGED,
        FieldListField("bounds", [], ShortField("bound", 0), length_from=_category_data_length),
    )

    def _categories(self) -> CategorySet:
        return RangedTag(0, tuple(self.bounds)).categories


class CIPSOTag_FreeForm(CIPSOTag):
    """Tag 7 (FIPS-188 free form): raw data; Linux rejects it."""

    name = "CIPSO free-form tag"
    fields_desc: ClassVar[list[Any]] = [
        ByteEnumField("type", TagType.FREE_FORM, TAG_TYPE_NAMES),
        *CIPSOTag.fields_desc[1:],
    ]


class CIPSOTag_Local(CIPSOTag):
    """Tag 128 (Linux only): the sender's LSM secid in its host byte order (this machine's
    order here); the kernel accepts it on loopback only."""

    name = "CIPSO local tag"
    fields_desc: ClassVar[list[Any]] = [
        ByteEnumField("type", TagType.LOCAL, TAG_TYPE_NAMES),
        ByteField("length", None),
        Field("secid", 0, "<I" if sys.byteorder == "little" else ">I"),
    ]

    @classmethod
    def fits(cls, length: int, available: int) -> bool:
        return length == LOCAL_TAG_LENGTH <= available

    def mysummary(self) -> str:
        return f"CIPSO tag local secid={self.secid}"


CIPSOTag.registered_tags.update(
    {
        TagType.RESTRICTED_BITMAP: CIPSOTag_RestrictedBitmap,
        TagType.ENUMERATED: CIPSOTag_Enumerated,
        TagType.RANGED: CIPSOTag_Ranged,
        TagType.PERMISSIVE_BITMAP: CIPSOTag_PermissiveBitmap,
        TagType.FREE_FORM: CIPSOTag_FreeForm,
        TagType.LOCAL: CIPSOTag_Local,
    }
)


# --------------------------------------------------------------------------------------------
# The option


def _has_header(pkt: Packet) -> bool:
    return pkt.length is None or pkt.length >= HEADER_LENGTH


class IPOption_CIPSO(IPOption):
    """IPv4 option 134, CIPSO: type, length, DOI (u32, big-endian), tags.

    ``tags`` is a list of tag packets (:class:`CIPSOTag_RestrictedBitmap` and friends), or raw
    bytes, or a mix. ``length`` is computed when None. An option whose length byte is below 6
    has no DOI field; the bytes its length covers after the length byte are in ``value``.
    """

    name = "IP Option CIPSO"
    copy_flag = 1
    option = _OPTION_NUMBER
    fields_desc: ClassVar[list[Any]] = [
        BitField("copy_flag", 1, 1),
        BitEnumField("optclass", 0, 2, {0: "control", 2: "debug"}),
        BitEnumField("option", _OPTION_NUMBER, 5, {_OPTION_NUMBER: "cipso"}),
        ByteField("length", None),
        ConditionalField(IntField("doi", 0), _has_header),
        ConditionalField(
            StrLenField("value", b"", length_from=lambda pkt: max(0, pkt.length - 2)),
            lambda pkt: not _has_header(pkt),
        ),
        ConditionalField(
            PacketListField(
                "tags",
                [],
                CIPSOTag,
                length_from=lambda pkt: _data_length(pkt, HEADER_LENGTH),
            ),
            _has_header,
        ),
        _LabelField("mls"),
    ]

    def post_build(self, p: bytes, pay: bytes) -> bytes:
        if self.length is None:
            p = p[:1] + bytes((len(p) & 0xFF,)) + p[2:]
        return p + pay

    # -- meaning ----------------------------------------------------------------------------

    def to_option(self) -> CipsoOption:
        """This option as a :class:`cipso.CipsoOption` (raises :class:`cipso.CipsoDecodeError`
        for malformed bytes)."""
        return decode(bytes(self))

    @property
    def label(self) -> str | None:
        """``doi N`` and the first tag's wire level as MLS text (the tag the kernel reads), or
        None when the option has no DOI field."""
        if not _has_header(self):
            return None
        tags = self.tags or []
        first = tags[0] if tags else None
        text = f"doi {self.doi}"
        if isinstance(first, CIPSOTag):
            label = first.label
            if label is not None:
                return f"{text} {label}"
            return f"{text} tag {TAG_TYPE_NAMES.get(first.type, first.type)}"
        return text

    def mysummary(self) -> str:
        return f"CIPSO {self.label}"

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
