"""Measure labelnet against the construct schemas, scapy and other references, side by side.

    python benchmarks/run.py                 # everything, about a second per case
    python benchmarks/run.py -k cipso        # only groups whose name contains "cipso"
    python benchmarks/run.py --markdown      # the table for benchmarks/README.md

Speed is one core's: run it on an otherwise idle machine. Cases whose implementation is not
installed (scapy, tshark) are left out with a note.
"""

from __future__ import annotations

import argparse
import importlib
import platform
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(1, str(HERE.parent))

from _bench import OURS, Case, ops_per_second  # noqa: E402


def load_cases(pattern: str) -> list[Case]:
    cases: list[Case] = []
    for path in sorted(HERE.glob("bench_*.py")):
        module = importlib.import_module(path.stem)
        try:
            found: list[Case] = module.cases()
        except ImportError as exc:  # an optional reference (scapy, dpkt ...) is missing
            print(f"# {path.stem}: skipped, {exc}", file=sys.stderr)
            continue
        cases.extend(case for case in found if pattern in case.group)
    return cases


def format_rate(rate: float) -> str:
    if rate >= 1e6:
        return f"{rate / 1e6:.2f}M"
    if rate >= 1e3:
        return f"{rate / 1e3:.1f}k"
    return f"{rate:.1f}"


def case_target(case: Case, rates: dict[str, float]) -> float | None:
    """The ops/s ``case`` must reach: its fixed target, or a multiple of the rate another
    implementation reached in the same run (``rates``, by implementation); None when it has
    none or that implementation was not measured."""
    if case.target_times is None:
        return case.target
    times, reference = case.target_times
    measured = rates.get(reference)
    return None if measured is None else times * measured


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-k", "--filter", default="", help="only groups containing this text")
    parser.add_argument("--seconds", type=float, default=1.0, help="time per case")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    args = parser.parse_args(argv)

    cases = load_cases(args.filter)
    groups: dict[str, list[tuple[Case, float]]] = {}
    for case in cases:
        rate = ops_per_second(case, args.seconds)
        groups.setdefault(case.group, []).append((case, rate))
        print(f"  {case.group} / {case.impl}: {format_rate(rate)} ops/s", file=sys.stderr)

    header = ("operation", "implementation", "ops/s", "vs labelnet", "target", "met")
    rows: list[tuple[str, ...]] = []
    failed = 0
    for group, measured in groups.items():
        ours = next((rate for case, rate in measured if case.impl == OURS), None)
        rates = {case.impl: rate for case, rate in measured}
        for case, rate in measured:
            ratio = f"{rate / ours:.2f}x" if ours else ""
            goal = case_target(case, rates)
            target = format_rate(goal) if goal else ""
            met = ""
            if goal:
                met = "yes" if rate >= goal else "NO"
                failed += rate < goal
            rows.append((group, case.impl, format_rate(rate), ratio, target, met))

    print(f"python {platform.python_version()} on {platform.machine()}, one core")
    if args.markdown:
        print("| " + " | ".join(header) + " |")
        print("|" + "---|" * len(header))
        for row in rows:
            print("| " + " | ".join(row) + " |")
    else:
        widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
        for row in [header, *rows]:
            print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
    if failed:
        print(f"{failed} target(s) not met", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
