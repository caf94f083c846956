"""``labelnet conformance``: compare labelnet with the live kernel (differential fuzzing) and
record the kernel's verdicts for the shipped vector corpus."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import TYPE_CHECKING, TextIO

# The harness and the fuzzer are imported when a conformance command runs, so that every other
# labelnet command (dump above all) starts without them.
if TYPE_CHECKING:
    from netlabel.harness import KernelHarness

    from .conformance.fuzz import RunResult

DESCRIPTION = """\
Differential testing against the Linux kernel running this machine. Two network namespaces
joined by a veth pair are created, scratch DOIs are configured (numbers far above what sites
use; DOIs that were already there are never touched), and generated options are sent from one
namespace to the other. The receiving kernel's verdict (accepted, or rejected with the ICMP
Parameter Problem pointer; for CALIPSO also the silent drop) is compared with labelnet's
validator for every input. Disagreements are shrunk to a small reproducer and printed with
the hex to paste into a bug report. Packets only travel between the namespaces created here;
the namespaces and DOIs are removed on exit and on Ctrl-C.

Needs root, iproute2 ('ip') and pyroute2 (NetLabel over generic netlink).
"""

EPILOG = """\
exit status: 0 no disagreement; 1 at least one disagreement (or a recorded verdict that
changed with 'record --check'); 2 set-up error (not root, no NetLabel, ...); 130 Ctrl-C.

examples:
  labelnet conformance cipso --count 100000 --seed 1
  labelnet conformance calipso --seconds 60
  labelnet conformance record            # rewrite the corpus's kernel verdicts
  labelnet conformance record --check    # only compare; exit 1 if one changed
"""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "conformance",
        help="compare labelnet's CIPSO/CALIPSO verdicts with the live kernel's",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    for protocol in ("cipso", "calipso"):
        fuzz = actions.add_parser(
            protocol,
            help=f"fuzz {protocol.upper()} verdicts against the kernel",
            description=DESCRIPTION,
            epilog=EPILOG,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        fuzz.add_argument(
            "--count",
            type=int,
            default=10_000,
            metavar="N",
            help="inputs to send (default 10000; 0: no limit, use --seconds)",
        )
        fuzz.add_argument(
            "--seconds", type=float, metavar="S", help="stop after S seconds (default: no limit)"
        )
        fuzz.add_argument(
            "--seed", type=int, metavar="N", help="seed of the generators (default: random, shown)"
        )
        fuzz.add_argument(
            "--max-reports",
            type=int,
            default=10,
            metavar="N",
            help="shrink and print at most N distinct disagreements (default 10)",
        )
        fuzz.add_argument(
            "--json", metavar="FILE", help="also write the result and reproducers as JSON"
        )
        fuzz.add_argument(
            "--progress",
            action="store_true",
            help="show the progress bar on stderr even when it is not a terminal",
        )
        fuzz.set_defaults(run=run_fuzz, protocol=protocol)
    recorder = actions.add_parser(
        "record",
        help="record the kernel's verdicts for the shipped vector corpus",
        description="Send every vector of cipso/corpus/*.json and calipso/corpus/*.json "
        "through the live kernel and write the observed verdicts into the files, with the "
        "fields tshark shows for each decodable option when tshark is installed.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    recorder.add_argument(
        "--protocol", choices=["cipso", "calipso", "both"], default="both", help="default both"
    )
    recorder.add_argument(
        "--check",
        action="store_true",
        help="do not write; exit 1 if a recorded verdict differs from the kernel's",
    )
    recorder.set_defaults(run=run_record)


class ProgressBar:
    """One line on a terminal: the share done (of --count or --seconds), rate, disagreements."""

    def __init__(self, stream: TextIO, protocol: str, seconds: float | None) -> None:
        self.stream = stream
        self.protocol = protocol
        self.seconds = seconds
        self.shown = 0.0

    def __call__(self, sent: int, count: int | None, elapsed: float, disagreeing: int) -> None:
        now = time.monotonic()
        if now - self.shown < 0.2:
            return
        self.shown = now
        shares = [sent / count] if count else []
        if self.seconds:
            shares.append(elapsed / self.seconds)
        rate = sent / max(elapsed, 1e-9)
        text = f"{self.protocol}: {sent} sent, {rate:,.0f}/s, {disagreeing} disagreeing"
        if shares:
            fraction = min(max(shares), 1.0)
            text = f"[{'#' * int(fraction * 30):<30}] {fraction:4.0%} " + text
        self.stream.write("\r" + text + "\x1b[K")
        self.stream.flush()

    def close(self) -> None:
        if self.shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()


@contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM ends the run like Ctrl-C, so the namespaces and DOIs are removed."""

    def handler(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _open_harness() -> KernelHarness | None:
    from netlabel.harness import CommandError, HarnessError, KernelHarness, require

    try:
        require()
        return KernelHarness().open()
    except (HarnessError, CommandError) as exc:
        print(f"labelnet conformance: cannot set up the kernel harness: {exc}", file=sys.stderr)
        return None


def _as_json(result: RunResult) -> dict[str, object]:
    from netlabel.harness import summarize

    return {
        "protocol": result.protocol,
        "seed": result.seed,
        "sent": result.sent,
        "agreed": result.agreed,
        "disagreeing": result.disagreeing,
        "agreement": result.agreement,
        "verdicts_per_second": result.verdicts_per_second,
        "seconds": result.elapsed,
        "kernel_seconds": result.kernel_seconds,
        "origins": result.origins,
        "interrupted": result.interrupted,
        "kernel": f"Linux {os.uname().release}",
        "disagreements": [
            {
                "origin": found.origin,
                "original": found.original.hex(),
                "minimal": found.minimal.hex(),
                "kernel": str(found.kernel),
                "labelnet": summarize(found.ours),
                "dois": list(found.dois),
                "packet": found.packet.hex(),
            }
            for found in result.disagreements
        ],
    }


def run_fuzz(args: argparse.Namespace) -> int:
    from netlabel.harness import CommandError, HarnessError

    from .conformance.fuzz import run, summary

    if args.count < 0 or (args.seconds is not None and args.seconds <= 0):
        raise ValueError("--count must be 0 or more and --seconds above 0")
    count = args.count or None
    if count is None and args.seconds is None:
        raise ValueError("--count 0 runs without a limit: give --seconds")
    seed = args.seed if args.seed is not None else int.from_bytes(os.urandom(4), "big")
    bar = None
    if args.progress or sys.stderr.isatty():
        bar = ProgressBar(sys.stderr, args.protocol, args.seconds)
    with _terminate_as_interrupt():
        harness = _open_harness()
        if harness is None:
            return 2
        try:
            result = run(
                harness,
                args.protocol,
                count=count,
                seconds=args.seconds,
                seed=seed,
                progress=bar,
                max_reports=args.max_reports,
            )
        except (HarnessError, CommandError) as exc:
            print(f"labelnet conformance: {exc}", file=sys.stderr)
            return 2
        finally:
            if bar is not None:
                bar.close()
            harness.close()
    out = sys.stdout
    for number, found in enumerate(result.disagreements, 1):
        print(f"disagreement {number} of {result.disagreeing}:", file=out)
        print(found.report(), file=out)
        print(file=out)
    if result.disagreeing > len(result.disagreements):
        print(
            f"({result.disagreeing - len(result.disagreements)} more disagreeing inputs: "
            "beyond --max-reports, or shrunk to a reproducer shown above)",
            file=out,
        )
    print(summary([result]), file=out)
    print(f"seed {seed}; rerun with --seed {seed} --count {result.sent}", file=out)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as stream:
            json.dump(_as_json(result), stream, indent=1)
            stream.write("\n")
    if result.interrupted:
        print("labelnet conformance: interrupted", file=sys.stderr)
        return 130
    return 1 if result.disagreeing else 0


def run_record(args: argparse.Namespace) -> int:
    from netlabel.harness import CommandError, HarnessError

    from .conformance.record import record

    protocols = ["cipso", "calipso"] if args.protocol == "both" else [args.protocol]
    changed = 0
    with _terminate_as_interrupt():
        harness = _open_harness()
        if harness is None:
            return 2
        try:
            for protocol in protocols:
                result = record(
                    harness,
                    protocol,
                    write=not args.check,
                    kernel=f"Linux {os.uname().release}",
                )
                print(
                    f"{protocol}: {result.sent} vectors sent ({result.loopback} over loopback), "
                    f"{result.unobservable} answers not observable (source route), "
                    f"{len(result.changes)} verdicts changed, "
                    f"{len(result.tshark_changes)} tshark readings new or changed"
                )
                for change in result.changes:
                    print(f"  {change.name}: {change.before} -> {change.after}")
                for name in result.tshark_changes:
                    print(f"  {name}: tshark fields new or changed")
                changed += len(result.changes) + len(result.tshark_changes)
        except (HarnessError, CommandError) as exc:
            print(f"labelnet conformance: {exc}", file=sys.stderr)
            return 2
        finally:
            harness.close()
    return 1 if args.check and changed else 0
