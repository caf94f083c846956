"""Labeled sockets end to end: our encoder, the live kernel's validator, our decoder.

Set-up (kernel tests): DOIs are added through our own NetLabel client in the initial
namespace (the DOI table is global to the kernel), under the harness's NetLabel lock, with
numbers from 3_200_000 up that did not exist before, and removed afterwards. The sockets live
in the two network namespaces of a :class:`netlabel.harness.KernelHarness`: loopback inside
namespace B, and A to B across the veth pair (a non-loopback receive path). Nothing touches
the host's own interfaces.

The demo (``python -m netlabel peer-server`` and ``send``) runs as subprocesses inside B
through ``ip netns exec``.
"""

from __future__ import annotations

import contextlib
import errno
import importlib.util
import os
import select
import socket
import struct
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import calipso
import cipso
from mls import Context, Level
from netlabel import _netns
from netlabel.harness import A_IPV4, A_IPV6, B_IPV4, B_IPV6, KernelHarness, netlabel_lock
from netlabel.model import Protocol
from netlabel.sockets import (
    NO_CONTEXT,
    FamilyMismatch,
    LabelNotReceived,
    OptionRefused,
    PeerLabel,
    SocketLabelError,
    UnreadableLabel,
    clear_label,
    enable_label_reception,
    label_from_hop_by_hop,
    label_from_options,
    label_socket,
    outgoing_label,
    parse_control_messages,
    peer_context,
    peer_label,
    recv_labeled,
    socket_option,
)
from tests.support import need, need_program, need_root

from .support import ours, unused_dois

ROOT = Path(__file__).resolve().parents[2]
DOI_BASE = 3_200_000
LEVELS = ("s0:c1,c2,c5,c7.c300", "s0:c1.c300,c400.c500")
# Also the edges: no categories at all, and the highest level with tag 1's last category.
EDGE_LEVELS = ("s0", "s255:c0,c239")
PEER = "system_u:object_r:netlabel_peer_t"
T = cipso.TagType

# What the kernel returned for IPV6_2292PKTOPTIONS on an accepted socket whose peer sent
# s0:c1,c2,c5,c7.c300 under CALIPSO DOI 3180000 (Linux 6.18, x86-64): one 72-byte cmsghdr,
# level 41 (IPPROTO_IPV6), type 54 (IPV6_HOPOPTS), the hop-by-hop header after it.
PKTOPTIONS_FROM_KERNEL = bytes.fromhex(
    "4800000000000000290000003600000006060730003085e00a00d90465ffffffffffffffffffffff"
    "fffffffffffffffffffffffffffffffffffffffffffffffffff8000001020000"
)
# What IP_OPTIONS returned on an accepted socket for the same label under CIPSO DOI 3180000
# (PASS, tags 1,2,5): tag 5 with ranges 7..300, 5..5, 1..2, then EOL padding.
IP_OPTIONS_FROM_KERNEL = bytes.fromhex("8616003085e005100000012c000700050005000200010000")


# --- pure functions (no kernel) -----------------------------------------------------------------


def test_cipso_option_area_is_the_kernels_tag_choice_padded_with_eol() -> None:
    doi = cipso.CipsoDoi.pass_through(3180000, (T.RESTRICTED_BITMAP, T.ENUMERATED, T.RANGED))
    area = socket_option(Level.parse(LEVELS[0]), doi)
    assert area == IP_OPTIONS_FROM_KERNEL
    assert len(area) % 4 == 0
    assert area[6] == T.RANGED  # tag 1 stops at c239, tag 2 at 15 categories


def test_reading_the_kernels_ip_options() -> None:
    label = label_from_options(IP_OPTIONS_FROM_KERNEL)
    assert label == PeerLabel(Protocol.CIPSOV4, 3180000, Level.parse(LEVELS[0]))
    assert label.option == IP_OPTIONS_FROM_KERNEL[:22]
    assert str(label) == f"{PEER}:{LEVELS[0]}"
    assert label.context == Context.parse(f"{PEER}:{LEVELS[0]}")


def test_cipso_after_other_options_and_nops() -> None:
    # Record route (type 7, 7 bytes) and a NOP before the CIPSO option.
    option = cipso.CipsoDoi.pass_through(7).encode_label(Level.parse("s3:c0,c5"))
    area = bytes([7, 7, 4, 0, 0, 0, 0, 1]) + option
    area += bytes(-len(area) % 4)
    label = label_from_options(area)
    assert label is not None
    assert (label.doi, str(label.level)) == (7, "s3:c0,c5")


def test_no_cipso_option_means_no_label() -> None:
    assert label_from_options(b"") is None
    assert label_from_options(bytes([148, 4, 0, 0])) is None  # router alert only


def test_trans_doi_reads_through_its_tables() -> None:
    trans = cipso.CipsoDoi(9, cipso.MapType.TRANS, (T.RESTRICTED_BITMAP,), ((3, 1),), ((5, 0),))
    area = trans.encode_label(Level.parse("s3:c5"), pad=True)
    read_as_pass = label_from_options(area)
    read_as_trans = label_from_options(area, cipso_dois=[trans])
    assert read_as_pass is not None and read_as_trans is not None
    assert str(read_as_pass.level) == "s1:c0"  # the wire values
    assert str(read_as_trans.level) == "s3:c5"  # the host values
    assert label_from_options(area, cipso_dois={9: trans}) == read_as_trans


def test_unmapped_trans_category_is_unreadable_with_its_offset() -> None:
    trans = cipso.CipsoDoi(9, cipso.MapType.TRANS, (T.RESTRICTED_BITMAP,), ((3, 1),), ((5, 0),))
    other = cipso.CipsoDoi.pass_through(9).encode_label(Level.parse("s1:c1"))
    area = bytes([1]) + other
    area += bytes(-len(area) % 4)
    with pytest.raises(UnreadableLabel) as info:
        label_from_options(area, cipso_dois=[trans])
    assert info.value.offset is not None and info.value.offset >= 1  # inside the option


def test_local_tag_is_unreadable() -> None:
    area = cipso.CipsoDoi.local(5).encode_label(None, secid=42, pad=True)
    with pytest.raises(UnreadableLabel, match="secid"):
        label_from_options(area, cipso_dois=[cipso.CipsoDoi.local(5)])


def test_calipso_header_round_trip() -> None:
    level = Level.parse(LEVELS[1])
    header = socket_option(level, calipso.CalipsoDoi(2))
    label = label_from_hop_by_hop(header)
    assert label is not None
    assert (label.protocol, label.doi, label.level) == (Protocol.CALIPSO, 2, level)
    assert label_from_hop_by_hop(calipso.remove_option(header) or bytes(8)) is None


def test_calipso_existing_header_keeps_other_options() -> None:
    # Router alert (type 5, data 00 00) in a header of its own; CALIPSO goes in after it.
    alert = bytes([0, 0, 5, 2, 0, 0, 1, 0])
    header = socket_option(Level.parse("s1:c3"), calipso.CalipsoDoi(4), alert)
    assert header[2:6] == alert[2:6]
    assert [t.type for t in calipso.iter_options(header) if not t.is_padding] == [5, 7]


def test_bad_calipso_checksum_is_unreadable() -> None:
    header = bytearray(socket_option(Level.parse("s1:c3"), calipso.CalipsoDoi(4)))
    header[10] ^= 1  # checksum byte of an option at offset 2
    with pytest.raises(UnreadableLabel) as info:
        label_from_hop_by_hop(bytes(header))
    assert info.value.offset == 10


def test_control_messages_from_the_kernel() -> None:
    messages = parse_control_messages(PKTOPTIONS_FROM_KERNEL)
    assert [(level, kind) for level, kind, _ in messages] == [(socket.IPPROTO_IPV6, 54)]
    label = label_from_hop_by_hop(messages[0][2])
    assert label is not None and str(label) == f"{PEER}:{LEVELS[0]}"


def test_control_messages_several_and_padded() -> None:
    def cmsg(level: int, kind: int, data: bytes) -> bytes:
        raw = struct.pack("@Nii", socket.CMSG_LEN(len(data)), level, kind) + data
        return raw + bytes(socket.CMSG_SPACE(len(data)) - len(raw))

    buffer = cmsg(41, 50, b"\x01\x02\x03") + cmsg(41, 54, bytes(8))
    assert parse_control_messages(buffer) == [(41, 50, b"\x01\x02\x03"), (41, 54, bytes(8))]


def test_truncated_control_message_is_an_error_with_offset() -> None:
    with pytest.raises(UnreadableLabel) as info:
        parse_control_messages(PKTOPTIONS_FROM_KERNEL[:40])
    assert info.value.offset == 0
    with pytest.raises(UnreadableLabel) as info:
        parse_control_messages(PKTOPTIONS_FROM_KERNEL + bytes(5))
    assert info.value.offset == len(PKTOPTIONS_FROM_KERNEL)


@given(st.binary(max_size=48))
def test_arbitrary_ip_options_raise_only_our_errors(data: bytes) -> None:
    with contextlib.suppress(UnreadableLabel):
        label_from_options(data)


@given(st.binary(max_size=64))
def test_arbitrary_hop_by_hop_headers_raise_only_our_errors(data: bytes) -> None:
    with contextlib.suppress(UnreadableLabel):
        label_from_hop_by_hop(data)


@given(st.binary(max_size=96))
def test_arbitrary_control_buffers_raise_only_our_errors(data: bytes) -> None:
    with contextlib.suppress(UnreadableLabel):
        parse_control_messages(data)


def test_wrong_family_is_refused_before_the_kernel() -> None:
    with (
        socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as v6,
        pytest.raises(FamilyMismatch, match="AF_INET socket"),
    ):
        label_socket(v6, Level.parse("s0"), cipso.CipsoDoi.pass_through(2))
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as v4:
        with pytest.raises(FamilyMismatch, match="AF_INET6 socket"):
            label_socket(v4, Level.parse("s0"), calipso.CalipsoDoi(2))
        with pytest.raises(FamilyMismatch, match="recv_labeled"):
            peer_label(v4)
        with pytest.raises(LabelNotReceived):
            recv_labeled(v4, 10)
    with (
        socket.socket(socket.AF_INET, socket.SOCK_STREAM) as stream,
        pytest.raises(FamilyMismatch, match="peer_label"),
    ):
        recv_labeled(stream, 10)
    assert issubclass(OptionRefused, SocketLabelError)
    assert issubclass(OptionRefused, OSError)


def test_peer_context_is_single_level() -> None:
    assert str(peer_context(Level.parse("s3:c1"))) == f"{PEER}:s3:c1"


def test_send_usage_errors() -> None:
    assert ours("send", "--cipso", "::1", "5000").status == 2
    assert ours("send", "--calipso", "127.0.0.1", "5000").status == 2
    assert ours("send", "--level", "s0", "127.0.0.1", "5000").status == 2
    assert ours("send", "--doi", "2", "--calipso", "--tags", "1", "::1", "5000").status == 2
    bad = ours("send", "--level", "s0:c9.c1", "--doi", "2", "127.0.0.1", "1")
    assert bad.status == 1
    assert bad.err.startswith("netlabel: error, send: ")


def test_server_usage_errors() -> None:
    assert ours("peer-server", "0", "--ipv4", "--address", "::1").status == 2
    assert ours("peer-server", "0", "--count", "0").status == 2
    assert ours("peer-server", "70000").status == 2
    # 192.0.2.1 (TEST-NET-1) is on no interface here: bind fails with a one-line error.
    run = ours("peer-server", "0", "--address", "192.0.2.1")
    assert run.status == 1
    assert run.err.startswith("netlabel: error, peer-server: cannot listen on 192.0.2.1 port 0")


# --- helpers for the kernel tests ------------------------------------------------------------


def need_kernel() -> None:
    need_root()
    need(sys.platform.startswith("linux"), "needs Linux")
    need_program("ip")
    need(importlib.util.find_spec("pyroute2") is not None, "needs pyroute2 (the netlink extra)")


@dataclass(frozen=True)
class Dois:
    cipso_doi: cipso.CipsoDoi  # PASS, tags 1,2,5
    cipso_tag1: cipso.CipsoDoi  # PASS, tag 1 only
    calipso_doi: calipso.CalipsoDoi
    cipso_trans: cipso.CipsoDoi  # TRANS, tag 1: host s3:c1,c2 is wire s5:c2,c7
    unknown: int  # configured as neither


@dataclass(frozen=True)
class Net:
    harness: KernelHarness
    dois: Dois


@pytest.fixture(scope="module")
def net() -> Iterator[Net]:
    need_kernel()
    from netlabel.client import NetLabel

    with KernelHarness() as harness, NetLabel() as client:
        added: list[tuple[str, int]] = []
        try:
            with netlabel_lock():
                free = unused_dois(client, 5, DOI_BASE)
                dois = Dois(
                    cipso.CipsoDoi.pass_through(
                        free[0], (T.RESTRICTED_BITMAP, T.ENUMERATED, T.RANGED)
                    ),
                    cipso.CipsoDoi.pass_through(free[1], (T.RESTRICTED_BITMAP,)),
                    calipso.CalipsoDoi(free[2]),
                    cipso.CipsoDoi.from_netlabelctl(
                        f"trans doi:{free[4]} tags:1 levels:3=5 categories:1=2,2=7"
                    ),
                    free[3],
                )
                client.add_cipso_doi(dois.cipso_doi)
                added.append(("cipso", dois.cipso_doi.doi))
                client.add_cipso_doi(dois.cipso_tag1)
                added.append(("cipso", dois.cipso_tag1.doi))
                client.add_calipso_doi(dois.calipso_doi)
                added.append(("calipso", dois.calipso_doi.doi))
                client.add_cipso_doi(dois.cipso_trans)
                added.append(("cipso", dois.cipso_trans.doi))
            yield Net(harness, dois)
        finally:
            with netlabel_lock():
                for kind, number in reversed(added):
                    if kind == "cipso":
                        client.remove_cipso_doi(number)
                    else:
                        client.remove_calipso_doi(number)


def make(ns: str, family: int, kind: int) -> socket.socket:
    """A socket created inside namespace ``ns`` (it stays there)."""
    with _netns.entered(ns):
        sock = socket.socket(family, kind)
    sock.settimeout(5)
    return sock


def receiver(net: Net, family: int, kind: int) -> tuple[socket.socket, tuple[str, int]]:
    """A bound receiving socket in B with label reception on; returns it and its address."""
    host = B_IPV4 if family == socket.AF_INET else B_IPV6
    sock = make(net.harness.ns_b, family, kind)
    sock.bind((host, 0))
    enable_label_reception(sock)
    if kind == socket.SOCK_STREAM:
        sock.listen(4)
    return sock, (host, sock.getsockname()[1])


def sender(net: Net, family: int, kind: int, path: str) -> socket.socket:
    """A socket in A (across the veth) or in B (over B's loopback)."""
    ns = net.harness.ns_a if path == "veth" else net.harness.ns_b
    return make(ns, family, kind)


def source(family: int, path: str) -> str:
    if family == socket.AF_INET:
        return A_IPV4 if path == "veth" else B_IPV4
    return A_IPV6 if path == "veth" else B_IPV6


def exchange(
    net: Net, family: int, kind: int, path: str, level: Level | None, doi: object
) -> tuple[PeerLabel | None, bytes, bytes]:
    """Send b"ping" from a (labeled) socket; return the label read, the data and the option set."""
    server, address = receiver(net, family, kind)
    client = sender(net, family, kind, path)
    with server, client:
        set_bytes = b""
        if level is not None:
            set_bytes = label_socket(client, level, doi)  # type: ignore[arg-type]
        if kind == socket.SOCK_DGRAM:
            client.sendto(b"ping", address)
            data, peer, label = recv_labeled(server, 100)
            assert peer[0] == source(family, path)
            return label, data, set_bytes
        client.connect(address)
        conn, peer = server.accept()
        with conn:
            assert peer[0] == source(family, path)
            label = peer_label(conn)
            client.sendall(b"ping")
            data = conn.recv(100)
        return label, data, set_bytes


FAMILIES = [
    pytest.param(socket.AF_INET, id="ipv4-cipso"),
    pytest.param(socket.AF_INET6, id="ipv6-calipso"),
]
KINDS = [
    pytest.param(socket.SOCK_STREAM, id="tcp"),
    pytest.param(socket.SOCK_DGRAM, id="udp"),
]


def doi_for(net: Net, family: int) -> cipso.CipsoDoi | calipso.CalipsoDoi:
    return net.dois.cipso_doi if family == socket.AF_INET else net.dois.calipso_doi


def snmp_counter(net: Net, name: str) -> int:
    """A counter of namespace B (/proc/net/snmp6 style ``name value`` lines, or snmp's table)."""
    with _netns.entered(net.harness.ns_b):
        fd = os.open("/proc/thread-self/net/snmp6", os.O_RDONLY)
    try:
        text = os.pread(fd, 1 << 16, 0).decode()
    finally:
        os.close(fd)
    for line in text.splitlines():
        key, _, value = line.partition(" ")
        if key == name:
            return int(value)
    raise AssertionError(f"no counter {name}")


def ipv4_in_hdr_errors(net: Net) -> int:
    with _netns.entered(net.harness.ns_b):
        fd = os.open("/proc/thread-self/net/snmp", os.O_RDONLY)
    try:
        lines = [line.split() for line in os.pread(fd, 1 << 16, 0).decode().splitlines()]
    finally:
        os.close(fd)
    names, values = [line for line in lines if line[0] == "Ip:"][:2]
    return int(values[names.index("InHdrErrors")])


# --- end to end through the kernel ----------------------------------------------------------


@pytest.mark.kernel
@pytest.mark.parametrize("path", ["loopback", "veth"])
@pytest.mark.parametrize("text", LEVELS + EDGE_LEVELS)
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("family", FAMILIES)
def test_label_round_trip(net: Net, family: int, kind: int, text: str, path: str) -> None:
    level = Level.parse(text)
    doi = doi_for(net, family)
    label, data, set_bytes = exchange(net, family, kind, path, level, doi)
    assert data == b"ping"
    assert label is not None
    assert label.level == level
    assert label.doi == doi.doi
    assert str(label) == f"{PEER}:{text}"
    if family == socket.AF_INET:
        assert label.protocol is Protocol.CIPSOV4
        assert set_bytes == label.option + bytes(len(set_bytes) - len(label.option))
        assert label.option[6] == (T.RANGED if text in LEVELS else T.RESTRICTED_BITMAP)
    else:
        assert label.protocol is Protocol.CALIPSO
        assert isinstance(doi, calipso.CalipsoDoi)
        assert label.option == doi.encode_label(level)


@pytest.mark.kernel
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("family", FAMILIES)
def test_unlabeled_peer(net: Net, family: int, kind: int) -> None:
    label, data, _ = exchange(net, family, kind, "veth", None, None)
    assert (label, data) == (None, b"ping")


@pytest.mark.kernel
@pytest.mark.parametrize("family", FAMILIES)
def test_label_set_reads_back_and_clears(net: Net, family: int) -> None:
    level = Level.parse(LEVELS[0])
    with make(net.harness.ns_a, family, socket.SOCK_DGRAM) as sock:
        label_socket(sock, level, doi_for(net, family))
        own = outgoing_label(sock)
        assert own is not None and own.level == level
        clear_label(sock)
        assert outgoing_label(sock) is None


@pytest.mark.kernel
def test_cipso_unknown_doi_refused_by_setsockopt(net: Net) -> None:
    unknown = cipso.CipsoDoi.pass_through(net.dois.unknown, (T.RESTRICTED_BITMAP, T.RANGED))
    server, address = receiver(net, socket.AF_INET, socket.SOCK_DGRAM)
    with server, make(net.harness.ns_a, socket.AF_INET, socket.SOCK_DGRAM) as client:
        with pytest.raises(OptionRefused) as info:
            label_socket(client, Level.parse(LEVELS[0]), unknown)
        assert info.value.errno == errno.EINVAL
        assert f"DOI {net.dois.unknown}" in str(info.value)
        # The refused option never reaches the wire: the socket still sends unlabeled.
        client.sendto(b"after", address)
        assert recv_labeled(server, 100)[::2] == (b"after", None)


@pytest.mark.kernel
def test_cipso_tag_choice_must_match_the_kernels_doi(net: Net) -> None:
    narrow = net.dois.cipso_tag1  # the kernel's DOI lists tag 1 only
    wide = cipso.CipsoDoi.pass_through(narrow.doi, (T.RESTRICTED_BITMAP, T.ENUMERATED, T.RANGED))
    with make(net.harness.ns_a, socket.AF_INET, socket.SOCK_DGRAM) as client:
        # c300 needs tag 5, which the kernel's DOI does not list.
        with pytest.raises(OptionRefused, match="tag 5"):
            label_socket(client, Level.parse(LEVELS[0]), wide)
        # With the kernel's own definition no tag can carry c300: refused before the kernel.
        with pytest.raises(cipso.CipsoLabelError):
            label_socket(client, Level.parse(LEVELS[0]), narrow)
    # A label tag 1 can carry goes through.
    label, _, set_bytes = exchange(
        net, socket.AF_INET, socket.SOCK_DGRAM, "veth", Level.parse("s2:c1,c239"), narrow
    )
    assert set_bytes[6] == T.RESTRICTED_BITMAP
    assert label is not None and str(label.level) == "s2:c1,c239"


@pytest.mark.kernel
def test_cipso_rejected_on_receive_after_the_doi_is_removed(net: Net) -> None:
    """setsockopt accepted the option; the receiving kernel rejects it once the DOI is gone."""
    from netlabel.client import NetLabel

    server, address = receiver(net, socket.AF_INET, socket.SOCK_DGRAM)
    with server, make(net.harness.ns_a, socket.AF_INET, socket.SOCK_DGRAM) as client:
        scratch = cipso.CipsoDoi.pass_through(net.dois.unknown, (T.RANGED,))
        with NetLabel() as nl:
            with netlabel_lock():
                assert net.dois.unknown not in {d.doi for d in nl.list_cipso_dois()}
                nl.add_cipso_doi(scratch)
            try:
                label_socket(client, Level.parse(LEVELS[1]), scratch)
            finally:
                with netlabel_lock():
                    nl.remove_cipso_doi(scratch.doi)
        before = ipv4_in_hdr_errors(net)
        client.sendto(b"rejected", address)
        clear_label(client)
        client.sendto(b"plain", address)
        assert recv_labeled(server, 100)[::2] == (b"plain", None)
        assert ipv4_in_hdr_errors(net) == before + 1


@pytest.mark.kernel
@pytest.mark.parametrize("path", ["loopback", "veth"])
def test_calipso_unknown_doi_dropped_on_receive_udp(net: Net, path: str) -> None:
    level = Level.parse(LEVELS[0])
    server, address = receiver(net, socket.AF_INET6, socket.SOCK_DGRAM)
    with server, sender(net, socket.AF_INET6, socket.SOCK_DGRAM, path) as client:
        before = snmp_counter(net, "Ip6InHdrErrors")
        # setsockopt does not check CALIPSO: the packet leaves and the receiver drops it.
        label_socket(client, level, calipso.CalipsoDoi(net.dois.unknown))
        client.sendto(b"dropped", address)
        label_socket(client, level, net.dois.calipso_doi)
        client.sendto(b"kept", address)
        data, _, label = recv_labeled(server, 100)
        assert data == b"kept"
        assert label is not None and label.doi == net.dois.calipso_doi.doi
        assert snmp_counter(net, "Ip6InHdrErrors") == before + 1


@pytest.mark.kernel
def test_calipso_unknown_doi_dropped_on_receive_tcp(net: Net) -> None:
    server, address = receiver(net, socket.AF_INET6, socket.SOCK_STREAM)
    with server, sender(net, socket.AF_INET6, socket.SOCK_STREAM, "veth") as client:
        label_socket(client, Level.parse(LEVELS[1]), calipso.CalipsoDoi(net.dois.unknown))
        before = snmp_counter(net, "Ip6InHdrErrors")
        client.settimeout(0.3)
        with pytest.raises(TimeoutError):
            client.connect(address)
        assert snmp_counter(net, "Ip6InHdrErrors") >= before + 1
        server.settimeout(0)
        with pytest.raises(BlockingIOError):
            server.accept()


@pytest.mark.kernel
def test_ipv6_reception_must_be_on_before_connect(net: Net) -> None:
    with make(net.harness.ns_b, socket.AF_INET6, socket.SOCK_STREAM) as server:
        server.bind((B_IPV6, 0))
        server.listen(1)
        with make(net.harness.ns_a, socket.AF_INET6, socket.SOCK_STREAM) as client:
            label_socket(client, Level.parse(LEVELS[0]), net.dois.calipso_doi)
            client.connect(server.getsockname()[:2])
            conn, peer = server.accept()
            with conn:
                assert peer[0] == A_IPV6
                # The kernel recorded nothing, so "no label" would be a guess.
                assert conn.getsockopt(socket.IPPROTO_IPV6, 6, 1024) == b""
                with pytest.raises(LabelNotReceived):
                    peer_label(conn)


@pytest.mark.kernel
@pytest.mark.parametrize("kind", KINDS)
def test_dual_stack_socket_reads_cipso_from_ipv4_mapped_peers(net: Net, kind: int) -> None:
    level = Level.parse(LEVELS[1])
    with make(net.harness.ns_b, socket.AF_INET6, kind) as server:
        server.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        server.bind(("::", 0))
        enable_label_reception(server)
        port = server.getsockname()[1]
        with make(net.harness.ns_a, socket.AF_INET, kind) as client:
            label_socket(client, level, net.dois.cipso_doi)
            if kind == socket.SOCK_DGRAM:
                client.sendto(b"ping", (B_IPV4, port))
                _, peer, label = recv_labeled(server, 100)
            else:
                server.listen(1)
                client.connect((B_IPV4, port))
                conn, peer = server.accept()
                with conn:
                    label = peer_label(conn)
    assert peer[0] == f"::ffff:{A_IPV4}"
    assert label is not None
    assert (label.protocol, label.level) == (Protocol.CIPSOV4, level)


@pytest.mark.kernel
def test_accepted_ipv4_socket_answers_with_the_peers_option(net: Net) -> None:
    """The kernel keeps the SYN's CIPSO option on the accepted socket and sends it back."""
    server, address = receiver(net, socket.AF_INET, socket.SOCK_STREAM)
    with server, make(net.harness.ns_a, socket.AF_INET, socket.SOCK_STREAM) as client:
        set_bytes = label_socket(client, Level.parse(LEVELS[0]), net.dois.cipso_doi)
        client.connect(address)
        conn, peer = server.accept()
        with conn:
            assert peer[0] == A_IPV4
            assert conn.getsockopt(socket.IPPROTO_IP, 4, 40) == set_bytes
            own = outgoing_label(conn)
            assert own is not None and str(own.level) == LEVELS[0]


@pytest.mark.kernel
def test_labels_need_cap_net_raw(net: Net) -> None:
    need_program("setpriv")
    cipso_area = socket_option(Level.parse(LEVELS[0]), net.dois.cipso_doi).hex()
    header = socket_option(Level.parse(LEVELS[0]), net.dois.calipso_doi).hex()
    code = (
        "import socket\n"
        "for family, level, name, data in (\n"
        f"    (2, 0, 4, {cipso_area!r}), (10, 41, 54, {header!r}), (10, 41, 54, '')\n"
        "):\n"
        "    s = socket.socket(family, socket.SOCK_DGRAM)\n"
        "    try:\n"
        "        s.setsockopt(level, name, bytes.fromhex(data)); print('ok')\n"
        "    except OSError as e:\n"
        "        print(e.errno)\n"
    )
    proc = subprocess.run(
        ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all",
         "--bounding-set=-all", sys.executable, "-c", code],
        check=False, capture_output=True, text=True, timeout=20, cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    # CIPSO: EINVAL, as for an invalid option. IPV6_HOPOPTS: EPERM, even to clear it.
    assert proc.stdout.split() == [str(errno.EINVAL), str(errno.EPERM), str(errno.EPERM)]


# --- the demo, as a user runs it ----------------------------------------------------------------


def netns_python(ns: str, *args: str) -> list[str]:
    return ["ip", "netns", "exec", ns, sys.executable, "-m", "netlabel", *args]


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}


def start_server(ns: str, *args: str) -> tuple[subprocess.Popen[str], int]:
    proc = subprocess.Popen(
        netns_python(ns, "peer-server", "0", *args),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env=_env(),
    )
    assert proc.stderr is not None
    ready, _, _ = select.select([proc.stderr], [], [], 15)
    if not ready:
        proc.kill()
        raise AssertionError("peer-server did not say where it listens")
    line = proc.stderr.readline()
    words = line.split()
    assert "port" in words, line
    return proc, int(words[words.index("port") + 1])


def send(ns: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        netns_python(ns, "send", *args),
        check=False, capture_output=True, text=True, timeout=20, cwd=ROOT, env=_env(),
    )  # fmt: skip


#: The demo both ways: CIPSO over IPv4 loopback, CALIPSO over IPv6 loopback.
DEMO_FAMILIES = pytest.mark.parametrize(
    ("family", "protocol", "host"),
    [("--ipv4", "--cipso", "127.0.0.1"), ("--ipv6", "--calipso", "::1")],
    ids=["ipv4-cipso", "ipv6-calipso"],
)


def served(
    server: subprocess.Popen[str], sends: Callable[[], list[subprocess.CompletedProcess[str]]]
) -> tuple[list[subprocess.CompletedProcess[str]], str]:
    """Run ``sends`` against a started ``server`` and wait for it to finish (it is killed if
    anything goes wrong); every send and the server must succeed. Returns the sends' results
    and what the server printed."""
    try:
        sent = sends()
        out, err = server.communicate(timeout=15)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    for result in sent:
        assert result.returncode == 0, result.stderr
    assert server.returncode == 0, err
    return sent, out


def demo_doi(net: Net, protocol: str) -> str:
    """The DOI the demo sends under with ``protocol`` (--cipso, --calipso)."""
    return str(net.dois.cipso_doi.doi if protocol == "--cipso" else net.dois.calipso_doi.doi)


@pytest.mark.kernel
@pytest.mark.parametrize("kind", ["--tcp", "--udp"])
@DEMO_FAMILIES
def test_demo_prints_the_peer_contexts(
    net: Net, family: str, protocol: str, host: str, kind: str
) -> None:
    ns = net.harness.ns_b
    doi = demo_doi(net, protocol)
    server, port = start_server(ns, family, kind, "--count", "3")
    sent, out = served(
        server,
        lambda: [
            send(ns, "--level", LEVELS[0], "--doi", doi, protocol, kind, host, str(port)),
            send(ns, "--level", LEVELS[1], "--doi", doi, protocol, kind, host, str(port), "hi"),
            send(ns, kind, host, str(port)),
        ],
    )
    transport = kind[2:].upper()
    assert sent[0].stdout.startswith(f"sent 5 bytes to {host} port {port} over {transport}, ")
    assert f"labeled {LEVELS[0]} " in sent[0].stdout
    assert out.splitlines() == [
        f"connect({host}, {PEER}:{LEVELS[0]})",
        f"connect({host}, {PEER}:{LEVELS[1]})",
        f"connect({host}, {NO_CONTEXT})",
    ]


@pytest.mark.kernel
def test_demo_with_a_trans_doi(net: Net) -> None:
    """send and peer-server take a TRANS DOI in netlabelctl's syntax: the kernel checks the
    translated wire label, the server reads it back through the same definition (and as the
    wire says without it)."""
    ns = net.harness.ns_b
    trans = net.dois.cipso_trans.to_netlabelctl()
    server, port = start_server(ns, "--udp", "--count", "1", "--doi", trans)
    plain, plain_port = start_server(ns, "--udp", "--count", "1")
    try:
        sent = [
            send(ns, "--level", "s3:c1,c2", "--doi", trans, "--udp", "127.0.0.1", str(port)),
            send(ns, "--level", "s3:c1,c2", "--doi", trans, "--udp", "127.0.0.1", str(plain_port)),
        ]
        out, err = server.communicate(timeout=15)
        plain_out, _ = plain.communicate(timeout=15)
    finally:
        for proc in (server, plain):
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    for result in sent:
        assert result.returncode == 0, result.stderr
        assert f"(CIPSO DOI {net.dois.cipso_trans.doi}, tag 1)" in result.stdout
    assert out.splitlines() == [f"connect(127.0.0.1, {PEER}:s3:c1,c2)"], err
    assert plain_out.splitlines() == [f"connect(127.0.0.1, {PEER}:s5:c2,c7)"]


@pytest.mark.kernel
@DEMO_FAMILIES
def test_demo_server_names_the_labels(
    net: Net, tmp_path: Path, family: str, protocol: str, host: str
) -> None:
    """peer-server --setrans ends a labeled peer's line with its setrans.conf name (the level
    itself when the file names nothing), and leaves an unlabeled peer's line as it is."""
    setrans = tmp_path / "setrans.conf"
    setrans.write_text(f"s0=SystemLow\n{LEVELS[0]}=Blue Team\n")
    ns = net.harness.ns_b
    doi = demo_doi(net, protocol)
    server, port = start_server(ns, family, "--udp", "--count", "3", "--setrans", str(setrans))
    labeled = [["--level", level, "--doi", doi, protocol] for level in LEVELS]
    _, out = served(
        server, lambda: [send(ns, *args, "--udp", host, str(port)) for args in [*labeled, []]]
    )
    assert out.splitlines() == [
        f"connect({host}, {PEER}:{LEVELS[0]}) setrans Blue Team",
        f"connect({host}, {PEER}:{LEVELS[1]}) setrans {LEVELS[1]}",
        f"connect({host}, {NO_CONTEXT})",
    ]


def test_send_and_server_doi_usage_errors() -> None:
    assert ours("peer-server", "0", "--doi", "trans doi:x").status == 2
    bad = ours(
        "send", "--level", "s0", "--doi", "pass doi:3 tags:1", "--tags", "1", "127.0.0.1", "1"
    )
    assert bad.status == 2 and "--tags goes with a DOI number" in bad.err
    assert "for --cipso" not in ours("peer-server", "--help").out


@pytest.mark.kernel
def test_demo_server_stops_on_ctrl_c(net: Net) -> None:
    server, _ = start_server(net.harness.ns_b, "--ipv6", "--udp")
    try:
        time.sleep(0.2)
        server.send_signal(2)
        out, err = server.communicate(timeout=10)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    assert server.returncode == 130
    assert "Traceback" not in err
    assert out == ""


@pytest.mark.kernel
def test_demo_send_refused_doi(net: Net) -> None:
    with _netns.entered(net.harness.ns_b):
        run = ours("send", "--level", LEVELS[0], "--doi", str(net.dois.unknown), "127.0.0.1", "9")
    assert run.status == 1
    assert run.err.startswith("netlabel: error, send: the kernel refused the CIPSO option")
    assert "(EINVAL)" in run.err


@pytest.mark.kernel
def test_demo_send_calipso_unknown_doi_times_out(net: Net) -> None:
    server, port = start_server(net.harness.ns_b, "--ipv6", "--count", "1")
    try:
        with _netns.entered(net.harness.ns_b):
            run = ours(
                "send", "--level", LEVELS[0], "--doi", str(net.dois.unknown), "--timeout",
                "0.3", "::1", str(port),
            )  # fmt: skip
        assert run.status == 1
        assert "drops the labeled SYN" in run.err
    finally:
        server.kill()
        server.wait()
