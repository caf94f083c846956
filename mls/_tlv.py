"""The type-length-value option shared by IPv4 options areas and IPv6 hop-by-hop headers.

Both carry options as a type byte, a length byte and data, with some types made of the type
byte alone; ``cipso.Tlv`` and ``calipso.Tlv`` name those types and add what their container
says about an option.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar


@dataclass(frozen=True, slots=True)
class TlvBase:
    """One option of a container: its offset there, its type and its data (the bytes after
    the type and length bytes; empty for a one-byte option).

    ``fault`` is set only by a tolerant walk (``iter_options(strict=False)``), on the last
    option it yields: the walk cannot go on past it, ``fault`` says why and ``fault_offset``
    is the byte at fault; ``data`` is then what the container holds of it.
    """

    #: The option types made of their type byte alone (no length byte, no data).
    SINGLE_BYTE_TYPES: ClassVar[frozenset[int]] = frozenset()

    offset: int
    type: int
    data: bytes
    fault: str = ""
    fault_offset: int | None = None

    @property
    def size(self) -> int:
        """Bytes the option takes (1 for a one-byte option)."""
        return 1 if self.type in self.SINGLE_BYTE_TYPES else 2 + len(self.data)

    @property
    def end(self) -> int:
        """Offset of the first byte after the option."""
        return self.offset + self.size
