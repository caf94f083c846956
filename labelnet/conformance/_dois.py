"""DOI set-up for conformance runs: scratch DOIs in the kernel for the DOIs a corpus or a run
names, and the renumbering of options to the numbers the kernel actually got.

The corpus names DOIs by small numbers (16, 100, 2...). A machine may already use those, and
the harness never touches a DOI it did not add, so each definition is configured under a
scratch number (:func:`netlabel.harness.cipso_doi`) and the DOI fields of the packets are
rewritten to match before sending. Every DOI number the definitions do not name becomes one
that is configured nowhere, so "unknown DOI" stays unknown; DOI 0 stays 0. A CALIPSO checksum
is recomputed for the new DOI with its error kept: a right checksum stays right and a wrong one
stays wrong by the same bits (the CRC is affine in the message).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from contextlib import ExitStack
from dataclasses import dataclass

import cipso
from calipso import CalipsoDoi, crc16_x25
from netlabel.harness import (
    SCRATCH_DOI_BASE,
    CipsoMapping,
    calipso_doi,
    cipso_doi,
    list_calipso_dois,
    list_cipso_dois,
)

__all__ = [
    "Renumbering",
    "calipso_doi_number",
    "configure_calipso",
    "configure_cipso",
    "renumber_calipso_header",
    "renumber_cipso_area",
]

_CIPSO = 0x86
_CALIPSO = 0x07


@dataclass(frozen=True, slots=True)
class Renumbering:
    """DOI numbers as written (in a corpus) -> as configured; everything else -> ``unknown``."""

    numbers: Mapping[int, int]
    unknown: int

    def __call__(self, number: int) -> int:
        if number == 0:
            return 0
        return self.numbers.get(number, self.unknown)


def _unknown(taken: Iterable[int]) -> int:
    used = set(taken)
    number = SCRATCH_DOI_BASE - 1
    while number in used:
        number -= 1
    return number


def configure_cipso(stack: ExitStack, definitions: Iterable[cipso.CipsoDoi]) -> Renumbering:
    """Add every definition as a scratch DOI (removed when ``stack`` closes) and return how
    their numbers map to the configured ones."""
    numbers: dict[int, int] = {}
    for doi in definitions:
        if doi.map_type is cipso.MapType.TRANS:
            number = stack.enter_context(
                cipso_doi(
                    mapping=CipsoMapping.TRANS,
                    tags=[int(t) for t in doi.tags],
                    levels=dict(doi.levels),
                    categories=dict(doi.categories) if doi.categories else None,
                )
            )
        elif doi.map_type is cipso.MapType.LOCAL:
            number = stack.enter_context(cipso_doi(mapping=CipsoMapping.LOCAL))
        else:
            number = stack.enter_context(
                cipso_doi(mapping=CipsoMapping.PASS, tags=[int(t) for t in doi.tags])
            )
        numbers[doi.doi] = number
    return Renumbering(numbers, _unknown(list_cipso_dois()))


def calipso_doi_number(text: str) -> int:
    """The DOI number of a CALIPSO definition in netlabelctl syntax (``pass doi:2``, with or
    without a leading ``calipso add``), read by :meth:`calipso.CalipsoDoi.from_netlabelctl`."""
    return CalipsoDoi.from_netlabelctl(text).doi


def configure_calipso(stack: ExitStack, numbers: Iterable[int]) -> Renumbering:
    """Add a scratch CALIPSO DOI for every number; see :func:`configure_cipso`."""
    mapping = {number: stack.enter_context(calipso_doi()) for number in numbers}
    return Renumbering(mapping, _unknown(list_calipso_dois()))


def renumber_cipso_area(area: bytes, renumber: Callable[[int], int]) -> bytes:
    """``area`` with the DOI of every CIPSO option before EOL passed through ``renumber``."""
    data = bytearray(area)
    position = 0
    while position < len(data):
        kind = data[position]
        if kind == 0:
            break
        if kind == 1:
            position += 1
            continue
        if position + 1 >= len(data) or data[position + 1] < 2:
            break
        length = data[position + 1]
        if kind == _CIPSO and length >= 6 and position + 6 <= len(data):
            old = int.from_bytes(data[position + 2 : position + 6], "big")
            data[position + 2 : position + 6] = renumber(old).to_bytes(4, "big")
        position += length
    return bytes(data)


def renumber_calipso_header(header: bytes, renumber: Renumbering) -> bytes:
    """``header`` with the DOI of every CALIPSO option passed through ``renumber``."""
    data = bytearray(header)
    size = min(len(data), (data[1] + 1) * 8) if len(data) > 1 else 0
    position = 2
    while position < size:
        kind = data[position]
        if kind == 0:
            position += 1
            continue
        if position + 1 >= size:
            break
        end = position + 2 + data[position + 1]
        if kind == _CALIPSO and position + 6 <= size and data[position + 1] >= 4:
            old_option = bytes(data[position:end]) if end <= size else b""
            old = int.from_bytes(data[position + 2 : position + 6], "big")
            data[position + 2 : position + 6] = renumber(old).to_bytes(4, "big")
            if len(old_option) >= 10:
                error = _stored(old_option) ^ _checksum(old_option)
                value = _checksum(bytes(data[position:end])) ^ error
                data[position + 8 : position + 10] = bytes((value & 0xFF, value >> 8))
        position = end
    return bytes(data)


def _stored(option: bytes) -> int:
    return option[8] | option[9] << 8


def _checksum(option: bytes) -> int:
    return crc16_x25(option[:8] + b"\0\0" + option[10:])
