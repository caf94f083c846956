"""Judge a CIPSO option exactly as the Linux kernel does on receive.

:func:`validate` follows ``cipso_v4_validate`` (net/ipv4/cipso_ipv4.c) check by check
(cipso.md §4) and raises :class:`cipso.CipsoValidationError` whose ``offset`` is the kernel's
error offset inside the option; :func:`verdict` walks a whole IPv4 options area as
``ip_options_compile`` does and returns the verdict with the ICMP Parameter Problem pointer
counted from the start of the IPv4 header, then applies the host's source-route policy as
``ip_rcv_options`` does (a source-routed packet is dropped silently by default).
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from mls import CategorySet
from mls.verdict import VerdictBase, VerdictKind

from ._codec import encode
from .doi import MAX_TAGS, CipsoDoi, doi_table
from .errors import (
    FIRST_OPTION_OFFSET,
    ICMP_BAD_PARAMETER,
    CipsoDroppedError,
    CipsoValidationError,
    OptionsAreaError,
)
from .model import (
    HEADER_LENGTH,
    LOCAL_TAG_LENGTH,
    MAX_OPTION_LENGTH,
    OPTION_TYPE,
    TAG_BASE_LENGTH,
    CipsoOption,
    MapType,
    TagType,
)
from .options import (
    MAX_AREA_LENGTH,
    SOURCE_ROUTES,
    TIMESTAMP_PRESPECIFIED,
    OptionType,
    Tlv,
    iter_options,
)

__all__ = ["Verdict", "VerdictKind", "validate", "verdict"]

#: The kernel's validator refuses options shorter than this (header + one 2-byte tag).
MIN_VALID_LENGTH = 8

_Failure = tuple[int, str]


def validate(
    data: bytes | CipsoOption,
    dois: Mapping[int, CipsoDoi] | Iterable[CipsoDoi],
    *,
    strict_bitmap: bool = True,
    loopback: bool = False,
) -> None:
    """Raise :class:`cipso.CipsoValidationError` unless the kernel accepts the option.

    ``data`` is one option starting at its type byte (bytes after its length are not looked
    at; use :func:`verdict` for a whole options area). ``dois`` are the DOIs configured
    in the kernel. ``strict_bitmap`` is the sysctl ``net.ipv4.cipso_rbm_strictvalid`` (default
    1: check tag 1's level and bitmap against the DOI); ``loopback`` says the packet arrived
    on a loopback device, the only place tag 128 is accepted.

    The error's ``offset`` is the kernel's: 0 when the option walker rejects the length byte,
    1 for an option shorter than 8, 2 for an unknown DOI, then the offending tag's type byte
    (+0), length byte (+1), level (+3) or first category byte (+4).
    """
    raw = encode(data) if isinstance(data, CipsoOption) else bytes(data)
    failure = _check_alone(raw, doi_table(dois), strict_bitmap, loopback)
    if failure is not None:
        raise CipsoValidationError(failure[1], failure[0])


def _check_alone(
    data: bytes, dois: Mapping[int, CipsoDoi], strict_bitmap: bool, loopback: bool
) -> _Failure | None:
    # What the option walker checks before it calls the CIPSO validator.
    if not data:
        return (0, "no bytes: expected a CIPSO option (type 134)")
    if data[0] != OPTION_TYPE:
        return (0, f"option type {data[0]} is not CIPSO (134)")
    if len(data) < 2:
        return (0, "the option has no length byte")
    length = data[1]
    if length < 2:
        return (0, f"option length {length} is below 2")
    if length > len(data) or length > MAX_OPTION_LENGTH:
        return (
            0,
            f"option length {length} runs past the options area "
            f"({min(len(data), MAX_OPTION_LENGTH)} bytes)",
        )
    return _check_option(data, 0, dois, strict_bitmap, loopback)


def _check_option(
    area: bytes,
    start: int,
    dois: Mapping[int, CipsoDoi],
    strict_bitmap: bool,
    loopback: bool,
) -> _Failure | None:
    """cipso_v4_validate on the option at ``area[start]``, whose length byte fits the area.
    Offsets returned are relative to ``start``."""
    opt = area[start : start + area[start + 1]]
    length = len(opt)
    if length < MIN_VALID_LENGTH:
        return (1, f"option length {length} is below the minimum of {MIN_VALID_LENGTH}")
    doi_number = int.from_bytes(opt[2:6], "big")
    doi = dois.get(doi_number)
    if doi is None:
        return (2, f"DOI {doi_number} is not configured")
    offset = HEADER_LENGTH
    while offset < length:
        tag_type = opt[offset]
        if not _in_tag_list(doi, tag_type):
            return (offset, f"tag type {tag_type} is not in DOI {doi_number}'s tag list")
        if offset + 1 == length:
            return (offset, "the last tag has no room for its length byte")
        tag_length = opt[offset + 1]
        if tag_length > length - offset:
            return (
                offset + 1,
                f"tag length {tag_length} runs past the option ({length - offset} bytes left)",
            )
        check = _TAG_CHECKS.get(tag_type, _check_unimplemented_tag)
        failure = check(doi, opt, offset, tag_length, strict_bitmap, loopback)
        if failure is not None:
            return failure
        offset += tag_length
    return None


def _in_tag_list(doi: CipsoDoi, tag_type: int) -> bool:
    # The kernel's tag list is 5 slots, unused ones 0; its search stops at the first 0, so a
    # type-0 tag matches the terminator of any list shorter than 5 (cipso.md §4 notes).
    slots = tuple(int(t) for t in doi.tags) + (0,) * (MAX_TAGS - len(doi.tags))
    index = 0
    while slots[index] != tag_type:
        index += 1
        if slots[index - 1] == 0 or index == MAX_TAGS:
            return False
    return True


def _level_valid(doi: CipsoDoi, level: int) -> bool:
    # cipso_v4_map_lvl_valid: PASS any, TRANS mapped wire levels, LOCAL none.
    if doi.map_type is MapType.PASS:
        return True
    return doi.map_type is MapType.TRANS and doi.level_from_wire(level) is not None


def _base_checks(doi: CipsoDoi, opt: bytes, offset: int, tag_length: int) -> _Failure | None:
    if tag_length < TAG_BASE_LENGTH:
        return (offset + 1, f"tag length {tag_length} is below the 4-byte tag base")
    if not _level_valid(doi, opt[offset + 3]):
        return (offset + 3, f"level {opt[offset + 3]} is not valid in DOI {doi.doi}")
    return None


def _check_bitmap_tag(
    doi: CipsoDoi, opt: bytes, offset: int, tag_length: int, strict_bitmap: bool, loopback: bool
) -> _Failure | None:
    if tag_length < TAG_BASE_LENGTH:
        return (offset + 1, f"tag length {tag_length} is below the 4-byte tag base")
    if not strict_bitmap:
        return None
    failure = _base_checks(doi, opt, offset, tag_length)
    if failure is not None or tag_length == TAG_BASE_LENGTH:
        return failure
    if doi.map_type is MapType.PASS:
        return None
    bitmap = opt[offset + TAG_BASE_LENGTH : offset + tag_length]
    if doi.map_type is MapType.TRANS:
        for category in CategorySet.from_bitmap(bitmap):
            if doi.category_from_wire(category) is None:
                return (offset + 4, f"category {category} is not mapped by DOI {doi.doi}")
        return None
    return (offset + 4, f"a {doi.map_type.name} DOI maps no categories")


def _u16_numbers(
    doi: CipsoDoi, opt: bytes, offset: int, tag_length: int, what: str
) -> tuple[_Failure | None, tuple[int, ...]]:
    # What tags 2 and 5 check before the order of their numbers; then the numbers.
    failure = _base_checks(doi, opt, offset, tag_length)
    data = opt[offset + TAG_BASE_LENGTH : offset + tag_length]
    if failure is not None or not data:
        return failure, ()
    if doi.map_type is not MapType.PASS:
        return (offset + 4, f"{what} need a PASS DOI"), ()
    if len(data) & 1:
        return (offset + 4, f"{len(data)} bytes of {what} is not a whole u16"), ()
    return None, struct.unpack(f">{len(data) >> 1}H", data)


def _check_enumerated_tag(
    doi: CipsoDoi, opt: bytes, offset: int, tag_length: int, _strict_bitmap: bool, loopback: bool
) -> _Failure | None:
    failure, categories = _u16_numbers(doi, opt, offset, tag_length, "enumerated categories")
    previous = -1
    for category in categories:
        if category <= previous:
            return (offset + 4, f"enumerated category {category} does not ascend from {previous}")
        previous = category
    return failure


def _check_ranged_tag(
    doi: CipsoDoi, opt: bytes, offset: int, tag_length: int, _strict_bitmap: bool, loopback: bool
) -> _Failure | None:
    failure, bounds = _u16_numbers(doi, opt, offset, tag_length, "ranges")
    previous_low = 65535  # CIPSO_V4_MAX_REM_CATS + 1
    for index in range(0, len(bounds), 2):
        high = bounds[index]
        if high > previous_low:
            return (offset + 4, f"range high {high} is above the previous low {previous_low}")
        previous_low = bounds[index + 1] if index + 1 < len(bounds) else 0
    return failure


def _check_local_tag(
    doi: CipsoDoi, opt: bytes, offset: int, tag_length: int, strict_bitmap: bool, loopback: bool
) -> _Failure | None:
    if not loopback:
        return (offset, "tag 128 (local) is accepted only on a loopback device")
    if tag_length != LOCAL_TAG_LENGTH:
        return (offset + 1, f"tag 128 is always 6 bytes, not {tag_length}")
    return None


def _check_unimplemented_tag(
    doi: CipsoDoi, opt: bytes, offset: int, tag_length: int, strict_bitmap: bool, loopback: bool
) -> _Failure | None:
    return (offset, f"tag type {opt[offset]} is not implemented by Linux")


# (DOI, option, tag offset, tag length, strict_bitmap, loopback) -> the failure, or None
_TagCheck = Callable[[CipsoDoi, bytes, int, int, bool, bool], _Failure | None]
# cipso_v4_validate's switch on the tag type: the tags Linux reads; every other type (6 and 7
# included, which it defines but never implemented) fails.
_TAG_CHECKS: dict[int, _TagCheck] = {
    TagType.RESTRICTED_BITMAP: _check_bitmap_tag,
    TagType.ENUMERATED: _check_enumerated_tag,
    TagType.RANGED: _check_ranged_tag,
    TagType.LOCAL: _check_local_tag,
}


# -- whole options areas (ip_options_compile) --------------------------------------------------


@dataclass(frozen=True, slots=True)
class Verdict(VerdictBase):
    """What the kernel's IPv4 receive path makes of an options area (:func:`verdict`); the
    same shape as :class:`calipso.Verdict`.

    ``offset`` is the byte the verdict is about, counted from the options area's first byte:
    the byte a Parameter Problem points at, or where the source route option of a silently
    dropped packet starts (no ICMP carries it); None when accepted. ``pointer`` is the ICMP
    Parameter Problem pointer the kernel sends, counted from the IPv4 header's first byte
    (None when it sends none). ``option_start`` is where the first CIPSO option starts in the
    area (None without one); ``in_option`` says the fault lies in that option
    (``option_offset`` is then the validator's offset inside it), not in the walker or another
    option. ``code`` is the ICMP code of a Parameter Problem (always 0: the pointer
    indicates the error).
    """

    def raise_for_verdict(self) -> None:
        """Raise unless the packet is accepted: :class:`cipso.CipsoValidationError` (with the
        ICMP pointer) for a Parameter Problem, :class:`cipso.CipsoDroppedError` (no ICMP
        fields: the kernel sends nothing) for a silent drop, :class:`cipso.OptionsAreaError`
        for options cut short. All are :class:`cipso.CipsoWireError`."""
        if self.kind is VerdictKind.ACCEPTED:
            return
        offset = 0 if self.offset is None else self.offset
        # Where the options area starts in the IPv4 header (the pointer counts from there).
        base = FIRST_OPTION_OFFSET if self.pointer is None else self.pointer - offset
        if self.kind is VerdictKind.DROPPED:
            raise CipsoDroppedError(self.reason, option_start=base + offset)
        if self.kind is VerdictKind.TRUNCATED:
            raise OptionsAreaError(self.reason, offset)
        option_offset = self.option_offset
        if option_offset is not None:
            raise CipsoValidationError(
                self.reason, option_offset, option_start=base + offset - option_offset
            )
        raise CipsoValidationError(self.reason, base + offset, option_start=0)


#: The reason of a silent source-route drop.
SOURCE_ROUTE_DROPPED = "source-routed packet dropped: accept_source_route is 0"


def verdict(
    area: bytes,
    dois: Mapping[int, CipsoDoi] | Iterable[CipsoDoi],
    *,
    strict_bitmap: bool = True,
    loopback: bool = False,
    header_length: int = FIRST_OPTION_OFFSET,
    accept_source_route: bool = False,
) -> Verdict:
    """Walk a received IPv4 options area (the bytes after the 20-byte base header) as
    ``ip_options_compile`` does and return its :class:`Verdict`.

    EOL ends the walk, NOP is one byte, every other option needs a length byte of at least 2
    that fits the area (else the pointer is its type byte); a second CIPSO option is refused
    at its type byte, and the first is judged by :func:`validate`. Record route, timestamp,
    source route and router alert get the kernel's structural checks; their contents
    (addresses, clocks) are not judged. ``header_length`` is where the area starts.

    When every check passes but the area holds a loose or strict source route (types 131,
    137), the packet is dropped silently unless ``accept_source_route`` is True: the kernel
    (``ip_rcv_options``) sends no ICMP error and counts nothing, so the verdict is
    ``DROPPED`` and its ``offset`` is the source route's type byte only to say which option
    caused it. ``accept_source_route`` stands for the receiving interface's
    ``net.ipv4.conf.<dev>.accept_source_route`` and ``conf.all.accept_source_route`` (the
    kernel needs both at 1; ``all`` is 0 by default). With it the options are accepted; where
    a route that still holds addresses sends the packet next is not modelled.

    An area longer than 40 bytes cannot be in an IPv4 header:
    :class:`cipso.OptionsAreaError`.
    """
    area = bytes(area)
    if len(area) > MAX_AREA_LENGTH:
        raise OptionsAreaError(
            f"an IPv4 options area is at most {MAX_AREA_LENGTH} bytes, not {len(area)}",
            MAX_AREA_LENGTH,
        )
    table = doi_table(dois)
    cipso_at: int | None = None
    source_route_at: int | None = None
    seen: set[int] = set()

    def reject(at: int, reason: str, in_option: bool = False) -> Verdict:
        return Verdict(
            VerdictKind.PARAMETER_PROBLEM,
            reason,
            at,
            header_length + at,
            cipso_at,
            in_option,
            ICMP_BAD_PARAMETER,
        )

    for tlv in iter_options(area, strict=False):
        position = tlv.offset
        if tlv.fault:
            return reject(position, tlv.fault)
        if tlv.type == OptionType.CIPSO:
            if cipso_at is not None:
                return reject(position, "a second CIPSO option")
            cipso_at = position
            found = _check_option(area, position, table, strict_bitmap, loopback)
            if found is not None:
                return reject(position + found[0], found[1], in_option=True)
            continue
        failure = _check_other(tlv, seen)
        if failure is not None:
            return reject(position + failure[0], failure[1])
        if tlv.type in SOURCE_ROUTES:
            source_route_at = position
    if source_route_at is not None and not accept_source_route:
        return Verdict(
            VerdictKind.DROPPED, SOURCE_ROUTE_DROPPED, source_route_at, option_start=cipso_at
        )
    return Verdict(VerdictKind.ACCEPTED, option_start=cipso_at)


def _check_other(tlv: Tlv, seen: set[int]) -> _Failure | None:
    # The structural checks of ip_options_compile for a received packet (skb present).
    check = _OTHER_CHECKS.get(tlv.type)
    return None if check is None else check(tlv, seen)


def _check_source_route(tlv: Tlv, seen: set[int]) -> _Failure | None:
    if tlv.size < 3:
        return (1, "source route option shorter than 3")
    if tlv.data[0] < 4:
        return (2, "source route pointer below 4")
    # Loose and strict routes share one slot: a second of either kind is refused.
    if OptionType.LSRR in seen:
        return (0, "a second source route option")
    seen.add(OptionType.LSRR)
    return None


def _check_record_route(tlv: Tlv, seen: set[int]) -> _Failure | None:
    length, pointer = tlv.size, tlv.data[0] if tlv.data else 0
    if tlv.type in seen:
        return (0, "a second record route option")
    if length < 3:
        return (1, "record route option shorter than 3")
    if pointer < 4:
        return (2, "record route pointer below 4")
    if pointer <= length and pointer + 3 > length:
        return (2, "record route pointer leaves no room for an address")
    seen.add(tlv.type)
    return None


def _check_timestamp_option(tlv: Tlv, seen: set[int]) -> _Failure | None:
    if tlv.type in seen:
        return (0, "a second timestamp option")
    failure = _check_timestamp(tlv.size, tlv.data)
    if failure is None:
        seen.add(tlv.type)
    return failure


def _check_router_alert(tlv: Tlv, seen: set[int]) -> _Failure | None:
    return (1, "router alert option shorter than 4") if tlv.size < 4 else None


# The options ip_options_compile looks into; it passes any other type unread.
_OTHER_CHECKS: dict[int, Callable[[Tlv, set[int]], _Failure | None]] = {
    OptionType.LSRR: _check_source_route,
    OptionType.SSRR: _check_source_route,
    OptionType.RECORD_ROUTE: _check_record_route,
    OptionType.TIMESTAMP: _check_timestamp_option,
    OptionType.ROUTER_ALERT: _check_router_alert,
}


def _check_timestamp(length: int, data: bytes) -> _Failure | None:
    if length < 4:
        return (1, "timestamp option shorter than 4")
    pointer = data[0]
    if pointer < 5:
        return (2, "timestamp pointer below 5")
    flags = data[1] & 0x0F
    if pointer <= length:
        if pointer + 3 > length:
            return (2, "timestamp pointer leaves no room for a timestamp")
        if flags in (1, TIMESTAMP_PRESPECIFIED) and pointer + 7 > length:
            return (2, "timestamp pointer leaves no room for an address and a timestamp")
    elif flags != TIMESTAMP_PRESPECIFIED and data[1] >> 4 == 15:
        return (3, "timestamp overflow counter is full")
    return None
