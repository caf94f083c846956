"""Decode raw IPv4/IPv6 packets with tshark (Wireshark) and return its CIPSO and CALIPSO fields.

Packets are written to one temporary pcap with link type RAW (LINKTYPE_RAW = 101: each record
is a bare IP packet, version taken from the first nibble) and decoded by a single
``tshark -r FILE -T json --no-duplicate-keys`` run, because tshark takes about half a second to
start. ``--no-duplicate-keys`` turns repeated fields (several tags, several options) into JSON
lists instead of repeated keys.

Field names of this tshark version (4.0; ``tshark -G fields | grep -i cipso`` and ``calipso``):

CIPSO (IPv4 option 134)::

    ip.options.cipso            the option's raw bytes (shown as "aa:bb:..")
    ip.opt.len                  the option length byte (generic IPv4 option field)
    ip.cipso.doi                FT_UINT32
    ip.cipso.tag_type           FT_UINT8, once per tag
    ip.cipso.sensitivity_level  FT_UINT8, tags 1, 2, 5
    ip.cipso.categories         FT_STRING, e.g. "0,5" (tags 1, 2) or "12-10" (tag 5, high-low)
    ip.cipso.tag_data           FT_BYTES, the data of tags tshark does not know
    ip.cipso.malformed          FT_NONE, expert info "Malformed CIPSO tag"

There is no field for a tag's length byte: tshark 4.0 only uses it internally.

CALIPSO (IPv6 option 0x07), inside ``ipv6.opt`` of a hop-by-hop or destination header::

    ipv6.opt.length                 the option data length byte (generic TLV field)
    ipv6.opt.calipso.doi            FT_UINT32
    ipv6.opt.calipso.cmpt.length    FT_UINT8, in 32-bit words
    ipv6.opt.calipso.sens_level     FT_UINT8
    ipv6.opt.calipso.checksum       FT_UINT16 shown big-endian (bytes 8-9 of the option in wire
                                    order; Linux stores the CRC low byte first, so compare bytes)
    ipv6.opt.calipso.cmpt_bitmap    FT_BYTES; tshark reads cmpt.length x 4 bytes even when
                                    that runs past the option, into whatever follows

Expert infos (``_ws.expert.message``) are collected per option and per packet.
"""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "LINKTYPE_RAW",
    "CalipsoFields",
    "CipsoFields",
    "Dissection",
    "TsharkError",
    "dissect",
    "dissect_one",
    "tshark_path",
    "write_pcap",
]

LINKTYPE_RAW = 101


class TsharkError(RuntimeError):
    """tshark is missing or failed."""


@dataclass(frozen=True, slots=True)
class CipsoFields:
    """One CIPSO option as tshark decodes it. Per-tag fields are tuples, one item per tag."""

    option: bytes
    length: int | None
    doi: int | None
    tag_types: tuple[int, ...]
    sensitivity_levels: tuple[int, ...]
    categories: tuple[str, ...]
    tag_data: tuple[bytes, ...]
    malformed: bool
    expert: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class CalipsoFields:
    """One CALIPSO option as tshark decodes it."""

    length: int | None
    doi: int | None
    cmpt_length: int | None
    sens_level: int | None
    checksum: int | None  # as tshark prints it: bytes 8-9 read big-endian
    bitmap: bytes
    expert: tuple[str, ...]

    @property
    def checksum_bytes(self) -> bytes | None:
        """Bytes 8 and 9 of the option in wire order."""
        return None if self.checksum is None else self.checksum.to_bytes(2, "big")


@dataclass(frozen=True, slots=True)
class Dissection:
    """What tshark found in one packet (only the outer IP header; quoted headers are ignored)."""

    cipso: tuple[CipsoFields, ...]
    calipso: tuple[CalipsoFields, ...]
    expert: tuple[str, ...]
    layers: dict[str, Any] = field(compare=False, repr=False)


def tshark_path() -> str | None:
    """The tshark program, or None when it is not installed."""
    return shutil.which("tshark")


def write_pcap(path: str | os.PathLike[str], packets: Iterable[bytes]) -> None:
    """Write raw IP packets to a classic pcap file with link type RAW."""
    with open(path, "wb") as out:
        # Magic, version 2.4, GMT offset, accuracy, snap length, link type (little-endian).
        out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 0xFFFF, LINKTYPE_RAW))
        for number, packet in enumerate(packets):
            # One second apart so that frames are easy to tell apart when read by hand.
            out.write(struct.pack("<IIII", number, 0, len(packet), len(packet)))
            out.write(packet)


def dissect(packets: Sequence[bytes]) -> list[Dissection]:
    """Decode all packets with one tshark run; one :class:`Dissection` per packet, in order."""
    if not packets:
        return []
    program = tshark_path()
    if program is None:
        raise TsharkError("tshark is not installed")
    with tempfile.TemporaryDirectory(prefix="labelnet-tshark-") as tmp:
        pcap = os.path.join(tmp, "packets.pcap")
        write_pcap(pcap, packets)
        # -n: no name resolution (slow, and irrelevant here).
        proc = subprocess.run(
            [program, "-n", "-r", pcap, "-T", "json", "--no-duplicate-keys"],
            capture_output=True,
            text=True,
            check=False,
        )
    if proc.returncode != 0:
        raise TsharkError(f"tshark failed ({proc.returncode}): {proc.stderr.strip()}")
    frames = json.loads(proc.stdout)
    if len(frames) != len(packets):
        raise TsharkError(f"tshark returned {len(frames)} frames for {len(packets)} packets")
    return [_dissection(frame["_source"]["layers"]) for frame in frames]


def dissect_one(packet: bytes) -> Dissection:
    """Decode a single packet (prefer :func:`dissect` for many: tshark starts slowly)."""
    return dissect([packet])[0]


# --------------------------------------------------------------------------------------------


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _walk(node: Any) -> Iterator[tuple[str, Any, dict[str, Any]]]:
    """Yield (key, value, containing dict) for every key in a tshark JSON tree."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield key, value, node
            yield from _walk(value)
    elif isinstance(node, list):
        for item in node:
            yield from _walk(item)


def _expert(node: Any) -> tuple[str, ...]:
    return tuple(
        message
        for key, value, _ in _walk(node)
        if key == "_ws.expert.message"
        for message in _as_list(value)
    )


def _hex(value: str) -> bytes:
    return bytes.fromhex(value.replace(":", ""))


def _int(value: Any) -> int | None:
    items = _as_list(value)
    return int(items[0], 0) if items else None


def _first_layer(layers: dict[str, Any], name: str) -> Any:
    # An IP header quoted inside an ICMP error shows up as a second layer of the same name.
    items = _as_list(layers.get(name))
    return items[0] if items else None


def _cipso_fields(raw: str, tree: dict[str, Any]) -> CipsoFields:
    return CipsoFields(
        option=_hex(raw),
        length=_int(tree.get("ip.opt.len")),
        doi=_int(tree.get("ip.cipso.doi")),
        tag_types=tuple(int(v) for _, v, _ in _fields(tree, "ip.cipso.tag_type")),
        sensitivity_levels=tuple(int(v) for _, v, _ in _fields(tree, "ip.cipso.sensitivity_level")),
        categories=tuple(v for _, v, _ in _fields(tree, "ip.cipso.categories")),
        tag_data=tuple(_hex(v) for _, v, _ in _fields(tree, "ip.cipso.tag_data")),
        malformed=any(key == "ip.cipso.malformed" for key, _, _ in _walk(tree)),
        expert=_expert(tree),
    )


def _fields(tree: Any, name: str) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for key, value, parent in _walk(tree):
        if key == name:
            for item in _as_list(value):
                yield key, item, parent


def _calipso_fields(option: dict[str, Any]) -> CalipsoFields:
    bitmap = option.get("ipv6.opt.calipso.cmpt_bitmap", "")
    return CalipsoFields(
        length=_int(option.get("ipv6.opt.length")),
        doi=_int(option.get("ipv6.opt.calipso.doi")),
        cmpt_length=_int(option.get("ipv6.opt.calipso.cmpt.length")),
        sens_level=_int(option.get("ipv6.opt.calipso.sens_level")),
        checksum=_int(option.get("ipv6.opt.calipso.checksum")),
        bitmap=_hex(bitmap) if isinstance(bitmap, str) else b"",
        expert=_expert(option),
    )


def _dissection(layers: dict[str, Any]) -> Dissection:
    cipso: list[CipsoFields] = []
    calipso: list[CalipsoFields] = []
    ip = _first_layer(layers, "ip")
    if ip is not None:
        for key, value, parent in _walk(ip):
            if key == "ip.options.cipso":
                trees = _as_list(parent.get("ip.options.cipso_tree"))
                for index, raw in enumerate(_as_list(value)):
                    tree = trees[index] if index < len(trees) else {}
                    cipso.append(_cipso_fields(raw, tree))
    ipv6 = _first_layer(layers, "ipv6")
    if ipv6 is not None:
        for key, value, _ in _walk(ipv6):
            if key == "ipv6.opt":
                for option in _as_list(value):
                    if isinstance(option, dict) and "ipv6.opt.calipso.doi" in option:
                        calipso.append(_calipso_fields(option))
    return Dissection(tuple(cipso), tuple(calipso), _expert(layers), layers)
