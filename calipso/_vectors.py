"""The CALIPSO vector corpus shipped with the package: options and hop-by-hop headers with the
decode and the verdict of the Linux kernel recorded for them.

The data lives in ``calipso/corpus/*.json``; :func:`vectors` reads it with the standard
library only, the kernel's verdicts into :class:`calipso.Verdict`, the shape
:func:`calipso.verdict` returns. The kernel verdicts are recorded from a live kernel by
``labelnet conformance record`` (docs/conformance.md), not written by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from mls import CategorySet, Level
from mls._corpus import corpus_vectors
from mls.verdict import VerdictKind

from .errors import IPV6_HEADER_LENGTH
from .validate import Verdict

__all__ = [
    "CalipsoDecoded",
    "CalipsoInsertion",
    "CalipsoVector",
    "vectors",
]


@dataclass(frozen=True, slots=True)
class CalipsoDecoded:
    """What :func:`calipso.decode` makes of a vector's option. ``checksum`` is the two
    checksum bytes as they are on the wire (low byte first); ``checksum_ok`` says they match."""

    doi: int
    sensitivity: int
    bitmap: bytes
    extra: bytes
    checksum: bytes
    checksum_ok: bool
    level: Level

    @property
    def categories(self) -> CategorySet:
        return self.level.categories


@dataclass(frozen=True, slots=True)
class CalipsoInsertion:
    """How the vector's header was built: ``level`` encoded and inserted into ``before`` (None:
    no hop-by-hop header yet) as the kernel's ``calipso_opt_insert`` does; ``removed`` is the
    header left when the option is taken out again (None: no header at all)."""

    before: bytes | None
    level: Level
    removed: bytes | None


def _kernel_verdict(kernel: dict[str, Any]) -> Verdict:
    """A corpus ``kernel`` entry as the :class:`calipso.Verdict` it records: ``verdict`` is the
    kind's name; a Parameter Problem has its ICMPv6 ``pointer`` (from the IPv6 header), its
    header offset and its ``code``."""
    pointer = kernel["pointer"]
    return Verdict(
        VerdictKind(kernel["verdict"]),
        offset=None if pointer is None else pointer - IPV6_HEADER_LENGTH,
        pointer=pointer,
        code=kernel["code"],
    )


@dataclass(frozen=True, slots=True)
class CalipsoVector:
    """One corpus entry.

    ``option`` is one CALIPSO option as it is decoded and validated on its own (None for
    entries about a whole header); ``header`` is the hop-by-hop header sent to the kernel
    (a multiple of 8 bytes; its first byte, the next header, is replaced by the sender).
    ``dois`` are the DOIs configured in the kernel, in netlabelctl syntax (``netlabelctl
    calipso add`` arguments, e.g. ``pass doi:2``).

    ``decoded`` is the expected :func:`calipso.decode` of ``option``, or None when it does not
    decode; then ``decode_error_offset`` is the offset of :class:`calipso.CalipsoDecodeError`.
    ``validate_check`` and ``validate_offset`` name the check :func:`calipso.validate` fails
    for ``option`` alone and its offset (both None: accepted). ``insertion`` is set for
    headers built by inserting a label. ``kernel`` is the kernel's verdict on ``header`` (what
    the kernel shows of it: the kind and, for a Parameter Problem, pointer, offset and code;
    a drop carries no offset, as the kernel shows none); ``kernel_recorded`` says it was
    observed on a live kernel.
    ``tshark`` holds the ``(field, value)`` pairs Wireshark's tshark shows for the packet
    (``ipv6.opt.calipso.*``; the checksum as a big-endian number, the bitmap as hex) when the
    option decodes.
    """

    name: str
    description: str
    option: bytes | None
    header: bytes
    dois: tuple[str, ...]
    decoded: CalipsoDecoded | None
    decode_error_offset: int | None
    validate_check: str | None
    validate_offset: int | None
    insertion: CalipsoInsertion | None
    kernel: Verdict
    kernel_recorded: bool
    tshark: tuple[tuple[str, str], ...] = ()


def _hex(value: str | None) -> bytes | None:
    return None if value is None else bytes.fromhex(value)


def _vector(item: dict[str, Any], dois: dict[str, str]) -> CalipsoVector:
    decoded = item.get("decode")
    insertion = item.get("insertion")
    check = item.get("validate")
    kernel = item["kernel"]
    return CalipsoVector(
        name=item["name"],
        description=item["description"],
        option=_hex(item.get("option")),
        header=bytes.fromhex(item["header"]),
        dois=tuple(dois[name] for name in item["dois"]),
        decoded=None
        if decoded is None
        else CalipsoDecoded(
            doi=decoded["doi"],
            sensitivity=decoded["sensitivity"],
            bitmap=bytes.fromhex(decoded["bitmap"]),
            extra=bytes.fromhex(decoded["extra"]),
            checksum=bytes.fromhex(decoded["checksum_bytes"]),
            checksum_ok=decoded["checksum_ok"],
            level=Level.parse(decoded["level"]),
        ),
        decode_error_offset=item.get("decode_error_offset"),
        validate_check=None if check is None else check["check"],
        validate_offset=None if check is None else check["offset"],
        insertion=None
        if insertion is None
        else CalipsoInsertion(
            before=_hex(insertion["before"]),
            level=Level.parse(insertion["level"]),
            removed=_hex(insertion["removed"]),
        ),
        kernel=_kernel_verdict(kernel),
        kernel_recorded=kernel["recorded"],
        tshark=tuple(item.get("tshark", {}).items()),
    )


@lru_cache(maxsize=1)
def vectors() -> tuple[CalipsoVector, ...]:
    """Every vector of the corpus, in file order (the files in name order).

    >>> import calipso
    >>> first = calipso.vectors()[0]
    >>> first.option.hex(" "), first.kernel.accepted
    ('07 08 00 00 00 02 00 00 cf ce', True)
    """
    return tuple(_vector(item, dois) for item, dois in corpus_vectors(__package__))
