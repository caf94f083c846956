"""Hypothesis strategies for CIPSO: options of every tag type and their bytes, DOI definitions,
labels a DOI can carry, near-valid mutants for fuzzing validators, whole IPv4 options areas
and scapy packets carrying them.

The names are those of :mod:`calipso.strategies` for the same things (docs/strategies.md):
``options``/``option_bytes`` draw model values and their encodings, ``mutants`` valid bytes
with one fault, ``options_areas`` (the counterpart of ``hop_by_hop_headers``) the area around
the option and ``packets`` scapy packets. Requires the ``hypothesis`` extra (``pip install
labelnet[hypothesis]``); :func:`packets` the ``scapy`` extra too::

    from hypothesis import given
    import cipso
    from cipso.strategies import options

    @given(options())
    def test_round_trip(option):
        assert cipso.decode(cipso.encode(option)) == option
"""

from __future__ import annotations

from mls._extras import needs_extra

with needs_extra("hypothesis", by=__name__):
    import hypothesis  # noqa: F401

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from hypothesis import reject
from hypothesis import strategies as st

from mls import CategorySet, Level
from mls.strategies import doi_numbers, option_doi_numbers

from . import model
from ._codec import encode
from .doi import MAX_LOCAL_LEVEL, MAX_TAGS, CipsoDoi
from .options import MAX_AREA_LENGTH, OptionType, build_options

if TYPE_CHECKING:
    from scapy.packet import Packet

__all__ = [
    "doi_labels",
    "doi_numbers",
    "dois",
    "enumerated_tags",
    "free_form_tags",
    "generic_tags",
    "labels",
    "local_tags",
    "mutants",
    "option_bytes",
    "options",
    "options_areas",
    "packets",
    "permissive_bitmap_tags",
    "ranged_tags",
    "restricted_bitmap_tags",
    "tags",
]

_levels = st.integers(0, model.MAX_LEVEL)
#: Largest host category the DOI strategy maps (the kernel stores up to 1048575).
MAX_HOST_CATEGORY = 65535
_alignments = st.one_of(st.just(0), st.integers(0, 255))


_BitmapTagT = TypeVar("_BitmapTagT", model.RestrictedBitmapTag, model.PermissiveBitmapTag)


def _bitmap_layout_tags(
    tag_class: type[_BitmapTagT], max_length: int
) -> st.SearchStrategy[_BitmapTagT]:
    # Tags 1 and 6: a level, any bitmap (trailing zero bytes and all), any alignment octet.
    return st.builds(
        tag_class,
        _levels,
        st.binary(max_size=max(0, max_length - model.TAG_BASE_LENGTH)),
        _alignments,
    )


def restricted_bitmap_tags(
    *, max_length: int = model.MAX_TAG_LENGTH
) -> st.SearchStrategy[model.RestrictedBitmapTag]:
    """Tag 1 with any bitmap, trailing zero bytes and all (``max_length`` bounds the tag)."""
    return _bitmap_layout_tags(model.RestrictedBitmapTag, max_length)


def permissive_bitmap_tags(
    *, max_length: int = model.MAX_TAG_LENGTH
) -> st.SearchStrategy[model.PermissiveBitmapTag]:
    """Tag 6, laid out like tag 1."""
    return _bitmap_layout_tags(model.PermissiveBitmapTag, max_length)


def enumerated_tags(
    *, max_length: int = model.MAX_TAG_LENGTH, kernel_order: bool = False
) -> st.SearchStrategy[model.EnumeratedTag]:
    """Tag 2; ``kernel_order`` draws strictly ascending lists (what the kernel accepts),
    otherwise any list of 16-bit numbers."""
    size = max(0, (max_length - model.TAG_BASE_LENGTH) // 2)
    numbers = st.lists(st.integers(0, model.MAX_WIRE_CATEGORY), max_size=size, unique=kernel_order)
    if kernel_order:
        numbers = numbers.map(sorted)
    return st.builds(model.EnumeratedTag, _levels, numbers.map(tuple), _alignments)


def ranged_tags(
    *, max_length: int = model.MAX_TAG_LENGTH, kernel_order: bool = False
) -> st.SearchStrategy[model.RangedTag]:
    """Tag 5; ``kernel_order`` draws non-increasing bounds (the kernel's validator accepts
    them, including touching ranges), otherwise any 16-bit bounds."""
    size = max(0, (max_length - model.TAG_BASE_LENGTH) // 2)
    bounds = st.lists(st.integers(0, model.MAX_WIRE_CATEGORY), max_size=size)
    if kernel_order:
        bounds = bounds.map(lambda items: sorted(items, reverse=True))
    return st.builds(model.RangedTag, _levels, bounds.map(tuple), _alignments)


def local_tags() -> st.SearchStrategy[model.LocalTag]:
    """Tag 128 with any secid."""
    return st.builds(model.LocalTag, st.integers(0, 0xFFFFFFFF))


def free_form_tags(
    *, max_length: int = model.MAX_TAG_LENGTH
) -> st.SearchStrategy[model.FreeFormTag]:
    """Tag 7 with any data."""
    return st.builds(model.FreeFormTag, st.binary(max_size=max(0, max_length - 2)))


def generic_tags(*, max_length: int = model.MAX_TAG_LENGTH) -> st.SearchStrategy[model.GenericTag]:
    """Tags of types without a class of their own (0, 3, 4, 8..127, 129..255)."""
    kinds = st.integers(0, 255).filter(lambda kind: kind not in model.KNOWN_TAG_TYPES)
    return st.builds(model.GenericTag, kinds, st.binary(max_size=max(0, max_length - 2)))


def tags(
    *, max_length: int = model.MAX_TAG_LENGTH, tag_types: Sequence[int] | None = None
) -> st.SearchStrategy[model.Tag]:
    """Any tag that fits ``max_length`` bytes, of the given types (None: every type; any
    number outside :class:`TagType` stands for the generic tags)."""
    makers: dict[int, st.SearchStrategy[model.Tag]] = {}
    if max_length >= model.TAG_BASE_LENGTH:
        makers[model.TagType.RESTRICTED_BITMAP] = restricted_bitmap_tags(max_length=max_length)
        makers[model.TagType.ENUMERATED] = enumerated_tags(max_length=max_length)
        makers[model.TagType.RANGED] = ranged_tags(max_length=max_length)
        makers[model.TagType.PERMISSIVE_BITMAP] = permissive_bitmap_tags(max_length=max_length)
    if max_length >= model.LOCAL_TAG_LENGTH:
        makers[model.TagType.LOCAL] = local_tags()
    if max_length >= 2:
        makers[model.TagType.FREE_FORM] = free_form_tags(max_length=max_length)
        makers[0] = generic_tags(max_length=max_length)
    wanted = list(makers) if tag_types is None else list(tag_types)
    chosen = [
        makers[kind if kind in model.KNOWN_TAG_TYPES else 0] for kind in wanted if kind in makers
    ]
    if not chosen and any(kind not in model.KNOWN_TAG_TYPES for kind in wanted):
        chosen = [makers[0]]
    if not chosen:
        return st.nothing()
    return st.one_of(chosen)


@st.composite
def options(
    draw: st.DrawFn,
    *,
    tag_types: Sequence[int] | None = None,
    max_tags: int = 3,
    doi: int | st.SearchStrategy[int] | None = None,
) -> model.CipsoOption:
    """Well-formed options (decodable, not necessarily accepted by the kernel) with 1 to
    ``max_tags`` tags of ``tag_types`` (None: any type), all within 40 bytes; ``doi`` is a DOI
    number, a strategy drawing them, or None for any."""
    number = draw(option_doi_numbers(doi))
    room = model.MAX_TAG_LENGTH
    drawn: list[model.Tag] = []
    for index in range(max_tags):
        if index and (room < 2 or not draw(st.booleans())):
            break
        choices = tags(max_length=room, tag_types=tag_types)
        if index and choices.is_empty:
            break
        tag = draw(choices)
        drawn.append(tag)
        room -= tag.length
    return model.CipsoOption(number, tuple(drawn))


def option_bytes(**kwargs: Any) -> st.SearchStrategy[bytes]:
    """Encoded :func:`options` (the same keyword arguments)."""
    return options(**kwargs).map(encode)


@st.composite
def dois(
    draw: st.DrawFn,
    *,
    map_types: Sequence[model.MapType] = (
        model.MapType.PASS,
        model.MapType.TRANS,
        model.MapType.LOCAL,
    ),
    one_to_one: bool = True,
    doi: st.SearchStrategy[int] | None = None,
) -> CipsoDoi:
    """DOI definitions the kernel accepts. ``one_to_one`` keeps TRANS tables bijective (no
    number mapped twice), so that a label sent and read back under the DOI is unchanged."""
    number = draw(doi if doi is not None else doi_numbers())
    map_type = draw(st.sampled_from(list(map_types)))
    allowed = {
        model.MapType.PASS: [
            model.TagType.RESTRICTED_BITMAP,
            model.TagType.ENUMERATED,
            model.TagType.RANGED,
        ],
        model.MapType.TRANS: [model.TagType.RESTRICTED_BITMAP],
        model.MapType.LOCAL: [model.TagType.LOCAL, model.TagType.RESTRICTED_BITMAP],
    }[map_type]
    tag_list = draw(st.lists(st.sampled_from(allowed), min_size=1, max_size=MAX_TAGS))
    if map_type is not model.MapType.TRANS:
        return CipsoDoi(number, map_type, tuple(tag_list))
    levels = draw(_table((1, 16), (MAX_LOCAL_LEVEL, model.MAX_LEVEL), one_to_one))
    # Host categories stay small: a set holding category 2**31 - 1 is a 256 MiB integer.
    categories = draw(_table((0, 40), (MAX_HOST_CATEGORY, model.MAX_REMOTE_CATEGORY), one_to_one))
    return CipsoDoi(number, map_type, tuple(tag_list), levels, categories)


@st.composite
def _table(
    draw: st.DrawFn, sizes: tuple[int, int], limits: tuple[int, int], unique: bool
) -> tuple[tuple[int, int], ...]:
    (min_size, max_size), (max_local, max_wire) = sizes, limits
    size = draw(st.integers(min_size, max_size))
    # Mostly small numbers, so that wire categories often fit a tag-1 bitmap (0..239).
    local = st.one_of(st.integers(0, 300), st.integers(0, max_local))
    wire = st.one_of(st.integers(0, min(max_wire, 239)), st.integers(0, max_wire))
    locals_ = draw(st.lists(local, min_size=size, max_size=size, unique=unique))
    wires = draw(st.lists(wire, min_size=size, max_size=size, unique=unique))
    return tuple(zip(locals_, wires, strict=True))


@st.composite
def labels(draw: st.DrawFn, doi: CipsoDoi) -> Level:
    """Host levels that at least one tag of ``doi`` can carry (PASS and TRANS DOIs; a LOCAL
    DOI carries secids, not levels, and draws nothing)."""
    if doi.map_type is model.MapType.LOCAL:
        reject()  # LOCAL DOIs carry secids: this draw has no level to give
    tag = draw(st.sampled_from(doi.tags))
    if doi.map_type is model.MapType.TRANS:
        sensitivity = draw(st.sampled_from([local for local, _ in doi.levels]))
        usable = sorted(
            local
            for local, wire in doi.categories
            if wire < model.MAX_BITMAP_LENGTH * 8 and doi.category_to_wire(local) == wire
        )
        chosen = draw(st.lists(st.sampled_from(usable), max_size=12)) if usable else []
        return Level(sensitivity, CategorySet(chosen))
    sensitivity = draw(_levels)
    if tag == model.TagType.RESTRICTED_BITMAP:
        categories = draw(st.lists(st.integers(0, model.MAX_BITMAP_LENGTH * 8 - 1), max_size=40))
        return Level(sensitivity, CategorySet(categories))
    if tag == model.TagType.ENUMERATED:
        categories = draw(st.lists(st.integers(0, model.MAX_WIRE_CATEGORY), max_size=15))
        return Level(sensitivity, CategorySet(categories))
    bits = 0
    for _ in range(draw(st.integers(0, 7))):
        low = draw(st.integers(0, model.MAX_WIRE_CATEGORY))
        high = draw(st.integers(low, min(model.MAX_WIRE_CATEGORY, low + draw(st.integers(0, 500)))))
        bits |= ((2 << (high - low)) - 1) << low
    return Level(sensitivity, CategorySet.from_int(bits))


@st.composite
def doi_labels(
    draw: st.DrawFn,
    *,
    map_types: Sequence[model.MapType] = (model.MapType.PASS, model.MapType.TRANS),
) -> tuple[CipsoDoi, Level]:
    """A DOI (one-to-one tables) and a label it can carry."""
    doi = draw(dois(map_types=map_types))
    return doi, draw(labels(doi))


@st.composite
def mutants(draw: st.DrawFn, valid: st.SearchStrategy[bytes] | None = None) -> bytes:
    """Near-valid bytes: one change to an option drawn from ``valid`` (None:
    :func:`option_bytes`) where validators are most likely to go wrong (a length, a type, the
    DOI, a level, the order of categories), or a truncation or extension."""
    data = bytearray(draw(valid if valid is not None else option_bytes()))
    if not data:
        return bytes(data)
    kind = draw(
        st.sampled_from(
            ["byte", "length", "tag_length", "type", "doi", "swap", "truncate", "extend", "delta"]
        )
    )
    size = len(data)
    if kind == "byte":
        data[draw(st.integers(0, size - 1))] = draw(st.integers(0, 255))
    elif kind == "length" and size > 1:
        data[1] = draw(st.one_of(st.integers(0, 12), st.integers(0, 255), st.just(size)))
    elif kind == "tag_length" and size > 7:
        data[7] = draw(st.one_of(st.integers(0, 8), st.integers(0, 255), st.just(size - 6)))
    elif kind == "type" and size > 6:
        data[6] = draw(st.sampled_from([0, 1, 2, 3, 4, 5, 6, 7, 127, 128, 129, 255]))
    elif kind == "doi" and size > 5:
        data[2 + draw(st.integers(0, 3))] ^= 1 << draw(st.integers(0, 7))
    elif kind == "swap" and size > 11:
        first = draw(st.integers(10, size - 2))
        second = draw(st.integers(10, size - 2))
        data[first : first + 2], data[second : second + 2] = (
            data[second : second + 2],
            data[first : first + 2],
        )
    elif kind == "truncate":
        del data[draw(st.integers(0, size - 1)) :]
    elif kind == "extend":
        data += draw(st.binary(min_size=1, max_size=8))
    elif kind == "delta" and size > 1:
        at = draw(st.sampled_from([index for index in (1, 7, 9) if index < size]))
        data[at] = (data[at] + draw(st.sampled_from([-2, -1, 1, 2]))) & 0xFF
    return bytes(data)


def _other_options(room: int) -> st.SearchStrategy[bytes]:
    """Options of at most ``room`` bytes that a router passes on and the kernel's CIPSO code
    walks past (no source routes: the kernel drops CIPSO packets that carry one)."""
    choices = [st.just(bytes((OptionType.NOOP,)))]
    if room >= 4:
        choices.append(st.just(bytes((OptionType.ROUTER_ALERT, 4, 0, 0))))
    if room >= 7:
        slots = st.integers(1, (room - 3) // 4)
        choices.append(
            slots.map(lambda n: bytes((OptionType.RECORD_ROUTE, 3 + 4 * n, 4)) + bytes(4 * n))
        )
    if room >= 8:
        slots = st.integers(1, (room - 4) // 4)
        choices.append(
            slots.map(lambda n: bytes((OptionType.TIMESTAMP, 4 + 4 * n, 5, 0)) + bytes(4 * n))
        )
    return st.one_of(choices)


@st.composite
def options_areas(draw: st.DrawFn, *, doi: int | st.SearchStrategy[int] | None = None) -> bytes:
    """IPv4 options areas holding one CIPSO option (of :func:`options`, for ``doi``) among
    NOPs, Router Alerts, Record Route and Timestamp options, padded with End of Option List as
    :func:`cipso.build_options` pads (the counterpart of
    :func:`calipso.strategies.hop_by_hop_headers`)."""
    option = encode(draw(options(doi=doi, max_tags=1)))
    parts = [option]
    room = MAX_AREA_LENGTH - len(option)
    while room and draw(st.integers(0, 2)):
        other = draw(_other_options(room))
        parts.insert(draw(st.integers(0, len(parts))), other)
        room -= len(other)
    return build_options(b"".join(parts))


@st.composite
def packets(draw: st.DrawFn, *, doi: int | st.SearchStrategy[int] | None = None) -> Packet:
    """Scapy IPv4 ICMP echo requests whose options area is one of :func:`options_areas`,
    dissected (the CIPSO option an :class:`cipso.scapy.IPOption_CIPSO`)."""
    from scapy.layers.inet import ICMP, IP

    from . import scapy as _layers  # noqa: F401  (registers the option class)

    area = draw(options_areas(doi=doi))
    source, destination = draw(st.lists(st.ip_addresses(v=4), min_size=2, max_size=2))
    echo = ICMP(id=draw(st.integers(0, 0xFFFF)), seq=draw(st.integers(0, 0xFFFF)))
    built = IP(src=str(source), dst=str(destination), options=area) / echo
    return IP(bytes(built))
