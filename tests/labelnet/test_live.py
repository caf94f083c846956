"""The parts of ``labelnet dump -i`` that need no kernel: the capture filter run by a small
classic BPF interpreter, the SLL2 framing, the pcapng writer and the command line's refusals.
(tests/kernel/test_live.py runs the same filter in the kernel, and the capture itself.)"""

from __future__ import annotations

import io
import struct
from pathlib import Path

import pytest

from labelnet import live
from labelnet.__main__ import main
from labelnet.capture import LinkType, PcapngWriter, ipv4_packet, ipv6_packet, labeled_frame
from labelnet.dump import DumpSettings, dump

CIPSO_AREA = bytes.fromhex("860b00000007010500038400")  # DOI 7, tag 1, s3:c0,c5 (+ EOL pad)
PAD1_HEADER = bytes((17, 1)) + bytes(14)  # 16 bytes: 14 Pad1 options, no CALIPSO


def run_filter(protocol: int, data: bytes) -> int:
    """What :data:`labelnet.live.FILTER` returns for a cooked packet: a tiny interpreter of
    the instructions it uses (loads past the end drop the packet, as in the kernel)."""
    accumulator = 0
    pc = 0
    program = live.FILTER
    while True:
        code, jt, jf, k = program[pc]
        pc += 1
        if code == 0x28:  # ldh [k]
            if k == 0xFFFFF000:
                accumulator = protocol
            elif k + 2 > len(data):
                return 0
            else:
                accumulator = int.from_bytes(data[k : k + 2], "big")
        elif code == 0x30:  # ldb [k]
            if k >= len(data):
                return 0
            accumulator = data[k]
        elif code == 0x54:
            accumulator &= k
        elif code in (0x15, 0x25):
            taken = accumulator == k if code == 0x15 else accumulator > k
            pc += jt if taken else jf
        elif code == 0x06:
            return k
        else:
            raise AssertionError(f"instruction {code:#x} is not expected in the filter")


def v4(options: bytes = b"") -> bytes:
    return ipv4_packet("10.0.0.1", "10.0.0.2", options, b"payload!")


def v6(first: int, header: bytes = b"") -> bytes:
    packet = ipv6_packet("fd00::1", "fd00::2", None, header + b"payload!", protocol=first)
    return packet


TAG = struct.pack("!H", 10)  # the TCI of a tag left in front of the payload
CASES = [
    ("IPv4 without options", 0x0800, v4(), False),
    ("IPv4 with Router Alert", 0x0800, v4(bytes((0x94, 4, 0, 0))), True),
    ("IPv4 with CIPSO", 0x0800, v4(CIPSO_AREA), True),
    ("IPv6, UDP first", 0x86DD, v6(17), False),
    ("IPv6, hop-by-hop first", 0x86DD, v6(0, bytes((17, 0, 1, 4, 0, 0, 0, 0))), True),
    ("IPv6, destination options first", 0x86DD, v6(60, bytes((17, 0, 1, 4)) + bytes(4)), True),
    ("IPv6, routing header first", 0x86DD, v6(43, bytes(8)), False),
    ("ARP", 0x0806, bytes(28), False),
    ("tag left in front, IPv4 with options", 0x8100, TAG + b"\x08\x00" + v4(CIPSO_AREA), True),
    ("802.1ad tag left in front, IPv4", 0x88A8, TAG + b"\x08\x00" + v4(), False),
    ("tag left in front, IPv6 hop-by-hop", 0x9100, TAG + b"\x86\xdd" + v6(0, bytes(8)), True),
    ("two tags left in front", 0x8100, TAG + b"\x81\x00" + TAG + b"\x08\x00" + v4(), False),
    ("empty IPv4 packet", 0x0800, b"", False),
]  # fmt: skip


@pytest.mark.parametrize(("name", "protocol", "data", "passes"), CASES, ids=[c[0] for c in CASES])
def test_filter(name: str, protocol: int, data: bytes, passes: bool) -> None:
    assert run_filter(protocol, data) == (live.SNAPLEN if passes else 0)


def test_the_filter_table_is_assembled_with_forward_jumps_and_says_what_it_tests() -> None:
    assert len(live.FILTER) == len(live._PROGRAM) <= 64
    where = {step[0]: index for index, step in enumerate(live._PROGRAM) if step[0]}
    for index, ((label, code, k, jt, jf, what), assembled) in enumerate(
        zip(live._PROGRAM, live.FILTER, strict=True)
    ):
        assert what, label
        assert assembled[0] == code and assembled[3] == k
        for target, skip in ((jt, assembled[1]), (jf, assembled[2])):
            assert index + 1 + skip == (where[target] if target else index + 1)
    # Every path ends in one of the two returns.
    assert [c for c, *_ in live.FILTER[-2:]] == [0x06, 0x06]
    with pytest.raises(KeyError):
        live._assemble((("", 0x15, 0, "nowhere", "", "a jump to a missing label"),))


def sll2(protocol: int, data: bytes) -> bytes:
    return struct.pack("!HHIHBB8s", protocol, 0, 1, 1, 0, 6, bytes(8)) + data


def test_cooked_frames_go_through_the_files_walk() -> None:
    found = labeled_frame(1, "5.000001", sll2(0x0800, v4(CIPSO_AREA)), LinkType.LINUX_SLL2)
    assert found is not None and found[:3] == (1, "5.000001", 4)
    assert labeled_frame(1, "5.0", sll2(0x0800, v4(bytes((0x94, 4, 0, 0)))), 276) is None
    tagged = sll2(0x8100, TAG + b"\x08\x00" + v4(CIPSO_AREA))
    assert labeled_frame(2, "5.0", tagged, LinkType.LINUX_SLL2) is not None


def test_a_tag_left_in_front_under_an_ip_protocol_is_written_as_a_tag() -> None:
    # Linux reports the inner protocol of a doubly tagged frame but leaves its inner tag.
    assert live._protocol(0x0800, TAG + b"\x08\x00" + v4()) == 0x8100
    assert live._protocol(0x86DD, TAG + b"\x86\xdd" + v6(0)) == 0x8100
    assert live._protocol(0x0800, v4()) == 0x0800
    assert live._protocol(0x0806, bytes(28)) == 0x0806


def test_pcapng_writer_output_reads_back(tmp_path: Path) -> None:
    path = tmp_path / "w.pcapng"
    with path.open("wb") as out:
        writer = PcapngWriter(out, (LinkType.LINUX_SLL2,))
        writer.write(0, (1700000000, 12), sll2(0x0800, v4(CIPSO_AREA)))
        writer.write(0, (1700000001, 999999), sll2(0x86DD, v6(60, PAD1_HEADER)))
    text = io.StringIO()
    summary = dump(path, text, DumpSettings(format="csv"))
    assert summary.written == 1  # the destination options header holds no CALIPSO option
    assert (
        text.getvalue()
        .splitlines()[1]
        .startswith("1,1700000000.000012,10.0.0.1,10.0.0.2,cipso,7,1,")
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["dump"], "name a CAPTURE file, or an interface with -i IFACE"),
        (["dump", "x.pcap", "-i", "lo"], "give a CAPTURE file (x.pcap) or -i IFACE, not both"),
        (["dump", "-i", "lo", "--format", "parquet"], "--format parquet reads capture files"),
        (["dump", "-i", "lo", "--jobs", "2"], "--jobs: a live capture runs in one process"),
        (["dump", "-i", "lo", "--progress"], "--progress shows how far through a file"),
        (["dump", "x.pcap", "--count", "3"], "--count is for a live capture (-i IFACE)"),
        (["dump", "x.pcap", "--duration", "3"], "--duration is for a live capture (-i IFACE)"),
        (["dump", "x.pcap", "-w", "y.pcapng"], "-w is for a live capture (-i IFACE)"),
    ],
)
def test_usage_errors_are_one_line(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("labelnet dump: error: ") and message in err
    assert err.count("\n") == 1


@pytest.mark.parametrize("value", ["0", "-1", "x"])
def test_count_must_be_a_positive_number(value: str, capsys: pytest.CaptureFixture[str]) -> None:
    # As tcpdump -c: --count 0 would end before the first packet; no --count is no limit.
    with pytest.raises(SystemExit) as stopped:
        main(["dump", "-i", "lo", "--count", value])
    assert stopped.value.code == 2
    assert "--count" in capsys.readouterr().err


@pytest.mark.parametrize("value", ["0", "-1", "nan", "inf", "soon"])
def test_duration_must_be_a_positive_number(value: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["dump", "-i", "lo", "--duration", value])
    assert stopped.value.code == 2
    assert "--duration" in capsys.readouterr().err
