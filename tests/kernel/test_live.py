"""``labelnet dump -i IFACE`` against the live kernel: labeled sockets send across a veth pair
inside namespaces the harness made, and the live dump runs on the receiving end (``ip netns
exec``). The kernel's own BPF engine runs the capture filter on crafted frames."""

from __future__ import annotations

import json
import select
import signal
import socket
import struct
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

import calipso
import cipso
from labelnet.capture import ipv4_packet
from labelnet.live import open_socket
from mls import Level
from netlabel import _netns
from netlabel.harness import A_IPV4, A_IPV6, B_IPV4, B_IPV6, KernelHarness, calipso_doi, cipso_doi
from netlabel.sockets import label_socket
from tests.support import need_kernel_harness, need_program

pytestmark = pytest.mark.kernel
ROOT = Path(__file__).resolve().parents[2]
CIPSO_LEVEL = Level.parse("s3:c1,c5")
CALIPSO_LEVEL = Level.parse("s2:c7,c100")


@dataclass(frozen=True)
class Net:
    harness: KernelHarness
    cipso: cipso.CipsoDoi
    calipso: calipso.CalipsoDoi

    @property
    def dois(self) -> list[str]:
        return [
            "--doi",
            f"cipso pass doi:{self.cipso.doi} tags:1",
            "--doi",
            f"calipso pass doi:{self.calipso.doi}",
        ]


@pytest.fixture(scope="module")
def net() -> Iterator[Net]:
    need_kernel_harness()
    # Namespaces of this module's own: the live dump must see only what the tests send there.
    with (
        KernelHarness() as harness,
        cipso_doi(cipso.CipsoDoi.pass_through(1, (cipso.TagType.RESTRICTED_BITMAP,))) as v4,
        calipso_doi() as v6,
    ):
        yield Net(harness, v4, v6)


@contextmanager
def live_dump(ns: str, args: Sequence[str]) -> Iterator[subprocess.Popen[str]]:
    """``labelnet dump ARGS`` running inside namespace ``ns``, once it is capturing."""
    proc = subprocess.Popen(
        ["ip", "netns", "exec", ns, sys.executable, "-m", "labelnet", "dump", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        assert proc.stderr is not None
        ready, _, _ = select.select([proc.stderr], [], [], 10)
        assert ready, "the live dump did not start capturing within 10 s"
        line = proc.stderr.readline()
        assert "capturing on" in line, line + proc.stderr.read()
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()


def finished(proc: subprocess.Popen[str], timeout: float = 10) -> tuple[str, str]:
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    return out, err


def udp(ns: str, family: int) -> socket.socket:
    with _netns.entered(ns):
        return socket.socket(family, socket.SOCK_DGRAM)


@contextmanager
def endpoints(net: Net) -> Iterator[dict[str, tuple[socket.socket, tuple[str, int]]]]:
    """Labeled and unlabeled UDP senders in A, each with a bound receiver in B (so that B
    answers nothing: no ICMP port unreachable crosses the link)."""
    made: dict[str, tuple[socket.socket, tuple[str, int]]] = {}
    receivers: list[socket.socket] = []
    try:
        for name, family, host in (
            ("cipso", socket.AF_INET, B_IPV4),
            ("calipso", socket.AF_INET6, B_IPV6),
            ("plain4", socket.AF_INET, B_IPV4),
            ("plain6", socket.AF_INET6, B_IPV6),
        ):
            receiver = udp(net.harness.ns_b, family)
            receivers.append(receiver)
            receiver.bind((host, 0))
            sender = udp(net.harness.ns_a, family)
            if name == "cipso":
                label_socket(sender, CIPSO_LEVEL, net.cipso)
            elif name == "calipso":
                label_socket(sender, CALIPSO_LEVEL, net.calipso)
            made[name] = (sender, (host, receiver.getsockname()[1]))
        yield made
    finally:
        for sock, _ in made.values():
            sock.close()
        for sock in receivers:
            sock.close()


def send_mixed(net: Net, rounds: int) -> list[str]:
    """Send ``rounds`` of: an unlabeled IPv4 and IPv6 datagram, a CIPSO one, a CALIPSO one;
    return the protocols of the labeled ones in sending order."""
    sent = []
    with endpoints(net) as ends:
        for _ in range(rounds):
            for name in ("plain4", "cipso", "plain6", "calipso"):
                sock, address = ends[name]
                sock.sendto(b"labelnet live " + name.encode(), address)
                if name in ("cipso", "calipso"):
                    sent.append(name)
    return sent


def expected_record(net: Net, protocol: str) -> dict[str, object]:
    if protocol == "cipso":
        return {
            "source": A_IPV4,
            "destination": B_IPV4,
            "protocol": "cipso",
            "doi": net.cipso.doi,
            "tag": 1,
            "label": str(CIPSO_LEVEL),
            "verdict": "accepted",
        }
    return {
        "source": A_IPV6,
        "destination": B_IPV6,
        "protocol": "calipso",
        "doi": net.calipso.doi,
        "tag": None,
        "label": str(CALIPSO_LEVEL),
        "verdict": "accepted",
    }


def records(text: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in text.splitlines() if line]


def essentials(record: dict[str, object]) -> dict[str, object]:
    keys = ("source", "destination", "protocol", "doi", "tag", "label", "verdict")
    return {key: record[key] for key in keys}


def test_every_labeled_packet_sent_is_shown_with_its_label_and_nothing_else(net: Net) -> None:
    args = ["-i", net.harness.veth_b, "--count", "6", "--format", "jsonl", *net.dois]
    with live_dump(net.harness.ns_b, args) as proc:
        sent = send_mixed(net, 3)
        out, _ = finished(proc)
    shown = records(out)
    assert len(sent) == 6
    # Numbers count the labeled packets; the unlabeled ones in between are not shown at all.
    assert [r["packet"] for r in shown] == [1, 2, 3, 4, 5, 6]
    for protocol in ("cipso", "calipso"):
        assert [essentials(r) for r in shown if r["protocol"] == protocol] == [
            expected_record(net, protocol)
        ] * 3
    times = [float(str(r["time"])) for r in shown]
    assert times == sorted(times) and abs(times[0] - time.time()) < 60


def test_text_output_and_any_interface(net: Net) -> None:
    # The display filters work live too: only the IPv4 pair.
    args = ["-i", "any", "--count", "2", "--address", f"{B_IPV4}/30"]
    with live_dump(net.harness.ns_b, args) as proc:
        send_mixed(net, 2)
        out, _ = finished(proc)
    lines = out.splitlines()
    assert lines[0].split() == [
        "PACKET", "TIME", "SOURCE", "DESTINATION", "OPTION", "DOI", "TAG", "LABEL", "VERDICT"
    ]  # fmt: skip
    assert len(lines) == 3
    numbers = [int(line.split()[0]) for line in lines[1:]]
    # Numbers count every labeled packet, the IPv6 ones the filter leaves out included.
    assert numbers == sorted(numbers) and set(numbers) < {1, 2, 3, 4}
    for line in lines[1:]:
        # The file dump's columns: number, time (microseconds), addresses, option, DOI, tag.
        fields = line.split()
        assert len(fields[1].split(".")[1]) == 6
        assert fields[2:] == [
            A_IPV4, B_IPV4, "cipso", str(net.cipso.doi), "1", str(CIPSO_LEVEL), "no-doi-config"
        ]  # fmt: skip


def test_duration_ends_the_capture_with_exactly_the_packets_sent(net: Net) -> None:
    args = ["-i", net.harness.veth_b, "--duration", "1.5", "--format", "csv", *net.dois]
    started = time.monotonic()
    with live_dump(net.harness.ns_b, args) as proc:
        sent = send_mixed(net, 2)
        out, _ = finished(proc)
    elapsed = time.monotonic() - started
    assert 1.4 < elapsed < 8
    rows = out.splitlines()
    assert rows[0].startswith("packet,time,source,destination,protocol,doi")
    assert [row.split(",")[4] for row in rows[1:]] == sent


def test_sigint_prints_the_stats_table_and_exits_zero(net: Net) -> None:
    args = ["-i", net.harness.veth_b, "--stats", *net.dois]
    with live_dump(net.harness.ns_b, args) as proc:
        assert proc.stdout is not None
        send_mixed(net, 1)
        seen = [proc.stdout.readline() for _ in range(3)]  # the header and two packets
        assert seen[0].startswith("  PACKET")
        proc.send_signal(signal.SIGINT)
        out, err = finished(proc)
    assert "interrupted" not in err
    table = out.splitlines()
    assert table[1] == "labels per address pair (2 packets)"
    assert table[2].split() == ["SOURCE", "DESTINATION", "OPTION", "DOI", "LABEL", "PACKETS"]
    assert sorted(row.split()[2] for row in table[3:]) == ["calipso", "cipso"]


def test_setrans_names_the_live_labels_in_lines_and_stats(net: Net, tmp_path: Path) -> None:
    setrans = tmp_path / "setrans.conf"
    setrans.write_text(f"{CIPSO_LEVEL}=Blue\n{CALIPSO_LEVEL}=Green\n", encoding="utf-8")
    args = ["-i", net.harness.veth_b, "--count", "2", "--stats", "--setrans", str(setrans)]
    with live_dump(net.harness.ns_b, args) as proc:
        send_mixed(net, 1)
        out, _ = finished(proc)
    lines = out.splitlines()
    assert lines[0].split()[7:] == ["LABEL", "SETRANS", "VERDICT"]
    names = {line.split()[4]: line.split()[8] for line in lines[1:3]}
    assert names == {"cipso": "Blue", "calipso": "Green"}
    table = lines[lines.index("labels per address pair (2 packets)") + 1 :]
    assert table[0].split() == [
        "SOURCE", "DESTINATION", "OPTION", "DOI", "LABEL", "SETRANS", "PACKETS"
    ]  # fmt: skip
    assert sorted(row.split()[5] for row in table[1:]) == ["Blue", "Green"]


def test_write_round_trip_through_our_dump_and_tshark(net: Net, tmp_path: Path) -> None:
    tshark = need_program("tshark")
    written = tmp_path / "live.pcapng"
    args = ["-i", net.harness.veth_b, "--count", "4", "--format", "jsonl", "-w", str(written)]
    with live_dump(net.harness.ns_b, args) as proc:
        send_mixed(net, 2)
        live, _ = finished(proc)
    again = subprocess.run(
        [sys.executable, "-m", "labelnet", "dump", str(written), "--format", "jsonl"],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    ).stdout
    # The same lines, numbers and times included.
    assert again == live and len(records(live)) == 4
    fields = subprocess.run(
        [tshark, "-r", str(written), "-T", "fields", "-E", "separator=,", "-e", "sll.pkttype",
         "-e", "ip.src", "-e", "ip.cipso.doi", "-e", "ipv6.src", "-e", "ipv6.opt.calipso.doi"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()  # fmt: skip
    expected = []
    for record in records(live):
        if record["protocol"] == "cipso":
            expected.append(f"0,{A_IPV4},{net.cipso.doi},,")
        else:
            expected.append(f"0,,,{A_IPV6},{net.calipso.doi}")
    assert fields == expected


# --- the capture filter in the kernel ---------------------------------------------------------

MARK = b"labelnet-bpf-"
RA = bytes((0x94, 4, 0, 0))  # IPv4 Router Alert: an option, but not CIPSO
PADN6 = bytes((17, 0, 1, 4, 0, 0, 0, 0))  # a header of nothing but padding


def _cipso_area() -> bytes:
    return cipso.CipsoDoi.pass_through(7, (cipso.TagType.RESTRICTED_BITMAP,)).encode_label(
        CIPSO_LEVEL, pad=True
    )


def _calipso_header() -> bytes:
    return bytes([17]) + calipso.CalipsoDoi(7).encode_header(CALIPSO_LEVEL)[1:]


def _udp(name: str) -> bytes:
    return struct.pack("!HHHH", 1, 2, 8, 0) + MARK + name.encode()


def _v4(name: str, options: bytes = b"") -> bytes:
    return IPV4 + ipv4_packet(A_IPV4, B_IPV4, options, _udp(name))


def _v6(name: str, first: int, header: bytes = b"") -> bytes:
    body = header + _udp(name)
    addresses = socket.inet_pton(socket.AF_INET6, A_IPV6) + socket.inet_pton(
        socket.AF_INET6, B_IPV6
    )
    return IPV6 + struct.pack("!IHBB", 0x60000000, len(body), first, 64) + addresses + body


def _tags(*types: int) -> bytes:
    return b"".join(struct.pack("!HH", kind, 10) for kind in types)


IPV4 = b"\x08\x00"
IPV6 = b"\x86\xdd"
ARP = b"\x08\x06" + bytes.fromhex("0001080006040001") + bytes(20)
QINQ = _tags(0x88A8, 0x8100)
ROUTING = bytes((17, 0, 0, 0)) + bytes(4)
#: (name, EtherType and payload after the MAC addresses, passes the filter, shown by the dump)
FRAMES = [
    ("v4-plain", _v4("v4-plain"), False, False),
    ("v4-router-alert", _v4("v4-router-alert", RA), True, False),
    ("v4-cipso", _v4("v4-cipso", _cipso_area()), True, True),
    ("v6-plain", _v6("v6-plain", 17), False, False),
    ("v6-hbh-padding", _v6("v6-hbh-padding", 0, PADN6), True, False),
    ("v6-hbh-calipso", _v6("v6-hbh-calipso", 0, _calipso_header()), True, True),
    ("v6-dst-calipso", _v6("v6-dst-calipso", 60, _calipso_header()), True, True),
    ("v6-routing-first", _v6("v6-routing-first", 43, ROUTING), False, False),
    ("arp", ARP + MARK + b"arp", False, False),
    ("vlan-v4-plain", _tags(0x8100) + _v4("vlan-v4-plain"), False, False),
    ("vlan-v4-cipso", _tags(0x8100) + _v4("vlan-v4-cipso", _cipso_area()), True, True),
    ("qinq-v4-plain", QINQ + _v4("qinq-v4-plain"), False, False),
    ("qinq-v4-cipso", QINQ + _v4("qinq-v4-cipso", _cipso_area()), True, True),
    ("qinq-v6-calipso", QINQ + _v6("qinq-v6-calipso", 0, _calipso_header()), True, True),
    # The documented limit: the filter does not look behind a third tag.
    ("3-tags-v4-cipso", _tags(0x8100) + QINQ + _v4("3-tags-v4-cipso", _cipso_area()), False, False),
]


def send_frames(net: Net) -> None:
    with _netns.entered(net.harness.ns_a):
        raw = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
    with raw:
        raw.bind((net.harness.veth_a, 0))
        for _name, body, _passes, _shown in FRAMES:
            raw.send(b"\xff" * 6 + b"\x02\x00\x00\x00\x00\x01" + body)


def marks(data: bytes) -> str | None:
    at = data.find(MARK)
    return None if at < 0 else data[at + len(MARK) :].decode()


def test_the_kernel_runs_the_filter_passing_only_packets_that_can_carry_a_label(net: Net) -> None:
    with _netns.entered(net.harness.ns_b):
        tap = open_socket(net.harness.veth_b)
    with tap:
        send_frames(net)
        passed = set()
        deadline = time.monotonic() + 0.5
        while time.monotonic() < deadline:
            if not select.select([tap], [], [], 0.05)[0]:
                continue
            name = marks(tap.recv(65536))
            if name is not None:
                passed.add(name)
    assert passed == {name for name, _body, passes, _shown in FRAMES if passes}


def test_packets_the_filter_passes_are_shown_or_omitted_as_from_a_file(net: Net) -> None:
    args = ["-i", net.harness.veth_b, "--duration", "1", "--format", "jsonl"]
    with live_dump(net.harness.ns_b, args) as proc:
        send_frames(net)
        out, _ = finished(proc)
    shown = [(r["protocol"], r["doi"], r["label"]) for r in records(out)]
    expected = [name for name, _body, _passes, shown_ in FRAMES if shown_]
    assert len(shown) == len(expected) == 6
    assert shown.count(("cipso", 7, str(CIPSO_LEVEL))) == 3
    assert shown.count(("calipso", 7, str(CALIPSO_LEVEL))) == 3
    # The one in a destination options header says what the kernel does with it there.
    reasons = [r["reason"] for r in records(out) if r["reason"]]
    assert len(reasons) == 1 and "destination options header" in str(reasons[0])


def test_an_unknown_interface_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    need_kernel_harness()
    from labelnet.__main__ import main

    assert main(["dump", "-i", "nosuchif0"]) == 2
    assert capsys.readouterr().err == (
        "labelnet dump: error: no network interface named 'nosuchif0'\n"
    )


def test_a_burst_is_counted_exactly_captured_or_reported_dropped(net: Net) -> None:
    args = ["-i", net.harness.veth_b, "--duration", "1.5", "--quiet", "--stats", "--format", "csv"]
    with live_dump(net.harness.ns_b, args) as proc:
        with endpoints(net) as ends:
            sock, address = ends["cipso"]
            for _ in range(3000):
                sock.sendto(b"burst", address)
        out, err = finished(proc)
    captured = int(out.splitlines()[-1].rsplit(",", 1)[1])
    dropped = 0
    if err:  # only the kernel's drop count may be said
        line = err.splitlines()[-1]
        assert line.startswith("labelnet dump: ") and line.endswith(
            " packets dropped by the kernel"
        )
        dropped = int(line.split()[2])
    assert captured + dropped == 3000
