"""Kernel-exact receive-side checks of CALIPSO options.

:func:`validate` accepts exactly the options Linux accepts (calipso.md §3, steps 2-5 in the
kernel's order: ``ipv6_hop_calipso`` in net/ipv6/exthdrs.c, then ``calipso_validate`` in
net/ipv6/calipso.c) and raises :class:`~calipso.CalipsoValidationError` naming the failed check
and its byte otherwise. The kernel does not look at the level, the bitmap contents or the
option's alignment; neither does this.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TypeAlias

from ._checks import check_option
from ._codec import encode
from .doi import CalipsoDoi
from .errors import CalipsoValidationError, Check
from .model import CalipsoOption

#: The DOIs a receiver has configured: a mapping from DOI number, or an iterable of DOI
#: definitions or numbers.
Dois: TypeAlias = Mapping[int, CalipsoDoi] | Iterable[CalipsoDoi | int]


def validate(data: bytes | CalipsoOption, dois: Dois) -> None:
    """Raise :class:`~calipso.CalipsoValidationError` unless the Linux kernel would accept this
    option (one option, type byte first, nothing after it) with ``dois`` configured."""
    if isinstance(data, CalipsoOption):
        data = encode(data)
    elif type(data) is not bytes:
        data = bytes(data)
    check_option(data, 0, len(data), _doi_numbers(dois))
    if len(data) != data[1] + 2:
        raise CalipsoValidationError(
            Check.TRAILING_DATA,
            f"{len(data) - data[1] - 2} bytes follow the end of the option",
            data[1] + 2,
        )


def _doi_numbers(dois: Dois) -> frozenset[int] | Mapping[int, CalipsoDoi]:
    if isinstance(dois, Mapping):
        return dois
    return frozenset(doi.doi if isinstance(doi, CalipsoDoi) else doi for doi in dois)
