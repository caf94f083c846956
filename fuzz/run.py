"""Run a fuzz target under atheris (coverage-guided, libFuzzer inside), from a checkout:

    pip install -e '.[fuzz]'
    python -m fuzz.run cipso_option                       # until stopped, corpus grows in place
    python -m fuzz.run cipso_option -max_total_time=600   # any libFuzzer flag
    python -m fuzz.run all -runs=100000                   # every target, the first byte picks
    python -m fuzz.run --list
    python -m fuzz.run --replay [TARGET ...]              # corpora through the targets, no atheris
    python -m fuzz.run --coverage [TARGET ...]            # line coverage the corpora reach

The corpus of a target is ``fuzz/corpus/<target>/`` unless directories are given after the
name; new inputs that reach new code are written there. A failure prints the traceback and
leaves ``crash-<sha1>`` with the input in the current directory.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

CORPUS = Path(__file__).resolve().parent / "corpus"
#: What atheris instruments for coverage: our packages, nothing else.
PACKAGES = ["mls", "cipso", "calipso", "netlabel", "labelnet", "fuzz.targets"]


def corpus_files(name: str) -> list[Path]:
    directory = CORPUS / name
    return sorted(path for path in directory.iterdir() if path.is_file())


def replay(names: list[str]) -> int:
    """Every corpus file through its target; returns the number of inputs."""
    from fuzz.targets import TARGETS, TargetFailure

    count = 0
    for name in names or list(TARGETS):
        run = _tolerating_known(TARGETS[name].run)
        for path in corpus_files(name):
            try:
                run(path.read_bytes())
            except Exception as error:
                raise TargetFailure(f"{name}: {path.name}: {error!r}") from error
            count += 1
    return count


def _tolerating_known(run: Callable[[bytes], None]) -> Callable[[bytes], None]:
    """``run``, with the failures of :data:`fuzz.known.KNOWN` let through."""
    from fuzz.known import known

    def tolerant(data: bytes) -> None:
        try:
            run(data)
        except Exception as error:
            if known(error) is None:
                raise

    return tolerant


def coverage_report(names: list[str]) -> str:
    """Per target: its corpus, and the statements (and branches) of the modules it is meant to
    exercise (:attr:`fuzz.targets.Target.covers`) that the corpus executes (coverage.py).
    Each target is measured in a fresh process, its imports included."""
    import subprocess

    from fuzz.targets import TARGETS

    lines = [f"{'target':16} {'inputs':>6} {'statements':>13} {'+branches':>9}  modules"]
    for name in names or list(TARGETS):
        command = [sys.executable, "-m", "fuzz.run", "--coverage-of", name]
        lines.append(subprocess.run(command, capture_output=True, text=True, check=True).stdout)
    return "\n".join(line.rstrip("\n") for line in lines)


def _coverage_of(name: str) -> str:
    import importlib.util
    import io

    import coverage

    measure = coverage.Coverage(branch=True, data_file=None, source=PACKAGES[:-1])
    measure.start()
    from fuzz.targets import TARGETS

    count = replay([name])
    measure.stop()
    covers = TARGETS[name].covers
    files = [str(importlib.import_module(module).__file__) for module in covers]
    executed = total = 0
    for path in files:
        _, statements, _, missing, _ = measure.analysis2(path)
        executed += len(statements) - len(missing)
        total += len(statements)
    percent = measure.report(include=files, file=io.StringIO())
    return f"{name:16} {count:6} {executed:6}/{total:<6} {percent:8.1f}%  {', '.join(covers)}"


def _all(targets: dict[str, Callable[[bytes], None]]) -> Callable[[bytes], None]:
    runs = list(targets.values())

    def run_one(data: bytes) -> None:
        if data:
            runs[data[0] % len(runs)](data[1:])

    return run_one


def load_atheris() -> Any:
    """atheris, imported before any of :data:`PACKAGES`: a package imported before
    ``instrument_imports`` runs uninstrumented, and the fuzzer is blind in it."""
    try:
        import atheris
    except ModuleNotFoundError:
        # Only now mls: its error names the extra to install.
        from mls._extras import needs_extra

        with needs_extra("fuzz", by="fuzz.run"):
            import atheris
    return atheris


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0
    if argv[0] == "--list":
        from fuzz.targets import TARGETS

        print("\n".join(TARGETS))
        return 0
    if argv[0] == "--coverage-of":
        print(_coverage_of(argv[1]))
        return 0
    if argv[0] == "--coverage":
        print(coverage_report(argv[1:]))
        return 0
    if argv[0] == "--replay":
        print(f"{replay(argv[1:])} corpus inputs, no failure")
        return 0
    atheris = load_atheris()
    name, flags = argv[0], argv[1:]
    with atheris.instrument_imports(include=PACKAGES):
        import scapy.all  # noqa: F401 - loaded before instrumenting stops, not instrumented

        from fuzz.targets import TARGETS
    if name == "all":
        target = _all({key: _tolerating_known(value.run) for key, value in TARGETS.items()})
        max_len = max(value.max_len for value in TARGETS.values()) + 1
        # The multiplexed target reads each seed behind its selector byte, from a scratch
        # copy; what it finds goes to the first directory given (or to that copy).
        directories = [_prefixed_seeds(list(TARGETS), flags)]
    else:
        target = _tolerating_known(TARGETS[name].run)
        max_len = TARGETS[name].max_len
        directories = [] if _has_dirs(flags) else [str(CORPUS / name)]
    if not any(flag.startswith("-max_len=") for flag in flags):
        flags.append(f"-max_len={max_len}")
    given = [flag for flag in flags if not flag.startswith("-")]
    flags = [flag for flag in flags if flag.startswith("-")]
    atheris.Setup([sys.argv[0], *flags, *given, *directories], target)
    atheris.Fuzz()
    return 0


def _prefixed_seeds(names: list[str], flags: list[str]) -> str:
    """The seeds of every target behind its selector byte, in a new directory: inside the
    first directory given (so that it goes with it), else in a temporary one."""
    import tempfile

    given = [flag for flag in flags if not flag.startswith("-")]
    if given:
        scratch = Path(given[0]) / "seeds"
        scratch.mkdir(parents=True, exist_ok=True)
    else:
        scratch = Path(tempfile.mkdtemp(prefix="labelnet-fuzz-all-"))
    for index, name in enumerate(names):
        for path in corpus_files(name):
            (scratch / f"{name}-{path.name}").write_bytes(bytes([index]) + path.read_bytes())
    return str(scratch)


def _has_dirs(flags: list[str]) -> bool:
    return any(not flag.startswith("-") for flag in flags)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
