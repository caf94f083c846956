"""Parallel work: segments of a capture rendered by worker processes, results in capture order.

The parent frames the file (fast, and the only place a broken file is noticed) and sends whole
segments, or only their place in the file when it is a regular file the workers can read
themselves (that saves copying every byte through a pipe twice). At most two segments per
worker are in flight, so memory stays bounded.
"""

from __future__ import annotations

import os
import signal
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Generic, TypeVar

from labelnet._render import PairCounts, Renderer, SegmentResult
from labelnet.capture import CaptureError, Segment, iter_labeled

if TYPE_CHECKING:
    from concurrent.futures import Future

#: Segment sizes for workers: big enough that sending a segment costs little next to the
#: work, small enough to keep every worker busy.
PARALLEL_CHUNK = 1 << 20

Settings = TypeVar("Settings")


def render_segment(
    renderer: Renderer, segment: Segment, stats: PairCounts | None = None
) -> SegmentResult:
    """One segment's output, with what the progress display needs; label counts are added to
    ``stats`` when given."""
    packets = list(iter_labeled(segment))
    last = packets[-1][0] if packets else segment.first_packet - 1
    text, written, stats = renderer.render(packets, stats)
    return SegmentResult(text, written, stats, segment.end, last)


@dataclass
class _Worker:
    """A worker process's state: one renderer (and so its caches) for all its segments, and
    the capture file it keeps open."""

    renderer: Renderer
    files: dict[str, int] = field(default_factory=dict)

    def work(self, segment: Segment) -> SegmentResult:
        return render_segment(self.renderer, segment)

    def work_at(self, path: str, start: int, segment: Segment) -> SegmentResult:
        fd = self.files.get(path)
        if fd is None:
            fd = self.files[path] = os.open(path, os.O_RDONLY)
        length = segment.end - start
        data = os.pread(fd, length, start)
        if len(data) != length:
            raise OSError(f"{path} changed while it was being read")
        return self.work(replace(segment, data=data))


# The one piece of state a pool worker keeps; set by its initializer.
_worker: _Worker | None = None


def _start_worker(make_renderer: Callable[[Settings], Renderer], settings: Settings) -> None:
    global _worker
    # Ctrl-C is the main process's to handle; it stops handing out segments and the pool
    # winds down, instead of every worker printing a traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _worker = _Worker(make_renderer(settings))


def _work(segment: Segment) -> SegmentResult:
    assert _worker is not None
    return _worker.work(segment)


def _work_at(path: str, start: int, segment: Segment) -> SegmentResult:
    assert _worker is not None
    return _worker.work_at(path, start, segment)


@dataclass(frozen=True)
class Pool(Generic[Settings]):
    """``jobs`` worker processes, each with the renderer ``make_renderer(settings)`` builds
    (a module-level function: it is sent to the workers by name)."""

    make_renderer: Callable[[Settings], Renderer]
    settings: Settings
    jobs: int

    def results(
        self, segments: Iterable[Segment], path: str | None = None
    ) -> Iterator[SegmentResult]:
        """The segments' results in capture order; segments are read by the workers from the
        file at ``path`` when given. A :class:`CaptureError` from framing is raised after every
        result before it."""
        # Imported here: a one-process dump need not pay for loading multiprocessing.
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(
            self.jobs, initializer=_start_worker, initargs=(self.make_renderer, self.settings)
        ) as pool:
            pending: deque[Future[SegmentResult]] = deque()
            failure: CaptureError | None = None
            try:
                for segment in segments:
                    if path is None:
                        pending.append(pool.submit(_work, segment))
                    else:
                        start = segment.end - len(segment.data)
                        bare = replace(segment, data=b"")
                        pending.append(pool.submit(_work_at, path, start, bare))
                    if len(pending) >= 2 * self.jobs:
                        yield pending.popleft().result()
            except CaptureError as exc:
                failure = exc
            while pending:
                yield pending.popleft().result()
            if failure is not None:
                raise failure


def workers_for(jobs: int, size: int | None) -> int:
    """How many workers are worth starting for ``jobs`` asked on a file of ``size`` bytes
    (None: unknown): no more than there are cores, nor than there are segments to share."""
    workers = min(jobs, os.cpu_count() or 1)
    if size is not None:
        workers = min(workers, -(-size // PARALLEL_CHUNK))
    return max(workers, 1)
