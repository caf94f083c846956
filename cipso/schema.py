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
from typing import Any

from construct import (
    Byte,
    Check,
    Const,
    ConstructError,
    Container,
    FixedSized,
    FocusedSeq,
    GreedyBytes,
    GreedyRange,
    Int16ub,
    Int32ub,
    Int32un,
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
    EnumeratedTag,
    FreeFormTag,
    GenericTag,
    LocalTag,
    PermissiveBitmapTag,
    RangedTag,
    RestrictedBitmapTag,
    Tag,
    TagType,
)

__all__ = [
    "BITMAP_DATA",
    "CIPSO_OPTION",
    "ENUMERATED_DATA",
    "LOCAL_DATA",
    "RANGED_DATA",
    "TAG",
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
    "categories" / GreedyRange(Int16ub),
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


#: Tag 128 after type and length: the sender's LSM secid in its host byte order.
LOCAL_DATA = Struct("secid" / Int32un, Terminated)


def _data_length(tag: Container) -> int:
    """Bytes after a tag's type and length, from a container being built."""
    data = tag.data
    if tag.type in (TagType.RESTRICTED_BITMAP, TagType.PERMISSIVE_BITMAP):
        return 2 + len(data.bitmap)
    if tag.type == TagType.ENUMERATED:
        return 2 + 2 * len(data.categories)
    if tag.type == TagType.RANGED:
        return 2 + 2 * len(data.bounds)
    if tag.type == TagType.LOCAL:
        return 4
    return len(data)


#: One tag: type, length (counting the type and length bytes), then data by type. Types
#: without a format here (0, 3, 4, 7, 8..127, 129..255) keep their data as raw bytes.
TAG = Struct(
    "type" / Byte,
    "length" / Rebuild(Byte, lambda this: 2 + _data_length(this)),
    Check(this.length >= 2),
    Check((this.type != TagType.LOCAL) | (this.length == 6)),
    "data"
    / FixedSized(
        this.length - 2,
        Switch(
            this.type,
            {
                TagType.RESTRICTED_BITMAP: BITMAP_DATA,
                TagType.ENUMERATED: ENUMERATED_DATA,
                TagType.RANGED: RANGED_DATA,
                TagType.PERMISSIVE_BITMAP: BITMAP_DATA,
                TagType.LOCAL: LOCAL_DATA,
            },
            default=GreedyBytes,
        ),
    ),
)

#: The option: type 134, length (whole option, at most 40), 32-bit DOI, tags filling the rest.
CIPSO_OPTION = Struct(
    "type" / Const(OPTION_TYPE, Byte),
    "length"
    / Rebuild(Byte, lambda this: HEADER_LENGTH + sum(2 + _data_length(t) for t in this.tags)),
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


def _tag_container(tag: Tag) -> Container:
    if isinstance(tag, (RestrictedBitmapTag, PermissiveBitmapTag)):
        data: Any = Container(alignment=tag.alignment, level=tag.level, bitmap=tag.bitmap)
    elif isinstance(tag, EnumeratedTag):
        data = Container(
            alignment=tag.alignment, level=tag.level, categories=list(tag.category_list)
        )
    elif isinstance(tag, RangedTag):
        data = Container(alignment=tag.alignment, level=tag.level, bounds=list(tag.bounds))
    elif isinstance(tag, LocalTag):
        # LOCAL_DATA writes the secid in this host's order; re-read a foreign-order secid so
        # that its four bytes come out unchanged.
        raw = tag.secid.to_bytes(4, tag.byteorder)
        data = Container(secid=int.from_bytes(raw, sys.byteorder))
    else:
        data = tag.data
    return Container(type=int(tag.tag_type), data=data)


def from_container(container: Container) -> CipsoOption:
    """The model object for a parsed :data:`CIPSO_OPTION` container."""
    tags: list[Tag] = []
    for item in container.tags:
        data = item.data
        kind = item.type
        if kind == TagType.RESTRICTED_BITMAP:
            tags.append(RestrictedBitmapTag(data.level, data.bitmap, data.alignment))
        elif kind == TagType.PERMISSIVE_BITMAP:
            tags.append(PermissiveBitmapTag(data.level, data.bitmap, data.alignment))
        elif kind == TagType.ENUMERATED:
            tags.append(EnumeratedTag(data.level, tuple(data.categories), data.alignment))
        elif kind == TagType.RANGED:
            tags.append(RangedTag(data.level, tuple(data.bounds), data.alignment))
        elif kind == TagType.LOCAL:
            tags.append(LocalTag(data.secid))
        elif kind == TagType.FREE_FORM:
            tags.append(FreeFormTag(data))
        else:
            tags.append(GenericTag(kind, data))
    return CipsoOption(container.doi, tuple(tags))


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
