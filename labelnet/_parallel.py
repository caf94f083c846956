"""Parallel work: segments of a capture rendered by worker processes, results in capture order.

The parent frames the file (fast, and the only place a broken file is noticed) and sends whole
segments, or only their place in the file when it is a regular file the workers can read
themselves (that saves copying every byte through a pipe twice). At most two segments per
worker are in flight, so memory stays bounded.

When the output is a file descriptor the workers share (a :class:`Sink`: standard output, a
file, a pipe), each worker writes its segment's text there itself, in capture order, taking
turns; only counts come back. Sending the text through the parent instead costs more than a
tenth of the work on dense labels (it is pickled, piped, unpickled and encoded again).
"""

from __future__ import annotations

import io
import itertools
import os
import signal
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from labelnet._render import PairCounts, Renderer, SegmentResult
from labelnet.capture import CaptureError, Segment, iter_labeled, joined_segment

if TYPE_CHECKING:
    from concurrent.futures import Executor, Future
    from multiprocessing.context import BaseContext

#: Segment sizes for workers: big enough that sending a segment costs little next to the
#: work, small enough to keep every worker busy.
PARALLEL_CHUNK = 1 << 20

Settings = TypeVar("Settings")


def render_segment(
    renderer: Renderer, segment: Segment, stats: PairCounts | None = None
) -> SegmentResult:
    """One segment's output, with what the progress display needs; label counts are added to
    ``stats`` when given."""
    # A few hundred packets are walked, then rendered, at a time. Gathering a whole segment's
    # first outgrew the interpreter's free list of tuples, and every 700 tuples allocated
    # beyond it started a garbage collection (about 5% of a worker's time on 1 MiB segments);
    # rendering each packet as the walk finds it was slower still on distinct labels (the walk
    # and the label tables take turns in the processor's caches).
    packets = iter_labeled(segment)
    stats = {} if stats is None else stats
    texts = []
    written = 0
    while batch := list(itertools.islice(packets, _BATCH)):
        text, count, stats = renderer.render(batch, stats)
        texts.append(text)
        written += count
    return SegmentResult("".join(texts), written, stats, segment.end, segment.last_packet)


#: Packets walked, then rendered, at a time (well under the 2000 tuples of a size the
#: interpreter keeps for reuse).
_BATCH = 500


@dataclass(frozen=True)
class Sink:
    """A file descriptor the workers write the output to themselves, and the encoding of the
    text stream over it."""

    fd: int
    encoding: str
    errors: str

    @classmethod
    def of(cls, out: object) -> Sink | None:
        """The sink under ``out`` when it is a text file over a file descriptor (not a
        :class:`io.StringIO`, nor pytest's capture), with its buffer written out first; else
        None. Lines end in ``\\n``, as a text file writes them on POSIX."""
        if not isinstance(out, io.TextIOWrapper):
            return None
        try:
            fd = out.fileno()
        except (OSError, ValueError):  # io.UnsupportedOperation is both
            return None
        encoding, errors = out.encoding, out.errors or "strict"
        # Pieces encoded apart must join into the whole's bytes: not so where an encoding
        # starts with a byte-order mark (UTF-16, utf-8-sig).
        if "a".encode(encoding, errors) * 2 != "aa".encode(encoding, errors):
            return None
        out.flush()
        return cls(fd, encoding, errors)


#: Characters encoded and written at once by a worker.
_WRITE_PIECE = 1 << 17


@dataclass(frozen=True)
class _Writer:
    """The workers' writes to the sink, one at a time in capture order: the index of the
    segment whose turn it is, and whether writing has stopped (a worker failed, or the parent
    stopped reading results)."""

    sink: Sink
    next: Any  # multiprocessing.RawValue("q"), shared with the workers
    stopped: Any  # multiprocessing.RawValue("b")
    condition: Any  # multiprocessing.Condition, guarding both

    @classmethod
    def to(cls, sink: Sink, context: BaseContext) -> _Writer:
        """The writer to ``sink`` shared by workers started from ``context``."""
        return cls(sink, context.RawValue("q", 0), context.RawValue("b", 0), context.Condition())

    def write(self, index: int, text: str | None) -> None:
        """Write ``text``, segment ``index``'s, once every segment before it is written;
        None (its work failed) stops the writing of every later segment."""
        with self.condition:
            while self.next.value != index and not self.stopped.value:
                self.condition.wait()
            try:
                if text is None:
                    self.stopped.value = 1
                elif not self.stopped.value:
                    self._write_text(text)
            except BaseException:
                self.stopped.value = 1
                raise
            finally:
                self.next.value = index + 1
                self.condition.notify_all()

    def _write_text(self, text: str) -> None:
        # A piece at a time: a few megabytes encoded at once would be memory fresh from the
        # system each time (page faults), pieces reuse the same.
        encoding, errors, fd = self.sink.encoding, self.sink.errors, self.sink.fd
        for start in range(0, len(text), _WRITE_PIECE):
            data = memoryview(text[start : start + _WRITE_PIECE].encode(encoding, errors))
            while data:
                data = data[os.write(fd, data) :]

    def stop(self) -> None:
        self.stopped.value = 1
        # A worker that died while writing (killed) holds the lock for good, and the pool ends
        # the others: stopping must not wait for it.
        if self.condition.acquire(timeout=_STOP_WAIT):
            try:
                self.condition.notify_all()
            finally:
                self.condition.release()


#: Seconds the parent waits for the writers' lock when it stops them.
_STOP_WAIT = 2.0


@dataclass
class _Worker:
    """A worker process's state: one renderer (and so its caches) for all its segments, the
    capture file it keeps open, and the writer when it writes the output itself."""

    renderer: Renderer
    writer: _Writer | None = None
    files: dict[str, int] = field(default_factory=dict)

    def work(self, index: int, segment: Segment, path: str | None, start: int) -> SegmentResult:
        """Segment ``index``'s result, its bytes read from ``path`` at ``start`` when given."""
        if self.writer is None:
            return render_segment(self.renderer, self._read(segment, path, start))
        text = None
        try:
            result = render_segment(self.renderer, self._read(segment, path, start))
            text = result.text
        finally:
            self.writer.write(index, text)
        return replace(result, text="")

    def _read(self, segment: Segment, path: str | None, start: int) -> Segment:
        if path is None:
            return segment
        fd = self.files.get(path)
        if fd is None:
            fd = self.files[path] = os.open(path, os.O_RDONLY)
        length = segment.end - start
        data = os.pread(fd, length, start)
        if len(data) != length:
            raise OSError(f"{path} changed while it was being read")
        return replace(segment, data=data)


# The one piece of state a pool worker keeps; set by its initializer.
_worker: _Worker | None = None


def _start_worker(
    make_renderer: Callable[[Settings], Renderer], settings: Settings, writer: _Writer | None
) -> None:
    global _worker
    # Ctrl-C is the main process's to handle; it stops handing out segments and the pool
    # winds down, instead of every worker printing a traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _worker = _Worker(make_renderer(settings), writer)


def _work(index: int, segment: Segment, path: str | None, start: int) -> SegmentResult:
    assert _worker is not None
    return _worker.work(index, segment, path, start)


@dataclass(frozen=True)
class Pool(Generic[Settings]):
    """``jobs`` worker processes, each with the renderer ``make_renderer(settings)`` builds
    (a module-level function: it is sent to the workers by name)."""

    make_renderer: Callable[[Settings], Renderer]
    settings: Settings
    jobs: int
    #: Where the workers write the text themselves (then the results' text is empty).
    sink: Sink | None = None
    #: How the workers start (a multiprocessing start method; None: Python's default). Only
    #: forked workers write to the sink: others do not inherit its descriptor.
    start_method: str | None = None

    def results(
        self, groups: Iterable[list[Segment]], path: str | None = None
    ) -> Iterator[SegmentResult]:
        """The results of groups of consecutive segments (one piece of work each), in capture
        order; a group is read by a worker from the file at ``path`` when given, else sent
        joined. A :class:`CaptureError` from framing is raised after every result before it
        (and so after their text is written)."""
        # Imported here: a one-process dump need not pay for loading multiprocessing.
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        context = multiprocessing.get_context(self.start_method)
        # Forked workers inherit the sink's descriptor (other ways of starting them do not).
        forked = context.get_start_method() == "fork"
        writer = _Writer.to(self.sink, context) if self.sink is not None and forked else None
        initargs = (self.make_renderer, self.settings, writer)
        with ProcessPoolExecutor(
            self.jobs, mp_context=context, initializer=_start_worker, initargs=initargs
        ) as pool:
            try:
                yield from _in_order(pool, groups, path, 2 * self.jobs)
            finally:
                if writer is not None:
                    writer.stop()  # the results are not read further: nothing more is written


def _in_order(
    pool: Executor, groups: Iterable[list[Segment]], path: str | None, in_flight: int
) -> Iterator[SegmentResult]:
    pending: deque[Future[SegmentResult]] = deque()
    failure: CaptureError | None = None
    try:
        for index, group in enumerate(groups):
            if path is None:
                pending.append(pool.submit(_work, index, joined_segment(group), None, 0))
            else:
                # Only the group's place in the file: its bytes are neither joined nor sent.
                start = group[0].end - len(group[0].data)
                bare = joined_segment(group, with_data=False)
                pending.append(pool.submit(_work, index, bare, path, start))
            if len(pending) >= in_flight:
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
