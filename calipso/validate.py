"""Kernel-exact receive-side checks of CALIPSO options.

:func:`validate` accepts exactly the options Linux accepts (calipso.md §3, steps 2-5 in the
kernel's order: ``ipv6_hop_calipso`` in net/ipv6/exthdrs.c, then ``calipso_validate`` in
net/ipv6/calipso.c) and raises :class:`~calipso.CalipsoValidationError` naming the failed check
and its byte otherwise. The kernel does not look at the level, the bitmap contents or the
option's alignment; neither does this.
"""

from __future__ import annotations

import enum
from collections.abc import Container, Iterable, Mapping
from dataclasses import dataclass
from typing import TypeAlias

from ._checks import check_option, check_single_option
from ._codec import encode
from .doi import CalipsoDoi
from .errors import CalipsoValidationError, Check
from .hopbyhop import IPV6_HEADER_LENGTH, OptionType, UnknownAction
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


class VerdictKind(str, enum.Enum):
    """What the Linux kernel does with a packet carrying a hop-by-hop header."""

    ACCEPTED = "accepted"  #: the header passes; the packet goes on
    DROPPED = "dropped"  #: dropped silently (counted in Ip6InHdrErrors, no ICMPv6)
    PARAMETER_PROBLEM = "parameter-problem"  #: dropped with an ICMPv6 Parameter Problem

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True, slots=True)
class HopByHopVerdict:
    """The kernel's verdict on a hop-by-hop header (:func:`hop_by_hop_verdict`).

    ``offset`` is the header offset of the byte the verdict is about: the byte at fault for a
    drop, the Parameter Problem pointer's byte otherwise. ``check`` is set when a CALIPSO
    option failed one of the checks of :func:`validate`; ``code`` is the ICMPv6 Parameter
    Problem code (2: unrecognised option type, 0: erroneous header field).
    """

    kind: VerdictKind
    reason: str | None = None
    offset: int | None = None
    check: Check | None = None
    code: int | None = None

    @property
    def accepted(self) -> bool:
        return self.kind is VerdictKind.ACCEPTED

    @property
    def dropped(self) -> bool:
        return self.kind is VerdictKind.DROPPED

    @property
    def pointer(self) -> int | None:
        """The Parameter Problem pointer as the kernel sends it, counted from the start of
        the IPv6 header (the hop-by-hop header follows its 40 bytes)."""
        if self.kind is not VerdictKind.PARAMETER_PROBLEM or self.offset is None:
            return None
        return IPV6_HEADER_LENGTH + self.offset


_ACCEPTED = HopByHopVerdict(VerdictKind.ACCEPTED)
#: net.ipv6.max_hbh_opts_number: how many non-pad options Linux accepts by default.
DEFAULT_MAX_OPTIONS = 8
_MAX_PADDING = 7


def hop_by_hop_verdict(
    header: bytes,
    dois: Dois,
    *,
    max_options: int = DEFAULT_MAX_OPTIONS,
    multicast_destination: bool = False,
) -> HopByHopVerdict:
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
    """
    data = bytes(header)
    if len(data) < 8 or (data[1] + 1) * 8 > len(data):
        return HopByHopVerdict(
            VerdictKind.DROPPED,
            "the header is shorter than its length byte says",
            1 if len(data) > 1 else 0,
        )
    size = (data[1] + 1) * 8
    configured = _doi_numbers(dois)
    disallow_unknowns = max_options < 0
    max_options = abs(max_options)
    padding = 0
    options = 0
    offset = 2
    while offset < size:
        kind = data[offset]
        if kind == OptionType.PAD1:
            padding += 1
            if padding > _MAX_PADDING:
                return _drop("more than 7 consecutive padding bytes", offset)
            offset += 1
            continue
        if size - offset < 2:
            return _drop(f"option type {kind:#04x} has no length byte", offset)
        length = data[offset + 1] + 2
        if length > size - offset:
            return _drop(f"option type {kind:#04x} runs past the end of the header", offset + 1)
        if kind == OptionType.PADN:
            padding += length
            if padding > _MAX_PADDING:
                return _drop("more than 7 consecutive padding bytes", offset)
            for index in range(offset + 2, offset + length):
                if data[index]:
                    return _drop("PadN carries a non-zero byte", index)
        else:
            options += 1
            if options > max_options:
                return _drop(f"more than {max_options} non-pad options", offset)
            verdict = _judge_option(
                data,
                offset,
                length,
                configured,
                disallow_unknowns=disallow_unknowns,
                multicast_destination=multicast_destination,
            )
            if verdict is not None:
                return verdict
            padding = 0
        offset += length
    return _ACCEPTED


def _judge_option(
    data: bytes,
    offset: int,
    length: int,
    dois: Container[int],
    *,
    disallow_unknowns: bool,
    multicast_destination: bool,
) -> HopByHopVerdict | None:
    kind = data[offset]
    if kind == OptionType.CALIPSO:
        try:
            check_option(data, offset, offset + length, dois)
        except CalipsoValidationError as error:
            return HopByHopVerdict(
                VerdictKind.DROPPED,
                f"CALIPSO option at {offset}: {error.reason}",
                offset + (error.offset or 0),
                error.check,
            )
        return None
    if kind == OptionType.ROUTER_ALERT:
        if data[offset + 1] != 2:
            return _drop(f"Router Alert data length {data[offset + 1]} is not 2", offset + 1)
        return None
    if kind == OptionType.IOAM:
        # IOAM must be 4n-aligned; otherwise it is ignored while IOAM is disabled (default).
        if offset & 3:
            return _drop("IOAM option is not 4n-aligned", offset)
        return None
    if kind == OptionType.JUMBO:
        if data[offset + 1] != 4 or offset & 3 != 2:
            return _drop("Jumbo Payload option is not 4 bytes at 4n + 2", offset)
        if int.from_bytes(data[offset + 2 : offset + 6], "big") <= 0xFFFF:
            return _problem("Jumbo Payload length is not above 65535", offset + 2, 0)
        return _problem("Jumbo Payload option in a packet with a payload length", offset, 0)
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


def _drop(reason: str, offset: int) -> HopByHopVerdict:
    return HopByHopVerdict(VerdictKind.DROPPED, reason, offset)


def _problem(reason: str, offset: int, code: int) -> HopByHopVerdict:
    return HopByHopVerdict(VerdictKind.PARAMETER_PROBLEM, reason, offset, code=code)
