"""Instructions executed per operation, counted by valgrind, for this tree and another.

    python benchmarks/instructions.py --against ../labelnet-0.1         # every case
    python benchmarks/instructions.py --against ../labelnet-0.1 -k mls  # groups with "mls"

Timings on a shared machine move by 10% and more from one process to the next, for reasons
that have nothing to do with the code (which other objects the process holds, the machine's
own speed). The number of instructions an operation executes does not: ``valgrind
--tool=callgrind`` counts them, the same for the same code and input whatever else the machine
does. Each of our cases of ``run.py`` (the whole-program dump and Dask cases excepted) runs a
fixed number of times between two calls of ``math.lgamma``, at which callgrind writes its
counts; the count between them, divided, is the case's cost. Both trees run with the same hash
seed and the same repetitions. Needs valgrind (Debian's ``valgrind``); each tree takes a few
minutes.
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
#: Modules whose cases run whole programs or a cluster: timed by run.py only.
WHOLE_PROGRAMS = ("bench_dump", "bench_columnar")
#: How long the repetitions of one case last without valgrind, in seconds.
SPAN = 0.004


def _our_cases(tree: Path, pattern: str) -> list[Any]:
    # run.load_cases of ``tree`` would do, but it builds every module's cases, the whole
    # programs' too (captures written, tshark timed, a Dask cluster): not under valgrind.
    sys.path[:0] = [str(tree / "benchmarks"), str(tree)]
    from _bench import OURS

    found = []
    for path in sorted((tree / "benchmarks").glob("bench_*.py")):
        if path.stem in WHOLE_PROGRAMS:
            continue
        try:
            cases = importlib.import_module(path.stem).cases()
        except ImportError:  # an optional reference is missing: our cases come with it
            continue
        found += [c for c in cases if c.impl == OURS and pattern in c.group]
    return found


def _plan(tree: Path, pattern: str) -> dict[str, int]:
    """How many times to run each case: about SPAN seconds of it."""
    plan = {}
    for case in _our_cases(tree, pattern):
        case.func()
        started, calls = time.perf_counter(), 0
        while time.perf_counter() - started < 0.05:
            case.func()
            calls += 1
        plan[case.group] = max(1, int(SPAN * calls / (time.perf_counter() - started)))
    return plan


def _run(tree: Path, plan: dict[str, int], order_file: Path) -> None:
    """Under callgrind: each planned case, its repetitions between two markers."""
    order = []
    for case in _our_cases(tree, ""):
        repeat = plan.get(case.group)
        if repeat is None:
            continue
        case.func()  # tables and caches made outside the count
        math.lgamma(1.0)
        for _ in range(repeat):
            case.func()
        math.lgamma(2.0)
        order.append((case.group, repeat))
    order_file.write_text(json.dumps(order))


def count(tree: Path, plan: dict[str, int], workdir: Path) -> dict[str, float]:
    """Instructions per call of each planned case of ``tree``."""
    workdir.mkdir(parents=True, exist_ok=True)
    plan_file, order_file = workdir / "plan.json", workdir / "order.json"
    plan_file.write_text(json.dumps(plan))
    command = [
        "valgrind",
        "--tool=callgrind",
        "--dump-before=math_lgamma",
        f"--callgrind-out-file={workdir / 'counts'}",
        sys.executable,
        str(Path(__file__).resolve()),
        "--run",
        str(tree),
        str(plan_file),
        str(order_file),
    ]
    environment = {**os.environ, "PYTHONHASHSEED": "0"}
    subprocess.run(command, check=True, env=environment, capture_output=True)
    return per_call(workdir / "counts", json.loads(order_file.read_text()))


def per_call(counts: Path, order: list[tuple[str, int]]) -> dict[str, float]:
    """Instructions per call from callgrind's dumps ``counts.1``, ``counts.2`` ...: dump i
    is written at the i-th marker, so dumps 2, 4, ... hold the repetitions of the cases in
    ``order`` (``(group, repetitions)``)."""
    totals = []
    parts = sorted(counts.parent.glob(counts.name + ".*"), key=lambda path: int(path.suffix[1:]))
    for part in parts:
        for line in part.read_text().splitlines():
            if line.startswith(("summary:", "totals:")):
                totals.append(int(line.split()[1]))
                break
    return {group: totals[2 * index + 1] / repeat for index, (group, repeat) in enumerate(order)}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--run":  # inside valgrind
        tree, plan_file, order_file = Path(argv[1]), Path(argv[2]), Path(argv[3])
        _run(tree, json.loads(plan_file.read_text()), order_file)
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--against", type=Path, help="another checkout to compare with")
    parser.add_argument("-k", "--filter", default="", help="only groups containing this text")
    args = parser.parse_args(argv)
    if shutil.which("valgrind") is None:
        print("instructions.py needs valgrind (apt install valgrind)", file=sys.stderr)
        return 2
    ours = HERE.parent
    plan = _plan(ours, args.filter)
    with tempfile.TemporaryDirectory(prefix="labelnet-instructions-") as tmp:
        counted = count(ours, plan, Path(tmp) / "ours")
        other = {} if args.against is None else count(args.against, plan, Path(tmp) / "other")
    print("instructions per operation: this tree, the other, their ratio (above 1: this tree")
    print("executes fewer)")
    for group, instructions in counted.items():
        before = other.get(group)
        compared = f"{before:>12,.0f} {before / instructions:6.2f}x" if before else ""
        print(f"{instructions:>12,.0f} {compared}  {group}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
