"""The capture reader: file formats, link types, framing across segment boundaries, broken
files."""

from __future__ import annotations

import io
import struct
import tempfile
from pathlib import Path

import dpkt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from labelnet.capture import (
    CaptureError,
    LabeledPacket,
    LinkType,
    Segment,
    is_capture_magic,
    labeled_packets,
    read_segments,
    write_pcap,
    write_pcapng,
)

from .packets import (
    calipso_header,
    carried_by,
    cipso_option,
    ethernet,
    frame,
    ipv4,
    ipv6,
)

CIPSO = cipso_option(3, "s3:c0,c5")
HOP_BY_HOP = calipso_header(2, "s1:c7")


def mixed_packets() -> list[bytes]:
    """Labeled and unlabeled IPv4 and IPv6 packets, labeled ones at odd positions."""
    return [
        ipv4("10.0.0.1", "10.0.0.2"),  # 1: no options
        ipv4("10.0.0.1", "10.0.0.2", CIPSO),  # 2
        ipv6("2001:db8::1", "2001:db8::2"),  # 3: no hop-by-hop header
        ipv6("2001:db8::1", "2001:db8::2", HOP_BY_HOP),  # 4
        ipv4("10.0.0.3", "10.0.0.4", bytes([7, 7, 4, 0, 0, 0, 0])),  # 5: record route only
        ipv4("10.0.0.5", "10.0.0.6", b"\x01\x01" + CIPSO),  # 6: NOPs first
    ]


def test_a_cipso_byte_after_eol_is_only_a_candidate(tmp_path: Path) -> None:
    # The reader's quick test only looks for the byte; the dump's exact walk drops the packet.
    path = tmp_path / "eol.pcap"
    write_pcap(path, [(0, ethernet(ipv4("10.0.0.7", "10.0.0.8", b"\x00" + CIPSO)))])
    assert [f.number for f in read_all(path)] == [1]


def read_all(path: Path | bytes, chunk_size: int = 1 << 20) -> list[LabeledPacket]:
    stream = io.BytesIO(path) if isinstance(path, bytes) else path.open("rb")
    with stream:
        return [p for s in read_segments(stream, chunk_size) for p in labeled_packets(s)]


@pytest.mark.parametrize("linktype", [int(t) for t in LinkType])
def test_every_link_type_finds_the_labeled_packets(tmp_path: Path, linktype: int) -> None:
    packets = carried_by(linktype, mixed_packets())
    path = tmp_path / "c.pcap"
    write_pcap(path, [(i, frame(linktype, p)) for i, p in enumerate(packets)], linktype)
    found = read_all(path)
    expected = [(i + 1, p) for i, p in enumerate(packets) if CIPSO in p or HOP_BY_HOP[2:] in p]
    assert [f.number for f in found] == [n for n, _ in expected]
    for record in found:
        packet = packets[record.number - 1]
        if record.version == 4:
            assert record.source == packet[12:16] and record.destination == packet[16:20]
            assert CIPSO in record.area
        else:
            assert record.source == packet[8:24] and record.destination == packet[24:40]
            assert record.area[2:] == HOP_BY_HOP[2:]
        assert not record.truncated


@pytest.mark.parametrize(
    "vlans",
    [[(0x8100, 10)], [(0x88A8, 100), (0x8100, 10)], [(0x9100, 1), (0x8100, 2), (0x8100, 3)]],
)
def test_vlan_tags_are_skipped(tmp_path: Path, vlans: list[tuple[int, int]]) -> None:
    path = tmp_path / "vlan.pcap"
    packets = [
        ethernet(ipv4("10.0.0.1", "10.0.0.2", CIPSO), vlans),
        ethernet(ipv6("::1", "::2", HOP_BY_HOP), vlans),
    ]
    write_pcap(path, list(enumerate(packets)))  # type: ignore[arg-type]
    found = read_all(path)
    assert [(f.number, f.version) for f in found] == [(1, 4), (2, 6)]


def test_non_ip_frames_are_skipped(tmp_path: Path) -> None:
    arp = bytes(12) + b"\x08\x06" + bytes(28)
    short = bytes(10)
    path = tmp_path / "other.pcap"
    labeled = ethernet(ipv4("10.0.0.1", "10.0.0.2", CIPSO))
    write_pcap(path, [(0, arp), (1, short), (2, labeled)])
    assert [f.number for f in read_all(path)] == [3]


def test_timestamps_micro_nano_and_byte_orders(tmp_path: Path) -> None:
    packet = ethernet(ipv4("10.0.0.1", "10.0.0.2", CIPSO))
    for nano, big in [(False, False), (True, False), (False, True), (True, True)]:
        path = tmp_path / f"t{nano}{big}.pcap"
        stamp = (1700000000, 123456789 if nano else 123456)
        write_pcap(path, [(stamp, packet)], nanoseconds=nano, big_endian=big)
        (found,) = read_all(path)
        assert found.time == ("1700000000.123456789" if nano else "1700000000.123456")


def test_pcapng_with_interfaces_of_different_link_types(tmp_path: Path) -> None:
    path = tmp_path / "multi.pcapng"
    v4 = ipv4("10.0.0.1", "10.0.0.2", CIPSO)
    v6 = ipv6("2001:db8::1", "2001:db8::2", HOP_BY_HOP)
    linktypes = (LinkType.ETHERNET, LinkType.LINUX_SLL2, LinkType.RAW)
    packets = [
        (index, (1700000000 + n, 5), frame(linktypes[index], p))
        for n, (index, p) in enumerate([(0, v4), (1, v6), (2, v4), (2, v6), (1, v4), (0, v6)])
    ]
    for big in (False, True):
        write_pcapng(path, packets, linktypes, big_endian=big)
        found = read_all(path)
        assert [(f.number, f.version) for f in found] == [
            (1, 4),
            (2, 6),
            (3, 4),
            (4, 6),
            (5, 4),
            (6, 6),
        ]
        assert found[2].time == "1700000002.000005"


def _block(kind: int, body: bytes) -> bytes:
    body += bytes(-len(body) % 4)
    return struct.pack("<II", kind, 12 + len(body)) + body + struct.pack("<I", 12 + len(body))


def test_pcapng_timestamp_resolution_offset_and_simple_packets() -> None:
    packet = ethernet(ipv4("10.0.0.1", "10.0.0.2", CIPSO))
    shb = _block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))
    # if_tsresol = 9 (nanoseconds), if_tsoffset = 100 s, end of options
    options = struct.pack("<HHB3x", 9, 1, 9) + struct.pack("<HHq", 14, 8, 100) + bytes(4)
    idb_ns = _block(1, struct.pack("<HHI", 1, 0, 0) + options)
    # if_tsresol = 2^-10 seconds
    idb_binary = _block(
        1, struct.pack("<HHI", 1, 0, 0) + struct.pack("<HHB3x", 9, 1, 0x8A) + bytes(4)
    )
    ticks = 1_700_000_000_123_456_789
    epb = _block(
        6,
        struct.pack("<IIIII", 0, ticks >> 32, ticks & 0xFFFFFFFF, len(packet), len(packet))
        + packet,
    )
    binary_ticks = (5 << 10) + 512  # 5.5 s
    epb2 = _block(6, struct.pack("<IIIII", 1, 0, binary_ticks, len(packet), len(packet)) + packet)
    spb = _block(3, struct.pack("<I", len(packet)) + packet)
    name_resolution = _block(4, bytes(4))
    data = shb + idb_ns + idb_binary + name_resolution + epb + epb2 + spb
    found = read_all(data)
    assert [(f.number, f.time) for f in found] == [
        (1, "1700000100.123456789"),
        (2, "5.500000000"),
        (3, ""),
    ]
    # A second section starts over: new byte order is read, interfaces numbered from 0.
    found = read_all(data + shb + idb_ns + epb)
    assert [f.number for f in found] == [1, 2, 3, 4]


def test_segments_split_anywhere_give_the_same_packets(tmp_path: Path) -> None:
    packets = [frame(LinkType.ETHERNET, p) for p in mixed_packets() * 5]
    pcap = tmp_path / "a.pcap"
    pcapng = tmp_path / "a.pcapng"
    write_pcap(pcap, list(enumerate(packets)))  # type: ignore[arg-type]
    write_pcapng(pcapng, [(0, i, p) for i, p in enumerate(packets)])
    for path in (pcap, pcapng):
        whole = read_all(path)
        assert len(whole) == 15
        for chunk in (1, 7, 64, 100, 333):
            assert read_all(path, chunk) == whole


def _outcome(data: bytes, chunk: int) -> tuple[list[LabeledPacket], tuple[object, ...] | None]:
    """The packets read before the file breaks, and how it breaks (or None)."""
    found: list[LabeledPacket] = []
    try:
        for segment in read_segments(io.BytesIO(data), chunk):
            found.extend(labeled_packets(segment))
    except CaptureError as error:
        return found, (error.reason, error.offset, error.packet)
    return found, None


def _sample_captures() -> list[bytes]:
    packets = [frame(LinkType.ETHERNET, p) for p in mixed_packets() * 2]
    with tempfile.TemporaryDirectory() as directory:
        pcap, pcapng = Path(directory, "a.pcap"), Path(directory, "a.pcapng")
        write_pcap(pcap, list(enumerate(packets)))  # type: ignore[arg-type]
        write_pcapng(pcapng, [(0, i, p) for i, p in enumerate(packets)])
        return [pcap.read_bytes(), pcapng.read_bytes()]


SAMPLES = _sample_captures()


@settings(max_examples=300, deadline=None)
@given(
    which=st.sampled_from(range(len(SAMPLES))),
    changes=st.lists(st.tuples(st.integers(0, 1 << 16), st.integers(0, 255)), max_size=4),
    cut=st.integers(0, 1 << 16),
    chunk=st.sampled_from([1, 7, 64, 333, 4096]),
)
def test_a_broken_capture_reads_the_same_whatever_the_read_size(
    which: int, changes: list[tuple[int, int]], cut: int, chunk: int
) -> None:
    # Bytes changed and the file cut anywhere: the same packets, then the same error, as in
    # one read (a corrupt header once lost the good records read with it).
    data = bytearray(SAMPLES[which])
    for at, value in changes:
        data[at % len(data)] = value
    data = data[: len(data) - cut % len(data)]
    assert _outcome(bytes(data), chunk) == _outcome(bytes(data), 1 << 20)


def test_segments_are_self_contained_and_picklable(tmp_path: Path) -> None:
    import pickle

    path = tmp_path / "a.pcapng"
    packets = [frame(LinkType.ETHERNET, p) for p in mixed_packets() * 3]
    write_pcapng(path, [(0, i, p) for i, p in enumerate(packets)])
    with path.open("rb") as stream:
        segments = list(read_segments(stream, 200))
    assert len(segments) > 3
    copies = [pickle.loads(pickle.dumps(s)) for s in segments]
    assert [p for s in reversed(copies) for p in labeled_packets(s)] == [
        p for s in reversed(segments) for p in labeled_packets(s)
    ]
    assert all(isinstance(s, Segment) for s in copies)


def test_reads_what_dpkt_writes(tmp_path: Path) -> None:
    packets = [frame(LinkType.ETHERNET, p) for p in mixed_packets()]
    pcap = tmp_path / "dpkt.pcap"
    pcapng = tmp_path / "dpkt.pcapng"
    with pcap.open("wb") as out:
        writer = dpkt.pcap.Writer(out, nano=True)
        for number, packet in enumerate(packets):
            writer.writepkt(packet, ts=1700000000 + number + 0.25)
    with pcapng.open("wb") as out:
        writer = dpkt.pcapng.Writer(out)
        for number, packet in enumerate(packets):
            writer.writepkt(packet, ts=1700000000 + number + 0.25)
    for path in (pcap, pcapng):
        found = read_all(path)
        assert [f.number for f in found] == [2, 4, 6]
        assert found[0].time.startswith("1700000001.25")


# -- broken files -------------------------------------------------------------------------------


def _capture(tmp_path: Path, count: int = 5) -> bytes:
    path = tmp_path / "good.pcap"
    packet = ethernet(ipv4("10.0.0.1", "10.0.0.2", CIPSO))
    write_pcap(path, [(i, packet) for i in range(count)])
    return path.read_bytes()


def test_truncated_pcap_reports_the_packet_after_the_good_ones(tmp_path: Path) -> None:
    data = _capture(tmp_path)
    record = (len(data) - 24) // 5
    for cut in (3, 16, record - 1):
        truncated = data[: 24 + 3 * record + cut]
        seen: list[int] = []
        with pytest.raises(CaptureError) as caught:
            for segment in read_segments(io.BytesIO(truncated), 64):
                seen.extend(p.number for p in labeled_packets(segment))
        assert seen == [1, 2, 3]
        assert caught.value.packet == 4
        assert caught.value.offset == 24 + 3 * record
        assert "truncated" in str(caught.value)


def test_corrupt_record_length(tmp_path: Path) -> None:
    # The records before the corrupt one are read first, whether they share its read of the
    # file or not (regression: a corrupt header lost the good records of its read).
    data = bytearray(_capture(tmp_path))
    record = (len(data) - 24) // 5
    struct.pack_into("<I", data, 24 + 2 * record + 8, 0x7FFFFFFF)
    for chunk in (1 << 20, 64, record):
        seen: list[int] = []
        with pytest.raises(CaptureError, match="corrupt record") as caught:
            for segment in read_segments(io.BytesIO(bytes(data)), chunk):
                seen.extend(p.number for p in labeled_packets(segment))
        assert seen == [1, 2]
        assert caught.value.packet == 3
        assert caught.value.offset == 24 + 2 * record


class CountedReads(io.BytesIO):
    """A stream that counts the reads asked of it."""

    reads = 0

    def read(self, size: int | None = -1, /) -> bytes:
        self.reads += 1
        return super().read(size)


def test_records_longer_than_a_read_are_read_whole() -> None:
    # Regression: a record or block longer than the read size was read piece by piece, its
    # buffer copied at each piece (16 MiB records in 256 KiB reads: 17x the time of the same
    # bytes in small records; in 64-byte reads, millions of copies).
    size = 1 << 20
    pcap = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 16 << 20, 1)
    pcap += (struct.pack("<IIII", 0, 0, size, size) + bytes(size)) * 4
    shb = _block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))
    idb = _block(1, struct.pack("<HHI", 1, 0, 0))
    epb = _block(6, struct.pack("<IIIII", 0, 0, 0, size, size) + bytes(size))
    for data in (pcap, shb + idb + epb * 4):
        stream = CountedReads(data)
        segments = list(read_segments(stream, 64))
        assert sum(segment.packets for segment in segments) == 4
        assert b"".join(segment.data for segment in segments) in data
        assert stream.reads < 40  # one long read per record, a few short ones around it


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "too short"),
        (b"GIF89a" + bytes(30), "not a pcap or pcapng"),
        (struct.pack("<IHH", 0xA1B2C3D4, 2, 4), "truncated"),
        (struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 105), "link type 105"),
        (struct.pack("<IHHiIII", 0xA1B2C3D4, 3, 4, 0, 0, 65535, 1), "version"),
    ],
)
def test_not_a_readable_capture(data: bytes, message: str) -> None:
    with pytest.raises(CaptureError, match=message):
        list(read_segments(io.BytesIO(data)))


@given(head=st.binary(min_size=4, max_size=4))
def test_capture_magic_is_what_the_reader_takes(head: bytes) -> None:
    # is_capture_magic (the command's look at standard input before -o is made) and the
    # reader agree on every four bytes: the reader calls them no capture exactly when the
    # predicate says no.
    try:
        list(read_segments(io.BytesIO(head + bytes(60))))
    except CaptureError as error:
        refused = "not a pcap or pcapng" in error.reason
    else:
        refused = False
    assert refused == (not is_capture_magic(head))


def test_capture_magics() -> None:
    for magic in (0xA1B2C3D4, 0xA1B23C4D):
        assert is_capture_magic(magic.to_bytes(4, "big"))
        assert is_capture_magic(magic.to_bytes(4, "little"))
    assert is_capture_magic(b"\x0a\x0d\x0d\x0a")
    assert not is_capture_magic(b"GIF8")
    assert not is_capture_magic(b"\xa1\xb2\xc3")  # three bytes say nothing


def test_broken_pcapng_blocks() -> None:
    shb = _block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))
    idb = _block(1, struct.pack("<HHI", 1, 0, 0))
    packet = ethernet(ipv4("10.0.0.1", "10.0.0.2", CIPSO))
    epb = _block(6, struct.pack("<IIIII", 0, 0, 0, len(packet), len(packet)) + packet)
    cases = {
        "ends inside a block": shb + idb + epb + epb[:-3],
        "impossible": shb + idb + epb + struct.pack("<II", 6, 13) + bytes(8),
        "at its end": shb + idb + epb + epb[:-4] + b"\x00\x01\x00\x00",
        "interface 0, but only 0": shb + epb,
        "does not fit": shb + idb + _block(6, struct.pack("<IIIII", 0, 0, 0, 5000, 5000) + packet),
        "byte-order magic": _block(0x0A0D0D0A, struct.pack("<IHHq", 0x12345678, 1, 0, -1)),
        "link type 147": shb + _block(1, struct.pack("<HHI", 147, 0, 0)) + epb,
    }
    # Packets before the broken block are read first, in the same read of the file or not.
    before = {"ends inside a block": 1, "impossible": 1, "at its end": 1}
    for message, data in cases.items():
        for chunk in (1 << 20, 64):
            seen: list[int] = []
            with pytest.raises(CaptureError, match=message):
                for segment in read_segments(io.BytesIO(data), chunk):
                    seen.extend(p.number for p in labeled_packets(segment))
            assert len(seen) == before.get(message, 0), (message, chunk)


def test_options_cut_by_the_snapshot_length_are_marked(tmp_path: Path) -> None:
    path = tmp_path / "snap.pcap"
    packet = ethernet(ipv4("10.0.0.1", "10.0.0.2", cipso_option(3, "s3:c0.c100")))
    write_pcap(path, [(0, packet)], snaplen=14 + 20 + 8)
    (found,) = read_all(path)
    assert found.truncated and len(found.area) == 8


def test_an_interface_of_another_link_type_without_packets_is_fine() -> None:
    # Regression: describing a USB interface (link type 189) used to break the packet walk.
    shb = _block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))
    usb = _block(1, struct.pack("<HHI", 189, 0, 0))
    ether = _block(1, struct.pack("<HHI", 1, 0, 0))
    packet = ethernet(ipv4("10.0.0.1", "10.0.0.2", CIPSO))
    epb = _block(6, struct.pack("<IIIII", 1, 0, 0, len(packet), len(packet)) + packet)
    assert [f.number for f in read_all(shb + usb + ether + epb)] == [1]
    on_usb = _block(6, struct.pack("<IIIII", 0, 0, 0, len(packet), len(packet)) + packet)
    with pytest.raises(CaptureError, match="link type 189"):
        read_all(shb + usb + ether + epb + on_usb)


@pytest.mark.parametrize("linktype", [LinkType.LINUX_SLL, LinkType.LINUX_SLL2, LinkType.ETHERNET])
@pytest.mark.parametrize("tags", [996, 60_000])
def test_thousands_of_stacked_vlan_tags(tmp_path: Path, linktype: LinkType, tags: int) -> None:
    # Regression: the cooked-capture walk recursed once per tag (RecursionError at ~1,000).
    head = {LinkType.LINUX_SLL: 14, LinkType.LINUX_SLL2: 0, LinkType.ETHERNET: 12}[linktype]
    stack = bytes(head) + b"\x81\x00\x00\x00" * tags
    if linktype == LinkType.LINUX_SLL2:
        stack = b"\x81\x00" + bytes(20) + stack[4:]  # protocol field, then the payload's tags
    labeled = ipv4("10.0.0.1", "10.0.0.2", CIPSO)
    path = tmp_path / "vlans.pcap"
    write_pcap(
        path,
        [(0, stack), (1, stack + b"\x08\x00" + labeled)],
        linktype,
        snaplen=1 << 20,
    )
    found = read_all(path)
    assert [(f.number, f.source) for f in found] == [(2, bytes((10, 0, 0, 1)))]


def test_a_frame_shorter_than_an_ethernet_header_is_not_read_past(tmp_path: Path) -> None:
    # The next record's bytes must not be taken for this frame's EtherType and IP header.
    labeled = ethernet(ipv4("10.0.0.1", "10.0.0.2", CIPSO))
    path = tmp_path / "short.pcap"
    write_pcap(path, [(0, bytes(12)), (1, b"\x08\x00" + labeled[14:]), (2, labeled)])
    assert [f.number for f in read_all(path)] == [3]


def test_many_tiny_sections_cost_in_proportion_to_the_file() -> None:
    # Regression: every section starts a segment, and each segment used to copy the rest of
    # the 1 MB read buffer, so 1 MB of 28-byte section headers copied about 40 GB (minutes);
    # the buffer's framed part is now dropped once per read.
    shb = _block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))
    stream = io.BytesIO(shb * 40_000 + shb[:20])
    segments = 0
    with pytest.raises(CaptureError, match="truncated") as caught:
        for segment in read_segments(stream):
            segments += 1
            assert segment.data == shb and segment.end == segments * len(shb)
    assert segments == 40_000 and caught.value.offset == len(shb) * 40_000
