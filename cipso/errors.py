"""Exceptions raised by the cipso package.

Two families, as in h11: the peer sent something wrong (:class:`CipsoWireError`, with the byte
``offset`` of the problem inside the option) or the caller asked for something the kernel would
refuse to build (:class:`CipsoLocalError`: an impossible DOI definition, a label no tag of the
DOI can carry, an option too large for an IPv4 header). Every error is a ``ValueError``.
"""

from __future__ import annotations

from mls.errors import ByteError

#: ICMP type and code the kernel sends for a rejected option (Parameter Problem, bad parameter).
ICMP_PARAMETER_PROBLEM = 12
ICMP_BAD_PARAMETER = 0
#: Where the CIPSO option starts when it is the first IPv4 option (right after the header).
FIRST_OPTION_OFFSET = 20


class CipsoError(ByteError):
    """Base class of every cipso error. ``reason`` says what is wrong in words; ``offset`` is
    the byte offset of the problem inside the option, or None when no byte is to blame."""

    unit = "option byte"


class CipsoWireError(CipsoError):
    """Bytes from the wire are wrong. ``offset`` counts from the option's type byte (from the
    first byte of the options area for :class:`OptionsAreaError`)."""

    offset: int

    def __init__(self, reason: str, offset: int = 0) -> None:
        super().__init__(reason, offset)


class CipsoDecodeError(CipsoWireError):
    """The bytes are not a well-formed CIPSO option (bad type, lengths that do not add up, a
    tag whose fixed format is violated), so they cannot even be decoded."""


class CipsoValidationError(CipsoWireError):
    """The Linux kernel would reject this option (``cipso_v4_validate`` or the IPv4 option
    walker before it) and drop the packet with an ICMP Parameter Problem.

    ``offset`` is the kernel's error offset inside the option; ``pointer`` is the ICMP
    pointer, counted from the IPv4 header's first byte, for an option that starts at
    ``option_start`` (20 when CIPSO is the first option).
    """

    option_start: int
    icmp_type: int = ICMP_PARAMETER_PROBLEM
    icmp_code: int = ICMP_BAD_PARAMETER

    def __init__(
        self, reason: str, offset: int = 0, *, option_start: int = FIRST_OPTION_OFFSET
    ) -> None:
        super().__init__(reason, offset)
        self.option_start = option_start

    @property
    def pointer(self) -> int:
        """The ICMP Parameter Problem pointer: the bad byte's offset from the IPv4 header."""
        return self.option_start + self.offset

    @property
    def icmp_info(self) -> int:
        """The ICMP header's 32-bit "unused" word as the kernel fills it (pointer in the top
        byte)."""
        return (self.pointer & 0xFF) << 24


class CipsoDroppedError(CipsoWireError):
    """The Linux kernel would drop the packet silently: its options pass validation, but the
    receive path discards it afterwards (a source route while ``accept_source_route`` is 0).
    No ICMP error is sent and no error counter moves, so this error has no ICMP fields.

    ``offset`` is 0, the type byte of the option that causes the drop; ``option_start`` is
    where that option starts, counted from the IPv4 header's first byte.
    """

    option_start: int

    def __init__(
        self, reason: str, offset: int = 0, *, option_start: int = FIRST_OPTION_OFFSET
    ) -> None:
        super().__init__(reason, offset)
        self.option_start = option_start
        # Name the dropping option by its place in the header: "option byte 0" would point
        # into an option that is not CIPSO.
        self.args = (f"{reason} (source route at header byte {option_start})",)


class OptionsAreaError(CipsoWireError):
    """An IPv4 options area is malformed: an option has no length byte, or its length is below
    2 or runs past the area. ``offset`` counts from the area's first byte and names the
    option's type byte, where the kernel's ICMP pointer points. The counterpart of
    :class:`calipso.HopByHopError`."""


class CipsoLocalError(CipsoError):
    """The caller asked for something the kernel would refuse to build."""


class CipsoDoiError(CipsoLocalError):
    """A DOI definition the kernel refuses (``cipso_v4_doi_add`` or the NetLabel netlink
    handler answers -EINVAL)."""


class CipsoEncodeError(CipsoLocalError):
    """An option or tag whose fields cannot be put on the wire (a value out of its field's
    range, a tag or option longer than an IPv4 header allows)."""


class CipsoLabelError(CipsoLocalError):
    """No tag of the DOI can carry the label (``cipso_v4_genopt`` fails), or a label cannot be
    read from an option under a DOI.

    ``errno`` is the kernel's error for the last tag tried (``EPERM``: no level, or a level or
    category the DOI cannot map; ``ENOSPC``: too many categories for the tag); ``attempts``
    lists ``(tag type, errno name, reason)`` for every tag tried, in the DOI's order.
    """

    errno: str | None
    attempts: tuple[tuple[int, str, str], ...]

    def __init__(
        self,
        reason: str,
        *,
        errno: str | None = None,
        attempts: tuple[tuple[int, str, str], ...] = (),
    ) -> None:
        super().__init__(reason)
        self.errno = errno
        self.attempts = attempts
