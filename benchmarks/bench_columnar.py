"""The columnar dump: rows/s of the Parquet writer next to the text and JSON-lines dump, and a
Dask LocalCluster over 8 captures next to ``labelnet dump --jobs`` on the same files.

The captures are bench_dump's "repeating" and "distinct" captures of 200,000 labeled packets
(Ethernet, IPv4 and IPv6 mixed), generated into a temporary directory when the cases are built.

* one process: ``labelnet.dump.dump`` (text and jsonl, to /dev/null) and
  ``labelnet.columnar.write_parquet`` (to a file), each in this process, on the repeating and
  the distinct capture;
* 8 captures: eight copies of the repeating capture (1.6M packets), read by
  ``labelnet dump FILE --jobs N --format jsonl`` for each file in turn (a command each, start-up
  included, output to /dev/null), and by ``labelnet.dask.read_captures`` on a running
  ``LocalCluster`` of N single-threaded worker processes, counting the rows of every partition
  (the frame is built in full on the workers; only the counts come back). N is the number of
  cores. The cluster's start-up is not timed: a site's cluster is already running.

``python benchmarks/bench_columnar.py`` prints the best of three runs of each.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from _bench import OURS, Case
from bench_dump import PACKETS, make_capture, make_distinct_capture

from labelnet.dump import DumpSettings, Format, dump

FILES = 8
ROOT = Path(__file__).resolve().parent.parent


def _dump_to_devnull(capture: Path, output: Format) -> None:
    with open(os.devnull, "w") as out:
        dump(capture, out, DumpSettings(format=output))


def _write_parquet(capture: Path, destination: Path) -> None:
    from labelnet.columnar import write_parquet

    write_parquet(capture, destination)


def _one_process_cases(directory: Path) -> list[Case]:
    found = []
    for name, make in (("repeating", make_capture), ("distinct", make_distinct_capture)):
        capture = make(directory)
        group = f"columnar: {PACKETS // 1000}k labeled packets ({name}), one process"
        found += [
            Case(
                group,
                OURS,
                functools.partial(_dump_to_devnull, capture, Format.TEXT),
                None,
                PACKETS,
            ),
            Case(
                group,
                "labelnet jsonl",
                functools.partial(_dump_to_devnull, capture, Format.JSONL),
                None,
                PACKETS,
            ),
            Case(
                group,
                "labelnet parquet",
                functools.partial(_write_parquet, capture, directory / f"{name}.parquet"),
                None,
                PACKETS,
            ),
        ]
    return found


def eight_captures(directory: Path) -> list[Path]:
    """Eight copies of the repeating capture."""
    first = make_capture(directory)
    paths = []
    for number in range(FILES):
        path = directory / f"sensor{number}.pcap"
        shutil.copy(first, path)
        paths.append(path)
    return paths


def _jobs(paths: list[Path], cores: int) -> None:
    for path in paths:
        args = [sys.executable, "-m", "labelnet", "dump", str(path), "--jobs", str(cores)]
        with open(os.devnull, "wb") as devnull:
            subprocess.run([*args, "--format", "jsonl"], stdout=devnull, check=True, cwd=ROOT)


def start_cluster(cores: int) -> Any:
    """A LocalCluster of ``cores`` single-threaded worker processes, and its client."""
    import distributed

    cluster = distributed.LocalCluster(  # type: ignore[no-untyped-call]
        n_workers=cores, threads_per_worker=1, processes=True, dashboard_address=None
    )
    return distributed.Client(cluster)  # type: ignore[no-untyped-call]


@dataclass
class _Cluster:
    """The Dask case's cluster, running only while that case is measured: its processes
    (heartbeats, monitors) took CPU from every other case of a run, and most from the
    ones that use every core."""

    cores: int
    client: Any = None

    @contextlib.contextmanager
    def running(self) -> Iterator[None]:
        self.client = start_cluster(self.cores)
        try:
            yield
        finally:
            self.client.close()
            self.client.cluster.close()
            self.client = None

    def count_rows(self, paths: list[Path]) -> None:
        from labelnet.dask import read_captures

        frame = read_captures([str(p) for p in paths])
        counts = frame.map_partitions(len)  # type: ignore[no-untyped-call]
        rows = self.client.compute(counts.sum()).result()
        assert rows == FILES * PACKETS, rows


def _many_files_cases(directory: Path) -> list[Case]:
    cores = os.cpu_count() or 1
    paths = eight_captures(directory)
    cluster = _Cluster(cores)
    group = (
        f"columnar: {FILES} captures of {PACKETS // 1000}k labeled packets, {cores} cores; "
        f"labelnet: dump --jobs {cores} --format jsonl per file"
    )
    packets = FILES * PACKETS
    return [
        Case(group, OURS, functools.partial(_jobs, paths, cores), None, packets),
        Case(
            group,
            f"dask LocalCluster x{cores}",
            functools.partial(cluster.count_rows, paths),
            None,
            packets,
            running=cluster.running,
        ),
    ]


def cases() -> list[Case]:
    # Raises ImportError without pyarrow or dask: run.py then leaves these cases out.
    import distributed  # noqa: F401

    import labelnet.columnar
    import labelnet.dask  # noqa: F401

    directory = Path(tempfile.mkdtemp(prefix="labelnet-bench-columnar-"))
    atexit.register(shutil.rmtree, directory, ignore_errors=True)
    return _one_process_cases(directory) + _many_files_cases(directory)


def _best(func: Callable[[], object], runs: int = 3) -> float:
    best = float("inf")
    for _ in range(runs):
        started = time.perf_counter()
        func()
        best = min(best, time.perf_counter() - started)
    return best


def main() -> None:
    found = cases()
    for case in found:
        with case.running():
            seconds = _best(case.func)
        print(
            f"{case.group} / {case.impl}: {case.batch / seconds:>12,.0f} rows/s ({seconds:.2f} s)"
        )


if __name__ == "__main__":
    main()
