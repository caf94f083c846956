"""Labels in captures: what every CIPSO or CALIPSO option in a pcap/pcapng file says, and what
the Linux kernel would do with it.

:func:`records` yields one :class:`Record` per labeled packet; :func:`dump` writes them as
aligned text, JSON lines or CSV, filtered, optionally with a table of labels per address pair,
optionally spread over several processes.

This module is the front; the work is done in four places, and a packet passes through each
once: reading (:mod:`labelnet.capture`: pcap/pcapng records to IP packets), analysis
(:mod:`labelnet._analysis`: the label option, its label and the protocol's own verdict),
rendering (:mod:`labelnet._render`: text, JSON lines, CSV, statistics) and parallel work
(:mod:`labelnet._parallel`).
"""

from __future__ import annotations

import ipaddress
import itertools
import os
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, BinaryIO, TextIO

import calipso
import cipso
from labelnet import _parallel
from labelnet._analysis import Analyzer, LabelOption, Record, label_filter
from labelnet._parallel import Pool, Sink, render_segment, workers_for
from labelnet._render import (
    FIELDS,
    FIELDS_WITH_SETRANS,
    MAX_ADDRESS_WIDTH,
    MIN_ADDRESS_WIDTH,
    Format,
    Names,
    Network,
    PairCounts,
    Renderer,
    RenderSettings,
    SegmentResult,
    StatsKey,
    address_width,
    format_stats,
    header,
    stats_pieces,
)
from labelnet.capture import (
    CaptureError,
    LabeledTuple,
    Segment,
    grouped_segments,
    iter_labeled,
    read_segments,
)
from mls import Level, MlsError

if TYPE_CHECKING:
    from mls.translate import Translator

__all__ = [
    "FIELDS",
    "FIELDS_WITH_SETRANS",
    "MAX_ADDRESS_WIDTH",
    "MIN_ADDRESS_WIDTH",
    "Analyzer",
    "CaptureError",
    "DoiConfig",
    "DumpSettings",
    "DumpSummary",
    "Format",
    "LabelOption",
    "Record",
    "StatsKey",
    "dump",
    "format_stats",
    "read_doi_file",
    "records",
]


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
            # Imported here: netlabel.ctl (and its netlink model) is for dumps given DOIs.
            from netlabel.ctl import parse_definition

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


# -- settings ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DumpSettings:
    """Everything that decides a dump's output, as plain values (it is sent to workers).

    ``dois`` are DOI definitions in netlabelctl's syntax (:meth:`DoiConfig.parse`);
    ``doi_filter`` keeps only these DOIs; ``addresses`` keeps packets with either address in
    one of these networks (an address or CIDR); ``dominated_by``, ``dominates`` and ``equals``
    keep packets whose label compares so with the given level; ``stats`` collects label counts
    per address pair; ``show_records`` False prints none of the per-packet lines;
    ``loopback`` and ``accept_source_route`` are the receiver's settings (:class:`Analyzer`).

    ``setrans`` is a setrans.conf: every output shows each label's name beside it, and the
    level filters also take names (``dominated_by="Secret"``), which are kept as the raw
    levels they stand for. A file that cannot be loaded raises
    :class:`mls.translate.SetransError`; a filter that is neither a level nor a name, an
    :class:`mls.MlsError`.
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
    setrans: str | os.PathLike[str] | None = None
    #: Width of the address columns of the text format (:func:`dump` fits it to the addresses
    #: at the start of the capture).
    address_width: int = MIN_ADDRESS_WIDTH

    def __post_init__(self) -> None:
        object.__setattr__(self, "format", Format(self.format))
        if self.setrans is not None:
            object.__setattr__(self, "setrans", os.fspath(self.setrans))
        # Parse everything once here, so that bad input fails before any output.
        DoiConfig.parse(self.dois)
        _networks(self.addresses)
        translator = self.translator()
        for name in ("dominated_by", "dominates", "equals"):
            text = getattr(self, name)
            if text is None:
                continue
            if translator is None:
                Level.parse(text)
            else:
                # Workers get the raw level: they need no translator for the filters.
                object.__setattr__(self, name, _untranslated(name, text, translator, self.setrans))

    def translator(self) -> Translator | None:
        """The translator of :attr:`setrans`, or None; read once per version of the file in
        a process (settings are checked on creation and again on each ``replace``, and the
        renderer needs the names too)."""
        if self.setrans is None:
            return None
        return translator_of(self.setrans)


# The last setrans.conf read, under its path and what stat says of it: a file changed on disk
# is read again. One entry: a dump uses one file.
_TRANSLATORS: dict[tuple[str, int, int, int], Translator] = {}


def translator_of(path: str | os.PathLike[str]) -> Translator:
    """The translator of the setrans.conf at ``path``, read again only when the file changes
    (for the dump's settings and renderers, and the Dask partitions)."""
    from mls.translate import Translator  # only when names are asked for

    status = os.stat(path)
    key = (os.fspath(path), status.st_ino, status.st_size, status.st_mtime_ns)
    found = _TRANSLATORS.get(key)
    if found is None:
        found = Translator.from_file(path)
        _TRANSLATORS.clear()
        _TRANSLATORS[key] = found
    return found


def _untranslated(
    option: str, text: str, translator: Translator, path: str | os.PathLike[str] | None
) -> str:
    """The level a filter names, as raw text: ``text`` itself when it is a level, else the
    level its setrans.conf name stands for."""
    raw = translator.untranslate(text)
    try:
        return str(Level.parse(raw))
    except MlsError:
        flag = "--" + option.replace("_", "-")
        if raw != text:
            raise MlsError(f"{flag} {text!r} names {raw!r} in {path}, not a level") from None
        raise MlsError(f"{flag} {text!r} is neither an MLS level nor a name in {path}") from None


def _networks(texts: Iterable[str]) -> tuple[Network, ...]:
    networks = []
    for text in texts:
        try:
            networks.append(ipaddress.ip_network(text, strict=False))
        except ValueError:
            raise ValueError(f"{text!r} is not an IP address or network") from None
    return tuple(networks)


def make_renderer(settings: DumpSettings) -> Renderer:
    """The renderer ``settings`` describe (each worker process builds its own)."""
    analyzer = Analyzer(
        DoiConfig.parse(settings.dois),
        loopback=settings.loopback,
        accept_source_route=settings.accept_source_route,
    )
    rendering = RenderSettings(
        output=settings.format,
        address_width=settings.address_width,
        networks=_networks(settings.addresses),
        show_records=settings.show_records,
        stats=settings.stats,
    )
    names = None
    if settings.show_records or settings.stats:
        translator = settings.translator()
        names = None if translator is None else Names(translator)
    return Renderer(analyzer, rendering, label_filter(settings), names)


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
    renderer = make_renderer(replace(settings, show_records=False, stats=False))
    with _open(capture) as stream:
        for segment in read_segments(stream):
            yield from renderer.iter_records(iter_labeled(segment))


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


#: Segment size for one process: small, because a segment's output text is held whole (with
#: dense labels, JSON lines are about five times the capture's bytes).
SERIAL_CHUNK = 1 << 18


def dump(
    capture: str | os.PathLike[str] | BinaryIO,
    out: TextIO,
    settings: DumpSettings | None = None,
    *,
    jobs: int = 1,
    progress: Callable[[int, int], None] | None = None,
    start_method: str | None = None,
) -> DumpSummary:
    """Write the labeled packets of ``capture`` to ``out`` as ``settings`` say; with
    ``jobs`` > 1 the segments are worked on by up to that many processes (no more than there
    are cores, nor than there are segments), output in capture order. When ``out`` is a text
    file over a file descriptor (standard output, a file, a pipe), the workers write their
    lines to that descriptor themselves, encoded as ``out`` encodes, each line ending in
    ``\\n`` (an encoding that starts with a byte-order mark, such as UTF-16, leaves them to
    this process). ``progress(bytes_done, packets_done)`` is called after each segment.
    ``start_method`` is how the worker processes start (a :mod:`multiprocessing` start method;
    None: Python's default): only forked ones write to ``out`` themselves, and forking is
    safe only in a process that runs no other thread (Python 3.14 starts them by forkserver).

    A broken capture raises :class:`labelnet.capture.CaptureError` after everything before the
    break has been written.
    """
    settings = settings or DumpSettings()
    path = _regular_file(capture)
    workers = workers_for(jobs, None if path is None else os.path.getsize(path))
    total: PairCounts = {}
    written = 0
    with _open(capture) as stream:
        # Framed in the same pieces whatever the number of workers: the first one sets the
        # text format's column widths, so one process and many print the same lines.
        segments = read_segments(stream, SERIAL_CHUNK)
        first = next(segments, None)
        first_packets = [] if first is None else list(iter_labeled(first))
        if settings.show_records:
            if settings.format is Format.TEXT:
                # Columns wide enough for the addresses at the start of the capture (later
                # longer ones push the line out).
                settings = replace(settings, address_width=address_width(first_packets))
            named = settings.setrans is not None
            out.write(header(settings.format, settings.address_width, named=named))
        renderer = make_renderer(settings)
        results: Iterable[SegmentResult] = ()
        if first is not None:
            pool = None
            if workers > 1:
                pool = Pool(make_renderer, settings, workers, Sink.of(out), start_method)
            results = _results(first, first_packets, segments, renderer, pool, path, total)
        for result in results:
            if result.text:
                out.write(result.text)
            written += result.written
            if result.stats is not total:
                for key, packets in result.stats.items():
                    total[key] = total.get(key, 0) + packets
            if progress is not None:
                progress(result.end, result.last_packet)
    return finish(out, settings, total, written, renderer.names)


def finish(
    out: TextIO,
    settings: DumpSettings,
    total: PairCounts,
    written: int,
    names: Names | None = None,
) -> DumpSummary:
    """End a dump (of a file or a live capture): the table of label counts when
    ``settings.stats`` asks for it (with the labels' setrans.conf ``names`` when given), and
    the summary."""
    stats: Counter[StatsKey] = Counter(
        {
            (source, destination, *label): packets
            for (source, destination, label), packets in total.items()
        }
    )
    if settings.stats:
        out.writelines(stats_pieces(stats, settings.format, names))
    return DumpSummary(written, stats)


def _results(
    first: Segment,
    first_packets: list[LabeledTuple],
    segments: Iterator[Segment],
    renderer: Renderer,
    pool: Pool[DumpSettings] | None,
    path: str | None,
    total: PairCounts,
) -> Iterator[SegmentResult]:
    """The results of every segment, in order: by the ``pool``'s workers when there are at
    least three segments to share (the first one too, so that no worker waits while this
    process works on it), else in this process."""
    serial: Iterable[Segment] = segments
    if pool is not None:
        # The workers' pieces are bigger: sending one costs little next to its work.
        groups = grouped_segments(segments, _parallel.PARALLEL_CHUNK)
        second = next(groups, None)
        third = next(groups, None)
        if third is not None:
            assert second is not None
            yield from pool.results(itertools.chain([[first], second, third], groups), path)
            return
        serial = second or []
    text, count, _ = renderer.render(first_packets, total)
    yield SegmentResult(text, count, total, first.end, first.last_packet)
    for segment in serial:
        yield render_segment(renderer, segment, total)


def _regular_file(capture: str | os.PathLike[str] | BinaryIO) -> str | None:
    """The path of ``capture`` when workers can read it themselves (a regular file)."""
    if not isinstance(capture, (str, os.PathLike)) or str(capture) == "-":
        return None
    path = os.path.abspath(capture)
    return path if os.path.isfile(path) else None
