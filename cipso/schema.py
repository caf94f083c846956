"""The CIPSO option as declarative construct schemas, readable against cipso.md §1-2.

These schemas are the reference the fast codec (:mod:`cipso._codec`) is tested against: for
every well-formed option, :func:`parse` and :func:`cipso.decode` agree and :func:`build` and
:func:`cipso.encode` give the same bytes. Use them to inspect or build options field by field::

    >>> from cipso.schema import CIPSO_OPTION
    >>> option = CIPSO_OPTION.parse(bytes.fromhex("860b0000001001050003 84"))
    >>> option.doi, option.tags[0].type, option.tags[0].data.level, option.tags[0].data.bitmap
    (16, 1, 3, b'\\x84')

Never compile them (construct's compiled mode skips checks) for untrusted input.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from construct import (
    Byte,
    Check,
    Computed,
    Const,
    ConstructError,
    Container,
    FixedSized,
    FocusedSeq,
    GreedyBytes,
    GreedyRange,
    Int16ub,
    Int32ub,
    Int32ul,
    Rebuild,
    Struct,
    Switch,
    Terminated,
    this,
)

from .errors import CipsoDecodeError
from .model import (
    HEADER_LENGTH,
    MAX_OPTION_LENGTH,
    OPTION_TYPE,
    CipsoOption,
    GenericTag,
    Tag,
    TagType,
    tag_class,
)

__all__ = [
    "BITMAP_DATA",
    "CIPSO_OPTION",
    "ENUMERATED_DATA",
    "LOCAL_DATA",
    "RANGED_DATA",
    "TAG",
    "TAG_DATA_FORMATS",
    "build",
    "from_container",
    "parse",
    "to_container",
]

#: Tags 1 and 6 after type and length: alignment octet, level, bitmap (MSB = category 0).
BITMAP_DATA = Struct(
    "alignment" / Byte,
    "level" / Byte,
    "bitmap" / GreedyBytes,
)

#: Tag 2 after type and length: alignment octet, level, 16-bit categories to the end.
ENUMERATED_DATA = Struct(
    "alignment" / Byte,
    "level" / Byte,
    "category_list" / GreedyRange(Int16ub),
    Terminated,  # an odd byte left over is malformed
)

#: Tag 5 after type and length: alignment octet, level, 16-bit bounds (high, low, high, ...;
#: an odd count leaves out the last low).
RANGED_DATA = Struct(
    "alignment" / Byte,
    "level" / Byte,
    "bounds" / GreedyRange(Int16ub),
    Terminated,
)


#: Tag 128 after type and length: the sender's LSM secid in its host byte order. Parsing reads
#: it in this host's order; building writes it in the order the tag records.
LOCAL_DATA = Struct(
    "byteorder" / Computed(lambda this: this.get("byteorder") or sys.byteorder),
    "secid" / Switch(this.byteorder, {"little": Int32ul, "big": Int32ub}),
    Terminated,
)

#: The data format of each tag type after its type and length bytes, named by the fields of the
#: tag's class (:data:`cipso.model.TAG_CLASS_BY_TYPE`); a type without one (0, 3, 4, 7,
#: 8..127, 129..255) keeps its data as raw bytes.
TAG_DATA_FORMATS: Mapping[int, Struct] = MappingProxyType(
    {
        TagType.RESTRICTED_BITMAP: BITMAP_DATA,
        TagType.ENUMERATED: ENUMERATED_DATA,
        TagType.RANGED: RANGED_DATA,
        TagType.PERMISSIVE_BITMAP: BITMAP_DATA,
        TagType.LOCAL: LOCAL_DATA,
    }
)

# A tag's data by its type (the type read before it, or given when building alone).
_TAG_DATA = Switch(this.type, dict(TAG_DATA_FORMATS), default=GreedyBytes)


def _tag_length(tag: Container) -> int:
    """A tag's length byte, from a container being built: its data built alone, plus 2."""
    return 2 + len(_TAG_DATA.build(tag.data, type=tag.type))


#: One tag: type, length (counting the type and length bytes), then data by type.
TAG = Struct(
    "type" / Byte,
    "length" / Rebuild(Byte, _tag_length),
    Check(this.length >= 2),
    Check((this.type != TagType.LOCAL) | (this.length == 6)),
    "data" / FixedSized(this.length - 2, _TAG_DATA),
)

#: The option: type 134, length (whole option, at most 40), 32-bit DOI, tags filling the rest.
CIPSO_OPTION = Struct(
    "type" / Const(OPTION_TYPE, Byte),
    "length" / Rebuild(Byte, lambda this: HEADER_LENGTH + sum(map(_tag_length, this.tags))),
    Check((this.length >= HEADER_LENGTH) & (this.length <= MAX_OPTION_LENGTH)),
    "doi" / Int32ub,
    "tags"
    / FixedSized(
        this.length - HEADER_LENGTH,
        FocusedSeq("tags", "tags" / GreedyRange(TAG), Terminated),
    ),
)

# One option and nothing after it.
_EXACT_OPTION = FocusedSeq("option", "option" / CIPSO_OPTION, Terminated)


def to_container(option: CipsoOption) -> Container:
    """The construct container for ``option`` (what :data:`CIPSO_OPTION` builds from)."""
    return Container(doi=option.doi, tags=[_tag_container(tag) for tag in option.tags])


def _field_names(data_format: Struct) -> list[str]:
    return [field.name for field in data_format.subcons if field.name]


def _tag_container(tag: Tag) -> Container:
    data_format = TAG_DATA_FORMATS.get(tag.tag_type)
    if data_format is None:  # raw data: FreeFormTag and GenericTag
        data: Any = tag.data  # type: ignore[union-attr]
    else:
        data = Container({name: getattr(tag, name) for name in _field_names(data_format)})
    return Container(type=int(tag.tag_type), data=data)


def _tag(item: Container) -> Tag:
    cls = tag_class(item.type)
    data_format = TAG_DATA_FORMATS.get(item.type)
    if data_format is not None:
        fields = {name: item.data[name] for name in _field_names(data_format)}
        return cls(**fields)
    if cls is GenericTag:
        return GenericTag(item.type, item.data)
    return cls(item.data)


def from_container(container: Container) -> CipsoOption:
    """The model object for a parsed :data:`CIPSO_OPTION` container."""
    return CipsoOption(container.doi, tuple(_tag(item) for item in container.tags))


def parse(data: bytes) -> CipsoOption:
    """Parse exactly one option with the schema. Malformed bytes raise
    :class:`cipso.CipsoDecodeError`; the schema cannot tell the offending byte, so its
    ``offset`` is that of the option (0): use :func:`cipso.decode` for precise offsets."""
    try:
        return from_container(_EXACT_OPTION.parse(bytes(data)))
    except ConstructError as error:
        raise CipsoDecodeError(f"not a well-formed CIPSO option: {error}", 0) from None


def build(option: CipsoOption) -> bytes:
    """Build ``option``'s wire bytes with the schema."""
    built: bytes = CIPSO_OPTION.build(to_container(option))
    return built
