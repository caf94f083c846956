"""CALIPSO DOI definitions and the label mapping the Linux kernel performs with them.

Linux knows one mapping, PASS: the MLS sensitivity goes on the wire as the level byte and
category N as bit N of the bitmap (net/ipv6/calipso.c, calipso_genopt and
calipso_opt_getattr).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from mls import Level
from mls.errors import DoiSyntaxError

from ._checks import check_option, check_single_option
from ._codec import decode, encode
from .errors import CalipsoDoiError, CalipsoEncodeError, CalipsoValidationError, Check
from .hopbyhop import find_option, insert_option, iter_options
from .model import (
    MAX_CATEGORY,
    MAX_DOI,
    MAX_SENSITIVITY,
    OPTION_TYPE,
    CalipsoOption,
    MapType,
)


@dataclass(frozen=True, slots=True)
class CalipsoDoi:
    """A CALIPSO Domain of Interpretation as NetLabel configures it.

    Validated as the kernel's netlink ADD does: DOI 0 (CALIPSO_DOI_UNKNOWN) and any mapping
    type other than PASS are refused with :class:`~calipso.CalipsoDoiError`.
    """

    doi: int
    map_type: MapType = MapType.PASS

    def __post_init__(self) -> None:
        doi = self.doi
        if not isinstance(doi, int) or isinstance(doi, bool) or not 0 < doi <= MAX_DOI:
            raise CalipsoDoiError(
                f"a CALIPSO DOI is 1..{MAX_DOI} (0 is reserved), not {doi!r}", offset=2
            )
        if self.map_type != MapType.PASS or isinstance(self.map_type, bool):
            raise CalipsoDoiError(
                f"Linux supports only the PASS mapping type (2), not {self.map_type!r}"
            )
        if type(self.map_type) is not MapType:
            object.__setattr__(self, "map_type", MapType.PASS)

    @classmethod
    def from_netlabelctl(cls, text: str | Sequence[str]) -> CalipsoDoi:
        """Parse the arguments of ``netlabelctl calipso add`` (a string, or its words), with or
        without a leading ``[netlabelctl] calipso add``: ``pass doi:<N>``, the only type Linux
        knows. The DOI is ASCII digits; anything else raises :class:`CalipsoDoiError` naming
        the argument and the character at fault.

        >>> CalipsoDoi.from_netlabelctl("calipso add pass doi:2")
        CalipsoDoi(doi=2, map_type=<MapType.PASS: 2>)
        """
        return _parse_netlabelctl(text)

    def to_netlabelctl(self) -> str:
        """The arguments of ``netlabelctl calipso add`` that define this DOI;
        :meth:`from_netlabelctl` reads them back to an equal definition."""
        return f"pass doi:{self.doi}"

    def label_option(self, level: Level, *, empty_bitmap_word: bool = False) -> CalipsoOption:
        """The option calipso_genopt writes for ``level``.

        The bitmap is trimmed to the last 32-bit word holding a set bit (zero bytes inside that
        word stay). A level without categories gets no bitmap, unless ``empty_bitmap_word`` is
        set: the kernel writes one all-zero word when the LSM hands it a category map that is
        present but empty (SELinux never does; the secattr carries no category flag then).
        Sensitivities above 255 and categories above 1951 raise
        :class:`~calipso.CalipsoEncodeError` (the kernel would truncate them).
        """
        if level.sensitivity > MAX_SENSITIVITY:
            raise CalipsoEncodeError(
                f"sensitivity s{level.sensitivity} does not fit CALIPSO's one-byte level "
                f"(s0..s{MAX_SENSITIVITY})",
                7,
            )
        bits = level.categories.bits
        if bits.bit_length() > MAX_CATEGORY + 1:
            raise CalipsoEncodeError(
                f"category c{bits.bit_length() - 1} is above c{MAX_CATEGORY}, the last a "
                "CALIPSO bitmap can carry",
                10,
            )
        bitmap = level.categories.to_bitmap(align=4)
        if not bitmap and empty_bitmap_word:
            bitmap = bytes(4)
        return CalipsoOption(self.doi, level.sensitivity, bitmap)

    def encode_label(self, level: Level, *, empty_bitmap_word: bool = False) -> bytes:
        """The bytes of :meth:`label_option`: the bare option (type byte first), as
        calipso_genopt writes it."""
        return encode(self.label_option(level, empty_bitmap_word=empty_bitmap_word))

    def decode_label(self, option: CalipsoOption | bytes) -> Level:
        """The MLS level the kernel reads from ``option`` with this DOI configured.

        Raises :class:`~calipso.CalipsoValidationError` when the kernel would drop the packet
        (short or inconsistent lengths, a bad checksum, another DOI). The level and the
        categories are not range-checked, as in calipso_opt_getattr.
        """
        if isinstance(option, CalipsoOption):
            check_option(encode(option), 0, option.size, (self.doi,))
            return option.mls_level
        data = bytes(option)
        check_single_option(data, (self.doi,))
        return decode(data).mls_level

    def encode_header(
        self,
        level: Level,
        header: bytes | None = None,
        *,
        next_header: int | None = None,
        empty_bitmap_word: bool = False,
    ) -> bytes:
        """The hop-by-hop header the kernel sends for ``level``: ``header`` (or a new header)
        with this DOI's option for ``level`` inserted as calipso_opt_insert does (see
        :func:`calipso.hopbyhop.insert_option`)."""
        option = self.label_option(level, empty_bitmap_word=empty_bitmap_word)
        return insert_option(header, option, next_header=next_header)

    def decode_header(self, header: bytes, *, dois: Iterable[CalipsoDoi | int] = ()) -> Level:
        """The level the kernel reads from a received hop-by-hop header: the first CALIPSO
        option's (calipso_skbuff_optptr). Raises :class:`~calipso.CalipsoValidationError` if
        there is none or the kernel would drop it (every CALIPSO option in the header is
        checked, as on receive, against this DOI and the other configured ``dois``: the
        kernel accepts options under any DOI it knows); a malformed header raises
        :class:`~calipso.HopByHopError`, and a first option under another DOI
        :class:`~calipso.CalipsoDoiError`."""
        header = bytes(header)
        first = find_option(header)
        if first is None:
            raise CalipsoValidationError(
                "no CALIPSO option in the header", None, check=Check.NOT_CALIPSO
            )
        configured = {self.doi} | {d.doi if isinstance(d, CalipsoDoi) else d for d in dois}
        for tlv in iter_options(header):
            if tlv.type == OPTION_TYPE:
                try:
                    check_option(header, tlv.offset, tlv.end, configured)
                except CalipsoValidationError as error:
                    offset = None if error.offset is None else tlv.offset + error.offset
                    raise CalipsoValidationError(
                        f"CALIPSO option at {tlv.offset}: {error.reason}", offset, check=error.check
                    ) from None
        option = decode(header[first : first + 2 + header[first + 1]])
        if option.doi != self.doi:
            raise CalipsoDoiError(
                f"the label is read from the first CALIPSO option, whose DOI is {option.doi}, "
                f"not {self.doi}",
                first + 2,
            )
        return option.mls_level


# -- netlabelctl syntax ---------------------------------------------------------------------
#
# The one reading of ``netlabelctl calipso add`` arguments. netlabelctl reads the DOI with
# atoi() (so "doi:5x" is 5 and "doi:x" is 0); here the DOI is ASCII digits or an error.


class CalipsoDoiSyntaxError(DoiSyntaxError, CalipsoDoiError):
    """A DOI definition in netlabelctl syntax is malformed. ``argument`` is the word at fault
    (the whole definition when a word is missing), ``position`` the character in it where the
    problem starts and ``problem`` what is wrong."""


def _parse_netlabelctl(text: str | Sequence[str]) -> CalipsoDoi:
    words = text.split() if isinstance(text, str) else list(text)
    if words[:1] == ["netlabelctl"]:
        words = words[1:]
    if words[:1] == ["calipso"]:
        words = words[2:] if words[1:2] == ["add"] else words[1:]
    whole = " ".join(words)
    if words.count("pass") != 1:
        raise CalipsoDoiSyntaxError(
            "a CALIPSO DOI definition is 'pass doi:<N>' (Linux knows only pass)", whole
        )
    found = [word for word in words if word != "pass"]
    for word in found:
        if not word.startswith("doi:"):
            raise CalipsoDoiSyntaxError(
                "unknown argument (a CALIPSO DOI has no tags, levels or categories)", word
            )
    if len(found) != 1:
        raise CalipsoDoiSyntaxError("missing doi:<N>" if not found else "doi: given twice", whole)
    word = found[0]
    digits = word[4:]
    if not (digits.isascii() and digits.isdigit()):
        raise CalipsoDoiSyntaxError("the DOI must be written in ASCII digits 0-9", word, 4)
    significant = digits.lstrip("0")
    # Compare lengths first: int() of thousands of digits is slow or refused outright.
    if len(significant) > 10 or int(significant or "0") > MAX_DOI:
        shown = significant if len(significant) <= 20 else f"of {len(significant)} digits"
        raise CalipsoDoiSyntaxError(f"the DOI {shown} is above {MAX_DOI}", word, 4)
    return CalipsoDoi(int(significant or "0"))
