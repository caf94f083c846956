"""The benchmark tools: benchmarks/instructions.py's part that runs inside valgrind and its
reading of the counts (the counting itself needs valgrind and minutes), and run.py's targets."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent


def load(name: str) -> ModuleType:
    """A module of benchmarks/ (not a package), loaded from its file; the folders it puts on
    ``sys.path`` are taken off again."""
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    saved = list(sys.path)
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path[:] = saved
    return module


def test_the_run_inside_valgrind_repeats_the_planned_cases(tmp_path: Path) -> None:
    instructions = load("instructions")
    group = "mls format level s0:c12,c345"
    plan, order = tmp_path / "plan.json", tmp_path / "order.json"
    plan.write_text(json.dumps({group: 3, "no such case": 1}))
    saved = list(sys.path)
    try:
        assert instructions.main(["--run", str(ROOT), str(plan), str(order)]) == 0
    finally:
        sys.path[:] = saved
    assert json.loads(order.read_text()) == [[group, 3]]


def test_counts_are_read_between_the_markers(tmp_path: Path) -> None:
    instructions = load("instructions")
    # Dumps at the markers: set-up, case a (4 calls), between, case b (2 calls), and the end.
    for number, total in enumerate((5000, 400, 70, 90, 11), start=1):
        (tmp_path / f"counts.{number}").write_text(f"events: Ir\nsummary: {total}\n")
    order = [("a", 4), ("b", 2)]
    assert instructions.per_call(tmp_path / "counts", order) == {"a": 100.0, "b": 45.0}


def test_a_target_may_be_a_multiple_of_another_rate_in_the_same_run() -> None:
    run = load("run")
    case = run.Case("dump", "labelnet text", lambda: None, target_times=(3.0, "tshark"))
    assert run.case_target(case, {"tshark": 25_000.0, "labelnet text": 70_000.0}) == 75_000.0
    assert run.case_target(case, {"labelnet text": 70_000.0}) is None  # tshark not installed
    fixed = run.Case("decode", "labelnet", lambda: None, 1_200_000)
    assert run.case_target(fixed, {}) == 1_200_000


def test_memory_measures_the_peak_of_the_command_it_runs() -> None:
    memory = load("memory")
    held = [sys.executable, "-c", "b = bytearray(80_000_000); b[::4096] = b'x' * len(b[::4096])"]
    peak, seconds = memory.peak_memory(held)
    assert 80_000_000 < peak < 200_000_000 and seconds > 0
    small, _ = memory.peak_memory([sys.executable, "-c", "pass"])
    assert small < 25_000_000  # not charged the peak of the process that runs it
    with pytest.raises(subprocess.CalledProcessError):
        memory.peak_memory([sys.executable, "-c", "raise SystemExit(3)"])
