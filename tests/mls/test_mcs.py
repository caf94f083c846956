"""sVirt-style MCS allocation: libvirt's drawing rules, uniqueness, exhaustion, reservations,
thread safety, capacity, and the contexts formed from each level."""

from __future__ import annotations

import random
import subprocess
import sys
import threading
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mls import CategorySet, Context, Level, Range
from mls.__main__ import main
from mls.mcs import (
    MIN_CATEGORY_RANGE,
    McsAllocator,
    McsError,
    McsExhaustedError,
    McsRangeError,
    McsReservedError,
    container_label,
    pair_count,
    static_svirt_label,
    svirt_label,
    unconfined_image_label,
)


class ScriptedRandom(random.Random):
    """Hands out a fixed sequence from randrange, to follow the drawing step by step."""

    def __new__(cls, draws: list[int]) -> ScriptedRandom:
        # Python 3.10's Random.__new__ seeds itself from the constructor's arguments, and a
        # list cannot seed; 3.11 and later ignore them.
        return super().__new__(cls, 0)

    def __init__(self, draws: list[int]) -> None:
        super().__init__(0)
        self.draws = list(draws)
        self.bounds: list[int] = []

    def randrange(self, *args: int, **kwargs: int) -> int:  # type: ignore[override]
        self.bounds.append(args[0])
        return self.draws.pop(0)


def pair(level: Level) -> tuple[int, int]:
    low, high = level.categories.min, level.categories.max
    assert low is not None and high is not None
    return low, high


def test_capacity_of_the_default_pool() -> None:
    allocator = McsAllocator()
    assert (allocator.first, allocator.last, allocator.sensitivity) == (0, 1023, 0)
    assert allocator.capacity == 523776 == pair_count(1024) == 1024 * 1023 // 2
    assert allocator.available == 523776
    assert McsAllocator.from_context().capacity == 523776
    assert pair_count(8) == 28
    assert pair_count(1) == 0


def test_drawing_follows_libvirt() -> None:
    # Equal draws are discarded, the pair is ordered, a pair in use is drawn again.
    rng = ScriptedRandom([3, 3, 5, 2, 2, 5, 4, 1])
    allocator = McsAllocator(100, 199, rng=rng)
    assert str(allocator.allocate()) == "s0:c102,c105"
    assert str(allocator.allocate()) == "s0:c101,c104"
    assert rng.bounds == [100] * 8  # each draw is uniform over the 100 categories
    assert rng.draws == []


def test_neighbours_are_a_comma_pair() -> None:
    allocator = McsAllocator(rng=ScriptedRandom([6, 5]))
    level = allocator.allocate()
    assert str(level) == "s0:c5,c6"
    assert Level.parse("s0:c5,c6") == level


def test_full_allocation_of_a_small_range_then_exhaustion() -> None:
    allocator = McsAllocator(10, 17, sensitivity=3, rng=random.Random(1))
    labels = [allocator.allocate() for _ in range(28)]
    assert len(set(labels)) == 28
    assert {pair(level) for level in labels} == {
        (a, b) for a in range(10, 18) for b in range(a + 1, 18)
    }
    assert all(level.sensitivity == 3 for level in labels)
    assert allocator.available == 0
    with pytest.raises(McsExhaustedError) as caught:
        allocator.allocate()
    assert isinstance(caught.value, ValueError)
    assert "28" in str(caught.value)
    # Releasing one makes exactly that one available again.
    assert allocator.release(labels[5])
    assert allocator.allocate() == labels[5]


def test_nearly_full_pool_still_draws_uniformly_among_free_pairs() -> None:
    allocator = McsAllocator(0, 63, rng=random.Random(3))
    free = {(a, b) for a in range(64) for b in range(a + 1, 64)}
    keep = set(random.Random(4).sample(sorted(free), 5))
    for a, b in free - keep:
        allocator.reserve(Level(0, CategorySet.of(a, b)))
    assert allocator.available == 5
    assert {pair(allocator.allocate()) for _ in range(5)} == keep
    with pytest.raises(McsExhaustedError):
        allocator.allocate()


def test_reserve_and_release() -> None:
    allocator = McsAllocator(rng=random.Random(5))
    running = "system_u:system_r:svirt_t:s0:c392,c662"
    assert allocator.reserve(running) == Range.parse("s0:c392,c662")
    assert running in allocator
    assert Level.parse("s0:c392,c662") in allocator
    assert allocator.available == allocator.capacity - 1
    with pytest.raises(McsReservedError, match="already reserved"):
        allocator.reserve(Level.parse("s0:c392,c662"))
    with pytest.raises(McsReservedError):
        allocator.reserve(Context.parse(running))
    # Labels that are not pairs of the pool are remembered but cost no pair.
    allocator.reserve("s0-s0:c0.c1023")
    allocator.reserve("s0:c7")
    allocator.reserve("s1:c1,c2")
    assert len(allocator) == 4
    assert allocator.available == allocator.capacity - 1
    assert allocator.in_use() == {
        Range.parse(text) for text in ("s0:c392,c662", "s0-s0:c0.c1023", "s0:c7", "s1:c1,c2")
    }
    assert allocator.release("s0:c392,c662")
    assert not allocator.release("s0:c392,c662")
    assert allocator.available == allocator.capacity
    assert "garbage" not in allocator
    with pytest.raises(McsError):
        allocator.reserve(Context.parse("u:r:t"))
    with pytest.raises(ValueError):
        allocator.reserve("not a label")


def test_pool_from_the_daemon_context() -> None:
    allocator = McsAllocator.from_context("system_u:system_r:virtd_t:s2-s5:c100.c199")
    assert (allocator.sensitivity, allocator.first, allocator.last) == (2, 100, 199)
    assert allocator.allocate().sensitivity == 2
    assert McsAllocator.from_context("u:r:t").capacity == 523776  # no range: s0, c0..c1023
    assert McsAllocator.from_context("u:r:t:s0").capacity == 523776  # no categories
    for context, message in (
        ("u:r:t:s0:c5", "no category range"),
        ("u:r:t:s0-s0:c0,c5", "cannot parse category range"),
        ("u:r:t:s0:x1", "cannot parse category range"),
        ("u:r:t:s0:c0.c6", "too small"),
        ("u:r:t:s0:c9.c0", "too small"),
        ("u:r:t:x0:c0.c9", "cannot parse sensitivity"),
        ("nonsense", "not a security context"),
    ):
        with pytest.raises(McsRangeError, match=message):
            McsAllocator.from_context(context)
    with pytest.raises(McsRangeError) as caught:
        McsAllocator.from_context("system_u:system_r:virtd_t:s0-s0:c7")
    assert caught.value.offset == len("system_u:system_r:virtd_t:s0-s0:")
    with pytest.raises(McsRangeError) as small:
        McsAllocator(0, 6)
    assert small.value.offset is None
    assert MIN_CATEGORY_RANGE == 8
    assert McsAllocator(0, 7).capacity == 28


def test_contexts_are_formed_as_libvirt_and_podman_do() -> None:
    level = Level.parse("s0:c87,c520")
    label = svirt_label(level)
    assert str(label.process) == "system_u:system_r:svirt_t:s0:c87,c520"
    assert str(label.image) == "system_u:object_r:svirt_image_t:s0:c87,c520"
    assert label.level == level
    custom = svirt_label(
        level,
        daemon=Context.parse("admin_u:admin_r:virtd_t:s0-s0:c0.c1023"),
        process_base=Context.parse("system_u:system_r:my_svirt_t:s0"),
    )
    assert str(custom.process) == "admin_u:admin_r:my_svirt_t:s0:c87,c520"
    assert str(custom.image) == "admin_u:object_r:svirt_image_t:s0:c87,c520"
    container = container_label(level)
    assert str(container.process) == "system_u:system_r:container_t:s0:c87,c520"
    assert str(container.image) == "system_u:object_r:container_file_t:s0:c87,c520"


def test_containers_never_get_the_privileged_mount_label() -> None:
    allocator = McsAllocator.for_containers(rng=ScriptedRandom([1023, 1022, 3, 4]))
    assert "s0:c1022,c1023" in allocator
    assert allocator.available == 523775
    assert str(allocator.allocate()) == "s0:c3,c4"


def test_injected_generator_is_reproducible_and_default_is_system_random() -> None:
    first = [McsAllocator(rng=random.Random(9)).allocate() for _ in range(3)]
    second = [McsAllocator(rng=random.Random(9)).allocate() for _ in range(3)]
    assert first == second
    default = McsAllocator()
    assert len({default.allocate() for _ in range(50)}) == 50


def _run_in_threads(work: Callable[[list[Level]], None], lists: list[list[Level]]) -> None:
    """Run ``work`` on each of ``lists`` in a thread of its own, all at once, until all end."""
    threads = [threading.Thread(target=work, args=(mine,)) for mine in lists]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def test_threads_allocate_unique_labels_until_exhausted() -> None:
    allocator = McsAllocator(0, 63)  # 2016 pairs, shared by 8 threads
    results: list[list[Level]] = [[] for _ in range(8)]
    exhausted = []

    def work(mine: list[Level]) -> None:
        while True:
            try:
                mine.append(allocator.allocate())
            except McsExhaustedError:
                exhausted.append(True)
                return

    _run_in_threads(work, results)
    everything = [level for mine in results for level in mine]
    assert len(everything) == len(set(everything)) == 2016
    assert len(exhausted) == 8
    assert allocator.available == 0


def test_threads_allocate_and_release_without_losing_count() -> None:
    allocator = McsAllocator(rng=random.Random(11))
    held: list[list[Level]] = [[] for _ in range(8)]

    def work(mine: list[Level]) -> None:
        for round_ in range(300):
            mine.append(allocator.allocate())
            if round_ % 3 == 0:
                assert allocator.release(mine.pop(0))

    _run_in_threads(work, held)
    still = [level for mine in held for level in mine]
    assert len(still) == len(set(still)) == len(allocator) == 8 * 200
    assert allocator.available == allocator.capacity - 8 * 200


@given(st.integers(0, 2**32), st.integers(0, 900), st.integers(8, 120), st.integers(1, 30))
def test_allocated_contexts_round_trip(seed: int, first: int, size: int, count: int) -> None:
    allocator = McsAllocator(first, first + size - 1, rng=random.Random(seed))
    seen = set()
    for _ in range(min(count, allocator.capacity)):
        level = allocator.allocate()
        low, high = pair(level)
        assert first <= low < high <= first + size - 1
        assert len(level.categories) == 2
        assert str(level) == f"s0:c{low},c{high}"
        for context in (svirt_label(level).process, svirt_label(level).image):
            assert Context.parse(str(context)) == context
            assert context.level == level
        assert level not in seen
        seen.add(level)


def test_cli_mcs(capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["mcs", "-n", "5", "--seed", "1"])
    out = capsys.readouterr().out.splitlines()
    assert status == 0 and len(out) == 5
    processes = [line.split("\t") for line in out]
    for process, image in processes:
        assert process.startswith("system_u:system_r:svirt_t:s0:c")
        assert image.startswith("system_u:object_r:svirt_image_t:s0:c")
        assert Context.parse(process).range == Context.parse(image).range
    assert len({process for process, _ in processes}) == 5
    assert main(["mcs", "-n", "2", "--containers", "--format", "image", "--seed", "2"]) == 0
    assert all(
        line.startswith("system_u:object_r:container_file_t:s0:c")
        for line in capsys.readouterr().out.splitlines()
    )
    assert main(["mcs", "--format", "level", "--reserve", "s0:c1,c2", "--seed", "3"]) == 0
    assert Level.parse(capsys.readouterr().out.strip()).sensitivity == 0


def test_cli_mcs_errors_are_one_line_and_status_2() -> None:
    for argv in (
        ["mcs", "-n", "29", "--daemon-context", "u:r:t:s0-s0:c0.c7"],
        ["mcs", "--daemon-context", "u:r:t:s0:c0.c3"],
        ["mcs", "--reserve", "s0:c1,c2", "--reserve", "s0:c1,c2"],
        ["mcs", "-n", "-1"],
    ):
        result = subprocess.run(
            [sys.executable, "-m", "mls", *argv], capture_output=True, text=True, check=False
        )
        assert result.returncode == 2, argv
        assert result.stdout == ""
        assert len(result.stderr.splitlines()) == 1
        assert "Traceback" not in result.stderr


def test_single_categories_as_older_libvirt() -> None:
    # Older libvirt kept two equal draws as a one-category label instead of drawing again.
    rng = ScriptedRandom([3, 3, 5, 2])
    allocator = McsAllocator(100, 199, rng=rng, single_categories=True)
    assert str(allocator.allocate()) == "s0:c103"
    assert str(allocator.allocate()) == "s0:c102,c105"
    assert allocator.capacity == pair_count(100) + 100
    assert McsAllocator().capacity == 523776
    assert McsAllocator.from_context(single_categories=True).capacity == 524800


def test_single_categories_fill_the_pool_then_exhaust() -> None:
    allocator = McsAllocator(0, 7, rng=random.Random(5), single_categories=True)
    labels = {allocator.allocate() for _ in range(36)}
    assert len(labels) == 36 == pair_count(8) + 8
    assert {Level(0, CategorySet.of(n)) for n in range(8)} <= labels
    with pytest.raises(McsExhaustedError):
        allocator.allocate()
    # A reserved single category counts against the pool only when such labels are drawn.
    assert allocator.release("s0:c4")
    assert allocator.available == 1
    assert str(allocator.allocate()) == "s0:c4"
    pairs_only = McsAllocator(0, 7)
    pairs_only.reserve("s0:c4")
    assert pairs_only.available == 28


def test_static_label_keeps_the_given_context() -> None:
    label = static_svirt_label("system_u:system_r:svirt_t:s0:c392,c662")
    assert str(label.process) == "system_u:system_r:svirt_t:s0:c392,c662"
    assert str(label.image) == "system_u:object_r:svirt_image_t:s0:c392,c662"
    assert str(label.level) == "s0:c392,c662"
    ranged = static_svirt_label(
        Context.parse("staff_u:staff_r:svirt_t:s0-s0:c1.c9"),
        daemon=Context.parse("sysadm_u:system_r:virtd_t:s0-s0:c0.c1023"),
    )
    assert str(ranged.image) == "sysadm_u:object_r:svirt_image_t:s0-s0:c1.c9"
    with pytest.raises(McsError, match="has no MLS range"):
        static_svirt_label("system_u:system_r:svirt_t")


def test_unconfined_guest_images_get_the_daemon_sensitivity_only() -> None:
    assert str(unconfined_image_label()) == "system_u:object_r:svirt_image_t:s0"
    daemon = Context.parse("system_u:system_r:virtd_t:s2-s3:c0.c1023")
    assert str(unconfined_image_label(daemon=daemon)) == "system_u:object_r:svirt_image_t:s2"


def test_daemon_context_errors_quote_what_was_typed(capsys: pytest.CaptureFixture[str]) -> None:
    # The canonical form of c0.c1 is c0,c1; the complaint must be about the text given.
    typed = "system_u:system_r:virtd_t:s0-s0:c0.c1"
    assert main(["mcs", "--daemon-context", typed]) == 2
    err = capsys.readouterr().err
    assert "c0.c1" in err and "c0,c1" not in err
    assert main(["mcs", "--daemon-context", "u:r:t:s0:c0,c9"]) == 2
    assert "'c0,c9' in 'u:r:t:s0:c0,c9'" in capsys.readouterr().err


def test_cli_mcs_single_categories(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["mcs", "--daemon-context", "u:r:t:s0-s0:c0.c7", "--format", "level"]
    assert main([*argv, "-n", "36", "--single-categories", "--seed", "4"]) == 0
    assert len(set(capsys.readouterr().out.splitlines())) == 36
    assert main([*argv, "-n", "29"]) == 2
    assert "only 28 of 28 labels are free" in capsys.readouterr().err
