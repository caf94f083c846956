"""Write the seed inputs into fuzz/corpus/<target>/ (from a checkout):

    python -m fuzz.seeds

Seeds are the shipped vectors (cipso.vectors(), calipso.vectors(), tests/ipsec/vectors.json),
the examples of the documentation, and every reproducer of a bug found so far. Files are named
by the SHA-1 of their content, so writing twice changes nothing and the inputs a fuzzer adds
sit beside them.
"""

from __future__ import annotations

import hashlib
import json
import re
import struct
from collections.abc import Iterable, Iterator
from pathlib import Path

import calipso
import cipso
from labelnet.capture import write_pcap

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "fuzz" / "corpus"
SETRANS_EXAMPLES = Path("/usr/share/doc/mcstrans/examples")

#: Inputs that once broke an entry point (or its contract), by target.
REPRODUCERS: dict[str, list[bytes]] = {
    "ipsec_setkey": [
        b"-ctx " + b"1" * 4400 + b' 1 "u:r:t"',
        '-ctx \u0663 1 "u:r:t"'.encode(),
        '-ctx 1 \u00b2 "u:r:t"'.encode(),
        b"spdadd -P",
        b"spdadd -P out none;",
        b'-ctx 1 1 "a:b:c"d""',
        b'spdadd 10.0.0.1 10.0.0.2 any -ctx 1 1 "a:b:c"d"" -P out none;',
        b"flush;",
        b'spdadd tagged "t" -P out none;',
        b"add esp 0x201 -E null;",
    ],
    # selector byte 1: decode_xfrm_attr, little-endian; the flag bit 0x8000 on the type.
    "ipsec_wire": [b"\x01" + bytes.fromhex("0c00088008000800 00000000")],
    "mls_text": [b"s" + b"1" * 4400, "s\u0663:c\u00b2".encode(), b"s0:c0.c" + b"9" * 5000],
    "cipso_doi": [b"pass doi:" + b"1" * 4400 + b" tags:1", "pass doi:\u0663 tags:1".encode()],
    "calipso_doi": [b"pass doi:" + b"9" * 4400, "pass doi:\u00b2".encode()],
    "netlabel_ctl": [b"pass doi:" + b"1" * 4400 + b" tags:1", b"map add default address:"],
    "mls_translate": [b"s0=" + b"x" * 300 + b"\0s0", b"Include=/etc/passwd\n\0s0"],
}


def _docs_lines(pattern: str) -> Iterator[str]:
    regex = re.compile(pattern)
    for path in sorted([*ROOT.glob("docs/*.md"), ROOT / "README.md"]):
        for line in path.read_text().splitlines():
            for match in regex.finditer(line):
                yield match.group(0)


def _pcap(packets: Iterable[bytes], *, pcapng: bool = False) -> bytes:
    import tempfile

    from labelnet.capture import LinkType, write_pcapng

    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "capture"
        if pcapng:
            write_pcapng(
                path, [(0, float(n), packet) for n, packet in enumerate(packets)], (LinkType.RAW,)
            )
        else:
            write_pcap(path, [(float(n), packet) for n, packet in enumerate(packets)], LinkType.RAW)
        return path.read_bytes()


def _far_time_capture(packet: bytes) -> bytes:
    """A pcapng file of one raw IP packet on an interface whose if_tsoffset is 2**62 s: a
    time past 2262, which stopped ``--format parquet`` with pyarrow's OverflowError."""

    def block(kind: int, body: bytes) -> bytes:
        body += bytes(-len(body) % 4)
        return struct.pack("<II", kind, 12 + len(body)) + body + struct.pack("<I", 12 + len(body))

    section = block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))
    offset = struct.pack("<HHq", 14, 8, 2**62) + bytes(4)  # if_tsoffset, end of options
    interface = block(1, struct.pack("<HHI", 101, 0, 0) + offset)  # LINKTYPE_RAW
    enhanced = struct.pack("<IIIII", 0, 0, 5, len(packet), len(packet)) + packet
    return section + interface + block(6, enhanced)


def _ipv4(area: bytes) -> bytes:
    area = area[:40] + bytes(-len(area[:40]) % 4)
    size = 20 + len(area)
    header = struct.pack(
        ">BBHHHBBH4s4s", 0x40 | size // 4, 0, size, 0, 0, 64, 17, 0, b"\n\0\0\1", b"\n\0\0\2"
    )
    return header + area


def _ipv6(hop_by_hop: bytes) -> bytes:
    fixed = struct.pack(">IHBB16s16s", 0x60000000, len(hop_by_hop), 0, 64, bytes(16), bytes(16))
    return fixed + hop_by_hop


def seeds() -> dict[str, set[bytes]]:
    found: dict[str, set[bytes]] = {name: set() for name in _targets()}
    _from_vectors(found)
    _from_docs(found)
    vectors = json.loads((ROOT / "tests" / "ipsec" / "vectors.json").read_text())
    for vector in vectors["xfrm_attr"]:
        data = bytes.fromhex(vector["hex"])
        found["ipsec_wire"].add(b"\x01" + data)  # decode_xfrm_attr, little-endian
        found["ipsec_wire"].add(b"\x00" + data[4:])  # the struct inside
    found["ipsec_wire"].update(_ipsec_built())
    if SETRANS_EXAMPLES.is_dir():
        for example in sorted(SETRANS_EXAMPLES.iterdir()):
            # Each example with its setrans.d fragments inline (the target follows no Include).
            text = b"".join(path.read_bytes() for path in sorted(example.rglob("*.conf")))
            text = re.sub(rb"(?m)^Include=.*$", b"", text)
            found["mls_translate"].add(text + b"\0s0\0SystemLow\0s0-s15:c0.c1023\0s2:c1")
    for name, inputs in REPRODUCERS.items():
        found[name].update(inputs)
    return found


def _from_vectors(found: dict[str, set[bytes]]) -> None:
    """The shipped corpora: options, areas, headers, their DOIs, and captures of them."""
    cipso_vectors = cipso.vectors()
    calipso_vectors = calipso.vectors()
    for vector in cipso_vectors:
        if vector.option is not None:
            found["cipso_option"].add(vector.option)
        found["cipso_option"].add(vector.area)
        found["scapy_cipso"].add(vector.area)
        found["cipso_doi"].update(text.encode() for text in vector.dois)
        found["netlabel_ctl"].update(text.encode() for text in vector.dois)
    for vector6 in calipso_vectors:
        if vector6.option is not None:
            found["calipso_option"].add(vector6.option)
            found["mls_bitmap"].add(vector6.option[10:])
        found["calipso_header"].add(vector6.header)
        found["scapy_calipso"].add(vector6.header[2:])
        found["calipso_doi"].update(text.encode() for text in vector6.dois)
    found["capture"].add(_pcap(_ipv4(v.area) for v in cipso_vectors))
    found["capture"].add(_pcap(_ipv6(v.header) for v in calipso_vectors))
    found["capture"].add(_pcap((_ipv4(v.area) for v in cipso_vectors[:8]), pcapng=True))
    found["capture"].add(_pcap((_ipv6(v.header) for v in calipso_vectors[:8]), pcapng=True))
    found["columnar"].update(found["capture"])
    found["columnar"].add(_far_time_capture(_ipv4(cipso_vectors[0].area)))


def _from_docs(found: dict[str, set[bytes]]) -> None:
    """Examples in the guide: DOI definitions, netlabelctl commands, setkey text, labels."""
    for line in _docs_lines(r"(?:cipso add |calipso add )?(?:pass|trans|std|local) doi:[^`\"'|]*"):
        found["cipso_doi"].add(line.strip().encode())
        found["calipso_doi"].add(line.strip().encode())
        found["netlabel_ctl"].add(line.strip().encode())
    for line in _docs_lines(r"map (?:add|del) [^`\"'|]*|unlbl [^`\"'|]*"):
        found["netlabel_ctl"].add(line.split(" ", 2)[-1].encode())
    for line in _docs_lines(r"(?:add|update|spdadd|spdupdate|spddelete) [^`']*;"):
        found["ipsec_setkey"].add(line.encode())
    for line in _docs_lines(r'-ctx \d+ \d+ "[^"]*"'):
        found["ipsec_setkey"].add(line.encode())
    for line in _docs_lines(
        r"\b[a-z_]+:[a-z_]+:[a-z_]+(?::s\d+[^\s`'\",)]*)?|\bs\d+(?:-s\d+)?:c[\d.,c]*"
    ):
        found["mls_text"].add(line.encode())


def _ipsec_built() -> Iterator[bytes]:
    from labelnet import ipsec

    context = "system_u:object_r:ipsec_spd_t:s0-s15:c0.c1023"
    xfrm = ipsec.XfrmSecCtx.from_context(context)
    sadb = ipsec.SadbSecCtx.from_context(context)
    for selector, order in ((0, "little"), (0x80, "big")):
        yield bytes([selector]) + ipsec.encode_xfrm_sec_ctx(xfrm, byteorder=order)  # type: ignore[arg-type]
        yield bytes([selector | 1]) + ipsec.encode_xfrm_attr(xfrm, byteorder=order)  # type: ignore[arg-type]
        yield bytes([selector | 2]) + ipsec.encode_sadb_sec_ctx(sadb, byteorder=order)  # type: ignore[arg-type]
    label = ipsec.SecLabelSelector(context.encode() + b"\0")
    yield b"\x03" + ipsec.encode_ts_payload(ipsec.TrafficSelectorPayload((label,)))
    yield b"\x04" + ipsec.encode_traffic_selector(label)


def _targets() -> list[str]:
    from fuzz.targets import TARGETS

    return list(TARGETS)


def write(found: dict[str, set[bytes]]) -> int:
    written = 0
    for name, inputs in found.items():
        directory = CORPUS / name
        directory.mkdir(parents=True, exist_ok=True)
        for data in inputs:
            path = directory / hashlib.sha1(data).hexdigest()
            if not path.exists():
                path.write_bytes(data)
                written += 1
    return written


if __name__ == "__main__":
    print(f"{write(seeds())} new seed files in {CORPUS}")
