"""Peak resident memory of ``labelnet dump`` in each output format, on big captures.

    python benchmarks/memory.py                    # 2,000,000 packets per capture
    python benchmarks/memory.py --packets 200000   # a quicker look
    python benchmarks/memory.py -k parquet         # the commands whose name holds "parquet"

The two captures are those of ``bench_dump.py`` (repeating labels, and every label distinct
and dense), generated at the size asked for into a temporary directory. Each command runs
once, as a program of its own with its output to /dev/null (Parquet into a file), and its
peak is the kernel's count of its resident memory (``ru_maxrss`` of the finished child). The
target: under 100 MB whatever the capture's size. ``--tshark`` adds tshark's peak on the same
files for comparison (a minute or more per capture at 2M packets).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# bench_dump, and the tests.mls texts it uses
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parent.parent))

from bench_dump import ENVIRONMENT, MAKERS, ROOT, dump_commands

#: Peak memory a dump may reach, in bytes.
TARGET = 100_000_000


#: Runs the command as its child and prints the child's peak. Linux counts into a process's
#: peak the memory of the process it was forked from, when it calls exec: a command started
#: straight from this process would be charged this process's own peak (the captures were
#: made here), so a small interpreter without site packages forks it.
_LAUNCHER = """
import os, sys
pid = os.fork()
if pid == 0:
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
    os.execvp(sys.argv[1], sys.argv[1:])
_, status, usage = os.wait4(pid, 0)
print(os.waitstatus_to_exitcode(status), usage.ru_maxrss)
"""


def peak_memory(args: list[str]) -> tuple[int, float]:
    """Run ``args`` to its end (its output to /dev/null); its peak resident memory in bytes,
    and its seconds."""
    started = time.perf_counter()
    launched = subprocess.run(
        [sys.executable, "-S", "-c", _LAUNCHER, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        cwd=ROOT,
        env=ENVIRONMENT,
        check=True,
        text=True,
    )
    seconds = time.perf_counter() - started
    status, kibibytes = map(int, launched.stdout.split())
    if status:
        raise subprocess.CalledProcessError(status, args)
    return kibibytes * 1024, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--packets", type=int, default=2_000_000, help="per capture")
    parser.add_argument("--tshark", action="store_true", help="also measure tshark")
    parser.add_argument("-k", default="", metavar="TEXT", help="commands whose name holds TEXT")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="labelnet-bench-memory-") as tmp:
        for capture, make in MAKERS.items():
            path = make(Path(tmp), options.packets)
            size = path.stat().st_size >> 20
            print(f"{capture} capture: {options.packets:,} packets, {size} MiB")
            for impl, args in dump_commands(path).items():
                if options.k not in impl or (impl == "tshark" and not options.tshark):
                    continue
                peak, seconds = peak_memory(args)
                mark = "" if impl == "tshark" or peak < TARGET else "  over 100 MB"
                print(f"{impl:>28}: {peak / 1e6:7.1f} MB peak in {seconds:5.1f} s{mark}")
            path.unlink()
            path.with_suffix(".parquet").unlink(missing_ok=True)


if __name__ == "__main__":
    main()
