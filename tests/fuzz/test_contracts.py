"""One contract test per entry point: arbitrary input gives a result or one of our typed errors,
at a cost in proportion to the input.

Each test draws inputs (random bytes or text, and mutations of the target's seed corpus in
fuzz/corpus/) and runs the fuzz target of that entry point (fuzz/targets.py), which checks the
errors and the round trips. Cost is measured deterministically rather than timed: the number
of Python and C function calls (sys.setprofile) and the peak of memory allocated
(tracemalloc) must stay below a fixed allowance plus an allowance per input byte. A parser
gone quadratic, or building a huge value from a small input, breaks the per-byte bound long
before it shows as slowness.
"""

from __future__ import annotations

import sys
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from types import FrameType
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fuzz.known import known
from fuzz.run import corpus_files
from fuzz.targets import TARGETS


@dataclass(frozen=True, slots=True)
class Allowance:
    """What one run of a target may cost: ``base + per_byte * len(input)``."""

    calls_base: int
    calls_per_byte: int
    memory_base: int
    memory_per_byte: int


# The bases cover the fixed cost (the scapy layers build a whole packet tree; a dump sets up
# its renderer; a capture reader its first buffer); the per-byte figures are a few times what
# the linear parts cost, far below what a quadratic step costs once inputs reach a few hundred
# bytes.
ALLOWANCES = {
    "cipso_option": Allowance(4_000, 150, 256_000, 2_000),
    "cipso_doi": Allowance(3_000, 100, 128_000, 1_000),
    "calipso_option": Allowance(4_000, 150, 256_000, 2_000),
    "calipso_header": Allowance(6_000, 300, 256_000, 2_000),
    "calipso_doi": Allowance(3_000, 100, 128_000, 1_000),
    "netlabel_ctl": Allowance(4_000, 150, 128_000, 1_000),
    "mls_text": Allowance(3_000, 150, 128_000, 2_000),
    "mls_bitmap": Allowance(2_000, 100, 64_000, 1_000),
    "mls_translate": Allowance(20_000, 600, 512_000, 4_000),
    "ipsec_wire": Allowance(4_000, 100, 256_000, 2_000),
    "ipsec_setkey": Allowance(6_000, 200, 256_000, 2_000),
    "capture": Allowance(40_000, 400, 4_000_000, 4_000),
    "columnar": Allowance(40_000, 400, 4_000_000, 4_000),
    "scapy_cipso": Allowance(80_000, 2_000, 2_000_000, 10_000),
    "scapy_calipso": Allowance(80_000, 2_000, 2_000_000, 10_000),
}


def test_every_target_has_an_allowance() -> None:
    assert set(ALLOWANCES) == set(TARGETS)


@dataclass
class Cost:
    calls: int = 0
    peak: int = 0


def measure(run: Callable[[bytes], None], data: bytes) -> Cost:
    """Run the target once, counting calls and the allocation peak; our typed errors and the
    known failures pass (the target itself lets through only those)."""
    cost = Cost()

    def count(frame: FrameType, event: str, arg: Any) -> None:
        if event in ("call", "c_call"):
            cost.calls += 1

    tracemalloc.start()
    sys.setprofile(count)
    try:
        run(data)
    except Exception as error:
        if known(error) is None:
            raise
    finally:
        sys.setprofile(None)
        cost.peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return cost


def warm_up(run: Callable[[bytes], None], seeds: tuple[bytes, ...] = ()) -> None:
    """Run once unmeasured: first calls import modules (scapy's layers, pyarrow.compute's
    functions) and fill caches."""
    for data in (b"", b"\x86\x0a\0\0\0\x10\x01\x04\0\x03", *seeds):
        try:
            run(data)
        except Exception as error:
            if known(error) is None:
                raise


def _mutated(seed: bytes) -> st.SearchStrategy[bytes]:
    """One to three edits of a seed: overwrite, insert, delete or cut."""
    edit = st.tuples(
        st.sampled_from(("overwrite", "insert", "delete", "cut")),
        st.integers(0, max(0, len(seed))),
        st.binary(min_size=1, max_size=8),
    )

    def apply(edits: list[tuple[str, int, bytes]]) -> bytes:
        data = bytearray(seed)
        for kind, where, chunk in edits:
            at = min(where, len(data))
            if kind == "overwrite":
                data[at : at + len(chunk)] = chunk
            elif kind == "insert":
                data[at:at] = chunk
            elif kind == "delete":
                del data[at : at + len(chunk)]
            else:
                del data[at:]
        return bytes(data)

    return st.lists(edit, min_size=1, max_size=3).map(apply)


def inputs(name: str) -> st.SearchStrategy[bytes]:
    seeds = sorted((path.read_bytes() for path in corpus_files(name)), key=len)
    limit = TARGETS[name].max_len
    small_seeds = [seed for seed in seeds if len(seed) <= limit] or [b""]
    return st.one_of(
        st.binary(max_size=limit),
        st.text(max_size=limit // 2).map(str.encode),
        st.sampled_from(small_seeds),
        st.sampled_from(small_seeds).flatmap(_mutated),
    )


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_contract(name: str) -> None:
    run = TARGETS[name].run
    allowance = ALLOWANCES[name]
    slow = name.startswith("scapy") or name in ("capture", "columnar")
    warm_up(run, tuple(path.read_bytes() for path in corpus_files(name)[:8]))

    @settings(
        max_examples=40 if slow else 150,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(inputs(name))
    def check(data: bytes) -> None:
        cost = measure(run, data)
        calls = allowance.calls_base + allowance.calls_per_byte * len(data)
        memory = allowance.memory_base + allowance.memory_per_byte * len(data)
        assert cost.calls <= calls, f"{cost.calls} calls for {len(data)} bytes: {data[:80]!r}"
        assert cost.peak <= memory, f"{cost.peak} bytes peak for {len(data)}: {data[:80]!r}"

    check()


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("mls_text", b"s0:c" + b"9" * 20_000),
        ("ipsec_setkey", b"-ctx " + b"1" * 20_000 + b' 1 "u:r:t"'),
        ("cipso_doi", b"pass doi:16 tags:" + b"1," * 5_000 + b"1"),
        ("mls_translate", b"s0=" + b"A " * 5_000 + b"\0s0"),
        ("calipso_header", bytes([0, 255]) + bytes([1, 4, 0, 0, 0, 0]) * 340),
    ],
)
def test_cost_of_long_inputs(name: str, data: bytes) -> None:
    # Far longer than the drawn inputs: a cost out of proportion shows clearly here.
    allowance = ALLOWANCES[name]
    warm_up(TARGETS[name].run)
    cost = measure(TARGETS[name].run, data)
    assert cost.calls <= allowance.calls_base + allowance.calls_per_byte * len(data)
    assert cost.peak <= allowance.memory_base + allowance.memory_per_byte * len(data)


def test_the_bounds_catch_a_quadratic_parser() -> None:
    # The counting itself: a parser that rescans its input per byte blows a parser's allowance.
    def rescanning(data: bytes) -> None:
        for index in range(len(data)):
            for _ in data[:index]:
                abs(index)

    def bloating(data: bytes) -> None:
        assert not any(bytes(len(data) * 100_000))

    data = bytes(1_000)
    allowance = ALLOWANCES["mls_text"]
    assert (
        measure(rescanning, data[:50]).calls <= allowance.calls_base + allowance.calls_per_byte * 50
    )
    cost = measure(rescanning, data)
    assert cost.calls > allowance.calls_base + allowance.calls_per_byte * len(data)
    # A big allocation from a small input shows in the peak.
    assert measure(bloating, data).peak >= 100_000 * len(data)
