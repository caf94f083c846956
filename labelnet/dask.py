"""Labels in many captures as one Dask DataFrame, on any Dask scheduler.

:func:`read_captures` frames each capture file in the calling process (fast: only the record
headers are looked at) into the segments ``labelnet dump --jobs`` hands to its workers, and
makes one partition of each. A partition task reads its segment's bytes from the file itself
and builds its rows with :func:`labelnet.columnar.segment_table`, so the columns are those of
:data:`labelnet.columnar.SCHEMA`, as pandas columns backed by Arrow. On a cluster, the files
must be readable at the same paths by every worker (a shared file system).

Needs dask and pandas: ``pip install 'labelnet[dask]'``.
"""

from __future__ import annotations

import functools
import glob
import os
import threading
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from labelnet import _parallel
from labelnet.capture import Segment, read_segments
from labelnet.dump import DumpSettings, make_renderer, translator_of
from mls._extras import needs_extra

with needs_extra("dask", by=__name__):
    import dask.dataframe as dd
    import pandas as pd
    import pyarrow as pa

    from labelnet.columnar import SCHEMA, segment_table

if TYPE_CHECKING:
    from labelnet._render import Renderer
    from mls.translate import Translator

__all__ = ["CapturePiece", "capture_pieces", "read_captures"]

Paths = str | os.PathLike[str] | Iterable[str | os.PathLike[str]]


@dataclass(frozen=True, slots=True)
class CapturePiece:
    """One partition: a segment of a capture file, without its bytes (``start`` is where they
    begin in the file, ``segment.end`` where they end)."""

    path: str
    start: int
    segment: Segment


def capture_pieces(paths: Paths, chunk_size: int | None = None) -> list[CapturePiece]:
    """The segments of the capture files ``paths`` (a path, a glob pattern, or several), in
    order, about ``chunk_size`` bytes each (default: what ``--jobs`` uses). A broken file
    raises :class:`labelnet.capture.CaptureError`."""
    size = _parallel.PARALLEL_CHUNK if chunk_size is None else chunk_size
    pieces = []
    for path in _expand(paths):
        with open(path, "rb") as stream:
            for segment in read_segments(stream, size):
                start = segment.end - len(segment.data)
                pieces.append(CapturePiece(path, start, replace(segment, data=b"")))
    return pieces


def _expand(paths: Paths) -> list[str]:
    given = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
    found: list[str] = []
    for path in [os.fspath(path) for path in given]:
        if glob.has_magic(path):
            matches = sorted(glob.glob(path))
            if not matches:
                raise FileNotFoundError(f"no capture file matches {path!r}")
            found.extend(matches)
        else:
            found.append(path)
    return found


def read_captures(
    paths: Paths,
    settings: DumpSettings | None = None,
    *,
    setrans: str | os.PathLike[str] | None = None,
    chunk_size: int | None = None,
) -> dd.DataFrame:
    """The labeled packets of the capture files ``paths`` (a path, a glob pattern, or
    several) as a Dask DataFrame with the columns of :data:`labelnet.columnar.SCHEMA`: one
    partition per file segment, rows in capture order, files in the order given.

    ``settings`` brings the DOIs and the filters, as for ``labelnet dump``; ``setrans`` is a
    setrans.conf that names the labels in the ``setrans`` column (by default
    ``settings.setrans``; each worker reads it once). The files are framed here; their bytes
    are read by the partition tasks.
    """
    pieces = capture_pieces(paths, chunk_size)
    settings = settings or DumpSettings()
    if setrans is None:
        setrans = settings.setrans
    read = _ReadPiece(settings, None if setrans is None else os.fspath(setrans))
    meta = _frame(SCHEMA.empty_table())
    frame: dd.DataFrame = dd.from_map(  # type: ignore[no-untyped-call]
        read, pieces, meta=meta, label="read-captures"
    )
    return frame


def _frame(table: pa.Table) -> pd.DataFrame:
    frame: pd.DataFrame = table.to_pandas(types_mapper=pd.ArrowDtype)
    return frame


@dataclass(frozen=True)
class _ReadPiece:
    """The partition task: sent to the workers by value, with plain settings."""

    settings: DumpSettings
    setrans: str | None

    def __call__(self, piece: CapturePiece) -> pd.DataFrame:
        with open(piece.path, "rb") as stream:
            stream.seek(piece.start)
            length = piece.segment.end - piece.start
            data = stream.read(length)
        if len(data) != length:
            raise OSError(f"{piece.path} changed while it was being read")
        segment = replace(piece.segment, data=data)
        table = segment_table(
            piece.path,
            segment,
            translator=_translator(self.setrans),
            renderer=_renderer(self.settings, threading.get_ident()),
        )
        return _frame(table)


@functools.lru_cache(maxsize=64)
def _renderer(settings: DumpSettings, thread: int) -> Renderer:
    # One per worker thread and settings, so that its caches serve every partition there
    # (a renderer's caches are not shared between threads).
    del thread
    return make_renderer(replace(settings, show_records=False, stats=False))


def _translator(path: str | None) -> Translator | None:
    return None if path is None else translator_of(path)
