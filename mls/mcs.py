"""sVirt-style MCS labels: a unique random category pair for each virtual machine or container.

libvirt (and podman, through go-selinux) isolate guests by giving each one a level ``s0:cA,cB``
with two distinct categories. A guest can then touch only files whose categories are a subset
of its own pair, so two guests with different pairs cannot reach each other's images.

:class:`McsAllocator` draws pairs as libvirt's dynamic labelling does:

1. draw two numbers uniformly from the category range; if they are equal draw again (a
   single-category label would be dominated by every pair that contains its category);
2. order them so that A < B and form ``<sensitivity>:cA,cB`` (always a comma pair, which is
   also the kernel's canonical form, even for neighbours such as ``c5,c6``);
3. if the label is already in use draw again, else record it and hand it out.

Older libvirt kept a draw of two equal numbers as a single-category label ``s0:cN``;
``McsAllocator(single_categories=True)`` allocates that way, for hosts whose running guests carry
such labels (1024 more labels with 1024 categories).

With 1024 categories there are 1024 * 1023 / 2 = 523,776 pairs. Unlike libvirt, which would
redraw forever, a full allocator raises :class:`McsExhaustedError`; and when draws keep hitting
labels in use, the allocator picks uniformly among the free pairs directly, which gives the same
distribution as redrawing without the wait.

:func:`svirt_label` and :func:`container_label` turn a level into the process and file
contexts that libvirt and podman build from it. The other two kinds of libvirt ``<seclabel>``:
:func:`static_svirt_label` (``type='static'``: the process label is the one given) and
:func:`unconfined_image_label` (``type='none'``: only files get a label)::

    >>> import random
    >>> from mls.mcs import McsAllocator, svirt_label
    >>> allocator = McsAllocator(rng=random.Random(7))
    >>> label = svirt_label(allocator.allocate())
    >>> str(label.process), str(label.image)
    ('system_u:system_r:svirt_t:s0:c308,c663', 'system_u:object_r:svirt_image_t:s0:c308,c663')
"""

from __future__ import annotations

import random
import re
import secrets
import threading
from dataclasses import dataclass

from .categories import CategorySet
from .errors import MlsError
from .label import Context, Level, Range

__all__ = [
    "CONTAINER_FILE_CONTEXT",
    "CONTAINER_PROCESS_CONTEXT",
    "DEFAULT_DAEMON_CONTEXT",
    "DEFAULT_IMAGE_CONTEXT",
    "DEFAULT_PROCESS_CONTEXT",
    "MIN_CATEGORY_RANGE",
    "McsAllocator",
    "McsError",
    "McsExhaustedError",
    "McsLabel",
    "McsRangeError",
    "McsReservedError",
    "container_label",
    "pair_count",
    "static_svirt_label",
    "svirt_label",
    "unconfined_image_label",
]

#: libvirt refuses to allocate from fewer categories than this.
MIN_CATEGORY_RANGE = 8

#: A typical libvirtd / virtqemud context: its user and role go into guest labels and the
#: categories of its range are the pool pairs are drawn from.
DEFAULT_DAEMON_CONTEXT = Context.parse("system_u:system_r:virtd_t:s0-s0:c0.c1023")
#: Line 1 of Fedora's ``contexts/virtual_domain_context``: the base of KVM guest process labels.
DEFAULT_PROCESS_CONTEXT = Context.parse("system_u:system_r:svirt_t:s0")
#: Line 1 of Fedora's ``contexts/virtual_image_context``: the base of guest image labels.
DEFAULT_IMAGE_CONTEXT = Context.parse("system_u:object_r:svirt_image_t:s0")
#: ``process`` in Fedora's ``contexts/lxc_contexts``, used by podman and CRI-O.
CONTAINER_PROCESS_CONTEXT = Context.parse("system_u:system_r:container_t:s0")
#: ``file`` in Fedora's ``contexts/lxc_contexts``: the label of a container's files and mounts.
CONTAINER_FILE_CONTEXT = Context.parse("system_u:object_r:container_file_t:s0")

# After this many draws in a row that hit a label in use, choose among the free pairs directly.
_DRAWS_BEFORE_SCAN = 64


class McsError(MlsError):
    """An MCS label cannot be allocated, reserved or formed."""


class McsRangeError(McsError):
    """The category range to allocate from is malformed or has fewer than
    :data:`MIN_CATEGORY_RANGE` categories.

    ``offset`` is the 0-based index in the daemon context where a malformed part starts, or
    None when the problem is not a spelling one (a range that is too small).
    """

    def __init__(self, message: str, offset: int | None = None) -> None:
        self.offset = offset
        super().__init__(message if offset is None else f"{message} (at offset {offset})")


class McsExhaustedError(McsError):
    """Every category pair of the allocator's range is in use."""


class McsReservedError(McsError):
    """The label to reserve is already in use (libvirt: "MCS level ... already reserved")."""


def pair_count(categories: int) -> int:
    """How many distinct pairs ``cA,cB`` (A < B) ``categories`` categories give."""
    return categories * (categories - 1) // 2 if categories > 1 else 0


@dataclass(frozen=True, slots=True)
class McsLabel:
    """The process context of a guest and the context of its image (for containers: of its
    files and mounts), both at the guest's MCS level."""

    process: Context
    image: Context

    @property
    def level(self) -> Level:
        """The guest's (low) level, e.g. ``s0:c87,c520``."""
        level = self.process.level
        assert level is not None  # both contexts are always built with a range
        return level


def _with_level(context: Context, user: str, role: str, level: Level | Range) -> Context:
    return Context(
        user, role, context.type, level if isinstance(level, Range) else Range.single(level)
    )


def svirt_label(
    level: Level,
    *,
    daemon: Context = DEFAULT_DAEMON_CONTEXT,
    process_base: Context = DEFAULT_PROCESS_CONTEXT,
    image_base: Context = DEFAULT_IMAGE_CONTEXT,
) -> McsLabel:
    """The labels libvirt gives a dynamically labelled guest at ``level``: the process takes
    the daemon's user and role and the type of ``process_base``; the image takes the daemon's
    user and keeps the role and type of ``image_base`` (an object role)."""
    return McsLabel(
        _with_level(process_base, daemon.user, daemon.role, level),
        _with_level(image_base, daemon.user, image_base.role, level),
    )


def static_svirt_label(
    process: Context | str,
    *,
    daemon: Context = DEFAULT_DAEMON_CONTEXT,
    image_base: Context = DEFAULT_IMAGE_CONTEXT,
) -> McsLabel:
    """The labels of a guest with ``<seclabel type='static'>``: the process keeps the context
    given, which must have an MLS range; the image takes that range (whole, low and high) with
    the daemon's user and the role and type of ``image_base``. Such labels are not allocated
    and not reserved: uniqueness is the administrator's business."""
    context = Context.parse(process) if isinstance(process, str) else process
    if context.range is None:
        raise McsError(f"static label {context} has no MLS range")
    return McsLabel(context, _with_level(image_base, daemon.user, image_base.role, context.range))


def unconfined_image_label(
    *, daemon: Context = DEFAULT_DAEMON_CONTEXT, image_base: Context = DEFAULT_IMAGE_CONTEXT
) -> Context:
    """The image label of a guest with ``<seclabel type='none'>``: its process is not labelled
    by sVirt, yet new files still get ``image_base`` at the daemon's low sensitivity, with no
    categories (e.g. ``system_u:object_r:svirt_image_t:s0``)."""
    sensitivity, _, _ = _daemon_pool(daemon)
    return _with_level(image_base, daemon.user, image_base.role, Level(sensitivity))


def container_label(
    level: Level,
    *,
    process_base: Context = CONTAINER_PROCESS_CONTEXT,
    file_base: Context = CONTAINER_FILE_CONTEXT,
) -> McsLabel:
    """The labels podman / go-selinux give a container at ``level``: the ``lxc_contexts``
    process and file contexts with their level replaced (``image`` is the file label)."""
    return McsLabel(
        _with_level(process_base, process_base.user, process_base.role, level),
        _with_level(file_base, file_base.user, file_base.role, level),
    )


_CATEGORY_SPAN = re.compile(r"c(\d{1,9})\.c(\d{1,9})", re.ASCII)
_SENSITIVITY = re.compile(r"s(\d{1,9})", re.ASCII)


def _daemon_pool(context: Context | str) -> tuple[int, int, int]:
    # libvirt reads its own range: the low sensitivity, and categories that must be written
    # exactly cMIN.cMAX (the first category token of the range); no categories means c0..c1023.
    text = context if isinstance(context, str) else str(context)
    fields = text.split(":", 3)
    if len(fields) < 3 or not all(fields[:3]):
        raise McsRangeError(f"{text!r} is not a security context", len(text))
    if len(fields) < 4 or not fields[3]:
        return 0, 0, 1023
    range_at = len(text) - len(fields[3])
    sensitivity_text, colon, categories = fields[3].partition(":")
    sensitivity_text = sensitivity_text.split("-", 1)[0]
    match = _SENSITIVITY.fullmatch(sensitivity_text)
    if match is None:
        raise McsRangeError(f"cannot parse sensitivity {sensitivity_text!r} in {text!r}", range_at)
    sensitivity = int(match.group(1))
    if not colon:
        return sensitivity, 0, 1023
    categories_at = range_at + fields[3].index(":") + 1
    span = _CATEGORY_SPAN.match(categories)
    if span is None:
        if re.fullmatch(r"c\d{1,9}", categories, re.ASCII):
            raise McsRangeError(f"no category range available in {text!r}", categories_at)
        raise McsRangeError(
            f"cannot parse category range {categories!r} in {text!r}", categories_at
        )
    return sensitivity, int(span.group(1)), int(span.group(2))


class McsAllocator:
    """Hands out unique random levels ``sN:cA,cB`` (A < B) from categories ``first..last``.

    ``rng`` is any :class:`random.Random`; the default draws from the operating system's
    cryptographic source (:class:`secrets.SystemRandom`). All methods are thread-safe.
    """

    def __init__(
        self,
        first: int = 0,
        last: int = 1023,
        *,
        sensitivity: int = 0,
        rng: random.Random | None = None,
        single_categories: bool = False,
    ) -> None:
        if first < 0 or sensitivity < 0:
            raise McsRangeError("categories and the sensitivity must not be negative")
        size = last - first + 1
        if size < MIN_CATEGORY_RANGE:
            raise McsRangeError(
                f"category range c{first}.c{last} is too small: "
                f"{max(size, 0)} categories, at least {MIN_CATEGORY_RANGE} are needed"
            )
        self._first = first
        self._last = last
        self._size = size
        self._sensitivity = sensitivity
        # 1 when a draw of two equal numbers is kept as a single category (older libvirt): the
        # pair (a, a) then stands for the label cA.
        self._diagonal = 1 if single_categories else 0
        self._capacity = pair_count(size) + self._diagonal * size
        self._rng: random.Random = rng if rng is not None else secrets.SystemRandom()
        self._lock = threading.Lock()
        self._in_use: set[Range] = set()
        # Pairs of this allocator's range that are in use, as offsets from ``first``, and how
        # many are in use per first category (to find the k-th free pair quickly).
        self._pairs: set[tuple[int, int]] = set()
        self._pairs_per_row = [0] * size

    @classmethod
    def from_context(
        cls,
        daemon: Context | str = DEFAULT_DAEMON_CONTEXT,
        *,
        rng: random.Random | None = None,
        single_categories: bool = False,
    ) -> McsAllocator:
        """An allocator for the pool libvirt derives from its own context, e.g.
        ``system_u:system_r:virtd_t:s0-s0:c0.c1023`` -> s0, c0..c1023. The categories must be
        written ``cMIN.cMAX``; a context without categories means c0..c1023. Errors quote the
        text as given."""
        sensitivity, first, last = _daemon_pool(daemon)
        return cls(
            first, last, sensitivity=sensitivity, rng=rng, single_categories=single_categories
        )

    @classmethod
    def for_containers(cls, *, rng: random.Random | None = None) -> McsAllocator:
        """go-selinux's allocator: s0, c0..c1023, with ``s0:c1022,c1023`` (the mount label of
        privileged containers) reserved so that it is never handed out."""
        allocator = cls(0, 1023, rng=rng)
        allocator.reserve(Level(0, CategorySet.of(1022, 1023)))
        return allocator

    # -- introspection --------------------------------------------------------------------

    @property
    def first(self) -> int:
        return self._first

    @property
    def last(self) -> int:
        return self._last

    @property
    def sensitivity(self) -> int:
        return self._sensitivity

    @property
    def capacity(self) -> int:
        """How many distinct labels the range holds: 523776 pairs for c0..c1023, plus 1024
        single categories with ``single_categories``."""
        return self._capacity

    @property
    def available(self) -> int:
        """How many pairs are still free."""
        with self._lock:
            return self.capacity - len(self._pairs)

    def __len__(self) -> int:
        """How many labels are in use (allocated or reserved, pairs or not)."""
        with self._lock:
            return len(self._in_use)

    def __contains__(self, label: object) -> bool:
        try:
            key = _as_range(label)  # type: ignore[arg-type]
        except (MlsError, TypeError):
            return False
        with self._lock:
            return key in self._in_use

    def in_use(self) -> frozenset[Range]:
        """A snapshot of the labels in use."""
        with self._lock:
            return frozenset(self._in_use)

    # -- allocation -----------------------------------------------------------------------

    def allocate(self) -> Level:
        """A new level ``sN:cA,cB`` not in use, now recorded as in use.

        Raises :class:`McsExhaustedError` when every pair is taken.
        """
        with self._lock:
            if len(self._pairs) >= self._capacity:
                raise McsExhaustedError(
                    f"all {self._capacity} labels of c{self._first}.c{self._last} are in use"
                )
            randrange = self._rng.randrange
            for _ in range(_DRAWS_BEFORE_SCAN):
                a = randrange(self._size)
                b = randrange(self._size)
                if a == b and not self._diagonal:
                    continue
                if a > b:
                    a, b = b, a
                if (a, b) not in self._pairs:
                    return self._take(a, b)
            return self._take(*self._free_pair(randrange(self._capacity - len(self._pairs))))

    def _free_pair(self, index: int) -> tuple[int, int]:
        # The index-th free pair in (a, b) order.
        size = self._size
        diagonal = self._diagonal
        for a in range(size):
            free_in_row = (size - 1 - a + diagonal) - self._pairs_per_row[a]
            if index >= free_in_row:
                index -= free_in_row
                continue
            for b in range(a + 1 - diagonal, size):
                if (a, b) not in self._pairs:
                    if index == 0:
                        return a, b
                    index -= 1
        raise AssertionError("free pair count out of step")  # pragma: no cover

    def _take(self, a: int, b: int) -> Level:
        level = Level(self._sensitivity, CategorySet.of(self._first + a, self._first + b))
        self._pairs.add((a, b))
        self._pairs_per_row[a] += 1
        self._in_use.add(Range.single(level))
        return level

    def _pair_of(self, key: Range) -> tuple[int, int] | None:
        # The (a, b) offsets if the label is one of this allocator's pairs.
        level = key.low
        count = len(level.categories)
        shape_fits = count == 2 or (count == 1 and self._diagonal == 1)
        if key.high != level or level.sensitivity != self._sensitivity or not shape_fits:
            return None
        low, high = level.categories.min, level.categories.max
        assert low is not None and high is not None
        if low < self._first or high > self._last:
            return None
        return low - self._first, high - self._first

    def reserve(self, label: Level | Range | Context | str) -> Range:
        """Record a label that is already in use (for example a running guest's, found on
        restart) so that it is never handed out. Any level or range can be reserved; only
        pairs of this allocator's range reduce :attr:`available`.

        Raises :class:`McsReservedError` if the label is in use already.
        """
        key = _as_range(label)
        with self._lock:
            if key in self._in_use:
                raise McsReservedError(f"MCS level {key} is already reserved")
            self._in_use.add(key)
            pair = self._pair_of(key)
            if pair is not None:
                self._pairs.add(pair)
                self._pairs_per_row[pair[0]] += 1
        return key

    def release(self, label: Level | Range | Context | str) -> bool:
        """Return a label to the pool (a guest has shut down). False if it was not in use."""
        key = _as_range(label)
        with self._lock:
            if key not in self._in_use:
                return False
            self._in_use.remove(key)
            pair = self._pair_of(key)
            if pair is not None:
                self._pairs.discard(pair)
                self._pairs_per_row[pair[0]] -= 1
        return True


def _as_range(label: Level | Range | Context | str) -> Range:
    if isinstance(label, Range):
        return label
    if isinstance(label, Level):
        return Range.single(label)
    if isinstance(label, Context):
        if label.range is None:
            raise McsError(f"context {label} has no MLS range")
        return label.range
    if isinstance(label, str):
        try:
            return Range.parse(label)
        except MlsError as not_a_range:
            try:
                context = Context.parse(label)
            except MlsError:
                raise not_a_range from None
            return _as_range(context)
    raise TypeError(f"expected a Level, Range, Context or str, not {type(label).__name__}")
