"""benchmarks/instructions.py: the part that runs inside valgrind and the reading of its counts
(the counting itself needs valgrind and minutes; the comparison in benchmarks/README.md was made
with it)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent


def load_instructions() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "instructions", ROOT / "benchmarks" / "instructions.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_run_inside_valgrind_repeats_the_planned_cases(tmp_path: Path) -> None:
    instructions = load_instructions()
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
    instructions = load_instructions()
    # Dumps at the markers: set-up, case a (4 calls), between, case b (2 calls), and the end.
    for number, total in enumerate((5000, 400, 70, 90, 11), start=1):
        (tmp_path / f"counts.{number}").write_text(f"events: Ir\nsummary: {total}\n")
    order = [("a", 4), ("b", 2)]
    assert instructions.per_call(tmp_path / "counts", order) == {"a": 100.0, "b": 45.0}
