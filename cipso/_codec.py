"""The fast CIPSO decoder and encoder, byte-identical to :mod:`cipso.schema`.

Plain Python tuned for CPython: precompiled structs, objects built through their slot
descriptors (the values are checked here, so ``__post_init__`` would only repeat the work),
and a straight path for the common one-tag option. Anything unusual goes to the careful
decoder, which names the offending byte.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any

from mls.categories import bits_from_bitmap, run_text
from mls.label import format_level_bits

from .errors import CipsoDecodeError
from .model import (
    HEADER_LENGTH,
    MAX_OPTION_LENGTH,
    OPTION_TYPE,
    TAG_BASE_LENGTH,
    TAG_CLASS_BY_TYPE,
    U16_STRUCTS,
    CipsoOption,
    EnumeratedTag,
    GenericTag,
    RangedTag,
    RestrictedBitmapTag,
    Tag,
    TagType,
    ranged_bits,
)

__all__ = ["decode", "encode"]

# Option type, length, DOI, then the tag base: type, length, alignment octet, level.
_OPTION_AND_TAG_BASE = struct.Struct(">BBIBBBB")
_unpack_base = _OPTION_AND_TAG_BASE.unpack_from
_pack_base = _OPTION_AND_TAG_BASE.pack
_OPTION_HEADER = struct.Struct(">BBI")
_BASE = HEADER_LENGTH + TAG_BASE_LENGTH  # 10: where category data starts in a one-tag option
_U16 = U16_STRUCTS

_new = object.__new__
# The tag table (model.TAG_CLASS_BY_TYPE) as a plain dict, the fastest to look up.
_TAG_CLASSES: dict[int, type[Tag]] = dict(TAG_CLASS_BY_TYPE)


def _setter(cls: type, name: str) -> Callable[[Any, Any], None]:
    # The slot descriptor's setter: writes a frozen instance's field without __setattr__. The
    # descriptor may be inherited (tags 1 and 6 share their fields), so look it up as reads do.
    setter: Callable[[Any, Any], None] = getattr(cls, name).__set__
    return setter


_set_option_doi = _setter(CipsoOption, "doi")
_set_option_tags = _setter(CipsoOption, "tags")
_set_rbm_level = _setter(RestrictedBitmapTag, "level")
_set_rbm_bitmap = _setter(RestrictedBitmapTag, "bitmap")
_set_rbm_alignment = _setter(RestrictedBitmapTag, "alignment")
_set_enum_level = _setter(EnumeratedTag, "level")
_set_enum_list = _setter(EnumeratedTag, "category_list")
_set_enum_alignment = _setter(EnumeratedTag, "alignment")
_set_rng_level = _setter(RangedTag, "level")
_set_rng_bounds = _setter(RangedTag, "bounds")
_set_rng_alignment = _setter(RangedTag, "alignment")


def _option(doi: int, tags: tuple[Tag, ...]) -> CipsoOption:
    option: CipsoOption = _new(CipsoOption)
    _set_option_doi(option, doi)
    _set_option_tags(option, tags)
    return option


def _bitmap_tag(level: int, bitmap: bytes, alignment: int) -> RestrictedBitmapTag:
    tag: RestrictedBitmapTag = _new(RestrictedBitmapTag)
    _set_rbm_level(tag, level)
    _set_rbm_bitmap(tag, bitmap)
    _set_rbm_alignment(tag, alignment)
    return tag


def decode(data: bytes | bytearray | memoryview) -> CipsoOption:
    """Decode one CIPSO option (exactly ``data[1]`` bytes, starting with type 0x86).

    Any well-formed option decodes, whatever its DOI and tag types (tags without a class of
    their own become :class:`cipso.GenericTag`); whether the kernel would accept it is
    :func:`cipso.validate`'s question. Malformed bytes raise :class:`cipso.CipsoDecodeError`
    with the offending byte's offset.
    """
    if type(data) is not bytes:
        data = _as_bytes(data)
    length = len(data)
    if _BASE <= length <= MAX_OPTION_LENGTH:
        kind, option_length, doi, tag_type, tag_length, alignment, level = _unpack_base(data)
        if kind == OPTION_TYPE and option_length == length and tag_length == length - 6:
            # One tag filling the option: the shape the kernel sends.
            if tag_type == 1:
                # _bitmap_tag and _option written out: the kernel's usual option, and two
                # calls are a sixth of its decoding.
                tag: RestrictedBitmapTag = _new(RestrictedBitmapTag)
                _set_rbm_level(tag, level)
                _set_rbm_bitmap(tag, data[_BASE:])
                _set_rbm_alignment(tag, alignment)
                option: CipsoOption = _new(CipsoOption)
                _set_option_doi(option, doi)
                _set_option_tags(option, (tag,))
                return option
            if tag_type == 5 and not length & 1:
                ranged: RangedTag = _new(RangedTag)
                _set_rng_level(ranged, level)
                _set_rng_bounds(ranged, _U16[(length - _BASE) >> 1].unpack_from(data, _BASE))
                _set_rng_alignment(ranged, alignment)
                return _option(doi, (ranged,))
            if tag_type == 2 and not length & 1:
                enumerated: EnumeratedTag = _new(EnumeratedTag)
                _set_enum_level(enumerated, level)
                _set_enum_list(enumerated, _U16[(length - _BASE) >> 1].unpack_from(data, _BASE))
                _set_enum_alignment(enumerated, alignment)
                return _option(doi, (enumerated,))
    return _decode_carefully(data)


def _as_bytes(data: object) -> bytes:
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"expected bytes, not {type(data).__name__}")
    return bytes(data)


def _decode_carefully(data: bytes) -> CipsoOption:
    length = _checked_length(data)
    return _option(int.from_bytes(data[2:6], "big"), _decode_tags(data, length))


def _checked_length(data: bytes) -> int:
    # The option's length byte, once it is known to span exactly the bytes given.
    size = len(data)
    if size == 0:
        raise CipsoDecodeError("no bytes: expected a CIPSO option (type 134)", 0)
    if data[0] != OPTION_TYPE:
        raise CipsoDecodeError(f"option type {data[0]} is not CIPSO (134)", 0)
    if size < 2:
        raise CipsoDecodeError("the option length byte is missing", 1)
    length = data[1]
    if length < HEADER_LENGTH:
        raise CipsoDecodeError(f"option length {length} is shorter than the 6-byte header", 1)
    if length > MAX_OPTION_LENGTH:
        raise CipsoDecodeError(
            f"option length {length} exceeds the {MAX_OPTION_LENGTH}-byte IPv4 options area", 1
        )
    if length > size:
        raise CipsoDecodeError(f"option length {length} runs past the {size} bytes given", 1)
    if length < size:
        raise CipsoDecodeError(f"{size - length} bytes follow the {length}-byte option", length)
    return length


def _decode_tags(data: bytes, length: int) -> tuple[Tag, ...]:
    # Each tag is framed here and decoded by the class the tag table gives for its type.
    tags: list[Tag] = []
    offset = HEADER_LENGTH
    while offset < length:
        if offset + 1 == length:
            raise CipsoDecodeError("a tag type with no room for its length byte", offset)
        tag_type = data[offset]
        tag_length = data[offset + 1]
        if tag_length < 2:
            raise CipsoDecodeError(f"tag length {tag_length} is below 2", offset + 1)
        if tag_length > length - offset:
            raise CipsoDecodeError(
                f"tag length {tag_length} runs past the option ({length - offset} bytes left)",
                offset + 1,
            )
        end = offset + tag_length
        try:
            # The framing is checked here; the class decodes the data after it.
            cls = _TAG_CLASSES.get(tag_type, GenericTag)
            tags.append(cls._from_data(tag_type, data[offset + 2 : end]))
        except CipsoDecodeError as error:
            raise CipsoDecodeError(error.reason, offset + error.offset) from None
        offset = end
    return tuple(tags)


def encode(option: CipsoOption) -> bytes:
    """The wire bytes of ``option`` (no padding; see :meth:`cipso.CipsoDoi.encode_label` for
    the padded options area)."""
    tags = option.tags
    if len(tags) == 1:
        # The kernel's usual options, a tag 1 or a tag 5 alone, each packed in one go; the two
        # branches are written out (one shared tail measured 5-7% slower on 200 ns).
        tag = tags[0]
        kind = type(tag)
        if kind is RestrictedBitmapTag:
            bitmap = tag.bitmap  # type: ignore[union-attr]
            tag_length = TAG_BASE_LENGTH + len(bitmap)
            return (
                _pack_base(
                    OPTION_TYPE,
                    tag_length + HEADER_LENGTH,
                    option.doi,
                    1,
                    tag_length,
                    tag.alignment,  # type: ignore[union-attr]
                    tag.level,  # type: ignore[union-attr]
                )
                + bitmap
            )
        if kind is RangedTag:
            bounds = tag.bounds  # type: ignore[union-attr]
            tag_length = TAG_BASE_LENGTH + 2 * len(bounds)
            return _pack_base(
                OPTION_TYPE,
                tag_length + HEADER_LENGTH,
                option.doi,
                5,
                tag_length,
                tag.alignment,  # type: ignore[union-attr]
                tag.level,  # type: ignore[union-attr]
            ) + _U16[len(bounds)].pack(*bounds)
    body = b"".join([tag.to_bytes() for tag in tags])
    return _OPTION_HEADER.pack(OPTION_TYPE, HEADER_LENGTH + len(body), option.doi) + body


# -- the label text of the first option, read straight from the bytes --------------------------


# The tag types as plain ints: looking a member up on its enum class costs about 60 ns in
# CPython 3.11, and first_label_text runs for every new label of a capture.
_RESTRICTED_BITMAP, _RANGED = int(TagType.RESTRICTED_BITMAP), int(TagType.RANGED)


def first_label_text(area: bytes) -> tuple[int, int, str] | None:
    """``(DOI, tag type, wire level text)`` of an options area that starts with a CIPSO option
    of the shape senders use (one tag 1 or tag 5 filling it), read without building objects
    (for readers of many distinct labels); None for any other shape, which :func:`decode`
    handles. The conditions are those of :func:`decode`'s straight path."""
    head = _sender_shape(area)
    if head is None:
        return None
    doi, tag, level, length = head
    if tag == _RESTRICTED_BITMAP:
        text = format_level_bits(level, bits_from_bitmap(area[_BASE:length]))
    elif tag == _RANGED and not length & 1:
        text = _ranged_text(level, _U16[(length - _BASE) >> 1].unpack_from(area, _BASE))
        if not text:  # ranges in another order, touching or overlapping: the full decoder's
            found = decode(area[:length]).mls_level
            text = str(found)
    else:
        return None
    return doi, tag, text


def first_label(area: bytes) -> tuple[int, int, int, int] | None:
    """``(DOI, tag type, sensitivity, category bit integer)`` of the wire level of an options
    area of the shape :func:`first_label_text` reads, without building objects; None for
    any other shape."""
    head = _sender_shape(area)
    if head is None:
        return None
    doi, tag, level, length = head
    if tag == _RESTRICTED_BITMAP:
        return doi, tag, level, bits_from_bitmap(area[_BASE:length])
    if tag == _RANGED and not length & 1:
        return doi, tag, level, ranged_bits(_U16[(length - _BASE) >> 1].unpack_from(area, _BASE))
    return None


def _sender_shape(area: bytes) -> tuple[int, int, int, int] | None:
    # (DOI, tag type, level, option length) when the area starts with a CIPSO option whose one
    # tag fills it: the conditions of decode's straight path.
    size = len(area)
    if size < _BASE or area[0] != OPTION_TYPE:
        return None
    length = area[1]
    if length < _BASE or length > size or length > MAX_OPTION_LENGTH:
        return None
    _, _, doi, tag, tag_length, _, level = _unpack_base(area)
    if tag_length != length - HEADER_LENGTH:
        return None
    return doi, tag, level, length


def _ranged_text(level: int, bounds: tuple[int, ...]) -> str:
    """The level text of tag 5 bounds in the shape the kernel sends (pairs of high and low,
    highest first, no two touching): each range is then one run of the canonical text; "" for
    any other shape."""
    parts = []
    above = 0x10001  # the low bound of the range above, or past every category
    for index in range(0, len(bounds) - 1, 2):
        high = bounds[index]
        low = bounds[index + 1]
        if low > high or high + 1 >= above:
            return ""
        parts.append(run_text(low, high))
        above = low
    if not parts or len(bounds) & 1:
        return ""
    parts.reverse()
    return f"s{level}:{','.join(parts)}"
