"""Labels in captures as columnar data: what ``labelnet dump`` finds, as Apache Arrow record
batches with one stable schema (:data:`SCHEMA`), and as a Parquet file.

The rows come from the dump's own analysis and filters (:meth:`labelnet._render.Renderer.
iter_records`, the records the JSON-lines output writes), so a row holds exactly what a JSON
line says, typed: the time as a timestamp, the label also as its sensitivity and a list of
category numbers (up to :data:`LISTED_CATEGORIES` of them). What depends only on the option
(most columns) is built once per distinct option in a batch and spread over its packets with
one ``take``.

Memory stays nearly constant: a capture is read segment by segment and written in row groups
of at most ``batch_rows`` rows and :data:`BATCH_CATEGORIES` listed categories (the file's
footer, about 20 KB a row group, is held until the file is closed). Needs pyarrow:
``pip install 'labelnet[parquet]'``.
"""

from __future__ import annotations

import itertools
import os
import struct
import sys
from array import array
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, BinaryIO, cast

from labelnet._analysis import LabelOption, PlainLevel, plain_level
from labelnet._render import label_texts
from labelnet.capture import LabeledTuple, Segment, iter_labeled, read_segments
from labelnet.dump import SERIAL_CHUNK, DumpSettings, make_renderer
from mls import CategorySet
from mls._extras import needs_extra
from mls.label import format_level_bits

with needs_extra("parquet", by=__name__):
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

if TYPE_CHECKING:
    from labelnet._render import Renderer
    from mls.translate import Translator

__all__ = [
    "BATCH_CATEGORIES",
    "COLUMNS",
    "LISTED_CATEGORIES",
    "ROW_GROUP_ROWS",
    "SCHEMA",
    "record_batches",
    "segment_table",
    "write_parquet",
]

#: Rows per record batch, and so per Parquet row group. A row group is held until it is
#: written, in Python, in Arrow and in its Parquet encoding: with Arrow's mimalloc, 65,536
#: rows peaked at 164 MB on repeating labels (200k packets), 16,384 at 112 MB in the same CPU
#: time (97 MB now that the command has Arrow use jemalloc); the file is 1-3% larger and reads
#: up to 1.2x slower (8,192 rows: 97 MB with mimalloc, but files read 1.5x slower).
ROW_GROUP_ROWS = 16_384
#: Categories a row lists, at most: a label with more has a null ``categories`` list (its
#: ``label`` text holds them as runs). Every bitmap a label option carries fits (CALIPSO's
#: 2,016 categories, tag 1's 240); a CIPSO tag 5 range lists up to 65,536 in four bytes, and
#: listing them all made a file hundreds of times the capture's size (605 MB, 41 s, for 1 MB).
LISTED_CATEGORIES = 2048
#: Categories per record batch, at most (a batch ends early when its rows' category lists
#: hold this many numbers): one CIPSO tag 5 range lists up to 65,536 of them, so rows alone
#: would not bound a batch's memory. Dense labels (about 120 categories each) fill a batch at
#: about 4,400 rows: with Arrow's mimalloc, 200k or 2M of them peaked at 155-156 MB, against
#: 190-193 MB with 1Mi categories (8,700 rows) and 367-375 MB with 4Mi (with jemalloc, the
#: command's choice, 129 and 139-141 MB). With 256Ki (2,200 rows) 200k peaked at 107 MB but 2M
#: at 143 MB (jemalloc): each row group adds about 20 KB to the footer, which Parquet holds
#: until the file is closed.
BATCH_CATEGORIES = 1 << 19

#: The columns: (name, Arrow type, what it holds). Columns named as in the JSON-lines output
#: hold the same values (null where the JSON line has null).
COLUMNS: tuple[tuple[str, pa.DataType, str], ...] = (
    ("file", pa.string(), "the capture file, as given (a byte that is not UTF-8 as \\xNN)"),
    ("packet", pa.int64(), "packet number in the capture, from 1"),
    ("time", pa.timestamp("ns", tz="UTC"), "capture time (finer resolutions are cut to ns)"),
    ("source", pa.string(), "source address, usual text form"),
    ("destination", pa.string(), "destination address"),
    ("family", pa.string(), "ipv4 or ipv6"),
    ("protocol", pa.string(), "the option: cipso or calipso"),
    ("doi", pa.uint32(), "domain of interpretation; null when the option is cut before it"),
    ("tag", pa.uint8(), "CIPSO tag type of the first tag; null for CALIPSO"),
    ("sensitivity", pa.int32(), "sensitivity of the host label; null without one"),
    (
        "categories",
        pa.list_(pa.int32()),
        "categories of the host label, ascending; null past LISTED_CATEGORIES (2048)",
    ),
    ("label", pa.string(), "canonical host label (s3:c0.c5), or 'secid N' for tag 128"),
    ("wire_label", pa.string(), "the level as on the wire, before DOI translation"),
    ("setrans", pa.string(), "the label as setrans.conf names it; null without one"),
    ("verdict", pa.string(), "accepted, parameter-problem, dropped, truncated, no-doi-config"),
    ("offset", pa.int32(), "the verdict's offset inside the option"),
    ("pointer", pa.int32(), "the byte the verdict is about, from the IP header's first"),
    ("reason", pa.string(), "why the packet is not accepted"),
    ("error", pa.string(), "why the option could not be decoded"),
    ("error_offset", pa.int32(), "where inside the option"),
)

#: The Arrow schema of every table, batch and Parquet file this module and
#: :mod:`labelnet.dask` produce.
SCHEMA = pa.schema(
    [pa.field(name, kind, metadata={"description": text}) for name, kind, text in COLUMNS],
    metadata={"labelnet.schema": "1"},
)

#: The columns that depend only on the option, in :data:`SCHEMA` order.
_OPTION_COLUMNS = [name for name, _, _ in COLUMNS[5:]]
_FAMILY = {"cipso": "ipv4", "calipso": "ipv6"}
_TIME = SCHEMA.field("time").type


def _option_row(option: LabelOption, translator: Translator | None) -> tuple[object, ...]:
    """The option's columns (family to error_offset), as the JSON-lines output shows them."""
    label, wire = label_texts(option)
    level = option.level
    verdict = option.verdict
    name = None
    if translator is not None and level is not None:
        # The label column holds the level's text already (unless it is tag 128's secid).
        name = translator.translate(label if option.secid is None and label else level)
    return (
        _FAMILY[option.protocol],
        option.protocol,
        option.doi,
        option.tag,
        None if level is None else level.sensitivity,
        None if level is None else level.categories.bits,  # made a list column in batch()
        label,
        wire,
        name,
        "no-doi-config" if verdict is None else verdict.kind.value,
        option.offset,
        option.pointer,
        option.reason or None,
        option.error or None,
        option.error_offset,
    )


#: array module codes of the integer columns' types.
_INTEGER_CODES = {pa.int64(): "q", pa.int32(): "i", pa.uint32(): "I", pa.uint8(): "B"}
#: Bytes a string array's 32-bit offsets can reach.
_STRING_BYTES = (1 << 31) - 1


def _array(values: Sequence[object], kind: pa.DataType) -> pa.Array:
    """``pa.array(values, kind)`` for this module's flat columns (integers, strings and
    booleans; None is null). pa.array first asks pandas whether a list is one of its arrays,
    and so imports it when it is installed: 0.3 s and 40 MB, a third of a whole Parquet dump
    of 200k repeating labels. Unless pandas is loaded already (Dask), the array is built from
    buffers instead (long strings cost more that way, see :func:`_from_buffers`)."""
    if "pandas" in sys.modules:
        return pa.array(values, kind)
    return _from_buffers(values, kind)


def _from_buffers(values: Sequence[object], kind: pa.DataType) -> pa.Array:
    # The strings are joined and encoded into fresh memory, where pa.array writes straight
    # into Arrow's: 2.8 ms against 0.6 ms for 8,700 texts of dense labels.
    if kind == pa.bool_():
        return _booleans(bytes(cast("Sequence[bool]", values)))
    try:
        return _without_nulls(values, kind, None)
    except TypeError:  # a None among the values
        validity = _booleans(bytes([value is not None for value in values])).buffers()[1]
        filler = "" if kind == pa.string() else 0
        return _without_nulls([filler if v is None else v for v in values], kind, validity)


def _without_nulls(values: Sequence[object], kind: pa.DataType, validity: object) -> pa.Array:
    # Raises TypeError for a None.
    count = len(values)
    code = _INTEGER_CODES.get(kind)
    if code is not None:
        numbers = pa.py_buffer(array(code, cast("Sequence[int]", values)))
        return pa.Array.from_buffers(kind, count, [validity, numbers])
    if kind != pa.string():
        return pa.array(values, kind)
    texts = cast("Sequence[str]", values)
    joined = "".join(texts)
    pieces: Sequence[str | bytes] = texts
    if joined.isascii():
        data = joined.encode("ascii")
    else:
        pieces = [text.encode() for text in texts]
        data = b"".join(cast("list[bytes]", pieces))
    if len(data) > _STRING_BYTES:  # more than 32-bit offsets reach: pa.array decides
        return pa.array(values, kind)
    try:  # each text's length as a byte, when all are short
        sizes = pa.Array.from_buffers(
            pa.uint8(), count, [None, pa.py_buffer(bytes(map(len, pieces)))]
        )
    except ValueError:
        sizes = pa.Array.from_buffers(
            pa.int32(), count, [None, pa.py_buffer(array("i", map(len, pieces)))]
        )
    offsets = pa.concat_arrays([_ZERO, pc.cumulative_sum(sizes.cast(pa.int32()))])
    return pa.Array.from_buffers(kind, count, [validity, offsets.buffers()[1], pa.py_buffer(data)])


def _booleans(flags: bytes) -> pa.BooleanArray:
    # One byte per flag (0 or 1) packed into Arrow's bits.
    as_bytes = pa.Array.from_buffers(pa.uint8(), len(flags), [None, pa.py_buffer(flags)])
    return cast("pa.BooleanArray", as_bytes.cast(pa.bool_()))


_ZERO = pa.Array.from_buffers(pa.int32(), 1, [None, pa.py_buffer(array("i", [0]))])


_CATEGORIES = SCHEMA.field("categories").type
#: Category sets up to this many bits (c0..c1048575: every label on the wire, and every host
#: label a TRANS DOI can map it to) are listed by Arrow from their bitmaps, a batch at a time.
_BITMAP_BITS = 1 << 20


def _listed_count(bits: int | None) -> int:
    """How many numbers the ``categories`` list of the set ``bits`` holds: all its categories,
    or none for no set or one of more than :data:`LISTED_CATEGORIES` (a null list)."""
    size = 0 if bits is None else bits.bit_count()
    return size if size <= LISTED_CATEGORIES else 0


def _categories_array(sets: list[int | None], sizes: list[int] | None = None) -> pa.Array:
    """The ``categories`` column of category sets given as bit integers (None: null), with
    their :func:`_listed_count` (computed when not given): a set that lists none of its
    categories is null.

    Arrow lists the categories of many sets at once: each set's bitmap padded to the same
    width (an integer's little-endian bytes hold category i at bit i % 8 of byte i // 8, as
    an Arrow boolean array does), all of them joined into one mask, which filters the
    numbers 0 .. width - 1 repeated once per set. A batch with a larger set (raised limits)
    is listed a set at a time, by :class:`mls.CategorySet`.
    """
    if sizes is None:
        sizes = [_listed_count(bits) for bits in sets]
    sets = [bits if size or not bits else None for bits, size in zip(sets, sizes, strict=True)]
    offsets = [0, *itertools.accumulate(sizes)]  # each set's first category in the values
    longest = max((bits.bit_length() for bits in sets if bits is not None), default=0)
    if longest > _BITMAP_BITS:
        numbers = [number for bits in sets if bits for number in CategorySet.from_int(bits)]
        values = _array(numbers, pa.int32())
    else:
        values = _filtered_categories(sets, longest)
    return pa.ListArray.from_arrays(
        _array(offsets, pa.int32()),
        values,
        _CATEGORIES,
        mask=_array([bits is None for bits in sets], pa.bool_()),
    )


def _filtered_categories(sets: list[int | None], longest: int) -> pa.Array:
    # The category numbers of all the sets, in order: 0 .. width - 1 repeated once per set,
    # filtered by the sets' bitmaps.
    width = 1 << max(longest - 1, 7).bit_length()  # a power of two, a byte or more
    size = width >> 3
    # Sets a piece at a time, so that the repeated numbers stay a few megabytes.
    step = max(min(_FILTERED_BITS // width, len(sets)), 1)
    numbers = struct.pack(f"<{width}i", *range(width)) * step
    repeated = pa.Array.from_buffers(pa.int32(), step * width, [None, pa.py_buffer(numbers)])
    values = []
    for start in range(0, len(sets), step):
        piece = sets[start : start + step]
        joined = b"".join([(bits or 0).to_bytes(size, "little") for bits in piece])
        flags = pa.py_buffer(joined)
        mask = pa.BooleanArray.from_buffers(pa.bool_(), len(piece) * width, [None, flags])
        values.append(pc.filter(repeated.slice(0, len(piece) * width), mask))
    return pa.concat_arrays(values) if values else _array([], pa.int32())


#: Bits of category bitmaps filtered at a time (the numbers they filter: 4 MiB).
_FILTERED_BITS = 1 << 20


def _nanoseconds(texts: list[str]) -> pa.Array:
    """Decimal time texts (exact, as the reader gives them; "" for none) as a timestamp
    array; digits past the ninth are cut, and a time nanoseconds since 1970 cannot hold in
    64 bits (before 1677 or after 2262: a pcapng interface's offset can say so) is null."""
    try:
        return _same_digits_nanoseconds(_array(texts, pa.string())).cast(_TIME)
    except (ValueError, pa.ArrowInvalid):
        # Times of several resolutions, or none, or out of range: a time at a time.
        return _array([_cut_to_ns(text) for text in texts], pa.int64()).cast(_TIME)


def _same_digits_nanoseconds(texts: pa.Array) -> pa.Array:
    # Where every time has the same number of decimals (all a capture's, or one interface's)
    # Arrow reads them without Python: the digits as one integer, scaled. Raises ValueError
    # for any other shape, ArrowInvalid where a number does not fit.
    if not len(texts):
        return _array([], pa.int64())
    points = pc.find_substring(texts, ".")
    decimals = pc.min_max(pc.subtract(pc.utf8_length(texts), points))
    low, high = decimals["min"].as_py(), decimals["max"].as_py()
    if pc.min(points).as_py() < 0 or low != high or not 1 < high <= 10:
        raise ValueError("times of different shapes")
    digits = pc.cast(pc.replace_substring(texts, ".", ""), pa.int64())
    return pc.multiply_checked(digits, _array([10 ** (10 - high)], pa.int64())[0])


def _cut_to_ns(text: str) -> int | None:
    # The text read as one signed decimal number, as the dump and tshark print it (a
    # pcapng interface's negative offset can give "-1.500000": minus one and a half).
    if not text:
        return None
    seconds, _, fraction = text.partition(".")
    nanoseconds = int(seconds.lstrip("-")) * 1_000_000_000 + int(fraction[:9].ljust(9, "0"))
    if seconds[:1] == "-":
        nanoseconds = -nanoseconds
    return nanoseconds if -_NANOSECONDS_LIMIT <= nanoseconds < _NANOSECONDS_LIMIT else None


_NANOSECONDS_LIMIT = 1 << 63


def _utf8(name: str) -> str:
    # A path from the command line can hold bytes that are not UTF-8 (as surrogates in the
    # str), which Arrow's UTF-8 strings cannot: they are written as \xNN.
    try:
        return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:  # another lone surrogate
        return name.encode("utf-8", "backslashreplace").decode("utf-8")


class _Rows:
    """Labeled packets gathered into record batches: per-packet columns as lists, the option
    columns once per distinct options area. Without DOIs or label filters
    (:attr:`Renderer.plain <labelnet._render.Renderer>`) a label of the usual shape is read as
    numbers straight from its bytes (:func:`labelnet._analysis.plain_level`); any other is
    analysed by the renderer, whose filters decide which packets are kept, as
    :meth:`~labelnet._render.Renderer.iter_records` does."""

    def __init__(self, file: str, renderer: Renderer, translator: Translator | None) -> None:
        self.file = _utf8(file)
        self.renderer = renderer
        self.translator = translator
        self.clear()

    def clear(self) -> None:
        self.packets: list[int] = []
        self.times: list[str] = []
        self.sources: list[str] = []
        self.destinations: list[str] = []
        self.which: list[int] = []
        # (version, area, truncated) -> the index of its option, or -1 for no label option.
        self.index: dict[tuple[int, bytes, bool], int] = {}
        # Each distinct option: analysed, or a plain label read as numbers (their rows are
        # made by batch(), the labels formatted one after the other).
        self.distinct: list[LabelOption | PlainLevel] = []
        self.sizes: list[int] = []  # each distinct option's _listed_count
        self.categories = 0  # in the rows gathered

    def __len__(self) -> int:
        return len(self.packets)

    def add(self, packets: Iterator[LabeledTuple], rows: int) -> bool:
        """Gather labeled packets until there are ``rows`` rows, or categories enough for a
        batch (True: take the batch, then add the rest), or ``packets`` end (False)."""
        index, sizes = self.index, self.sizes
        addresses, new_address = self.renderer.addresses, self.renderer.address
        numbers, times = self.packets.append, self.times.append
        sources, destinations, which = (
            self.sources.append,
            self.destinations.append,
            self.which.append,
        )
        count, categories = len(self.packets), self.categories
        try:
            for number, time, version, src, dst, area, truncated in packets:
                # The addresses first: an area seen only in packets the filter drops is
                # neither read nor kept.
                source = addresses.get(src) or new_address(src)
                destination = addresses.get(dst) or new_address(dst)
                if not (source.kept or destination.kept):
                    continue
                key = (version, area, truncated)
                at = index.get(key)
                if at is None:
                    at = index[key] = self._new_option(version, area, truncated)
                if at < 0:
                    continue
                numbers(number)
                times(time)
                sources(source.text)
                destinations(destination.text)
                which(at)
                count += 1
                categories += sizes[at]
                if count >= rows or categories >= BATCH_CATEGORIES:
                    return True
            return False
        finally:
            self.categories = categories

    def _new_option(self, version: int, area: bytes, truncated: bool) -> int:
        # The index of the area's option among the batch's distinct ones; -1 when the packet
        # has no label option or the filters drop it.
        plain = None
        if self.renderer.plain and not truncated:
            plain = plain_level(version, area)
        if plain is not None:
            distinct: LabelOption | PlainLevel = plain
            bits: int | None = plain.categories
        else:
            shown = self.renderer.shown(version, area, truncated)
            option = shown.option
            if option is None or not shown.kept:
                return -1
            distinct = option
            bits = None if option.level is None else option.level.categories.bits
        self.distinct.append(distinct)
        self.sizes.append(_listed_count(bits))
        return len(self.distinct) - 1

    def _plain_row(self, plain: PlainLevel) -> tuple[object, ...]:
        # What _option_row makes of the analysed option: the wire level is the host level,
        # and there is no verdict.
        label = format_level_bits(plain.sensitivity, plain.categories)
        name = None if self.translator is None else self.translator.translate(label)
        return (
            _FAMILY[plain.protocol],
            plain.protocol,
            plain.doi,
            plain.tag,
            plain.sensitivity,
            plain.categories,
            label,
            label,
            name,
            "no-doi-config",
            None,
            None,
            None,
            None,
            None,
        )

    def batch(self) -> pa.RecordBatch:
        """The gathered rows as one record batch of :data:`SCHEMA`; starts over."""
        rows = [
            _option_row(option, self.translator)
            if isinstance(option, LabelOption)
            else self._plain_row(option)
            for option in self.distinct
        ]
        values = {name: [row[at] for row in rows] for at, name in enumerate(_OPTION_COLUMNS)}
        arrays = {}
        for name, column in values.items():
            if name == "categories":
                arrays[name] = _categories_array(cast("list[int | None]", column), self.sizes)
            elif name == "wire_label" and column == values["label"]:
                # The wire level is the host level (no TRANS DOI): the same texts.
                arrays[name] = arrays["label"]
            else:
                arrays[name] = _array(column, SCHEMA.field(name).type)
        options = pa.Table.from_arrays(list(arrays.values()), names=_OPTION_COLUMNS)
        count = len(self.packets)
        if len(rows) != count or self.which != list(range(count)):
            # Spread over the packets (and without the options of packets the address filter
            # dropped); not needed where every packet has its own option, in order.
            options = options.take(_array(self.which, pa.int32()))
        columns = [
            pa.repeat(_array([self.file], pa.string())[0], count),
            _array(self.packets, pa.int64()),
            _nanoseconds(self.times),
            _array(self.sources, pa.string()),
            _array(self.destinations, pa.string()),
            *(options.column(name).combine_chunks() for name in _OPTION_COLUMNS),
        ]
        self.clear()
        return pa.RecordBatch.from_arrays(columns, schema=SCHEMA)


def _renderer(settings: DumpSettings | None) -> Renderer:
    settings = settings or DumpSettings()
    return make_renderer(replace(settings, show_records=False, stats=False))


def segment_table(
    file: str,
    segment: Segment,
    settings: DumpSettings | None = None,
    *,
    translator: Translator | None = None,
    renderer: Renderer | None = None,
) -> pa.Table:
    """The rows of one segment of the capture ``file`` (a name for the ``file`` column; the
    bytes are the segment's), as a table of :data:`SCHEMA`. A ``renderer`` made for
    ``settings`` may be given to keep its caches from one segment to the next. The
    ``setrans`` column holds the names ``translator`` gives (by default, the translator of
    ``settings.setrans``)."""
    if translator is None and settings is not None:
        translator = settings.translator()
    rows = _Rows(file, renderer or _renderer(settings), translator)
    packets = iter_labeled(segment)
    batches = []
    while rows.add(packets, ROW_GROUP_ROWS):
        batches.append(rows.batch())
    batches.append(rows.batch())
    return pa.Table.from_batches(batches, SCHEMA)


def record_batches(
    capture: str | os.PathLike[str] | BinaryIO,
    settings: DumpSettings | None = None,
    *,
    translator: Translator | None = None,
    batch_rows: int = ROW_GROUP_ROWS,
    progress: Callable[[int, int], None] | None = None,
) -> Iterator[pa.RecordBatch]:
    """The labeled packets of a capture file (a path or a binary stream) as record batches of
    :data:`SCHEMA`, at most ``batch_rows`` rows each, in capture order, kept by the filters of
    ``settings`` and judged with its DOIs; the ``setrans`` column holds the names
    ``translator`` gives (by default, the translator of ``settings.setrans``).
    ``progress(bytes_done, packets_done)`` is called after each segment.

    A broken capture raises :class:`labelnet.capture.CaptureError` after the batches before
    the break.
    """
    if batch_rows < 1:
        raise ValueError(f"batch_rows is {batch_rows}: a batch holds at least one row")
    renderer = _renderer(settings)
    if translator is None and settings is not None:
        translator = settings.translator()
    if isinstance(capture, (str, os.PathLike)):
        with open(capture, "rb") as stream:
            yield from _batches(stream, str(capture), renderer, translator, batch_rows, progress)
    else:
        name = str(getattr(capture, "name", "-"))
        yield from _batches(capture, name, renderer, translator, batch_rows, progress)


def _batches(
    stream: BinaryIO,
    file: str,
    renderer: Renderer,
    translator: Translator | None,
    batch_rows: int,
    progress: Callable[[int, int], None] | None,
) -> Iterator[pa.RecordBatch]:
    rows = _Rows(file, renderer, translator)
    try:
        for segment in read_segments(stream, SERIAL_CHUNK):
            packets = iter_labeled(segment)
            # A segment can hold more rows than a batch: take what fits, then the rest.
            while rows.add(packets, batch_rows):
                yield rows.batch()
            if progress is not None:
                progress(segment.end, segment.last_packet)
    finally:
        # The rows before a break in the file are kept, as the text dump writes them.
        if len(rows):
            yield rows.batch()


#: Packet numbers and times ascend: stored as their differences (DELTA_BINARY_PACKED), they
#: take next to nothing; tried as dictionaries first (Arrow's default for every column), then
#: written plain, they took 0.7 of the 3.4 MB of the repeating benchmark capture's file.
_DELTA_COLUMNS = {"packet": "DELTA_BINARY_PACKED", "time": "DELTA_BINARY_PACKED"}
#: Every other column (its leaf, for the list) is tried as a dictionary, as by default.
_DICTIONARY_COLUMNS = [
    f"{name}.list.element" if pa.types.is_list(kind) else name
    for name, kind, _ in COLUMNS
    if name not in _DELTA_COLUMNS
]


def write_parquet(
    capture: str | os.PathLike[str] | BinaryIO,
    destination: str | os.PathLike[str],
    settings: DumpSettings | None = None,
    *,
    translator: Translator | None = None,
    row_group_rows: int = ROW_GROUP_ROWS,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Write the rows of :func:`record_batches` to a Parquet file at ``destination``, one row
    group per batch; return how many rows were written. A broken capture leaves a readable
    file with the rows before the break, then raises :class:`labelnet.capture.CaptureError`;
    one that breaks before its first row (not a capture at all) leaves ``destination`` as it
    was."""
    batches = record_batches(
        capture, settings, translator=translator, batch_rows=row_group_rows, progress=progress
    )
    first = next(batches, None)  # the capture is read before the file is made
    written = 0
    with pq.ParquetWriter(
        os.fspath(destination),
        SCHEMA,
        compression="zstd",
        use_dictionary=_DICTIONARY_COLUMNS,
        column_encoding=_DELTA_COLUMNS,
    ) as writer:
        for batch in itertools.chain([] if first is None else [first], batches):
            writer.write_batch(batch, row_group_size=row_group_rows)
            written += batch.num_rows
    return written
