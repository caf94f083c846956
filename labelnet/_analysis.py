"""Analysis: from an IPv4 options area or an IPv6 hop-by-hop header to the label it carries and
the kernel's verdict on it.

The options are found with the protocols' own walkers (:func:`cipso.iter_options`,
:func:`calipso.iter_options`, both tolerant so that a broken option is still shown) and judged
with their own verdicts (:func:`cipso.verdict`, :func:`calipso.verdict`), shown as they are.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, NamedTuple, Protocol

import calipso
import cipso
from labelnet.capture import AreaKind
from mls import Level
from mls._tlv import TlvBase

if TYPE_CHECKING:
    from labelnet.dump import DumpSettings

#: What the kernel did: the protocol's own verdict, or None when no DOI configuration was given.
AnyVerdict = cipso.Verdict | calipso.Verdict

#: Where the options area (IPv4) or the IPv6 extension headers start in the IP header.
_AREA_START = {"cipso": 20, "calipso": 40}

#: What a CALIPSO option in a destination options header means to the kernel: ip6_parse_tlv
#: hands only hop-by-hop options to calipso (ipv6_hop_calipso); in a destination options
#: header type 0x07 is an unknown option whose action bits (00) say skip it.
DESTINATION_OPTIONS_NOTE = (
    "CALIPSO in a destination options header: the kernel skips option type 0x07 unread "
    "(action bits 00), the packet has no label"
)


class Dois(Protocol):
    """The DOIs a receiving kernel has configured (:class:`labelnet.dump.DoiConfig`)."""

    @property
    def cipso(self) -> Mapping[int, cipso.CipsoDoi]: ...

    @property
    def calipso(self) -> Mapping[int, calipso.CalipsoDoi]: ...

    @property
    def given(self) -> bool: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class LabelOption:
    """One label option and the kernel's verdict on it; shared by every packet with the same
    option bytes.

    ``start`` is where the option starts in its options area or hop-by-hop header. ``level``
    is the host label: read through the DOI's tables when the DOI is configured (None when
    they do not map it), else the ``wire_level`` as on the wire. ``secid`` is what a CIPSO
    tag 128 carries instead of a level. ``verdict`` is the protocol's own
    (:class:`cipso.Verdict` / :class:`calipso.Verdict`), None when no DOI configuration was
    given. ``error`` says why the option could not be decoded at all, at ``error_offset``
    inside it.
    """

    protocol: str  # "cipso" or "calipso"
    start: int
    doi: int | None
    tag: int | None = None
    wire_level: Level | None = None
    level: Level | None = None
    secid: int | None = None
    verdict: AnyVerdict | None = None
    error: str = ""
    error_offset: int | None = None
    #: The option is in an IPv6 destination options header (the kernel reads CALIPSO only in
    #: the hop-by-hop header); ``start`` then counts from the end of the IPv6 header.
    in_destination_options: bool = False

    @property
    def reason(self) -> str:
        """Why the packet is not accepted ("" when it is, or without a verdict); for an option
        in a destination options header, also :data:`DESTINATION_OPTIONS_NOTE`."""
        reason = "" if self.verdict is None else self.verdict.reason
        if self.in_destination_options:
            return f"{reason}; {DESTINATION_OPTIONS_NOTE}" if reason else DESTINATION_OPTIONS_NOTE
        return reason

    @property
    def offset(self) -> int | None:
        """The verdict's offset inside this option, when the fault lies in it."""
        verdict = self.verdict
        if verdict is None or verdict.option_start != self.start:
            return None
        return verdict.option_offset

    @property
    def pointer(self) -> int | None:
        """The byte the verdict is about, counted from the IP header's first byte (the ICMP
        Parameter Problem pointer when the kernel sends one)."""
        verdict = self.verdict
        if verdict is None or verdict.offset is None:
            return None
        if verdict.pointer is not None:
            return verdict.pointer
        return _AREA_START[self.protocol] + verdict.offset

    @property
    def label(self) -> str:
        """The label as the outputs show it: the host level, ``secid N`` for tag 128, or
        ``-`` for none."""
        if self.level is not None:
            return str(self.level)
        return "-" if self.secid is None else f"secid {self.secid}"

    def describe_verdict(self) -> str:
        """The verdict in words, as the text output shows it."""
        verdict = self.verdict
        text = "no-doi-config" if verdict is None else verdict.kind.value
        offset = self.offset
        if offset is not None:
            text += f" at {offset}"
        elif (pointer := self.pointer) is not None:
            text += f" at header byte {pointer}"
        reason = self.reason
        if reason:
            text += f": {reason}"
        if self.error:
            # The verdict often names the same fault; it is said once.
            if self.error == reason:
                text += " (malformed)"
            else:
                text += f" (malformed at {self.error_offset}: {self.error})"
        return text


#: The note a snapshot length that cut the option adds to the error.
_CUT = " (the capture's snapshot length cut it)"


# Area kinds as plain ints: an enum member looked up on its class costs about 60 ns in CPython
# 3.11, and these tests run for every new options area.
_IPV4_OPTIONS, _HOP_BY_HOP = int(AreaKind.IPV4_OPTIONS), int(AreaKind.HOP_BY_HOP)


class Analyzer:
    """Works out the :class:`LabelOption` of an IPv4 options area or an IPv6 hop-by-hop
    header, as the kernel would with ``config``. ``loopback`` says the packets arrived on a
    loopback device (the only place CIPSO tag 128 is accepted); ``accept_source_route`` says
    the receiver has ``net.ipv4.conf.{all,<dev>}.accept_source_route`` at 1 (otherwise an IPv4
    packet with a source route is dropped silently)."""

    def __init__(
        self, config: Dois, *, loopback: bool = False, accept_source_route: bool = False
    ) -> None:
        self.config = config
        self.loopback = loopback
        self.accept_source_route = accept_source_route

    def analyse(self, kind: int, area: bytes, truncated: bool = False) -> LabelOption | None:
        """The label option of an area of kind ``kind`` (:class:`labelnet.capture.AreaKind`,
        as :func:`labelnet.capture.iter_labeled` yields it)."""
        if kind == _IPV4_OPTIONS:
            return self.ipv4(area, truncated)
        if kind == _HOP_BY_HOP:
            return self.ipv6(area, truncated)
        after = kind == AreaKind.HOP_BY_HOP_AND_DESTINATION_OPTIONS
        return self.destination_options(area, truncated, after_hop_by_hop=after)

    def ipv4(self, area: bytes, truncated: bool = False) -> LabelOption | None:
        """The first CIPSO option in an IPv4 options area, or None when there is none."""
        walk = cipso.iter_options(area, strict=False)
        found = _first_option(walk, cipso.OptionType.CIPSO, area, truncated, cipso.decode)
        if found is None:
            return None
        option, start, raw = found.option, found.start, found.raw
        verdict = self._verdict(4, area, start, truncated)
        if not isinstance(option, cipso.CipsoOption):
            return LabelOption(
                protocol="cipso",
                start=start,
                doi=_u32(raw, 2),
                tag=raw[6] if len(raw) > 6 else None,
                verdict=verdict,
                error=found.error,
                error_offset=found.error_offset,
            )
        first = option.tags[0] if option.tags else None
        wire = option.mls_level
        return LabelOption(
            protocol="cipso",
            start=start,
            doi=option.doi,
            tag=None if first is None else int(first.tag_type),
            wire_level=wire,
            level=self._host_level(option.doi, wire),
            secid=first.secid if isinstance(first, cipso.LocalTag) else None,
            verdict=verdict,
        )

    def ipv6(self, header: bytes, truncated: bool = False) -> LabelOption | None:
        """The first CALIPSO option in an IPv6 hop-by-hop header, or None when there is none."""
        found = _first_calipso(header, truncated)
        if found is None:
            return None
        verdict = self._verdict(6, header, found.start, truncated)
        return _calipso_label(found, 0, verdict, destination=False)

    def destination_options(
        self, area: bytes, truncated: bool = False, *, after_hop_by_hop: bool = False
    ) -> LabelOption | None:
        """The first CALIPSO option in an IPv6 destination options header, or None. ``area``
        is the header, or with ``after_hop_by_hop`` a hop-by-hop header (without CALIPSO) and
        the destination options header after it. The verdict is the hop-by-hop header's when
        that one drops the packet, else the destination options header's, judged as the
        kernel judges it there (:func:`calipso.verdict` with ``destination_options``)."""
        skip = (area[1] + 1) * 8 if after_hop_by_hop else 0
        header = area[skip:]
        found = _first_calipso(header, truncated)
        if found is None:
            return None
        verdict = self._destination_verdict(area, skip, skip + found.start, truncated)
        return _calipso_label(found, skip, verdict, destination=True)

    def _destination_verdict(
        self, area: bytes, skip: int, start: int, truncated: bool
    ) -> calipso.Verdict | None:
        if not self.config.given:
            return None
        if truncated:
            return calipso.Verdict(
                calipso.VerdictKind.TRUNCATED,
                "the capture holds only part of the header",
                option_start=start,
            )
        if skip:
            before = calipso.verdict(area[:skip], self.config.calipso)
            if not before.accepted:
                return before
        judged = calipso.verdict(area[skip:], self.config.calipso, destination_options=True)
        return _shifted(judged, skip)

    def _host_level(self, doi: int, wire: Level | None) -> Level | None:
        definition = self.config.cipso.get(doi)
        if definition is None or wire is None:
            return wire
        host = definition.level_from_wire(wire.sensitivity)
        categories = definition.categories_from_wire(wire.categories)
        return None if host is None or categories is None else Level(host, categories)

    def _verdict(self, version: int, data: bytes, start: int, truncated: bool) -> AnyVerdict | None:
        """The protocol's own verdict on the options area (4) or hop-by-hop header (6); one
        of its TRUNCATED kind when the capture cut them; None without DOI configuration."""
        if not self.config.given:
            return None
        if version == 4:
            if truncated:
                return cipso.Verdict(
                    cipso.VerdictKind.TRUNCATED,
                    "the capture holds only part of the options",
                    option_start=start,
                )
            return cipso.verdict(
                data,
                self.config.cipso,
                loopback=self.loopback,
                accept_source_route=self.accept_source_route,
            )
        if truncated:
            return calipso.Verdict(
                calipso.VerdictKind.TRUNCATED,
                "the capture holds only part of the header",
                option_start=start,
            )
        return calipso.verdict(data, self.config.calipso)


class _Found(NamedTuple):
    """A label option as a tolerant walk found it."""

    start: int  #: where it starts in the area or header
    raw: bytes  #: its bytes, as far as the area or header holds them
    option: object  #: decoded, or None when it is malformed
    error: str  #: why it is malformed
    error_offset: int | None  #: where inside it


def _first_option(
    walk: Iterable[TlvBase],
    wanted: int,
    data: bytes,
    truncated: bool,
    decode: Callable[[bytes], object],
) -> _Found | None:
    """The first option of type ``wanted`` that a tolerant walk finds, decoded when the walk
    could go past it and ``decode`` takes it (a protocol's :class:`ValueError` subclass
    otherwise says why it is malformed, and where)."""
    for tlv in walk:
        if tlv.type == wanted:
            break
    else:
        return None
    start = tlv.offset
    raw = data[start : start + 2 + len(tlv.data)]
    if tlv.fault:
        at = 0 if tlv.fault_offset is None else tlv.fault_offset - start
        return _Found(start, raw, None, tlv.fault + (_CUT if truncated else ""), at)
    try:
        return _Found(start, raw, decode(raw), "", None)
    except (cipso.CipsoDecodeError, calipso.CalipsoDecodeError) as exc:
        return _Found(start, raw, None, exc.reason, exc.offset)


def _first_calipso(header: bytes, truncated: bool) -> _Found | None:
    walk = calipso.iter_options(header, strict=False)
    return _first_option(walk, calipso.OptionType.CALIPSO, header, truncated, calipso.decode)


def _calipso_label(
    found: _Found, skip: int, verdict: AnyVerdict | None, *, destination: bool
) -> LabelOption:
    """The :class:`LabelOption` of a CALIPSO option found in a header ``skip`` bytes into
    the IPv6 extension headers: the hop-by-hop header, or a ``destination`` options header."""
    option = found.option if isinstance(found.option, calipso.CalipsoOption) else None
    wire = None if option is None else option.mls_level
    return LabelOption(
        protocol="calipso",
        start=skip + found.start,
        doi=option.doi if option is not None else _u32(found.raw, 2),
        wire_level=wire,
        level=wire,
        verdict=verdict,
        error=found.error,
        error_offset=found.error_offset,
        in_destination_options=destination,
    )


def _shifted(verdict: calipso.Verdict, skip: int) -> calipso.Verdict:
    """``verdict`` on a header that starts ``skip`` bytes further into the packet."""
    if not skip:
        return verdict

    def moved(at: int | None) -> int | None:
        return None if at is None else at + skip

    return replace(
        verdict,
        offset=moved(verdict.offset),
        pointer=moved(verdict.pointer),
        option_start=moved(verdict.option_start),
    )


class PlainLabel(NamedTuple):
    """What the outputs show of a well-formed label option read straight from its bytes."""

    protocol: str
    doi: int
    tag: int | None
    label: str  #: the wire level's text


def plain_label(version: int, area: bytes) -> PlainLabel | None:
    """The label of an options area (4) or hop-by-hop header (6) whose first option is a label
    option of the shape senders use, read from the bytes by the protocol's
    ``first_label_text`` without building its objects; None for any other shape, which
    :class:`Analyzer` works out in full."""
    # Built by tuple.__new__, in C: a NamedTuple's own __new__ is Python, and this runs for
    # every packet whose label is new.
    if version == 4:
        found = cipso.first_label_text(area)
        return None if found is None else _new_plain(PlainLabel, ("cipso", *found))
    if version != _HOP_BY_HOP:  # a destination options header: worked out in full
        return None
    found6 = calipso.first_label_text(area)
    return (
        None if found6 is None else _new_plain(PlainLabel, ("calipso", found6[0], None, found6[1]))
    )


_new_plain = tuple.__new__


class PlainLevel(NamedTuple):
    """The wire level of a well-formed label option read straight from its bytes, as
    numbers: what :func:`plain_label` reads as text."""

    protocol: str
    doi: int
    tag: int | None
    sensitivity: int
    categories: int  #: the category bit integer


def plain_level(version: int, area: bytes) -> PlainLevel | None:
    """:func:`plain_label`'s label as numbers (the protocol's ``first_label``), for the same
    shapes; None for any other, which :class:`Analyzer` works out in full."""
    if version == 4:
        found = cipso.first_label(area)
        return None if found is None else _new_plain(PlainLevel, ("cipso", *found))
    if version != _HOP_BY_HOP:
        return None
    found6 = calipso.first_label(area)
    if found6 is None:
        return None
    doi, sensitivity, categories = found6
    return _new_plain(PlainLevel, ("calipso", doi, None, sensitivity, categories))


def _u32(data: bytes, at: int) -> int | None:
    return int.from_bytes(data[at : at + 4], "big") if len(data) >= at + 4 else None


def label_filter(settings: DumpSettings) -> Callable[[LabelOption], bool] | None:
    """The DOI and level filters of ``settings`` as one test, or None when there are none."""
    wanted_dois = settings.doi_filter
    tests: list[Callable[[Level], bool]] = []
    if settings.dominated_by is not None:
        bound = Level.parse(settings.dominated_by)
        tests.append(lambda level: level.dominated_by(bound))
    if settings.dominates is not None:
        floor = Level.parse(settings.dominates)
        tests.append(lambda level: level.dominates(floor))
    if settings.equals is not None:
        same = Level.parse(settings.equals)
        tests.append(lambda level: level == same)
    if not wanted_dois and not tests:
        return None

    def keep(option: LabelOption) -> bool:
        if wanted_dois and option.doi not in wanted_dois:
            return False
        if tests:
            level = option.level
            return level is not None and all(test(level) for test in tests)
        return True

    return keep


@dataclass(frozen=True, slots=True)
class Record:
    """One labeled packet: its number in the capture (from 1), its time in seconds (decimal
    text, exact), its addresses and its :class:`LabelOption`."""

    packet: int
    time: str
    source: str
    destination: str
    option: LabelOption
