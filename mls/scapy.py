"""What the labeled-option layers share (:mod:`cipso.scapy`, :mod:`calipso.scapy`), so that both
show what arrived the same way: the MLS label a layer carries (``label``, the ``mls`` field), a
truncated flag, a length byte that may be missing, and the summary of bytes that end early.

Requires the ``scapy`` extra; nothing in :mod:`mls` itself imports this module.
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from scapy.fields import ByteField, Field
from scapy.packet import Packet

from .label import Level

__all__ = [
    "KeptUnderFuzz",
    "LabelField",
    "LabeledLayer",
    "LengthField",
    "NoBytesField",
    "TruncatedField",
    "cut_short_summary",
]

_Value = TypeVar("_Value")


class KeptUnderFuzz:
    """Mixin for a field that ``fuzz()`` leaves as it is, such as a type byte, so that a fuzzed
    option stays the option it was."""

    def randval(self) -> Any:
        return None  # fuzz() skips a field whose randval is None


class NoBytesField(KeptUnderFuzz, Field[_Value, None], Generic[_Value]):
    """A field that takes no bytes on the wire: builds nothing, dissects to ``dissected``
    (``default`` until then), and is never fuzzed."""

    __slots__ = ("_dissected",)

    def __init__(self, name: str, default: _Value, dissected: _Value) -> None:
        super().__init__(name, default)
        self._dissected = dissected

    def addfield(self, pkt: Packet, s: bytes, val: Any) -> bytes:
        return s

    def getfield(self, pkt: Packet, s: bytes) -> tuple[bytes, _Value]:
        return s, self._dissected

    def i2len(self, pkt: Packet | None, x: Any) -> int:
        return 0


class TruncatedField(NoBytesField[bool]):
    """``truncated``: set by dissection when the bytes end before the fields do, so that the
    layer keeps them whole in ``value`` (a field, not an attribute, so that scapy's copies keep
    it). ``shown`` says where they end when set."""

    __slots__ = ("_shown",)

    def __init__(self, shown: str) -> None:
        super().__init__("truncated", False, True)
        self._shown = shown

    def i2repr(self, pkt: Packet | None, x: Any) -> str:
        return f"yes: {self._shown}" if x else "no"


class LabelField(NoBytesField[None]):
    """``mls``: shows the packet's ``label`` (its level as MLS text) in ``show()``."""

    def __init__(self) -> None:
        super().__init__("mls", None, None)

    def i2repr(self, pkt: Packet | None, x: Any) -> str:
        label = getattr(pkt, "label", None)
        return "(none)" if label is None else str(label)


class LengthField(ByteField):
    """A length byte, None when the bytes end at the type byte (and then not built either, when
    the packet is ``truncated``); None otherwise means "compute it"."""

    def getfield(self, pkt: Packet, s: bytes) -> tuple[bytes, int]:
        # scapy's Field types say int, but a length field may be None.
        return (s, None) if not s else super().getfield(pkt, s)  # type: ignore[return-value]

    def addfield(self, pkt: Packet, s: bytes, val: Any) -> bytes:
        missing = val is None and pkt.getfieldval("truncated")
        return s if missing else super().addfield(pkt, s, val)


class LabeledLayer:
    """Mixin for a layer that carries a level: ``label`` is its :attr:`mls_level` as MLS text
    (``s3:c0,c5``). Layers that carry one override :attr:`mls_level`."""

    @property
    def mls_level(self) -> Level | None:
        """The level the layer carries (wire numbers), or None when it carries none."""
        return None

    @property
    def label(self) -> str | None:
        """:attr:`mls_level` as MLS text (``s3:c0,c5``), or None."""
        level = self.mls_level
        return None if level is None else str(level)


def cut_short_summary(
    layer: Packet, protocol: str, length_name: str, *, has_fields: bool
) -> str | None:
    """The summary of an option whose bytes end before its fields do (``truncated``) or whose
    length byte leaves no room for them (not ``has_fields``), or None for any other option."""
    length = layer.getfieldval(length_name)
    if layer.getfieldval("truncated"):
        kept = len(layer.getfieldval("value") or b"")
        return f"{protocol} {length_name}={length} (truncated: {kept} data bytes)"
    if not has_fields:
        return f"{protocol} {length_name}={length} (too short)"
    return None
