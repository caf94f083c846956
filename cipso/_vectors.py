"""The CIPSO vector corpus shipped with the package: options and options areas with the decode
and the verdict of the Linux kernel recorded for them.

The data lives in ``cipso/corpus/*.json``; :func:`vectors` reads it with the standard
library only, the kernel's verdicts into :class:`cipso.Verdict`, the shape
:func:`cipso.verdict` returns. The kernel verdicts are recorded from a live kernel by
``labelnet conformance record`` (docs/conformance.md), not written by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from mls import CategorySet, Level
from mls._corpus import corpus_vectors
from mls.verdict import VerdictKind

from .errors import ICMP_BAD_PARAMETER
from .validate import Verdict

__all__ = ["CipsoDecoded", "CipsoVector", "vectors"]

#: Where the first option byte sits in an IPv4 header without other options.
_FIRST_OPTION_BYTE = 20


@dataclass(frozen=True, slots=True)
class CipsoDecoded:
    """What :func:`cipso.decode` makes of a vector's option.

    ``tag_type`` and ``level`` are those of the first tag (the only one the kernel reads);
    ``level`` is the wire level and categories, None for tags without one (128, 6, 7, unknown
    types) and for an option without tags.
    """

    doi: int
    tag_type: int | None
    tag_count: int
    level: Level | None

    @property
    def sensitivity(self) -> int | None:
        return None if self.level is None else self.level.sensitivity

    @property
    def categories(self) -> CategorySet | None:
        return None if self.level is None else self.level.categories


#: The corpus files' words for the kernel's verdicts ("rejected": a Parameter Problem).
_KINDS = {
    "accepted": VerdictKind.ACCEPTED,
    "rejected": VerdictKind.PARAMETER_PROBLEM,
    "dropped": VerdictKind.DROPPED,
}


def _kernel_verdict(kernel: dict[str, Any], cipso_start: int | None) -> Verdict:
    """A corpus ``kernel`` entry as the :class:`cipso.Verdict` it records: the kind and, for a
    Parameter Problem, the ICMP pointer (from the IPv4 header), its area offset and code 0.
    ``option_start`` is the vector's ``cipso_start`` counted from the options area."""
    kind = _KINDS[kernel["verdict"]]
    pointer = kernel["pointer"]
    problem = kind is VerdictKind.PARAMETER_PROBLEM
    return Verdict(
        kind,
        offset=None if pointer is None else pointer - _FIRST_OPTION_BYTE,
        pointer=pointer,
        option_start=None if cipso_start is None else cipso_start - _FIRST_OPTION_BYTE,
        code=ICMP_BAD_PARAMETER if problem else None,
    )


@dataclass(frozen=True, slots=True)
class CipsoVector:
    """One corpus entry.

    ``option`` is one CIPSO option exactly as it is decoded and validated on its own (None for
    entries about a whole options area); ``area`` is the IPv4 options area sent to the kernel
    (a multiple of 4 bytes: the option padded with EOL, or other options around it).
    ``dois`` are the DOIs configured in the kernel, in netlabelctl syntax (``netlabelctl cipso
    add`` arguments, e.g. ``pass doi:16 tags:1``). ``strict_bitmap`` is the sysctl
    ``net.ipv4.cipso_rbm_strictvalid``; ``loopback`` says the packet arrives on a loopback
    device.

    ``decoded`` is the expected :func:`cipso.decode` of ``option``, or None when it does not
    decode; then ``decode_error_offset`` is the offset of :class:`cipso.CipsoDecodeError`.
    ``validate_offset`` is the offset of :class:`cipso.CipsoValidationError` that
    :func:`cipso.validate` raises for ``option`` alone (None: accepted). ``cipso_start`` is
    where the first CIPSO option of ``area`` starts, from the IPv4 header's first byte.
    ``kernel`` is the kernel's verdict on ``area`` (its ``offset`` and ``option_start`` count
    from the options area; a silent drop carries no offset, as the kernel shows none).
    ``kernel_recorded`` says the verdict was observed on a live kernel; False marks the few
    that a veth pair cannot show (tag 128 is accepted only on loopback; a Parameter Problem
    sent along a source route), which follow cipso.md §4. ``tshark`` holds the ``(field, value)``
    pairs Wireshark's tshark shows for the packet (``ip.cipso.doi``, ``ip.cipso.tag_type``,
    ``ip.cipso.sensitivity_level``, ``ip.cipso.categories``; one value per tag, joined with
    ``;``) when the option decodes; tshark decodes but does not judge.
    """

    name: str
    description: str
    option: bytes | None
    area: bytes
    dois: tuple[str, ...]
    strict_bitmap: bool
    loopback: bool
    decoded: CipsoDecoded | None
    decode_error_offset: int | None
    validate_offset: int | None
    cipso_start: int | None
    kernel: Verdict
    kernel_recorded: bool
    tshark: tuple[tuple[str, str], ...] = ()


def _vector(item: dict[str, Any], dois: dict[str, str]) -> CipsoVector:
    option = item.get("option")
    decoded = item.get("decode")
    kernel = item["kernel"]
    return CipsoVector(
        name=item["name"],
        description=item["description"],
        option=None if option is None else bytes.fromhex(option),
        area=bytes.fromhex(item["area"]),
        dois=tuple(dois[name] for name in item["dois"]),
        strict_bitmap=item.get("strict_bitmap", True),
        loopback=item.get("loopback", False),
        decoded=None
        if decoded is None
        else CipsoDecoded(
            doi=decoded["doi"],
            tag_type=decoded["tag_type"],
            tag_count=decoded["tag_count"],
            level=None if decoded["level"] is None else Level.parse(decoded["level"]),
        ),
        decode_error_offset=item.get("decode_error_offset"),
        validate_offset=item.get("validate_offset"),
        cipso_start=item.get("cipso_start"),
        kernel=_kernel_verdict(kernel, item.get("cipso_start")),
        kernel_recorded=kernel["recorded"],
        tshark=tuple(item.get("tshark", {}).items()),
    )


@lru_cache(maxsize=1)
def vectors() -> tuple[CipsoVector, ...]:
    """Every vector of the corpus, in file order (the files in name order).

    >>> import cipso
    >>> first = cipso.vectors()[0]
    >>> first.option.hex(" "), first.kernel.accepted
    ('86 0b 00 00 00 10 01 05 00 03 84', True)
    """
    return tuple(_vector(item, dois) for item, dois in corpus_vectors(__package__))
