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

import calipso
import cipso
from calipso import CalipsoDoi, crc16_x25
from netlabel.harness import (
    SCRATCH_DOI_BASE,
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

#: Where the DOI sits in a CIPSO or CALIPSO option: after the type and length bytes.
_DOI = slice(2, 6)


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
    numbers = {doi.doi: stack.enter_context(cipso_doi(doi)).doi for doi in definitions}
    return Renumbering(numbers, _unknown(list_cipso_dois()))


def calipso_doi_number(text: str) -> int:
    """The DOI number of a CALIPSO definition in netlabelctl syntax (``pass doi:2``, with or
    without a leading ``calipso add``), read by :meth:`calipso.CalipsoDoi.from_netlabelctl`."""
    return CalipsoDoi.from_netlabelctl(text).doi


def configure_calipso(stack: ExitStack, numbers: Iterable[int]) -> Renumbering:
    """Add a scratch CALIPSO DOI for every number; see :func:`configure_cipso`."""
    mapping = {
        number: stack.enter_context(calipso_doi(calipso.CalipsoDoi(number))).doi
        for number in numbers
    }
    return Renumbering(mapping, _unknown(list_calipso_dois()))


def renumber_cipso_area(area: bytes, renumber: Callable[[int], int]) -> bytes:
    """``area`` with the DOI of every CIPSO option before EOL passed through ``renumber``, also
    in an option that runs past the area's end as long as its DOI is inside
    (:func:`cipso.iter_options`)."""
    data = bytearray(area)
    for tlv in cipso.iter_options(area, strict=False):
        # The length byte says the option holds a DOI (a walk that stops at a broken length
        # has at least two bytes of the option).
        if tlv.type == cipso.OptionType.CIPSO and len(tlv.data) >= 4 and area[tlv.offset + 1] >= 6:
            at = slice(tlv.offset + _DOI.start, tlv.offset + _DOI.stop)
            data[at] = renumber(int.from_bytes(data[at], "big")).to_bytes(4, "big")
    return bytes(data)


def renumber_calipso_header(header: bytes, renumber: Renumbering) -> bytes:
    """``header`` with the DOI of every CALIPSO option passed through ``renumber``, also in an
    option that runs past the header's end as long as its DOI is inside
    (:func:`calipso.iter_options`)."""
    data = bytearray(header)
    for tlv in calipso.iter_options(header, strict=False):
        if tlv.type != calipso.OptionType.CALIPSO or len(tlv.data) < 4:
            continue
        start, end = tlv.offset, tlv.end
        old_option = b"" if tlv.fault else bytes(data[start:end])
        at = slice(start + _DOI.start, start + _DOI.stop)
        data[at] = renumber(int.from_bytes(data[at], "big")).to_bytes(4, "big")
        if len(old_option) >= 10:
            error = _stored(old_option) ^ _checksum(old_option)
            value = _checksum(bytes(data[start:end])) ^ error
            data[start + 8 : start + 10] = bytes((value & 0xFF, value >> 8))
    return bytes(data)


def _stored(option: bytes) -> int:
    return option[8] | option[9] << 8


def _checksum(option: bytes) -> int:
    return crc16_x25(option[:8] + b"\0\0" + option[10:])
