"""The CIPSO vector corpus shipped with the package: options and options areas with the decode
and the verdict of the Linux kernel recorded for them.

The data lives in ``cipso/corpus/*.json``; :func:`vectors` reads it with the standard
library only. The kernel verdicts are recorded from a live kernel by
``labelnet conformance record`` (docs/conformance.md), not written by hand.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

from mls import CategorySet, Level

__all__ = ["CipsoDecoded", "CipsoKernelVerdict", "CipsoVector", "vectors"]

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


@dataclass(frozen=True, slots=True)
class CipsoKernelVerdict:
    """What the receiving Linux kernel does with a packet carrying the vector's options area.

    ``verdict`` is ``accepted``, ``rejected`` (ICMP Parameter Problem, type 12 code 0, with
    ``pointer`` counted from the start of the IPv4 header) or ``dropped`` (silently, without a
    header error: a source route option while ``accept_source_route`` is 0, the default; the
    options themselves passed validation). ``recorded`` says the verdict was observed on a live
    kernel; False marks the few that a veth pair cannot show (tag 128 is accepted only on
    loopback), which follow cipso.md §4.
    """

    verdict: str
    pointer: int | None
    recorded: bool

    @property
    def accepted(self) -> bool:
        return self.verdict == "accepted"

    @property
    def dropped(self) -> bool:
        return self.verdict == "dropped"

    @property
    def offset(self) -> int | None:
        """The pointer counted from the first byte of the options area (pointer - 20)."""
        return None if self.pointer is None else self.pointer - _FIRST_OPTION_BYTE


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
    ``kernel`` is the kernel's verdict on ``area``. ``tshark`` holds the ``(field, value)``
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
    kernel: CipsoKernelVerdict
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
        kernel=CipsoKernelVerdict(
            verdict=kernel["verdict"],
            pointer=kernel["pointer"],
            recorded=kernel["recorded"],
        ),
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
    folder = resources.files(__package__).joinpath("corpus")
    found: list[CipsoVector] = []
    for entry in sorted(folder.iterdir(), key=lambda path: path.name):
        if not entry.name.endswith(".json"):
            continue
        corpus = json.loads(entry.read_text(encoding="utf-8"))
        dois: dict[str, str] = corpus["dois"]
        found.extend(_vector(item, dois) for item in corpus["vectors"])
    return tuple(found)
