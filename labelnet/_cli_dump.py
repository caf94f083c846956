"""``labelnet dump CAPTURE`` / ``labelnet dump -i IFACE``: the labels in a capture file or on
live interfaces, one line per labeled packet."""

from __future__ import annotations

import argparse
import io
import math
import os
import re
import stat
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import BinaryIO, TextIO

from labelnet.capture import is_capture_magic, read_segments
from labelnet.dump import DumpSettings, Format, dump, read_doi_file
from labelnet.errors import CommandError
from mls._cli import (
    add_setrans_arguments,
    bounded_int,
    load_setrans,
    setrans_epilog,
    setrans_path,
)

#: The --format that writes a Parquet file (labelnet.columnar) rather than text.
PARQUET = "parquet"

DESCRIPTION = """\
Print every packet of a pcap or pcapng capture that carries a CIPSO option (IPv4) or a CALIPSO
option (IPv6 hop-by-hop header): packet number, time, addresses, DOI, CIPSO tag type, the label
as a canonical MLS level, and what the Linux kernel would do with the packet for the DOI
configuration given (accepted, or parameter-problem/dropped with the reason and the byte offset
inside the option). Link types: Ethernet (with 802.1Q/802.1ad VLAN tags), raw IP (101, 228,
229), Linux cooked captures SLL and SLL2, BSD loopback. A CALIPSO option in a destination
options header is shown too, with the note that the kernel skips it there.

With -i IFACE (repeatable; "any" for every interface) the packets are read live instead, as
Linux cooked captures (SLL2), through a kernel filter that passes only IPv4 packets with
options and IPv6 packets whose first extension header is hop-by-hop or destination options
(needs root or CAP_NET_RAW). The capture ends after --count packets, --duration seconds or at
Ctrl-C (status 0, then --stats); -w FILE keeps the labeled packets in a pcapng file.
"""

EPILOG = """\
DOI definitions use netlabelctl's syntax, e.g.
  --doi 'cipso trans doi:3 tags:1 levels:0=0 categories:0=1'
  --doi 'cipso pass doi:16 tags:1,5'   --doi 'calipso pass doi:2'
A label is read through its DOI's translation tables when the DOI is defined, otherwise it is
shown as on the wire. Without any definition there is no verdict: "no-doi-config".

Verdicts: accepted; parameter-problem (the kernel drops the packet and sends a Parameter
Problem; the offset is the kernel's error offset inside the option); dropped (dropped
silently, as for every CALIPSO failure and for an IPv4 source route unless
--accept-source-route); truncated (the capture holds too little of the header to judge).

examples (labelnet demo --write trace.pcapng writes a sample capture):
  labelnet dump trace.pcapng
  labelnet dump trace.pcapng --doi 'cipso pass doi:16 tags:1' --format jsonl
  labelnet dump trace.pcapng --address 10.1.0.0/16 --dominated-by s3:c0.c10 --stats
  labelnet dump trace.pcapng --jobs 0 --quiet --stats
  labelnet dump trace.pcapng --format parquet -o labels.parquet   (docs/columnar.md)
  labelnet dump -i eth0 --count 10 -w labeled.pcapng
  labelnet dump -i any --duration 60 --quiet --stats

""" + setrans_epilog(
    "labelnet dump trace.pcapng --setrans /etc/selinux/mls/setrans.conf --dominated-by Secret",
    'a SETRANS column after LABEL (also in CSV and --stats), "setrans" in JSON lines and in '
    "Parquet;\n      --dominated-by, --dominates and --equals also take names",
)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "dump",
        help="print the CIPSO/CALIPSO labels in a pcap or pcapng capture",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "capture", metavar="CAPTURE", nargs="?", help="pcap or pcapng file, - for stdin"
    )
    live = parser.add_argument_group("live capture (instead of CAPTURE)")
    live.add_argument(
        "-i",
        "--interface",
        action="append",
        default=[],
        metavar="IFACE",
        help="capture on this interface (repeatable; 'any': every interface)",
    )
    live.add_argument(
        "-c",
        "--count",
        type=bounded_int("--count", 2**63 - 1, minimum=1),
        metavar="N",
        help="stop after N labeled packets are written (1 or more; without it, no limit)",
    )
    live.add_argument(
        "--duration", type=_seconds, metavar="SECONDS", help="stop after SECONDS seconds"
    )
    live.add_argument(
        "-w", "--write", metavar="FILE", help="write the labeled packets to FILE (pcapng)"
    )
    parser.add_argument(
        "--format",
        choices=[*(f.value for f in Format), PARQUET],
        default=Format.TEXT.value,
        help="text: aligned columns (default); jsonl: one JSON object per line; csv; "
        "parquet: a Parquet file (-o FILE; needs labelnet[parquet], see docs/columnar.md)",
    )
    parser.add_argument(
        "-o", "--output", metavar="FILE", help="write to FILE instead of standard output"
    )
    parser.add_argument(
        "--doi",
        action="append",
        default=[],
        metavar="N|DEFINITION",
        help="a number: show only this DOI (repeatable); a definition in netlabelctl syntax "
        "('cipso pass doi:16 tags:1', 'calipso pass doi:2'): a DOI the kernel has configured",
    )
    parser.add_argument(
        "--doi-file",
        action="append",
        default=[],
        metavar="FILE",
        help="DOI definitions, one per line (# starts a comment)",
    )
    parser.add_argument(
        "--address",
        action="append",
        default=[],
        metavar="ADDR[/PREFIX]",
        help="show only packets with this address (or network) at either end (repeatable)",
    )
    parser.add_argument(
        "--dominated-by",
        metavar="LEVEL",
        help="show only labels LEVEL dominates (e.g. s3:c0.c10, or a setrans.conf name)",
    )
    parser.add_argument("--dominates", metavar="LEVEL", help="show only labels dominating LEVEL")
    parser.add_argument("--equals", metavar="LEVEL", help="show only labels equal to LEVEL")
    add_setrans_arguments(parser)
    parser.add_argument(
        "--loopback",
        action="store_true",
        help="judge as if the packets arrived on a loopback device (CIPSO tag 128 is "
        "accepted only there)",
    )
    parser.add_argument(
        "--accept-source-route",
        action="store_true",
        help="judge as if the receiver had net.ipv4.conf.all and <dev>.accept_source_route at "
        "1 (by default an IPv4 packet with a source route is dropped silently)",
    )
    parser.add_argument(
        "--stats", action="store_true", help="end with a table of labels per address pair"
    )
    parser.add_argument(
        "-q", "--quiet", action="store_true", help="print no per-packet lines (use with --stats)"
    )
    parser.add_argument(
        "-j",
        "--jobs",
        type=int,
        default=1,
        metavar="N",
        help="worker processes (0: one per core; default 1)",
    )
    parser.add_argument(
        "--progress",
        action="store_true",
        help="show a progress bar on stderr even when it is not a terminal",
    )
    parser.set_defaults(run=run)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--duration {text[:24]!r} is not a number") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"--duration {text[:24]!r} is not a positive number")
    return value


def settings_from(args: argparse.Namespace) -> DumpSettings:
    definitions: list[str] = []
    doi_filter: set[int] = set()
    for value in args.doi:
        words = value.split()
        if len(words) == 1 and ":" not in words[0]:
            # A bare number filters; netlabel.ctl reads it with the DOI grammar (imported
            # here, as DumpSettings does: only --doi needs it).
            from netlabel.ctl import parse_doi

            number = parse_doi([f"doi:{words[0]}"], required=True)
            assert number is not None
            doi_filter.add(number)
        else:
            definitions.append(value.strip())
    for path in args.doi_file:
        definitions.extend(read_doi_file(path))
    load_setrans(args)  # a file that cannot be used is one line here, before any output
    return DumpSettings(
        # The Parquet writer takes the filters and DOIs only.
        format=Format.TEXT if args.format == PARQUET else Format(args.format),
        dois=tuple(definitions),
        doi_filter=frozenset(doi_filter),
        addresses=tuple(args.address),
        dominated_by=args.dominated_by,
        dominates=args.dominates,
        equals=args.equals,
        loopback=args.loopback,
        accept_source_route=args.accept_source_route,
        stats=args.stats,
        show_records=not args.quiet,
        setrans=setrans_path(args),
    )


class ProgressBar:
    """A one-line progress bar on a terminal: bytes read of the file, packets so far."""

    def __init__(self, stream: TextIO, total: int | None) -> None:
        self.stream = stream
        self.total = total
        self.started = time.monotonic()
        self.shown = 0.0

    def __call__(self, done: int, packets: int) -> None:
        now = time.monotonic()
        if now - self.shown < 0.2:
            return
        self.shown = now
        rate = packets / max(now - self.started, 1e-9)
        if self.total:
            fraction = min(done / self.total, 1.0)
            bar = "#" * int(fraction * 30)
            text = f"[{bar:<30}] {fraction:4.0%} {packets} packets, {rate:,.0f}/s"
        else:
            text = f"{done >> 20} MiB, {packets} packets, {rate:,.0f}/s"
        self.stream.write("\r" + text)
        self.stream.flush()

    def close(self) -> None:
        if self.shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()


def run(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    if args.interface:
        return _run_live(args, settings)
    if args.capture is None:
        raise CommandError("name a CAPTURE file, or an interface with -i IFACE")
    for given, flag in ((args.count, "--count"), (args.duration, "--duration"), (args.write, "-w")):
        if given is not None:
            raise CommandError(f"{flag} is for a live capture (-i IFACE)")
    if args.jobs < 0:
        raise CommandError(f"--jobs {args.jobs}: give a number of processes, or 0 for one per core")
    jobs = args.jobs or os.cpu_count() or 1
    bar = None
    if args.progress or sys.stderr.isatty():
        total = None
        if args.capture != "-":
            total = os.path.getsize(args.capture)
        bar = ProgressBar(sys.stderr, total)
    if args.format == PARQUET:  # write_parquet reads the capture before it makes the file
        return _run_parquet(args, settings, bar)
    # The command's own process runs no other thread, so its workers can be forked, and then
    # write their lines themselves (Python 3.14 starts them by forkserver, and the lines go
    # through this process: 1.2x the time on dense labels). Linux only: on macOS, libraries of
    # the system may not survive a fork.
    forked = args.own_process and jobs > 1 and sys.platform == "linux"
    try:
        with _checked_capture(args.capture) as capture, _output(args.output) as out:
            dump(
                capture,
                out,
                settings,
                jobs=jobs,
                progress=bar,
                start_method="fork" if forked else None,
            )
    finally:
        if bar is not None:
            bar.close()
    return 0


@contextmanager
def _checked_capture(path: str) -> Iterator[str | BinaryIO]:
    """The capture to dump, checked before ``-o`` makes or empties the output, as tcpdump and
    tshark do: a file that is not a capture (or not there) is reported first. A capture
    file's header and first record are read (the dump reads them again). Standard input, a
    pipe, a socket or a device can be read only once: it is opened here (standard input is
    open already) and its first bytes are looked at without taking them."""
    if path == "-":
        _check_first_bytes(sys.stdin.buffer)
        yield path
    elif _read_once(path):
        with open(path, "rb") as stream:  # waits for a pipe's writer, as the dump would
            _check_first_bytes(stream)
            yield stream
    else:
        with open(path, "rb") as stream:  # a missing file or a directory raises here
            next(read_segments(stream, 1), None)
        yield path


def _check_first_bytes(stream: BinaryIO) -> None:
    # Empty, or four bytes that start no capture: the dump's own error, raised now. Fewer
    # bytes than four may be the first of many (a pipe gives what its writer has written).
    peek = getattr(stream, "peek", None)
    if peek is None:
        return
    head = peek(4)[:4]
    if not head or (len(head) == 4 and not is_capture_magic(head)):
        next(read_segments(io.BytesIO(head), 1), None)


def _read_once(path: str) -> bool:
    """Whether ``path`` is a pipe, a socket or a device, whose bytes can be read only once."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return stat.S_ISFIFO(mode) or stat.S_ISCHR(mode) or stat.S_ISSOCK(mode)


@contextmanager
def _output(path: str | None) -> Iterator[TextIO]:
    """Where the lines go: standard output, or the file ``-o`` names (closed after; standard
    output is not). A reader that goes away (``| head``) ends the dump quietly, as other Unix
    tools do."""
    out = sys.stdout if path is None else open(path, "w", encoding="utf-8")  # noqa: SIM115
    try:
        yield out
        out.flush()
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    finally:
        if out is not sys.stdout:
            out.close()


def _run_parquet(args: argparse.Namespace, settings: DumpSettings, bar: ProgressBar | None) -> int:
    """``--format parquet``: the rows into the file ``-o`` names (:mod:`labelnet.columnar`)."""
    try:
        if args.output is None:
            raise CommandError("--format parquet writes a file: name it with -o FILE")
        if args.stats or args.quiet:
            raise CommandError("--stats and --quiet are for the text formats")
        if args.jobs != 1:
            raise CommandError(
                "--format parquet runs in one process (labelnet.dask.read_captures spreads "
                "captures over many)"
            )
        _load_columnar(own_process=args.own_process)
        from labelnet.columnar import write_parquet

        capture = sys.stdin.buffer if args.capture == "-" else args.capture
        write_parquet(capture, args.output, settings, progress=bar)
    finally:
        if bar is not None:
            bar.close()
    return 0


#: Modules pyarrow loads when they are installed and a Parquet dump does not use: numpy (pyarrow
#: 18 and later; 45 ms and 11 MB of every dump) and cloudpickle, which pyarrow prefers to pickle
#: for its objects (it comes with labelnet[dask] and loads logging, uuid and more: 10-20 ms).
UNUSED_BY_THE_DUMP = ("numpy", "cloudpickle")


def _load_columnar(*, own_process: bool) -> None:
    """Import :mod:`labelnet.columnar`: without the modules of :data:`UNUSED_BY_THE_DUMP` in a
    process of the command's own (``own_process``) that has not loaded pyarrow yet."""
    try:
        if not own_process or "pyarrow" in sys.modules:
            import labelnet.columnar
        else:
            # None in sys.modules makes "import numpy" fail as if it were absent, and pyarrow
            # then goes without. Only in the command's own process: a caller's pyarrow must
            # stay whole (pandas needs its numpy side).
            blocked = [name for name in UNUSED_BY_THE_DUMP if name not in sys.modules]
            for name in blocked:
                sys.modules[name] = None  # type: ignore[assignment]
            _choose_arrow_allocator()
            try:
                import labelnet.columnar  # noqa: F401
            finally:
                for name in blocked:
                    del sys.modules[name]
    except ModuleNotFoundError as exc:
        raise CommandError(str(exc)) from None


#: The variable Arrow reads, once, when it makes its default memory pool.
ARROW_ALLOCATOR = "ARROW_DEFAULT_MEMORY_POOL"


def _choose_arrow_allocator() -> None:
    """Have Arrow allocate through jemalloc when its build has it and the user has not named
    an allocator (:data:`ARROW_ALLOCATOR`). A Parquet dump's peak with Arrow's default,
    mimalloc, is 21-32 MB higher for the same CPU time (118 and 161 MB against 97 and 129 MB on
    200k repeating and distinct labels): mimalloc keeps the pages Arrow frees for a while, and
    the dump frees and allocates each row group's buffers in turn. Only a variable set before
    pyarrow is loaded reaches every allocation (pa.set_memory_pool leaves the Parquet writer's
    own buffers to the default), and Arrow warns on stderr about a name its build lacks, so the
    build is asked first, through the configuration header pip's pyarrow ships."""
    if ARROW_ALLOCATOR in os.environ:
        return
    from importlib.util import find_spec  # only here: the text formats do without it

    spec = find_spec("pyarrow")
    if spec is None or spec.origin is None:
        return
    header = os.path.join(os.path.dirname(spec.origin), "include", "arrow", "util", "config.h")
    try:
        with open(header, encoding="utf-8", errors="replace") as file:
            configuration = file.read()
    except OSError:  # no header (another packaging): Arrow's default stays
        return
    if re.search(r"^#define ARROW_JEMALLOC\s*$", configuration, re.MULTILINE):
        os.environ[ARROW_ALLOCATOR] = "jemalloc"


def _run_live(args: argparse.Namespace, settings: DumpSettings) -> int:
    """``-i IFACE``: a live capture (:mod:`labelnet.live`)."""
    if args.capture is not None:
        raise CommandError(f"give a CAPTURE file ({args.capture}) or -i IFACE, not both")
    if args.format == PARQUET:
        raise CommandError(
            "--format parquet reads capture files; capture with -w FILE, then convert FILE"
        )
    if args.jobs != 1:
        raise CommandError("--jobs: a live capture runs in one process")
    if args.progress:
        raise CommandError("--progress shows how far through a file the dump is; not live")
    from labelnet.live import LiveCapture, capture

    live = LiveCapture(tuple(args.interface), args.count, args.duration, args.write)
    names = ", ".join(live.interfaces)

    def ready() -> None:
        print(f"labelnet dump: capturing on {names} (Linux cooked v2)", file=sys.stderr, flush=True)

    def dropped(packets: int) -> None:
        if packets:
            print(f"labelnet dump: {packets} packets dropped by the kernel", file=sys.stderr)

    with _output(args.output) as out:
        capture(live, out, settings, ready=ready, dropped=dropped)
    return 0
