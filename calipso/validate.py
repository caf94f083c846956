"""Kernel-exact receive-side checks of CALIPSO options.

:func:`validate` accepts exactly the options Linux accepts (calipso.md §3, steps 2-5 in the
kernel's order: ``ipv6_hop_calipso`` in net/ipv6/exthdrs.c, then ``calipso_validate`` in
net/ipv6/calipso.c) and raises :class:`~calipso.CalipsoValidationError` naming the failed check
and its byte otherwise. The kernel does not look at the level, the bitmap contents or the
option's alignment; neither does this.
"""

from __future__ import annotations

from collections.abc import Callable, Container, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import TypeAlias

from mls.verdict import VerdictBase, VerdictKind

from ._checks import check_option, check_single_option
from ._codec import encode
from .doi import CalipsoDoi
from .errors import (
    IPV6_HEADER_LENGTH,
    CalipsoDroppedError,
    CalipsoValidationError,
    Check,
    HopByHopError,
)
from .hopbyhop import OptionType, Tlv, UnknownAction, iter_options
from .model import CalipsoOption

#: The DOIs a receiver has configured: a mapping from DOI number, or an iterable of DOI
#: definitions or numbers.
Dois: TypeAlias = Mapping[int, CalipsoDoi] | Iterable[CalipsoDoi | int]


def validate(data: bytes | CalipsoOption, dois: Dois) -> None:
    """Raise :class:`~calipso.CalipsoValidationError` unless the Linux kernel would accept this
    option (one option, type byte first, nothing after it) with ``dois`` configured."""
    if isinstance(data, CalipsoOption):
        data = encode(data)
    elif type(data) is not bytes:
        data = bytes(data)
    check_single_option(data, _doi_numbers(dois))


def _doi_numbers(dois: Dois) -> frozenset[int] | Mapping[int, CalipsoDoi]:
    if isinstance(dois, Mapping):
        return dois
    return frozenset(doi.doi if isinstance(doi, CalipsoDoi) else doi for doi in dois)


@dataclass(frozen=True, slots=True)
class Verdict(VerdictBase):
    """The kernel's verdict on a hop-by-hop header (:func:`verdict`); the same shape as
    :class:`cipso.Verdict`.

    ``offset`` is the byte the verdict is about, counted from the hop-by-hop header's first
    byte: the byte at fault for a drop, the byte a Parameter Problem points at otherwise; None
    when accepted. ``pointer`` is the ICMPv6 Parameter Problem pointer the kernel sends,
    counted from the IPv6 header's first byte (the hop-by-hop header follows its 40 bytes;
    None when it sends none). ``option_start`` is where the CALIPSO option the verdict is
    about starts in the header (the one at fault when ``in_option``, else the first one; None
    without one); ``in_option`` says the fault lies in that option and is one of
    :func:`validate`'s checks, named by ``check``. ``code`` is the ICMPv6 Parameter Problem
    code (2: unrecognised option type, 0: erroneous header field).
    """

    check: Check | None = None

    def raise_for_verdict(self) -> None:
        """Raise unless the packet is accepted: :class:`calipso.CalipsoValidationError` when a
        CALIPSO option fails its checks, :class:`calipso.CalipsoDroppedError` for any other
        fault of the header (with ``icmp_code`` when a Parameter Problem is sent),
        :class:`calipso.HopByHopError` for a header cut short. All are
        :class:`calipso.CalipsoWireError`."""
        if self.kind is VerdictKind.ACCEPTED:
            return
        if self.kind is VerdictKind.TRUNCATED:
            raise HopByHopError(self.reason, self.offset)
        if self.in_option and self.check is not None and self.option_start is not None:
            raise CalipsoValidationError(
                self.reason,
                self.option_offset,
                check=self.check,
                option_start=IPV6_HEADER_LENGTH + self.option_start,
            )
        raise CalipsoDroppedError(self.reason, self.offset, icmp_code=self.code)


#: net.ipv6.max_hbh_opts_number: how many non-pad options Linux accepts by default.
DEFAULT_MAX_OPTIONS = 8
_MAX_PADDING = 7


def verdict(
    header: bytes,
    dois: Dois,
    *,
    max_options: int = DEFAULT_MAX_OPTIONS,
    multicast_destination: bool = False,
    destination_options: bool = False,
) -> Verdict:
    """What Linux does with a received packet whose hop-by-hop header is ``header``.

    Follows ip6_parse_tlv (net/ipv6/exthdrs.c) option by option: an option running past the
    end, more than 7 consecutive padding bytes, a PadN with a non-zero byte or more than
    ``max_options`` non-pad options (net.ipv6.max_hbh_opts_number; negative as in the
    sysctl: that many, with unknown types dropped silently) drop the packet; every CALIPSO
    option goes through :func:`validate`'s checks where it stands; Router Alert, IOAM and Jumbo
    Payload get the kernel's own checks; an unknown type is handled by its action bits
    (:class:`~calipso.hopbyhop.UnknownAction`). The first failure decides.

    Only the first ``(header[1] + 1) * 8`` bytes are judged (what follows is the next
    header). A Jumbo Payload option is judged as in an ordinary packet, one whose IPv6 payload
    length is not zero.

    ``destination_options`` judges ``header`` as a destination options header instead (same
    TLV rules; ``max_options`` then stands for net.ipv6.max_dst_opts_number): there the kernel
    knows none of these options, so a CALIPSO option is skipped unread (its type's action bits
    are 00) and Router Alert, IOAM and Jumbo Payload are handled as unknown types. (The Home
    Address option of Mobile IPv6 is not modelled.) ``multicast_destination`` says the packet
    went to a multicast address: an unknown type with action bits 11 then drops it silently,
    and so does every other Parameter Problem but code 2 (the kernel sends no ICMPv6 error to
    a multicast destination but that one).
    """
    data = bytes(header)
    if len(data) < 8 or (data[1] + 1) * 8 > len(data):
        return _drop("the header is shorter than its length byte says", 1 if len(data) > 1 else 0)
    configured = _doi_numbers(dois)
    disallow_unknowns = max_options < 0
    max_options = abs(max_options)
    padding = 0
    options = 0
    first_calipso: int | None = None
    for tlv in iter_options(data, strict=False):
        offset = tlv.offset
        if tlv.fault:
            return _drop(tlv.fault, tlv.fault_offset)
        if tlv.is_padding:
            padding += tlv.size
            if padding > _MAX_PADDING:
                return _drop("more than 7 consecutive padding bytes", offset)
            if any(tlv.data):
                return _drop("PadN carries a non-zero byte", offset + 2 + _first_set(tlv.data))
            continue
        if tlv.type == OptionType.CALIPSO and first_calipso is None:
            first_calipso = offset
        options += 1
        if options > max_options:
            return _drop(f"more than {max_options} non-pad options", offset, first_calipso)
        judged = _judge_option(
            data,
            tlv,
            configured,
            _NO_OPTIONS if destination_options else _KNOWN_OPTIONS,
            disallow_unknowns=disallow_unknowns,
            multicast_destination=multicast_destination,
        )
        if judged is not None:
            if multicast_destination and judged.code == 0:
                judged = _unanswered_multicast(judged)
            return replace(judged, option_start=judged.option_start or first_calipso)
        padding = 0
    return Verdict(VerdictKind.ACCEPTED, option_start=first_calipso)


def _unanswered_multicast(judged: Verdict) -> Verdict:
    # icmp6_send answers a packet sent to a multicast address only with a Parameter Problem
    # for an unrecognised option whose type asks for one (code 2, action bits 10): any other
    # Parameter Problem becomes a silent drop.
    return Verdict(
        VerdictKind.DROPPED,
        f"{judged.reason} (no ICMPv6 error to a multicast destination)",
        judged.offset,
    )


def _first_set(data: bytes) -> int:
    return next(index for index, byte in enumerate(data) if byte)


def _judge_option(
    data: bytes,
    tlv: Tlv,
    dois: Container[int],
    handlers: Mapping[int, _Judge],
    *,
    disallow_unknowns: bool,
    multicast_destination: bool,
) -> Verdict | None:
    known = handlers.get(tlv.type)
    if known is not None:
        return known(data, tlv, dois)
    return _judge_unknown(
        tlv, disallow_unknowns=disallow_unknowns, multicast_destination=multicast_destination
    )


def _judge_calipso(data: bytes, tlv: Tlv, dois: Container[int]) -> Verdict | None:
    offset = tlv.offset
    try:
        check_option(data, offset, tlv.end, dois)
    except CalipsoValidationError as error:
        return Verdict(
            VerdictKind.DROPPED,
            f"CALIPSO option at {offset}: {error.reason}",
            offset + (error.offset or 0),
            option_start=offset,
            in_option=True,
            check=error.check,
        )
    return None


def _judge_router_alert(data: bytes, tlv: Tlv, dois: Container[int]) -> Verdict | None:
    if len(tlv.data) != 2:
        return _drop(f"Router Alert data length {len(tlv.data)} is not 2", tlv.offset + 1)
    return None


def _judge_ioam(data: bytes, tlv: Tlv, dois: Container[int]) -> Verdict | None:
    # IOAM must be 4n-aligned; otherwise it is ignored while IOAM is disabled (default).
    return _drop("IOAM option is not 4n-aligned", tlv.offset) if tlv.offset & 3 else None


def _judge_jumbo(data: bytes, tlv: Tlv, dois: Container[int]) -> Verdict | None:
    offset = tlv.offset
    if len(tlv.data) != 4 or offset & 3 != 2:
        return _drop("Jumbo Payload option is not 4 bytes at 4n + 2", offset)
    if int.from_bytes(tlv.data, "big") <= 0xFFFF:
        return _problem("Jumbo Payload length is not above 65535", offset + 2, 0)
    return _problem("Jumbo Payload option in a packet with a payload length", offset, 0)


_Judge = Callable[[bytes, Tlv, Container[int]], "Verdict | None"]

# The option types ip6_parse_tlv hands to a handler of their own in a hop-by-hop header; in a
# destination options header it knows none of them.
_KNOWN_OPTIONS: dict[int, _Judge] = {
    OptionType.CALIPSO: _judge_calipso,
    OptionType.ROUTER_ALERT: _judge_router_alert,
    OptionType.IOAM: _judge_ioam,
    OptionType.JUMBO: _judge_jumbo,
}
_NO_OPTIONS: dict[int, _Judge] = {}


def _judge_unknown(
    tlv: Tlv, *, disallow_unknowns: bool, multicast_destination: bool
) -> Verdict | None:
    # ip6_tlvopt_unknown: the type's two high bits say what to do.
    kind, offset = tlv.type, tlv.offset
    if disallow_unknowns:
        return _drop(f"unknown option type {kind:#04x} (unknown options disallowed)", offset)
    action = UnknownAction(kind >> 6)
    if action is UnknownAction.SKIP:
        return None
    if action is UnknownAction.DISCARD or (
        action is UnknownAction.DISCARD_ICMP_UNICAST and multicast_destination
    ):
        return _drop(f"unknown option type {kind:#04x} asks to be discarded", offset)
    return _problem(f"unknown option type {kind:#04x}", offset, 2)


def _drop(reason: str, offset: int | None, option_start: int | None = None) -> Verdict:
    return Verdict(VerdictKind.DROPPED, reason, offset, option_start=option_start)


def _problem(reason: str, offset: int, code: int) -> Verdict:
    return Verdict(
        VerdictKind.PARAMETER_PROBLEM, reason, offset, IPV6_HEADER_LENGTH + offset, code=code
    )
