"""The shape of a kernel verdict on a received packet's labels, shared by cipso and calipso.

Both protocols answer the same question (what does the Linux receive path do with these
bytes?) with the same kinds and fields; each package's ``Verdict`` adds only how it raises its
own errors (and calipso the check that failed).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = ["VerdictBase", "VerdictKind"]


class VerdictKind(str, enum.Enum):
    """What the Linux kernel does with a received packet (``cipso.VerdictKind`` and
    ``calipso.VerdictKind`` are this class)."""

    ACCEPTED = "accepted"  #: the options pass; the packet goes on
    PARAMETER_PROBLEM = "parameter-problem"  #: dropped with an ICMP(v6) Parameter Problem
    #: dropped silently (IPv4: no ICMP error, no counter; IPv6: counted in Ip6InHdrErrors)
    DROPPED = "dropped"
    TRUNCATED = "truncated"  #: the bytes end before the options do (a capture cut them)

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True, slots=True)
class VerdictBase:
    """The fields and properties of ``cipso.Verdict`` and ``calipso.Verdict`` (see there for
    what each offset counts from)."""

    kind: VerdictKind
    reason: str = ""
    offset: int | None = None
    pointer: int | None = None
    option_start: int | None = None
    in_option: bool = False
    code: int | None = None

    @property
    def accepted(self) -> bool:
        return self.kind is VerdictKind.ACCEPTED

    @property
    def dropped(self) -> bool:
        return self.kind is VerdictKind.DROPPED

    @property
    def option_offset(self) -> int | None:
        """The fault's offset inside the labelling option, when the fault lies there."""
        if not self.in_option or self.offset is None or self.option_start is None:
            return None
        return self.offset - self.option_start
