"""``labelnet dump`` against ``tshark -T fields`` on two generated captures, in packets/s.

Both captures (generated into a temporary directory when the cases are built) hold 200,000
labeled packets on Ethernet, IPv4 and IPv6 mixed:

* repeating: CIPSO tag 1 and tag 5 in two DOIs and CALIPSO, 300 address pairs, 40 labels per
  option type (a capture of a few long-lived labeled connections);
* distinct: every packet a label of its own, dense: CIPSO tag 1 with about half of c0..c239
  set, tag 5 with seven ranges, CALIPSO with about half of c0..c255 set, random addresses
  (nothing can be remembered from one packet to the next).

Every implementation runs as a command, start-up included, with its output sent to /dev/null:

* labelnet: ``python -m labelnet dump FILE`` in each output format (text, jsonl, csv, and
  parquet into a file when pyarrow is installed)
* labelnet --jobs N: the text dump spread over every core
* labelnet text --setrans: the text dump with the names of a targeted policy's setrans.conf
  (the other cases show no names, whatever the machine's own setrans.conf)
* tshark: ``tshark -n -r FILE -T fields`` with the frame number, the addresses and the CIPSO
  and CALIPSO fields

Targets: 5x tshark's packets/s on one core on the repeating capture, 3x on the distinct one,
in every format, against tshark's rate measured in the same run; ``--jobs`` over N cores
0.8 N times the one-process text dump's rate (1.6x on 2 cores).
``python benchmarks/bench_dump.py`` prints the best of three timed runs of each, and the
ratios to tshark.
"""

from __future__ import annotations

import atexit
import functools
import importlib.util
import os
import random
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from _bench import OURS, Case

import calipso
import cipso
from labelnet._tshark import fields_command
from labelnet.capture import write_pcap
from mls import CategorySet, Level
from mls._cli import SELINUX_ROOT_VARIABLE
from tests.mls.setrans_texts import TARGETED

PACKETS = 200_000
PAIRS = 300
ROOT = Path(__file__).resolve().parent.parent
FORMATS = ("text", "jsonl", "csv")
CORES = os.cpu_count() or 1
#: --jobs over every core: this share of a linear speed-up over one process (1.6x on 2 cores).
JOBS_TARGET = 0.8


def _group(capture: str) -> str:
    what = {
        "repeating": "40 labels per option type",
        "distinct": "every label distinct and dense",
    }[capture]
    return f"dump {PACKETS // 1000}k labeled packets, {what}, to /dev/null"


def _labeled_frames(count: int, seed: int = 1) -> Iterator[tuple[tuple[int, int], bytes]]:
    rng = random.Random(seed)
    levels = [
        Level(rng.randrange(16), CategorySet.of(*rng.sample(range(120), rng.randrange(6))))
        for _ in range(40)
    ]
    tag1 = cipso.CipsoDoi(3, cipso.MapType.PASS, (cipso.TagType.RESTRICTED_BITMAP,))
    tag5 = cipso.CipsoDoi(5, cipso.MapType.PASS, (cipso.TagType.RANGED,))
    v4_options = [doi.encode_label(level, pad=True) for doi in (tag1, tag5) for level in levels]
    v6_headers = [calipso.CalipsoDoi(2).encode_header(level, next_header=17) for level in levels]
    v4_pairs = [
        (bytes((10, 0, n >> 4, n & 15)), bytes((10, 1, n % 7, n % 13))) for n in range(PAIRS)
    ]
    v6_pairs = [
        (
            b"\x20\x01\x0d\xb8" + bytes(10) + n.to_bytes(2, "big"),
            b"\xfe\x80" + bytes(13) + bytes((n % 9,)),
        )
        for n in range(PAIRS)
    ]
    payload = struct.pack("!HHHH", 4000, 5000, 24, 0) + bytes(16)
    mac = bytes.fromhex("020000000002020000000001")
    for number in range(count):
        pair = rng.randrange(PAIRS)
        if number % 3 == 2:
            hop = v6_headers[rng.randrange(len(v6_headers))]
            src, dst = v6_pairs[pair]
            body = hop + payload
            ip = struct.pack("!IHBB", 0x60000000, len(body), 0, 64) + src + dst + body
            frame = mac + b"\x86\xdd" + ip
        else:
            options = v4_options[(number % 3) * 40 + rng.randrange(40)]
            src, dst = v4_pairs[pair]
            ihl = 5 + len(options) // 4
            ip = struct.pack(
                "!BBHHHBBH", 0x40 | ihl, 0, ihl * 4 + len(payload), number & 0xFFFF, 0, 64, 17, 0
            )
            frame = mac + b"\x08\x00" + ip + src + dst + options + payload
        yield (1_700_000_000 + number // 1000, number % 1000 * 1000), frame


def _distinct_frames(count: int, seed: int = 2) -> Iterator[tuple[tuple[int, int], bytes]]:
    """Every packet a label of its own, dense: CIPSO tag 1 with about half of c0..c239 set,
    tag 5 with seven ranges, CALIPSO with about half of c0..c255 set; IPv4 and IPv6 mixed."""
    rng = random.Random(seed)
    tag1 = cipso.CipsoDoi(3, cipso.MapType.PASS, (cipso.TagType.RESTRICTED_BITMAP,))
    tag5 = cipso.CipsoDoi(5, cipso.MapType.PASS, (cipso.TagType.RANGED,))
    v6_doi = calipso.CalipsoDoi(2)
    payload = struct.pack("!HHHH", 4000, 5000, 24, 0) + bytes(16)
    mac = bytes.fromhex("020000000002020000000001")
    for number in range(count):
        kind = number % 3
        if kind == 0:
            bits = rng.getrandbits(240) | 1 << 239
            level = Level(rng.randrange(256), CategorySet.from_int(bits))
        elif kind == 1:
            bounds = sorted(rng.sample(range(240), 14))
            spans = zip(bounds[::2], bounds[1::2], strict=True)
            level = Level(rng.randrange(256), CategorySet.from_ranges(spans))
        else:
            level = Level(rng.randrange(256), CategorySet.from_int(rng.getrandbits(256)))
        src = bytes((10, rng.randrange(256), rng.randrange(256), 1))
        dst = bytes((10, 1, rng.randrange(256), 2))
        if kind == 2:
            hop = v6_doi.encode_header(level, next_header=17)
            body = hop + payload
            src6 = b"\x20\x01\x0d\xb8" + bytes(8) + src
            dst6 = b"\xfe\x80" + bytes(10) + dst
            ip = struct.pack("!IHBB", 0x60000000, len(body), 0, 64) + src6 + dst6 + body
            frame = mac + b"\x86\xdd" + ip
        else:
            options = (tag1 if kind == 0 else tag5).encode_label(level, pad=True)
            ihl = 5 + len(options) // 4
            ip = struct.pack(
                "!BBHHHBBH", 0x40 | ihl, 0, ihl * 4 + len(payload), number & 0xFFFF, 0, 64, 17, 0
            )
            frame = mac + b"\x08\x00" + ip + src + dst + options + payload
        yield (1_700_000_000 + number // 1000, number % 1000 * 1000), frame


def make_capture(directory: Path, count: int = PACKETS) -> Path:
    path = directory / "labels.pcap"
    write_pcap(path, _labeled_frames(count))
    return path


def make_distinct_capture(directory: Path, count: int = PACKETS) -> Path:
    path = directory / "distinct.pcap"
    write_pcap(path, _distinct_frames(count))
    return path


#: The commands run without the machine's setrans.conf (a root where no file can be).
ENVIRONMENT = {**os.environ, SELINUX_ROOT_VARIABLE: os.devnull}


def _command(args: list[str]) -> None:
    with open(os.devnull, "wb") as devnull:
        subprocess.run(
            args,
            stdout=devnull,
            stderr=subprocess.DEVNULL,
            check=True,
            cwd=ROOT,
            env=ENVIRONMENT,
        )


def dump_commands(path: Path) -> dict[str, list[str]]:
    ours = [sys.executable, "-m", "labelnet", "dump", str(path)]
    commands = {f"{OURS} {output}": [*ours, "--format", output] for output in FORMATS}
    if importlib.util.find_spec("pyarrow") is not None:
        parquet = path.with_suffix(".parquet")
        commands[f"{OURS} parquet"] = [*ours, "--format", "parquet", "-o", str(parquet)]
    commands[f"{OURS} text --jobs {CORES}"] = [*ours, "--jobs", str(CORES)]
    setrans = path.parent / "setrans.conf"
    setrans.write_text(TARGETED)
    commands[f"{OURS} text --setrans"] = [*ours, "--setrans", str(setrans)]
    tshark = shutil.which("tshark")
    if tshark is not None:
        commands["tshark"] = fields_command(tshark, path)
    return commands


def _timed(args: list[str]) -> float:
    started = time.perf_counter()
    _command(args)
    return PACKETS / (time.perf_counter() - started)


#: Targets as multiples of tshark's rate, per capture.
TARGETS = {"repeating": 5.0, "distinct": 3.0}
MAKERS = {"repeating": make_capture, "distinct": make_distinct_capture}


def cases() -> list[Case]:
    directory = Path(tempfile.mkdtemp(prefix="labelnet-bench-dump-"))
    atexit.register(shutil.rmtree, directory, ignore_errors=True)
    found = []
    for capture, make in MAKERS.items():
        commands = dump_commands(make(directory))
        if "tshark" not in commands:
            print("# bench_dump: tshark is not installed, no reference", file=sys.stderr)
        for impl, args in commands.items():
            # The target is a multiple of tshark's rate measured in the same run (run.py),
            # so that the machine's speed at the moment counts for both alike.
            targeted = impl != "tshark" and "--jobs" not in impl and "--setrans" not in impl
            target = (TARGETS[capture], "tshark") if targeted else None
            if "--jobs" in impl and CORES > 1:
                target = (JOBS_TARGET * CORES, f"{OURS} text")
            command = functools.partial(_command, args)
            found.append(Case(_group(capture), impl, command, batch=PACKETS, target_times=target))
    return found


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="labelnet-bench-dump-") as tmp:
        for capture, make in MAKERS.items():
            started = time.perf_counter()
            path = make(Path(tmp))
            print(
                f"{capture} capture: {PACKETS} labeled packets, {path.stat().st_size >> 20} MiB, "
                f"written in {time.perf_counter() - started:.1f} s"
            )
            commands = dump_commands(path)
            rates = {impl: max(_timed(args) for _ in range(3)) for impl, args in commands.items()}
            reference = rates.get("tshark")
            for impl, rate in rates.items():
                ratio = f"  {rate / reference:.2f}x tshark" if reference else ""
                print(f"{impl:>28}: {rate:>10,.0f} packets/s{ratio}")


if __name__ == "__main__":
    main()
