"""The fuzz corpora (fuzz/corpus/<target>/) through their targets, and a short
coverage-guided run of every target (atheris, when installed: the ``fuzz`` extra)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from fuzz.known import KNOWN
from fuzz.run import CORPUS, corpus_files, replay
from fuzz.targets import TARGETS

ROOT = Path(__file__).resolve().parents[2]


def test_every_target_has_a_seed_corpus() -> None:
    assert sorted(path.name for path in CORPUS.iterdir() if path.is_dir()) == sorted(TARGETS)
    for name in TARGETS:
        files = corpus_files(name)
        assert files, name
        # Kept small: minimised inputs, no giant files.
        assert all(path.stat().st_size <= 65_536 for path in files), name


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_corpus_replays_cleanly(name: str) -> None:
    assert replay([name]) == len(corpus_files(name))


def test_every_known_failure_names_its_regression_test() -> None:
    for failure in KNOWN:
        path, _, test = failure.test.partition("::")
        assert f"def {test}(" in (ROOT / path).read_text()


def run_python(*args: str, timeout: int, check: bool) -> subprocess.CompletedProcess[str]:
    """``python ARGS`` from the checkout, as ``python -m fuzz.run`` is started."""
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=check,
    )


@pytest.mark.slow
def test_our_packages_are_imported_after_atheris_can_instrument_them() -> None:
    pytest.importorskip("atheris", reason="atheris is in the fuzz extra")
    # In a fresh process, as fuzz.run starts: nothing of ours is loaded uninstrumented.
    script = (
        "import sys, fuzz.run; fuzz.run.load_atheris(); "
        "print(sorted({m.split('.')[0] for m in sys.modules} & set(fuzz.run.PACKAGES)))"
    )
    result = run_python("-c", script, timeout=60, check=True)
    assert result.stdout.strip() == "[]"


def test_short_coverage_guided_run(tmp_path: Path) -> None:
    pytest.importorskip("atheris", reason="atheris is in the fuzz extra")
    # All targets in one process (the first byte picks one), a bounded number of inputs.
    result = run_python(
        "-m", "fuzz.run", "all", "-runs=8000", "-seed=1", str(tmp_path), timeout=600, check=False
    )
    assert result.returncode == 0, result.stderr[-4000:]
    done = re.search(r"Done (\d+) runs", result.stderr)
    assert done is not None and int(done.group(1)) >= 8000, result.stderr[-2000:]
    coverage = re.findall(r"cov: (\d+)", result.stderr)
    assert coverage and int(coverage[-1]) > 1000, result.stderr[-2000:]
