"""Labels in captures: what every CIPSO or CALIPSO option in a pcap/pcapng file says, and what
the Linux kernel would do with it.

:func:`records` yields one :class:`Record` per labeled packet; :func:`dump` writes them as
aligned text, JSON lines or CSV, filtered, optionally with a table of labels per address pair,
optionally spread over several processes. The capture side lives in :mod:`labelnet.capture`;
the option side is :mod:`cipso` and :mod:`calipso`.

Speed comes from one observation: a capture repeats the same few option areas over and over.
Everything that depends only on the option bytes (decoding, the kernel's verdict, the label
through the DOI's tables, the label filters, even the formatted end of the output line) is
worked out once per distinct options area and kept in a bounded cache; what remains per packet
is finding the IP header, two cached address look-ups and one string format.
"""

from __future__ import annotations

import csv
import enum
import io
import ipaddress
import itertools
import json
import os
import signal
import socket
import sys
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from typing import BinaryIO, TextIO

import calipso
import cipso
from labelnet.capture import CaptureError, Segment, iter_labeled, read_segments
from mls import Level
from netlabel.ctl import parse_definition

__all__ = [
    "Analyzer",
    "DoiConfig",
    "DumpSettings",
    "DumpSummary",
    "Format",
    "LabelOption",
    "Record",
    "Verdict",
    "dump",
    "format_stats",
    "read_doi_file",
    "records",
]


class Verdict(str, enum.Enum):
    """What the kernel does with the packet, for the DOI configuration given."""

    ACCEPT = "accept"  #: the option passes the kernel's receive checks
    REJECT = "reject"  #: dropped with an ICMP/ICMPv6 Parameter Problem (CIPSO failures)
    #: dropped silently (CALIPSO failures, hop-by-hop header faults, IPv4 source routes)
    DROP = "drop"
    NO_DOI_CONFIG = "no-doi-config"  #: no DOI configuration given, so no verdict
    TRUNCATED = "truncated"  #: the capture cut the header short, so no verdict

    def __str__(self) -> str:
        return self.value


# -- DOI configuration --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DoiConfig:
    """The DOIs a receiving kernel has configured (``netlabelctl cipso add`` / ``calipso add``).

    ``given`` is False when no configuration was given at all: then there is no verdict and
    labels are shown as on the wire.
    """

    cipso: Mapping[int, cipso.CipsoDoi] = field(default_factory=dict)
    calipso: Mapping[int, calipso.CalipsoDoi] = field(default_factory=dict)
    given: bool = False

    @classmethod
    def parse(cls, definitions: Iterable[str]) -> DoiConfig:
        """DOIs in netlabelctl's syntax, one per string: ``cipso trans doi:3 tags:1
        levels:0=0 categories:0=1``, ``cipso pass doi:16 tags:1,5``, ``calipso pass doi:2``
        (``add`` after the protocol is allowed, ``cipsov4`` is ``cipso``), read by
        :func:`netlabel.ctl.parse_definition`.

        A malformed definition raises :class:`netlabel.ctl.CtlSyntaxError`,
        :class:`cipso.CipsoDoiError` or :class:`calipso.CalipsoDoiError`; a DOI defined twice
        raises the protocol's error, as the kernel refuses it (EEXIST).
        """
        cipso_dois: list[cipso.CipsoDoi] = []
        calipso_dois: dict[int, calipso.CalipsoDoi] = {}
        given = False
        for definition in definitions:
            doi = parse_definition(definition)
            given = True
            if isinstance(doi, cipso.CipsoDoi):
                cipso_dois.append(doi)
            elif doi.doi in calipso_dois:
                raise calipso.CalipsoDoiError(f"CALIPSO DOI {doi.doi} is defined twice (EEXIST)")
            else:
                calipso_dois[doi.doi] = doi
        return cls(dict(cipso.doi.doi_table(cipso_dois)), calipso_dois, given)


def read_doi_file(path: str | os.PathLike[str]) -> list[str]:
    """The DOI definitions in a file, one per line; blank lines and ``#`` comments are
    skipped."""
    with open(path, encoding="utf-8") as lines:
        found = []
        for line in lines:
            text = line.split("#", 1)[0].strip()
            if text:
                found.append(text)
        return found


# -- what an option says ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LabelOption:
    """One label option and the kernel's verdict on it; shared by every packet with the same
    option bytes.

    ``level`` is the host label: read through the DOI's tables when the DOI is configured
    (None when they do not map it), else the ``wire_level`` as on the wire. ``offset`` is the
    kernel's error offset inside the option when the option itself is at fault;
    ``pointer`` counts from the IP header's first byte (the ICMP Parameter Problem pointer for
    a rejection). ``error`` says why the option could not be decoded at all, at
    ``error_offset`` inside it.
    """

    protocol: str  # "cipso" or "calipso"
    doi: int | None
    tag: int | None
    wire_level: Level | None
    level: Level | None
    verdict: Verdict
    reason: str = ""
    offset: int | None = None
    pointer: int | None = None
    error: str = ""
    error_offset: int | None = None

    def describe_verdict(self) -> str:
        """The verdict in words, as the text output shows it."""
        text = self.verdict.value
        if self.offset is not None:
            text += f" at {self.offset}"
        elif self.pointer is not None:
            text += f" at header byte {self.pointer}"
        if self.reason:
            text += f": {self.reason}"
        if self.error:
            text += f" (malformed at {self.error_offset}: {self.error})"
        return text


@dataclass(frozen=True, slots=True)
class Record:
    """One labeled packet: its number in the capture (from 1), its time in seconds (decimal
    text, exact), its addresses and its :class:`LabelOption`."""

    packet: int
    time: str
    source: str
    destination: str
    option: LabelOption


_IPOPT_END = 0
_IPOPT_NOOP = 1
_CIPSO = cipso.model.OPTION_TYPE
_CALIPSO = calipso.OPTION_TYPE
_IPV4_HEADER = 20
_IPV6_HEADER = 40


class Analyzer:
    """Works out the :class:`LabelOption` of an IPv4 options area or an IPv6 hop-by-hop
    header, as the kernel would with ``config``. ``loopback`` says the packets arrived on a
    loopback device (the only place CIPSO tag 128 is accepted); ``accept_source_route`` says
    the receiver has ``net.ipv4.conf.{all,<dev>}.accept_source_route`` at 1 (otherwise an IPv4
    packet with a source route is dropped silently)."""

    def __init__(
        self, config: DoiConfig, *, loopback: bool = False, accept_source_route: bool = False
    ) -> None:
        self.config = config
        self.loopback = loopback
        self.accept_source_route = accept_source_route

    def ipv4(self, area: bytes, truncated: bool = False) -> LabelOption | None:
        """The CIPSO option in an IPv4 options area, or None when there is none."""
        position = _find_cipso(area)
        if position is None:
            return None
        size = len(area) - position
        length = area[position + 1] if size > 1 else 0
        raw = area[position : position + length]
        option: cipso.CipsoOption | None = None
        error, error_offset = "", None
        if size < 2:
            error, error_offset = "the option has no length byte", 1
        elif length < 2:
            error, error_offset = f"option length {length} is below 2", 1
        elif length > size:
            cut = " (the capture's snapshot length cut it)" if truncated else ""
            error = f"option length {length} runs past the options area{cut}"
            error_offset = 1
        else:
            try:
                option = cipso.decode(raw)
            except cipso.CipsoDecodeError as exc:
                error, error_offset = exc.reason, exc.offset
        doi = option.doi if option is not None else _u32(raw, 2)
        tag: int | None
        if option is not None:
            tag = int(option.tags[0].tag_type) if option.tags else None
        else:
            tag = raw[6] if len(raw) > 6 else None
        wire = option.mls_level if option is not None else None
        level = wire
        definition = self.config.cipso.get(doi) if doi is not None else None
        if definition is not None and wire is not None:
            host = definition.level_from_wire(wire.sensitivity)
            categories = definition.categories_from_wire(wire.categories)
            level = None if host is None or categories is None else Level(host, categories)
        if not self.config.given:
            verdict, reason, offset, pointer = Verdict.NO_DOI_CONFIG, "", None, None
        elif truncated:
            verdict, reason = Verdict.TRUNCATED, "the capture holds only part of the options"
            offset = pointer = None
        else:
            judged = cipso.verdict(
                area,
                self.config.cipso,
                loopback=self.loopback,
                accept_source_route=self.accept_source_route,
            )
            if judged.accepted:
                verdict, reason, offset, pointer = Verdict.ACCEPT, "", None, None
            elif judged.dropped:
                # The source route option's place: no ICMP error carries it.
                pointer = None if judged.offset is None else _IPV4_HEADER + judged.offset
                verdict, reason, offset = Verdict.DROP, judged.reason, None
            else:
                verdict, reason, pointer = Verdict.REJECT, judged.reason, judged.pointer
                offset = judged.option_offset
        return LabelOption(
            "cipso", doi, tag, wire, level, verdict, reason, offset, pointer, error, error_offset
        )

    def ipv6(self, header: bytes, truncated: bool = False) -> LabelOption | None:
        """The first CALIPSO option in an IPv6 hop-by-hop header, or None when there is none."""
        position = _find_option(header)
        if position is None:
            return None
        size = len(header) - position
        length = header[position + 1] + 2 if size > 1 else 0
        raw = header[position : position + length]
        end = position + max(length, 2)
        option: calipso.CalipsoOption | None = None
        error, error_offset = "", None
        if size < 2:
            error, error_offset = "the option has no length byte", 1
        elif length > size:
            cut = " (the capture's snapshot length cut it)" if truncated else ""
            error, error_offset = f"the option runs past the hop-by-hop header{cut}", 1
        else:
            try:
                option = calipso.decode(raw)
            except calipso.CalipsoDecodeError as exc:
                error, error_offset = exc.reason, exc.offset
        doi = option.doi if option is not None else _u32(raw, 2)
        wire = option.mls_level if option is not None else None
        if not self.config.given:
            verdict, reason, offset, pointer = Verdict.NO_DOI_CONFIG, "", None, None
        elif truncated:
            verdict, reason = Verdict.TRUNCATED, "the capture holds only part of the header"
            offset = pointer = None
        else:
            judged = calipso.verdict(header, self.config.calipso)
            if judged.accepted:
                verdict, reason, offset, pointer = Verdict.ACCEPT, "", None, None
            else:
                verdict = Verdict.DROP if judged.dropped else Verdict.REJECT
                reason = judged.reason or ""
                pointer = None if judged.offset is None else _IPV6_HEADER + judged.offset
                offset = None
                at = judged.offset
                if judged.check is not None and at is not None and position <= at < end:
                    # This option failed (not a later CALIPSO option): say where inside it;
                    # the verdict's reason starts with the option's place, which is ours.
                    offset = at - position
                    reason = reason.removeprefix(f"CALIPSO option at {position}: ")
        return LabelOption(
            "calipso", doi, None, wire, wire, verdict, reason, offset, pointer, error, error_offset
        )


def _u32(data: bytes, at: int) -> int | None:
    return int.from_bytes(data[at : at + 4], "big") if len(data) >= at + 4 else None


def _find_cipso(area: bytes) -> int | None:
    """Where the first CIPSO option starts in an options area (EOL ends the walk, NOP is one
    byte, other options skip by their length byte), even when its own length is broken."""
    position = 0
    size = len(area)
    while position < size:
        kind = area[position]
        if kind == _CIPSO:
            return position
        if kind == _IPOPT_END:
            return None
        if kind == _IPOPT_NOOP:
            position += 1
            continue
        if position + 1 >= size or area[position + 1] < 2:
            return None  # the walk cannot go on; the kernel rejects the packet here
        position += area[position + 1]
    return None


def _find_option(header: bytes) -> int | None:
    """Where the first CALIPSO option starts in a hop-by-hop header, even when it runs past the
    header's end."""
    position = 2
    size = len(header)
    while position < size:
        kind = header[position]
        if kind == _CALIPSO:
            return position
        if kind == 0:  # Pad1
            position += 1
            continue
        if position + 1 >= size:
            return None
        position += header[position + 1] + 2
    return None


# -- settings and filters -----------------------------------------------------------------------


#: Address column widths of the text format: an IPv4 address, the longest IPv6 address.
MIN_ADDRESS_WIDTH = 15
MAX_ADDRESS_WIDTH = 39


class Format(str, enum.Enum):
    """Output formats."""

    TEXT = "text"  #: aligned columns for people
    JSONL = "jsonl"  #: one JSON object per line
    CSV = "csv"  #: comma-separated values with a header row

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True, slots=True)
class DumpSettings:
    """Everything that decides a dump's output, as plain values (it is sent to workers).

    ``dois`` are DOI definitions in netlabelctl's syntax (:meth:`DoiConfig.parse`);
    ``doi_filter`` keeps only these DOIs; ``addresses`` keeps packets with either address in
    one of these networks (an address or CIDR); ``dominated_by``, ``dominates`` and ``equals``
    keep packets whose label compares so with the given level; ``stats`` collects label counts
    per address pair; ``show_records`` False prints none of the per-packet lines;
    ``loopback`` and ``accept_source_route`` are the receiver's settings (:class:`Analyzer`).
    """

    format: Format = Format.TEXT
    dois: tuple[str, ...] = ()
    doi_filter: frozenset[int] = frozenset()
    addresses: tuple[str, ...] = ()
    dominated_by: str | None = None
    dominates: str | None = None
    equals: str | None = None
    loopback: bool = False
    accept_source_route: bool = False
    stats: bool = False
    show_records: bool = True
    #: Width of the address columns of the text format (:func:`dump` fits it to the addresses
    #: at the start of the capture).
    address_width: int = MIN_ADDRESS_WIDTH

    def __post_init__(self) -> None:
        object.__setattr__(self, "format", Format(self.format))
        # Parse everything once here, so that bad input fails before any output.
        DoiConfig.parse(self.dois)
        _networks(self.addresses)
        for text in (self.dominated_by, self.dominates, self.equals):
            if text is not None:
                Level.parse(text)


def _networks(texts: Iterable[str]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    networks = []
    for text in texts:
        try:
            networks.append(ipaddress.ip_network(text, strict=False))
        except ValueError:
            raise ValueError(f"{text!r} is not an IP address or network") from None
    return tuple(networks)


def _label_filter(settings: DumpSettings) -> Callable[[LabelOption], bool]:
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

    def keep(option: LabelOption) -> bool:
        if wanted_dois and option.doi not in wanted_dois:
            return False
        if tests:
            level = option.level
            return level is not None and all(test(level) for test in tests)
        return True

    return keep


# -- formatting ---------------------------------------------------------------------------------

#: Columns of the CSV and JSON outputs, in order.
FIELDS = (
    "packet",
    "time",
    "source",
    "destination",
    "protocol",
    "doi",
    "tag",
    "label",
    "wire_label",
    "verdict",
    "offset",
    "pointer",
    "reason",
    "error",
    "error_offset",
)


def _text_header(address_width: int) -> str:
    return (
        f"{'PACKET':>8} {'TIME':<20} {'SOURCE':<{address_width}} "
        f"{'DESTINATION':<{address_width}} {'OPTION':<7} {'DOI':>5} {'TAG':>3} {'LABEL':<20} "
        "VERDICT\n"
    )


def _text(value: object) -> str:
    return "-" if value is None else str(value)


def _option_fields(option: LabelOption) -> list[object]:
    return [
        option.protocol,
        option.doi,
        option.tag,
        None if option.level is None else str(option.level),
        None if option.wire_level is None else str(option.wire_level),
        option.verdict.value,
        option.offset,
        option.pointer,
        option.reason or None,
        option.error or None,
        option.error_offset,
    ]


def _tail(option: LabelOption, output: Format) -> str:
    """Everything in an output line that depends only on the option."""
    if output is Format.TEXT:
        label = _text(option.level)
        if option.level is None and option.wire_level is not None:
            label = f"(wire {option.wire_level})"
        return (
            f"{option.protocol:<7} {_text(option.doi):>5} {_text(option.tag):>3} "
            f"{label:<20} {option.describe_verdict()}\n"
        )
    values = _option_fields(option)
    if output is Format.JSONL:
        pairs = zip(FIELDS[4:], values, strict=True)
        return ", ".join(f"{json.dumps(n)}: {json.dumps(v)}" for n, v in pairs) + "}\n"
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(["" if v is None else v for v in values])
    return buffer.getvalue()


# Line styles of Renderer.render; its f-strings write what comes before the option's tail.
_STYLES = {Format.TEXT: 0, Format.JSONL: 1, Format.CSV: 2}


def _header(output: Format, address_width: int) -> str:
    if output is Format.TEXT:
        return _text_header(address_width)
    if output is Format.CSV:
        return ",".join(FIELDS) + "\n"
    return ""


def _address(raw: bytes) -> str:
    return socket.inet_ntop(socket.AF_INET if len(raw) == 4 else socket.AF_INET6, raw)


# -- the per-segment work -----------------------------------------------------------------------

#: How many distinct option areas and addresses are remembered before the caches start over.
CACHE_LIMIT = 65_536

#: (source, destination, protocol, DOI, label) -> packets.
StatsKey = tuple[str, str, str, int | None, str]
#: The same counts as the hot loop keeps them: (source, destination, (protocol, DOI, label)).
PairCounts = dict[tuple[str, str, tuple[str, int | None, str]], int]
#: A cached option: (option, kept by the filters, output tail, (protocol, DOI, label)).
_Entry = tuple[LabelOption, bool, str, tuple[str, int | None, str]]


@dataclass(slots=True)
class SegmentResult:
    """What one segment produced: the output text, packets written, label counts."""

    text: str
    written: int
    stats: PairCounts
    end: int
    last_packet: int


class Renderer:
    """Turns segments into output text; keeps the caches between segments."""

    def __init__(self, settings: DumpSettings) -> None:
        self.settings = settings
        self.analyzer = Analyzer(
            DoiConfig.parse(settings.dois),
            loopback=settings.loopback,
            accept_source_route=settings.accept_source_route,
        )
        self.keep = _label_filter(settings)
        self.networks = _networks(settings.addresses)
        # area -> (option, kept, tail, (protocol, DOI, label)) or None for "no label option".
        self.options: dict[tuple[int, bytes], _Entry | None] = {}
        # address bytes -> (text, matches the address filter, text as the line shows it)
        self.address_cache: dict[bytes, tuple[str, bool, str]] = {}

    def _option_entry(self, version: int, area: bytes, truncated: bool) -> _Entry | None:
        key = (version, area) if not truncated else (-version, area)
        try:
            return self.options[key]
        except KeyError:
            pass
        if len(self.options) >= CACHE_LIMIT:
            self.options.clear()
        analyse = self.analyzer.ipv4 if version == 4 else self.analyzer.ipv6
        option = analyse(area, truncated)
        entry = None
        if option is not None:
            label = "-" if option.level is None else str(option.level)
            kept = self.keep(option)
            tail = _tail(option, self.settings.format)
            entry = (option, kept, tail, (option.protocol, option.doi, label))
        self.options[key] = entry
        return entry

    def _address(self, raw: bytes) -> tuple[str, bool, str]:
        try:
            return self.address_cache[raw]
        except KeyError:
            pass
        if len(self.address_cache) >= CACHE_LIMIT:
            self.address_cache.clear()
        text = _address(raw)
        address = ipaddress.ip_address(raw)
        matches = not self.networks or any(address in net for net in self.networks)
        width = self.settings.address_width
        shown = f"{text:<{width}}" if self.settings.format is Format.TEXT else text
        self.address_cache[raw] = entry = (text, matches, shown)
        return entry

    def iter_records(self, segment: Segment) -> Iterator[Record]:
        """The kept records of one segment."""
        for number, time, version, src, dst, area, truncated in iter_labeled(segment):
            entry = self._option_entry(version, area, truncated)
            if entry is None or not entry[1]:
                continue
            source, source_kept, _ = self._address(src)
            destination, destination_kept, _ = self._address(dst)
            if source_kept or destination_kept:
                yield Record(number, time, source, destination, entry[0])

    def render(self, segment: Segment, stats: PairCounts | None = None) -> SegmentResult:
        """The output lines of one segment (the hot loop of the dump). Label counts go to
        ``stats`` when given (and settings ask for them), else to a new dict."""
        lines: list[str] = []
        append = lines.append
        entries = self.options
        addresses = self.address_cache
        option_entry = self._option_entry
        address = self._address
        show = self.settings.show_records
        counting = self.settings.stats
        if stats is None:
            stats = {}
        count = stats.get
        style = _STYLES[self.settings.format]
        written = 0
        last = segment.first_packet - 1
        for number, time, version, src, dst, area, truncated in iter_labeled(segment):
            last = number
            entry = entries.get((version, area)) if not truncated else None
            if entry is None:
                entry = option_entry(version, area, truncated)
                if entry is None:
                    continue
            if not entry[1]:
                continue
            source = addresses.get(src) or address(src)
            destination = addresses.get(dst) or address(dst)
            if not (source[1] or destination[1]):
                continue
            written += 1
            if show:
                # One f-string per format: the cheapest way to build a line in CPython.
                if style == 0:
                    append(f"{number:>8} {time:<20} {source[2]} {destination[2]} {entry[2]}")
                elif style == 1:
                    append(
                        f'{{"packet": {number}, "time": {time or "null"}, '
                        f'"source": "{source[0]}", "destination": "{destination[0]}", {entry[2]}'
                    )
                else:
                    append(f"{number},{time},{source[0]},{destination[0]},{entry[2]}")
            if counting:
                key = (source[0], destination[0], entry[3])
                stats[key] = count(key, 0) + 1
        return SegmentResult("".join(lines), written, stats, segment.end, last)


# -- the dump -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DumpSummary:
    """What a dump did: labeled packets written and the label counts (when asked for)."""

    written: int
    stats: Counter[StatsKey]


def records(
    capture: str | os.PathLike[str] | BinaryIO,
    dois: Iterable[str] = (),
    *,
    settings: DumpSettings | None = None,
) -> Iterator[Record]:
    """The labeled packets of a capture file (a path or a binary stream), as
    :class:`Record` objects, with the kernel's verdict for ``dois`` (netlabelctl syntax)."""
    if settings is None:
        settings = DumpSettings(dois=tuple(dois))
    renderer = Renderer(settings)
    with _open(capture) as stream:
        for segment in read_segments(stream):
            yield from renderer.iter_records(segment)


class _open:
    """Open a path (or ``-`` for standard input) for reading, or pass a stream through."""

    def __init__(self, capture: str | os.PathLike[str] | BinaryIO) -> None:
        self.capture = capture
        self.owned: BinaryIO | None = None

    def __enter__(self) -> BinaryIO:
        if isinstance(self.capture, (str, os.PathLike)):
            if str(self.capture) == "-":
                return sys.stdin.buffer
            self.owned = open(self.capture, "rb")  # closed in __exit__
            return self.owned
        return self.capture

    def __exit__(self, *exc: object) -> None:
        if self.owned is not None:
            self.owned.close()


def dump(
    capture: str | os.PathLike[str] | BinaryIO,
    out: TextIO,
    settings: DumpSettings | None = None,
    *,
    jobs: int = 1,
    progress: Callable[[int, int], None] | None = None,
) -> DumpSummary:
    """Write the labeled packets of ``capture`` to ``out`` as ``settings`` say; with
    ``jobs`` > 1 the segments are worked on by that many processes, output in capture order.
    ``progress(bytes_done, packets_done)`` is called after each segment.

    A broken capture raises :class:`labelnet.capture.CaptureError` after everything before the
    break has been written.
    """
    settings = settings or DumpSettings()
    total: PairCounts = {}
    written = 0
    with _open(capture) as stream:
        segments = read_segments(stream, PARALLEL_CHUNK if jobs > 1 else SERIAL_CHUNK)
        if settings.show_records:
            if settings.format is Format.TEXT:
                # Columns wide enough for the addresses at the start of the capture (later
                # longer ones push the line out): one look at the first segment.
                first = next(segments, None)
                if first is not None:
                    settings = replace(settings, address_width=_address_width([first]))
                    segments = itertools.chain([first], segments)
            out.write(_header(settings.format, settings.address_width))
        if jobs > 1:
            results = _parallel(segments, settings, jobs, _regular_file(capture))
        else:
            results = _serial(segments, settings, total)
        for result in results:
            if result.text:
                out.write(result.text)
            written += result.written
            if result.stats is not total:
                for key, packets in result.stats.items():
                    total[key] = total.get(key, 0) + packets
            if progress is not None:
                progress(result.end, result.last_packet)
    stats: Counter[StatsKey] = Counter(
        {
            (source, destination, *label): packets
            for (source, destination, label), packets in total.items()
        }
    )
    if settings.stats:
        out.write(format_stats(stats, settings.format))
    return DumpSummary(written, stats)


def _regular_file(capture: str | os.PathLike[str] | BinaryIO) -> str | None:
    """The path of ``capture`` when workers can read it themselves (a regular file)."""
    if not isinstance(capture, (str, os.PathLike)) or str(capture) == "-":
        return None
    path = os.path.abspath(capture)
    return path if os.path.isfile(path) else None


def _address_width(segments: Iterable[Segment]) -> int:
    seen = {raw for s in segments for p in iter_labeled(s) for raw in (p[3], p[4])}
    longest = max((len(_address(raw)) for raw in seen), default=0)
    return min(max(longest, MIN_ADDRESS_WIDTH), MAX_ADDRESS_WIDTH)


def _serial(
    segments: Iterable[Segment], settings: DumpSettings, stats: PairCounts
) -> Iterator[SegmentResult]:
    renderer = Renderer(settings)
    for segment in segments:
        yield renderer.render(segment, stats)


# Each worker process keeps one renderer (and so its caches) for all its segments.
_worker_renderer: Renderer | None = None


def _start_worker(settings: DumpSettings) -> None:
    global _worker_renderer
    # Ctrl-C is the main process's to handle; it stops handing out segments and the pool
    # winds down, instead of every worker printing a traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _worker_renderer = Renderer(settings)


def _work(segment: Segment) -> SegmentResult:
    assert _worker_renderer is not None
    return _worker_renderer.render(segment)


# Each worker keeps the capture file open; segments of a regular file are sent as a place in
# it rather than as bytes (saves copying every byte through a pipe twice).
_worker_files: dict[str, int] = {}


def _work_at(path: str, start: int, segment: Segment) -> SegmentResult:
    fd = _worker_files.get(path)
    if fd is None:
        fd = _worker_files[path] = os.open(path, os.O_RDONLY)
    length = segment.end - start
    data = os.pread(fd, length, start)
    if len(data) != length:
        raise OSError(f"{path} changed while it was being read")
    return _work(replace(segment, data=data))


#: Segment sizes: for one process, and for workers (big enough that sending a segment costs
#: little next to the work, small enough to keep every worker busy).
SERIAL_CHUNK = 1 << 20
PARALLEL_CHUNK = 1 << 20


def _parallel(
    segments: Iterable[Segment], settings: DumpSettings, jobs: int, path: str | None = None
) -> Iterator[SegmentResult]:
    # The parent frames the file (fast, and the only place a broken file is noticed) and
    # sends whole segments, or their place in the file at ``path``; at most 2 * jobs are in
    # flight, so memory stays bounded, and results come back in capture order.
    with ProcessPoolExecutor(jobs, initializer=_start_worker, initargs=(settings,)) as pool:
        pending: deque[Future[SegmentResult]] = deque()
        failure: CaptureError | None = None
        try:
            for segment in segments:
                if path is None:
                    pending.append(pool.submit(_work, segment))
                else:
                    start = segment.end - len(segment.data)
                    bare = replace(segment, data=b"")
                    pending.append(pool.submit(_work_at, path, start, bare))
                if len(pending) >= 2 * jobs:
                    yield pending.popleft().result()
        except CaptureError as exc:
            failure = exc
        while pending:
            yield pending.popleft().result()
        if failure is not None:
            raise failure


def format_stats(stats: Counter[StatsKey], output: Format = Format.TEXT) -> str:
    """The label counts per address pair, most frequent first, in the output's format."""
    rows = sorted(stats.items(), key=lambda item: (-item[1], item[0][:3], str(item[0][3:])))
    if output is Format.JSONL:
        return "".join(
            json.dumps(
                {
                    "stats": {
                        "source": s,
                        "destination": d,
                        "protocol": p,
                        "doi": doi,
                        "label": label,
                        "packets": n,
                    }
                }
            )
            + "\n"
            for (s, d, p, doi, label), n in rows
        )
    if output is Format.CSV:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(["source", "destination", "protocol", "doi", "label", "packets"])
        for (s, d, p, doi, label), n in rows:
            writer.writerow([s, d, p, "" if doi is None else doi, label, n])
        return "\n" + buffer.getvalue()
    table = [("SOURCE", "DESTINATION", "OPTION", "DOI", "LABEL", "PACKETS")]
    table += [(s, d, p, _text(doi), label, str(n)) for (s, d, p, doi, label), n in rows]
    widths = [max(len(row[i]) for row in table) for i in range(6)]
    lines = ["", f"labels per address pair ({sum(stats.values())} packets)"]
    for row in table:
        cells = [
            row[i].ljust(widths[i]) if i in (0, 1, 2, 4) else row[i].rjust(widths[i])
            for i in range(6)
        ]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines) + "\n"
