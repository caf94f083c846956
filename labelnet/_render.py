"""Rendering: labeled packets to output lines (aligned text, JSON lines, CSV) and the table of
labels per address pair.

A capture often repeats a few option areas, so what depends only on the option bytes (the
analysis, the filters' answer, the formatted end of the line, the label counted by the
statistics) is worked out once per distinct area and kept in a small bounded cache; when every
label differs, each is still decoded and formatted exactly once. The JSON and CSV texts are
written with f-strings: the values that could need escaping (reasons, errors, setrans.conf
names) go through :mod:`json` / :mod:`csv`, the rest (numbers, levels, fixed words) never need
it.

With a setrans.conf (:class:`Names`) every format also shows the label's name: a column after
the label in the text and CSV outputs and in the statistics, a ``setrans`` key in JSON lines.
The name is part of the cached end of the line, so it is asked for once per distinct label;
without one the output is byte for byte what it is without this feature.
"""

from __future__ import annotations

import csv
import enum
import io
import ipaddress
import json
import operator
import socket
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple, TypeVar

from labelnet._analysis import Analyzer, LabelOption, PlainLabel, Record, plain_label
from labelnet.capture import AreaKind, LabeledTuple

if TYPE_CHECKING:
    from mls.translate import Translator

#: Address column widths of the text format: an IPv4 address, the longest IPv6 address.
MIN_ADDRESS_WIDTH = 15
MAX_ADDRESS_WIDTH = 39

#: How many distinct option areas and addresses are remembered before the caches start over
#: (small: when labels repeat there are few, when they do not a cache only costs memory).
CACHE_LIMIT = 4096


class Format(str, enum.Enum):
    """Output formats."""

    TEXT = "text"  #: aligned columns for people
    JSONL = "jsonl"  #: one JSON object per line
    CSV = "csv"  #: comma-separated values with a header row

    def __str__(self) -> str:
        return self.value


# The output formats as plain names: in CPython 3.11 looking a member up on its enum class
# costs about 60 ns, and the line ends below run for every new label.
_TEXT, _JSONL = Format.TEXT, Format.JSONL


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
#: The same with a setrans.conf: the label's name after the wire label.
FIELDS_WITH_SETRANS = (
    *FIELDS[: FIELDS.index("verdict")],
    "setrans",
    *FIELDS[FIELDS.index("verdict") :],
)

#: (source, destination, protocol, DOI, label) -> packets.
StatsKey = tuple[str, str, str, int | None, str]
#: The same counts as the hot loop keeps them: (source, destination, (protocol, DOI, label)).
PairCounts = dict[tuple[str, str, tuple[str, int | None, str]], int]


def header(output: Format, address_width: int, *, named: bool = False) -> str:
    """The first line of the output (``named``: with the setrans.conf names)."""
    if output is Format.TEXT:
        name = f"{'SETRANS':<{NAME_WIDTH}} " if named else ""
        return (
            f"{'PACKET':>8} {'TIME':<20} {'SOURCE':<{address_width}} "
            f"{'DESTINATION':<{address_width}} {'OPTION':<7} {'DOI':>5} {'TAG':>3} "
            f"{'LABEL':<20} {name}VERDICT\n"
        )
    if output is Format.CSV:
        return ",".join(FIELDS_WITH_SETRANS if named else FIELDS) + "\n"
    return ""


#: Width of the text format's SETRANS column (a longer name pushes its line out).
NAME_WIDTH = 20


class Names:
    """The names a setrans.conf gives the labels the outputs show, each label asked of the
    :class:`~mls.translate.Translator` once (a label without a name is named by itself, as
    mcstrans answers)."""

    def __init__(self, translator: Translator) -> None:
        self.translator = translator
        self.known: dict[str, str] = {}

    def __call__(self, label: str | None) -> str | None:
        """The name of a label as the outputs show it; None for ``secid N``, ``-`` and None,
        which are not levels."""
        if label is None:
            return None
        found = self.known.get(label)
        if found is None:
            if label == "-" or label.startswith("secid "):
                return None
            if len(self.known) >= CACHE_LIMIT:
                self.known.clear()
            found = self.known[label] = self.translator.translate(label)
        return found

    def cell(self, output: Format, label: str | None) -> str:
        """The name's cell in an output line, with what separates it from the verdict's."""
        name = self(label)
        if output is _TEXT:
            return f"{_text(name).ljust(NAME_WIDTH)} "
        # A label without a name is named by its level's text, which needs no escaping (the
        # usual case when every label differs); a name from the file may need it.
        plain = name is None or name == label
        if output is _JSONL:
            return f'"setrans": {_json_label(name) if plain else _json_text(name)}, '
        return f"{_csv_label(name) if plain else _csv_text(name)},"


def _text(value: object) -> str:
    return "-" if value is None else str(value)


def _json_number(value: int | None) -> str:
    return "null" if value is None else str(value)


def _json_label(text: str | None) -> str:
    # A level's text holds no quote, backslash or control character.
    return "null" if text is None else f'"{text}"'


def _json_text(value: str | None) -> str:
    return "null" if not value else json.dumps(value)


def _csv_text(value: str | None) -> str:
    if not value:
        return ""
    if any(c in value for c in ',"\r\n'):
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\n").writerow([value, ""])
        return buffer.getvalue()[:-2]  # the field alone, quoted as csv quotes it
    return value


def label_texts(option: LabelOption) -> tuple[str | None, str | None]:
    """The option's label and wire label as the outputs show them, each level formatted once
    (the wire level's text is the host level's when they are the same): the host level, or
    ``secid N`` for tag 128, or None; the wire level or None."""
    level_text = None if option.level is None else str(option.level)
    wire = option.wire_level
    if wire is None:
        wire_text = None
    elif wire == option.level:
        wire_text = level_text
    else:
        wire_text = str(wire)
    label = level_text if option.secid is None else f"secid {option.secid}"
    return label, wire_text


def tail(
    option: LabelOption,
    output: Format,
    label: str | None,
    wire_text: str | None,
    names: Names | None = None,
) -> str:
    """Everything in an output line that depends only on the option, given its
    :func:`label_texts` (and the label's name when ``names`` are given)."""
    verdict = option.describe_verdict() if output is _TEXT else _verdict_fields(option, output)
    if names is not None:
        verdict = names.cell(output, label) + verdict
    return _line_end(output, option.protocol, option.doi, option.tag, label, wire_text, verdict)


def plain_tail(plain: PlainLabel, output: Format, names: Names | None = None) -> str:
    """:func:`tail` of a :func:`plain_label` without DOI configuration (no verdict, the label
    as on the wire)."""
    verdict = "no-doi-config" if output is _TEXT else _PLAIN_VERDICTS[output, "no-doi-config"]
    if names is not None:
        verdict = names.cell(output, plain.label) + verdict
    return _line_end(
        output, plain.protocol, plain.doi, plain.tag, plain.label, plain.label, verdict
    )


def _line_end(
    output: Format,
    protocol: str,
    doi: int | None,
    tag: int | None,
    label: str | None,
    wire_text: str | None,
    verdict: str,
) -> str:
    """The end of an output line from the option's values; ``verdict`` is the verdict in words
    (text) or the verdict's fields and the line's end (JSON, CSV)."""
    # None is written out inline, not through _text and _json_number, and the columns are
    # padded by ljust/rjust, not format specs (half the cost): this runs for every packet
    # whose label is new, which is every packet when labels do not repeat.
    if output is _TEXT:
        if label is None:
            label = "-" if wire_text is None else f"(wire {wire_text})"
        return (
            f"{protocol.ljust(7)} {('-' if doi is None else str(doi)).rjust(5)} "
            f"{('-' if tag is None else str(tag)).rjust(3)} {label.ljust(20)} {verdict}\n"
        )
    # The wire label is usually the label itself (the same string): its field is made once.
    if output is _JSONL:
        label_field = _json_label(label)
        wire_field = label_field if wire_text is label else _json_label(wire_text)
        return (
            f'"protocol": "{protocol}", "doi": {"null" if doi is None else doi}, '
            f'"tag": {"null" if tag is None else tag}, "label": {label_field}, '
            f'"wire_label": {wire_field}, {verdict}'
        )
    label_field = _csv_label(label)
    wire_field = label_field if wire_text is label else _csv_label(wire_text)
    return (
        f"{protocol},{'' if doi is None else doi},{'' if tag is None else tag},"
        f"{label_field},{wire_field},{verdict}"
    )


def _verdict_fields(option: LabelOption, output: Format) -> str:
    """The verdict's fields (verdict to error_offset) and the line's end, in JSON or CSV."""
    verdict = option.verdict
    words = "no-doi-config" if verdict is None else verdict.kind.value
    if not option.error and (verdict is None or verdict.accepted) and not option.reason:
        return _PLAIN_VERDICTS[output, words]  # nothing to say but the word: the usual case
    if output is _JSONL:
        return (
            f'"verdict": "{words}", "offset": {_json_number(option.offset)}, '
            f'"pointer": {_json_number(option.pointer)}, "reason": {_json_text(option.reason)}, '
            f'"error": {_json_text(option.error)}, '
            f'"error_offset": {_json_number(option.error_offset)}}}\n'
        )
    return (
        f"{words},{_csv_number(option.offset)},{_csv_number(option.pointer)},"
        f"{_csv_text(option.reason)},{_csv_text(option.error)},"
        f"{_csv_number(option.error_offset)}\n"
    )


#: The verdict fields of an option with nothing to report but the verdict's word.
_PLAIN_VERDICTS = {
    **{
        (Format.JSONL, words): f'"verdict": "{words}", "offset": null, "pointer": null, '
        '"reason": null, "error": null, "error_offset": null}\n'
        for words in ("no-doi-config", "accepted")
    },
    **{(Format.CSV, words): f"{words},,,,,\n" for words in ("no-doi-config", "accepted")},
}


def _csv_number(value: int | None) -> str:
    return "" if value is None else str(value)


def _csv_label(text: str | None) -> str:
    # A level's text holds no quote or line break; a comma makes csv quote it.
    if text is None:
        return ""
    return f'"{text}"' if "," in text else text


def address_text(raw: bytes) -> str:
    """An IPv4 or IPv6 address in its usual text form."""
    return socket.inet_ntop(socket.AF_INET if len(raw) == 4 else socket.AF_INET6, raw)


def address_width(packets: Iterable[LabeledTuple]) -> int:
    """The text format's address column width for these packets."""
    seen = {raw for p in packets for raw in (p[3], p[4])}
    longest = max((len(address_text(raw)) for raw in seen), default=0)
    return min(max(longest, MIN_ADDRESS_WIDTH), MAX_ADDRESS_WIDTH)


class Shown(NamedTuple):
    """What the output makes of one option area: the option (None when there is none, or
    when the output line was made from :func:`plain_label`), whether the filters keep it, the
    end of its output line, and the (protocol, DOI, label) the statistics count."""

    option: LabelOption | None
    kept: bool
    tail: str
    key: tuple[str, int | None, str]


class Address(NamedTuple):
    """One address as the output shows it: its text, whether it passes the address filter,
    and its cell in an output line (the text padded to the column in the text format)."""

    text: str
    kept: bool
    padded: str


#: An options area without a label option.
_UNLABELED = Shown(None, False, "", ("", None, ""))

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(slots=True)
class SegmentResult:
    """What one segment produced: the output text, packets written, label counts, the file
    offset after it and the number of its last packet (for progress)."""

    text: str
    written: int
    stats: PairCounts
    end: int
    last_packet: int


@dataclass(frozen=True, slots=True)
class RenderSettings:
    """What decides the output lines, beside the analysis."""

    output: Format = Format.TEXT
    address_width: int = MIN_ADDRESS_WIDTH
    networks: tuple[Network, ...] = ()
    show_records: bool = True
    stats: bool = False


class Renderer:
    """Turns labeled packets into output text, keeping its caches between segments."""

    def __init__(
        self,
        analyzer: Analyzer,
        settings: RenderSettings,
        keep: Callable[[LabelOption], bool] | None = None,
        names: Names | None = None,
    ) -> None:
        self.analyzer = analyzer
        self.settings = settings
        self.keep = keep
        #: The setrans.conf names of the labels, in the output lines; None: no names.
        self.names = names
        # (IP version, area, truncated) -> what the output makes of it.
        self.options: dict[tuple[int, bytes, bool], Shown] = {}
        # The same for output lines only: plain labels are read without the analysis when
        # there is no verdict to give and no filter that needs the option.
        self.lines: dict[tuple[int, bytes, bool], Shown] = {}
        self.plain = not analyzer.config.given and keep is None
        self.addresses: dict[bytes, Address] = {}
        # The lines alone, when that is all the output asks for (no DOI configuration, no
        # filter, no statistics): render's short loop keeps just the end of each area's line
        # ("" for an area without a label option), per area kind, and each address's cell.
        # Where labels seldom repeat, the objects of the general loop cost more than the
        # labels themselves.
        self.lines_only = (
            self.plain and settings.show_records and not settings.stats and not settings.networks
        )
        self.tails: dict[int, dict[bytes, str]] = {int(kind): {} for kind in AreaKind}
        # An address as the output's lines show it: padded to the column in the text format.
        self.cell_width = settings.address_width if settings.output is Format.TEXT else 0
        self.cells: dict[bytes, str] = {}

    def shown(self, version: int, area: bytes, truncated: bool) -> Shown:
        """The cached :class:`Shown` of an options area, worked out on first sight."""
        key = (version, area, truncated)
        found = self.options.get(key)
        if found is not None:
            return found
        if len(self.options) >= CACHE_LIMIT:
            self.options.clear()
        found = self.options[key] = self._analysed(version, area, truncated, keep_option=True)
        return found

    def _analysed(self, version: int, area: bytes, truncated: bool, *, keep_option: bool) -> Shown:
        # The output lines' caches do not keep the option: its objects would outlive the
        # label's first line only to lengthen the garbage collector's passes.
        option = self.analyzer.analyse(version, area, truncated)
        if option is None:
            return _UNLABELED
        kept = self.keep is None or self.keep(option)
        if not (self.settings.show_records or self.settings.stats):
            # Records and columns (labelnet.dump.records, labelnet.columnar) format the
            # label themselves, where they need it: no line end, nothing counted.
            return Shown(option if keep_option else None, kept, "", _UNLABELED.key)
        label, wire = label_texts(option)
        text = ""
        if kept and self.settings.show_records:
            text = tail(option, self.settings.output, label, wire, self.names)
        counted = (option.protocol, option.doi, "-" if label is None else label)
        return Shown(option if keep_option else None, kept, text, counted)

    def line_shown(self, version: int, area: bytes, truncated: bool) -> Shown:
        """The :class:`Shown` an output line needs, worked out on first sight: from
        :func:`plain_label` when it can be, else as :meth:`shown` works it out."""
        found = self.lines.get((version, area, truncated))
        return self._new_line_shown(version, area, truncated) if found is None else found

    def _new_line_shown(self, version: int, area: bytes, truncated: bool) -> Shown:
        if len(self.lines) >= CACHE_LIMIT:
            self.lines.clear()
        plain = plain_label(version, area) if self.plain and not truncated else None
        if plain is None:
            found = self._analysed(version, area, truncated, keep_option=False)
        else:
            show = self.settings.show_records
            text = plain_tail(plain, self.settings.output, self.names) if show else ""
            found = Shown(None, True, text, (plain.protocol, plain.doi, plain.label))
        self.lines[version, area, truncated] = found
        return found

    def address(self, raw: bytes) -> Address:
        """The cached :class:`Address` of raw address bytes."""
        found = self.addresses.get(raw)
        return self._new_address(raw) if found is None else found

    def _new_address(self, raw: bytes) -> Address:
        if len(self.addresses) >= CACHE_LIMIT:
            self.addresses.clear()
        text = address_text(raw)
        networks = self.settings.networks
        kept = not networks or any(ipaddress.ip_address(raw) in net for net in networks)
        found = self.addresses[raw] = Address(text, kept, text.ljust(self.cell_width))
        return found

    def _new_cell(self, raw: bytes) -> str:
        if len(self.cells) >= CACHE_LIMIT:
            self.cells.clear()
        cell = self.cells[raw] = address_text(raw).ljust(self.cell_width)
        return cell

    def _new_tail(self, kind: int, area: bytes) -> str:
        tails = self.tails[kind]
        if len(tails) >= CACHE_LIMIT:
            tails.clear()
        plain = plain_label(kind, area)
        if plain is None:
            tail = self._analysed(kind, area, False, keep_option=False).tail
        else:
            tail = plain_tail(plain, self.settings.output, self.names)
        tails[area] = tail
        return tail

    def iter_records(self, packets: Iterable[LabeledTuple]) -> Iterator[Record]:
        """The kept records among ``packets``."""
        for number, time, version, src, dst, area, truncated in packets:
            shown = self.shown(version, area, truncated)
            if shown.option is None or not shown.kept:
                continue
            source, destination = self.address(src), self.address(dst)
            if source.kept or destination.kept:
                yield Record(number, time, source.text, destination.text, shown.option)

    def render(
        self, packets: Iterable[LabeledTuple], stats: PairCounts | None = None
    ) -> tuple[str, int, PairCounts]:
        """The output lines of ``packets`` (the hot loop of the dump), how many were written,
        and the label counts (added to ``stats`` when given)."""
        if self.lines_only:
            text, written = self._render_lines(packets)
            return text, written, {} if stats is None else stats
        lines: list[str] = []
        append = lines.append
        options = self.lines
        addresses = self.addresses
        shown_for, address_for = self._new_line_shown, self._new_address
        show, counting = self.settings.show_records, self.settings.stats
        stats = {} if stats is None else stats
        count = stats.get
        line = _LINES[self.settings.output]
        written = 0
        for number, time, version, src, dst, area, truncated in packets:
            shown = options.get((version, area, truncated)) or shown_for(version, area, truncated)
            if not shown.kept:
                continue
            source = addresses.get(src) or address_for(src)
            destination = addresses.get(dst) or address_for(dst)
            if not (source.kept or destination.kept):
                continue
            written += 1
            if show:
                append(line(number, time, source.padded, destination.padded, shown.tail))
            if counting:
                key = (source.text, destination.text, shown.key)
                stats[key] = count(key, 0) + 1
        return "".join(lines), written, stats

    def _render_lines(self, packets: Iterable[LabeledTuple]) -> tuple[str, int]:
        """:meth:`render` when only the lines are asked for (:attr:`lines_only`)."""
        lines: list[str] = []
        append = lines.append
        tails, cells = self.tails, self.cells
        new_tail, new_cell = self._new_tail, self._new_cell
        line = _LINES[self.settings.output]
        tail: str | None
        for number, time, kind, src, dst, area, truncated in packets:
            if truncated:  # rare: worked out whole, with what the capture cut
                tail = self.line_shown(kind, area, truncated).tail
            else:
                tail = tails[kind].get(area)
                if tail is None:
                    tail = new_tail(kind, area)
            if tail:
                source = cells.get(src) or new_cell(src)
                destination = cells.get(dst) or new_cell(dst)
                append(line(number, time, source, destination, tail))
        return "".join(lines), len(lines)


# An output line from its parts; the addresses are given as their cells (Address.padded:
# padded to the column in the text format, the bare text in the others).


def _text_line(number: int, time: str, source: str, destination: str, end: str) -> str:
    return f"{str(number).rjust(8)} {time.ljust(20)} {source} {destination} {end}"


def _json_line(number: int, time: str, source: str, destination: str, end: str) -> str:
    return (
        f'{{"packet": {number}, "time": {time or "null"}, "source": "{source}", '
        f'"destination": "{destination}", {end}'
    )


def _csv_line(number: int, time: str, source: str, destination: str, end: str) -> str:
    return f"{number},{time},{source},{destination},{end}"


_LINES = {Format.TEXT: _text_line, Format.JSONL: _json_line, Format.CSV: _csv_line}


def format_stats(
    stats: Counter[StatsKey], output: Format = Format.TEXT, names: Names | None = None
) -> str:
    """The label counts per address pair, most frequent first, in the output's format (with
    each label's setrans.conf name after it when ``names`` are given)."""
    return "".join(stats_pieces(stats, output, names))


#: Lines of the statistics made and written at a time.
_STATS_PIECE = 4096


_Row = TypeVar("_Row")


def _in_pieces(rows: list[_Row]) -> Iterator[list[_Row]]:
    return (rows[start : start + _STATS_PIECE] for start in range(0, len(rows), _STATS_PIECE))


def stats_pieces(
    stats: Counter[StatsKey], output: Format = Format.TEXT, names: Names | None = None
) -> Iterator[str]:
    """:func:`format_stats`'s text in pieces of a few thousand lines: a table of many
    address pairs is written without being held whole (its text format pads every line to
    the longest label)."""
    rows = _most_frequent_first(stats)
    if output is Format.JSONL:
        for piece in _in_pieces(rows):
            yield "".join([_stats_json(key, n, names) + "\n" for key, n in piece])
        return
    columns = ["source", "destination", "protocol", "doi", "label", "packets"]
    if names is not None:
        columns.insert(5, "setrans")
    missing = "" if output is Format.CSV else "-"  # no DOI, no name
    # Rows are tuples of strings: the collector stops tracking those, where a list of rows
    # per address pair stays tracked and made every full collection longer (on 200k pairs,
    # half a second of the dump).
    table = [
        (s, d, p, missing if doi is None else str(doi), label)
        + (() if names is None else (names(label) or missing,))
        + (str(n),)
        for (s, d, p, doi, label), n in rows
    ]
    del rows
    if output is Format.CSV:
        yield "\n"
        yield from _csv_pieces([tuple(columns)], table)
    else:
        yield from _table_pieces(columns, table, sum(stats.values()))


def _csv_pieces(*tables: list[tuple[str, ...]]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    for table in tables:
        for piece in _in_pieces(table):
            writer.writerows(piece)
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()


def _most_frequent_first(stats: Counter[StatsKey]) -> list[tuple[StatsKey, int]]:
    """The counts by packets, most first; equal counts in the order of their (source,
    destination, protocol) and then of the text of their (DOI, label)."""
    items = list(stats.items())
    # Each tie-break as one string: fields joined by NUL, which no address or protocol name
    # holds, compare as the tuple of them would; strings compare far faster than tuples.
    ties = [f"{s}\0{d}\0{p}\0{(doi, label)}" for (s, d, p, doi, label), _ in items]
    rows = [item for _, item in sorted(zip(ties, items, strict=True))]
    rows.sort(key=_packets, reverse=True)  # stable: ties keep the order above
    return rows


_packets = operator.itemgetter(1)


def _stats_json(key: StatsKey, packets: int, names: Names | None) -> str:
    source, destination, protocol, doi, label = key
    fields: dict[str, object] = {
        "source": source,
        "destination": destination,
        "protocol": protocol,
        "doi": doi,
        "label": label,
    }
    if names is not None:
        fields["setrans"] = names(label)
    fields["packets"] = packets
    return json.dumps({"stats": fields})


#: The text table's headings of the statistics' columns; the numbers are aligned right.
_HEADINGS = {"source": "SOURCE", "destination": "DESTINATION", "protocol": "OPTION"}
_RIGHT = frozenset(("doi", "packets"))


def _table_pieces(columns: list[str], table: list[tuple[str, ...]], packets: int) -> Iterator[str]:
    headings = tuple(_HEADINGS.get(c, c.upper()) for c in columns)
    widths = [max(map(len, cells)) for cells in zip(headings, *table, strict=True)]
    # One %-template for every line. No line ends in padding: the last column, the packets,
    # is aligned right.
    line = "  ".join(
        f"%{width}s" if column in _RIGHT else f"%-{width}s"
        for column, width in zip(columns, widths, strict=True)
    )
    yield f"\nlabels per address pair ({packets} packets)\n{line % headings}\n"
    for piece in _in_pieces(table):
        yield "".join([line % row + "\n" for row in piece])
