"""Ask the live Linux kernel for its verdict on a CIPSO or CALIPSO option.

This is the one harness that the kernel tests, the conformance runs and the capture tool share.
It needs root, ``ip`` (iproute2) and pyroute2 (NetLabel configuration over generic netlink);
:func:`unavailable_reason` says whether they are all here.

How a verdict is obtained (docs/kernel.md has the observations behind it):

* :class:`KernelHarness` creates two network namespaces, A and B, joined by a veth pair
  (A = 169.254.77.1 and fd4c:6162:6c00::1, B = .2 and ::2). The packet is written as a whole
  frame on A's veth end through an AF_PACKET socket, so nothing in A's IP stack looks at or
  changes the options; a second AF_PACKET socket on B's end checks that B received exactly
  those bytes.
* B's kernel validates the option on receive. Its answer comes back to A's veth end, where an
  AF_PACKET socket sees it before A's IP stack can drop it. (A Parameter Problem carries the
  rejected CIPSO option back, which A's own IP layer would reject in turn, so an ordinary ICMP
  socket in A would never see it.)
* Silent drops are told apart from lost packets by B's counters (``InHdrErrors`` in
  /proc/net/snmp, ``Ip6InHdrErrors`` in /proc/net/snmp6): they rise while B sent no Parameter
  Problem. The counters are read through files opened inside B, so no process has to live there.
* What was seen is returned as a :class:`KernelAnswer` holding the protocol's own
  :class:`cipso.Verdict` or :class:`calipso.Verdict`, the shape labelnet's validators return.
* DOIs are global to the kernel and can only be configured from the initial namespace:
  :func:`cipso_doi` and :func:`calipso_doi` configure a :class:`cipso.CipsoDoi` or
  :class:`calipso.CalipsoDoi` under a scratch number for the duration of a ``with`` block,
  through :class:`netlabel.NetLabel`, under the :func:`netlabel_lock` file lock. Each DOI
  they add is noted with the process that added it (in :data:`DOI_OWNERS_DIR`): the next
  one to add a DOI removes those whose process died before it could (kill -9, a timeout).
"""

from __future__ import annotations

import dataclasses
import fcntl
import importlib.util
import os
import re
import secrets
import select
import shutil
import socket
import struct
import sys
import threading
import time
from collections.abc import Callable, Container, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager, suppress
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import calipso
import cipso
from netlabel import _netns
from netlabel._netns import CommandError
from netlabel.errors import NetLabelError, NotFound
from netlabel.model import DoiSummary

if TYPE_CHECKING:
    from netlabel.client import NetLabel

__all__ = [
    "A_IPV4",
    "A_IPV6",
    "B_IPV4",
    "B_IPV6",
    "DOI_OWNERS_DIR",
    "LOCK_PATH",
    "SCRATCH_DOI_BASE",
    "CommandError",
    "DoiInUse",
    "HarnessError",
    "HarnessUnavailable",
    "KernelAnswer",
    "KernelHarness",
    "calipso_doi",
    "cipso_doi",
    "free_dois",
    "ipv4_echo_request",
    "ipv6_echo_request",
    "list_calipso_dois",
    "list_cipso_dois",
    "netlabel_lock",
    "require",
    "summarize",
    "unavailable_reason",
]

# Addresses on the veth pair; they exist only inside the harness's own namespaces.
A_IPV4 = "169.254.77.1"
B_IPV4 = "169.254.77.2"
A_IPV6 = "fd4c:6162:6c00::1"
B_IPV6 = "fd4c:6162:6c00::2"

LOCK_PATH = "/run/lock/labelnet-netlabel.lock"
_LOCK_FALLBACK = "/tmp/labelnet-netlabel.lock"
#: One file per DOI the harness configured, named ``cipso-N`` or ``calipso-N``, holding the
#: id of the process that added it. Under /run, cleared at boot as NetLabel's state is.
DOI_OWNERS_DIR = "/run/lock/labelnet-dois"
_OWNERS_FALLBACK = "/tmp/labelnet-dois"

# Scratch DOIs are picked from here upwards: far above anything a real site uses.
SCRATCH_DOI_BASE = 3_000_000

_NS_PREFIX = "labelnet"
_NS_PATTERN = re.compile(rf"^{_NS_PREFIX}-(\d+)-[0-9a-f]+-[ab]$")

_ETH_P_IP = 0x0800
_ETH_P_IPV6 = 0x86DD
# Not exported by the socket module before Python 3.12; the value is fixed in the kernel ABI.
_PACKET_IGNORE_OUTGOING = 23
_PACKET_OUTGOING = 4
_SOL_PACKET = 263

_IPV4_HEADER_LENGTH = 20
_IPV6_HEADER_LENGTH = calipso.hopbyhop.IPV6_HEADER_LENGTH
_IPPROTO_ICMP = 1
_IPPROTO_ICMPV6 = 58
_IPPROTO_HOPOPTS = 0
_IPPROTO_DSTOPTS = 60
#: ff02::1 and its Ethernet address (33:33 and the address's last four bytes, RFC 2464).
_ALL_NODES = socket.inet_pton(socket.AF_INET6, "ff02::1")
_ALL_NODES_MAC = bytes.fromhex("333300000001")
#: IPv6 extension headers the answer parser steps over: hop-by-hop, routing, destination.
_EXTENSION_HEADERS = (0, 43, 60)
_ICMP_ECHO_REPLY = 0
_ICMP_ECHO_REQUEST = 8
_ICMP_PARAMETER_PROBLEM = 12
#: ICMP errors that quote the packet: unreachable, source quench, redirect, time exceeded,
#: parameter problem.
_ICMP_ERRORS = (3, 4, 5, 11, 12)
_ICMPV6_ECHO_REQUEST = 128
_ICMPV6_ECHO_REPLY = 129
_ICMPV6_PARAMETER_PROBLEM = 4
#: ICMPv6 errors that quote the packet: unreachable, too big, time exceeded, parameter problem.
_ICMPV6_ERRORS = range(1, 5)

_DEFAULT_TIMEOUT = 0.25
# While waiting, re-read B's counters this often so that a silent drop ends the wait early.
_POLL_INTERVAL = 0.002


class HarnessError(RuntimeError):
    """The harness could not do what was asked (a set-up or consistency problem)."""


class HarnessUnavailable(HarnessError):
    """This machine cannot run the harness: not root, no namespaces, no NetLabel."""


class DoiInUse(HarnessError):
    """The DOI already exists; the harness never touches a DOI it did not add itself."""


# --------------------------------------------------------------------------------------------
# Environment


def unavailable_reason() -> str | None:
    """Return why the harness cannot run here, or None when it can.

    For tests: ``need(unavailable_reason() is None, unavailable_reason() or "")``.
    """
    if not sys.platform.startswith("linux"):
        return "needs Linux (network namespaces, NetLabel)"
    if os.geteuid() != 0:
        return "needs root (network namespaces, NetLabel configuration)"
    if shutil.which("ip") is None:
        return "needs the program 'ip' on PATH"
    if importlib.util.find_spec("pyroute2") is None:
        return "needs pyroute2 for NetLabel configuration: pip install 'labelnet[netlink]'"
    if not os.path.exists("/proc/thread-self/ns/net"):
        return "the kernel has no network namespaces"
    try:
        _netns.run(["ip", "netns", "list"])
    except (OSError, CommandError) as exc:
        return f"'ip netns' does not work here: {exc}"
    try:
        with _client() as client:
            client.version()
    except (OSError, NetLabelError) as exc:
        return f"NetLabel is not usable: {exc}"
    return None


def require() -> None:
    """Raise :class:`HarnessUnavailable` unless the harness can run here."""
    reason = unavailable_reason()
    if reason is not None:
        raise HarnessUnavailable(reason)


# --------------------------------------------------------------------------------------------
# The NetLabel state lock

_lock_guard = threading.RLock()
_lock_depth = 0
_lock_fd = -1


@contextmanager
def netlabel_lock() -> Iterator[None]:
    """Hold the machine-wide lock that serialises changes to NetLabel state.

    The lock is ``flock`` on :data:`LOCK_PATH` (or /tmp when /run/lock is missing), so it also
    serialises against other processes. It is re-entrant within this process: a DOI context
    opened while the lock is held does not deadlock.
    """
    global _lock_depth, _lock_fd
    with _lock_guard:
        if _lock_depth == 0:
            path = LOCK_PATH if os.path.isdir(os.path.dirname(LOCK_PATH)) else _LOCK_FALLBACK
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
            except BaseException:
                os.close(fd)
                raise
            _lock_fd = fd
        _lock_depth += 1
        try:
            yield
        finally:
            _lock_depth -= 1
            if _lock_depth == 0:
                # Closing the descriptor releases the flock.
                os.close(_lock_fd)
                _lock_fd = -1


# --------------------------------------------------------------------------------------------
# Scratch DOIs


def _client() -> NetLabel:
    # Imported here: building packets (ipv4_echo_request...) must not need pyroute2.
    from netlabel.client import NetLabel

    return NetLabel()


def list_cipso_dois() -> frozenset[int]:
    """The CIPSO DOIs configured in the kernel right now."""
    with _client() as client:
        return frozenset(summary.doi for summary in client.list_cipso_dois())


def list_calipso_dois() -> frozenset[int]:
    """The CALIPSO DOIs configured in the kernel right now."""
    with _client() as client:
        return frozenset(summary.doi for summary in client.list_calipso_dois())


def free_dois(taken: Container[int], start: int, count: int = 1) -> list[int]:
    """``count`` DOI numbers not in ``taken`` (the kernel's, listed once), from ``start`` up."""
    found: list[int] = []
    doi = start
    while len(found) < count:
        if doi not in taken:
            found.append(doi)
        doi += 1
    return found


def _pick_doi(taken: frozenset[int]) -> int:
    # Start at a per-process offset so that concurrent test runs rarely even look at the same
    # numbers; the lock makes the final choice safe anyway.
    return free_dois(taken, SCRATCH_DOI_BASE + (os.getpid() % 100_000) * 16)[0]


_Definition = TypeVar("_Definition", cipso.CipsoDoi, calipso.CalipsoDoi)


@dataclass(frozen=True, slots=True)
class _DoiTable:
    """How one protocol's DOIs are listed, added and removed through :mod:`netlabel.client`."""

    protocol: str
    listed: Callable[[NetLabel], Iterable[DoiSummary]]
    add: Callable[[NetLabel, Any], None]
    remove: Callable[[NetLabel, int], None]

    def taken(self, client: NetLabel) -> frozenset[int]:
        return frozenset(summary.doi for summary in self.listed(client))


def _cipso_table() -> _DoiTable:
    from netlabel.client import NetLabel

    return _DoiTable(
        "cipso", NetLabel.list_cipso_dois, NetLabel.add_cipso_doi, NetLabel.remove_cipso_doi
    )


def _calipso_table() -> _DoiTable:
    from netlabel.client import NetLabel

    return _DoiTable(
        "calipso", NetLabel.list_calipso_dois, NetLabel.add_calipso_doi, NetLabel.remove_calipso_doi
    )


@contextmanager
def _scratch_doi(table: _DoiTable, definition: _Definition, scratch: bool) -> Iterator[_Definition]:
    try:
        added = _add_doi(table, definition, scratch)
    except NetLabelError as exc:
        raise HarnessError(f"could not add {table.protocol} DOI: {exc}") from exc
    try:
        yield added
    finally:
        _remove_doi(table, added.doi)


def _add_doi(table: _DoiTable, definition: _Definition, scratch: bool) -> _Definition:
    with netlabel_lock(), _client() as client:
        _remove_orphans(table, client)
        taken = table.taken(client)
        if scratch:
            definition = dataclasses.replace(definition, doi=_pick_doi(taken))
        elif definition.doi in taken:
            raise DoiInUse(
                f"{table.protocol} DOI {definition.doi} already exists; refusing to touch it"
            )
        try:
            table.add(client, definition)
            _note_owner(table, definition.doi)
        except BaseException:
            # Interrupted or failed half-way: remove the DOI only if it did get added.
            with suppress(NetLabelError):
                if definition.doi in table.taken(client):
                    table.remove(client, definition.doi)
            _forget_owner(table, definition.doi)
            raise
    return definition


def _owners_dir() -> str:
    return DOI_OWNERS_DIR if os.path.isdir(os.path.dirname(DOI_OWNERS_DIR)) else _OWNERS_FALLBACK


def _owner_path(table: _DoiTable, doi: int) -> str:
    return os.path.join(_owners_dir(), f"{table.protocol}-{doi}")


def _note_owner(table: _DoiTable, doi: int) -> None:
    # Best effort: where the note cannot be written the DOI works the same, and only a crash
    # would leave it behind, as before notes were kept.
    with suppress(OSError):
        os.makedirs(_owners_dir(), exist_ok=True)
        with open(_owner_path(table, doi), "w", encoding="ascii") as note:
            note.write(str(os.getpid()))


def _forget_owner(table: _DoiTable, doi: int) -> None:
    with suppress(FileNotFoundError):
        os.unlink(_owner_path(table, doi))


def _remove_orphans(table: _DoiTable, client: NetLabel) -> None:
    """Remove the DOIs of ``table`` this harness added in processes that no longer exist
    (under the lock). Only noted DOIs are touched: never one configured by anything else."""
    directory = _owners_dir()
    try:
        names = os.listdir(directory)
    except FileNotFoundError:
        return
    prefix = f"{table.protocol}-"
    for name in names:
        number = name.removeprefix(prefix)
        if number == name or not number.isdigit():
            continue
        try:
            with open(os.path.join(directory, name), encoding="ascii") as note:
                pid = int(note.read())
        except (OSError, ValueError):
            continue
        if _process_exists(pid):
            continue
        try:
            with suppress(NotFound):
                table.remove(client, int(number))
        except NetLabelError:
            continue  # still in use (a mapping names it): tried again next time
        _forget_owner(table, int(number))


def _remove_doi(table: _DoiTable, doi: int) -> None:
    # A Ctrl-C while waiting for the lock or for the kernel's answer must not leave the DOI
    # behind: retry until the removal has run, then deliver the interrupt.
    interrupted = False
    while True:
        try:
            # NotFound: an interrupted earlier try did remove it.
            with netlabel_lock(), _client() as client:
                with suppress(NotFound):
                    table.remove(client, doi)
                _forget_owner(table, doi)
            break
        except KeyboardInterrupt:
            interrupted = True
        except NetLabelError as exc:
            raise HarnessError(f"could not remove {table.protocol} DOI {doi}: {exc}") from exc
    if interrupted:
        raise KeyboardInterrupt


def cipso_doi(
    definition: cipso.CipsoDoi | None = None, *, scratch: bool = True
) -> AbstractContextManager[cipso.CipsoDoi]:
    """Configure a CIPSO DOI in the kernel for the duration of a ``with`` block; yields the
    definition as configured.

    ``definition`` gives the mapping type, tags and (TRANS) tables; None is a PASS DOI with tag
    1. With ``scratch`` (the default) it is configured under an unused number from
    :data:`SCRATCH_DOI_BASE` upwards, whatever number it was written with, so that a corpus's
    or a test's DOIs never meet the machine's own: use the yielded definition's ``doi``.
    ``scratch=False`` configures the definition's own number and raises :class:`DoiInUse`
    when that exists. The DOI is removed on exit, also when the block raises or is
    interrupted. Configuration goes through :class:`netlabel.NetLabel` (generic netlink)
    under :func:`netlabel_lock`.
    """
    if definition is None:
        definition = cipso.CipsoDoi.pass_through(SCRATCH_DOI_BASE)
    return _scratch_doi(_cipso_table(), definition, scratch)


def calipso_doi(
    definition: calipso.CalipsoDoi | None = None, *, scratch: bool = True
) -> AbstractContextManager[calipso.CalipsoDoi]:
    """Configure a CALIPSO DOI (PASS, the only type) for a ``with`` block; yields the
    definition as configured. Same rules as :func:`cipso_doi`."""
    if definition is None:
        definition = calipso.CalipsoDoi(SCRATCH_DOI_BASE)
    return _scratch_doi(_calipso_table(), definition, scratch)


# --------------------------------------------------------------------------------------------
# Answers

_Verdict = TypeVar("_Verdict", cipso.Verdict, calipso.Verdict)


@dataclass(frozen=True, slots=True)
class KernelAnswer(Generic[_Verdict]):
    """What the receiving kernel did with one packet, as the harness saw it.

    ``verdict`` is the observation in the protocol's own verdict shape (:class:`cipso.Verdict`
    for IPv4, :class:`calipso.Verdict` for IPv6), the shape :func:`cipso.verdict` and
    :func:`calipso.verdict` return, so that the kernel's verdict and labelnet's compare
    directly. It holds what the kernel shows: ``kind``; for a Parameter Problem the ICMP
    ``pointer`` and ``code``, and ``offset`` (the pointer counted from the options area or the
    hop-by-hop header); a ``reason`` saying what was seen. The kernel does not say where the
    option starts or which check failed: ``option_start``, ``in_option`` and ``check`` stay
    unset. The kinds:

    * accepted: B's echo reply came back.
    * parameter-problem: B's Parameter Problem came back. When B counted a header error but
      no Parameter Problem came back (CIPSO: it follows the packet's reversed source route
      elsewhere, or found no route; CALIPSO: B counted one sent that never arrived),
      ``pointer``, ``offset`` and ``code`` are None: B rejected the packet and the sender
      cannot see where.
    * dropped: silently. IPv4: B received the packet, answered nothing and counted no header
      error (a source route while ``accept_source_route`` is 0). IPv6: B counted a header
      error and sent no Parameter Problem (every CALIPSO failure).

    ``verdict`` is None when what was seen is no verdict of the protocol: another ICMP error
    (``icmp_type``, ``icmp_code``), or silence that nothing explains (B did not receive the
    packet; for IPv6, no counter rose either).

    The rest is the observation itself. ``icmp_type`` and ``icmp_code`` are those of the
    answer (None: none came back). ``reply_options`` is the options area of the answer's own
    IPv4 header (the kernel echoes the CIPSO option there; None for IPv6 and without an
    answer). ``hdr_errors`` is how much B's header error counter rose (``InHdrErrors``,
    ``Ip6InHdrErrors``), ``problems_sent`` how much its count of Parameter Problems sent rose.
    ``delivered`` says B's veth end saw exactly the bytes sent. ``elapsed`` is the wait in
    seconds, ``packet`` the whole IP packet sent.
    """

    verdict: _Verdict | None
    icmp_type: int | None = None
    icmp_code: int | None = None
    reply_options: bytes | None = None
    hdr_errors: int = 0
    problems_sent: int = 0
    delivered: bool = False
    elapsed: float = 0.0
    packet: bytes = field(default=b"", repr=False)

    @property
    def accepted(self) -> bool:
        return self.verdict is not None and self.verdict.accepted

    @property
    def dropped(self) -> bool:
        return self.verdict is not None and self.verdict.dropped

    @property
    def echoed_cipso(self) -> bytes | None:
        """The first CIPSO option in the reply's IPv4 header, or None."""
        options = self.reply_options
        if options is None:
            return None
        start = cipso.find_option(options)
        return None if start is None else options[start : start + options[start + 1]]

    def __str__(self) -> str:
        if self.verdict is not None:
            return summarize(self.verdict)
        if self.icmp_type is not None:
            return f"no verdict: ICMP type {self.icmp_type} code {self.icmp_code}"
        return f"no verdict: no answer, {self.hdr_errors} header errors counted"


def summarize(verdict: cipso.Verdict | calipso.Verdict) -> str:
    """A verdict in a few words as the harness and the conformance reports show it:
    ``accepted``, ``dropped``, ``parameter-problem, pointer 26, code 0`` or, for a Parameter
    Problem that never came back, ``parameter-problem, not seen``."""
    text = str(verdict.kind)
    if text == "parameter-problem" and verdict.pointer is None:
        return text + ", not seen"
    if verdict.pointer is not None:
        text += f", pointer {verdict.pointer}"
    if verdict.code is not None:
        text += f", code {verdict.code}"
    return text


#: The reason of a verdict the kernel showed, by what was seen.
_SEEN_ECHO_REPLY = "the echo reply came back"
_SEEN_PROBLEM = "a Parameter Problem came back"
_SEEN_PROBLEM_LOST = "a header error was counted but no Parameter Problem came back"
_SEEN_SILENCE = "no answer and no header error counted"
_SEEN_DROP = "a header error was counted and no Parameter Problem sent"


# --------------------------------------------------------------------------------------------
# Packets


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total: int = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


_SRC4 = socket.inet_pton(socket.AF_INET, A_IPV4)
_DST4 = socket.inet_pton(socket.AF_INET, B_IPV4)
_LOCALHOST = socket.inet_pton(socket.AF_INET, "127.0.0.1")
_SRC6 = socket.inet_pton(socket.AF_INET6, A_IPV6)
_DST6 = socket.inet_pton(socket.AF_INET6, B_IPV6)
_ECHO = struct.Struct("!BBHHH")


def _echo(kind: int, ident: int, seq: int, payload: bytes, pseudo: bytes = b"") -> bytes:
    message = _ECHO.pack(kind, 0, 0, ident, seq) + payload
    check = _checksum(pseudo + message)
    return message[:2] + check.to_bytes(2, "big") + message[4:]


def ipv4_echo_request(
    options: bytes,
    *,
    ident: int = 0,
    seq: int = 0,
    payload: bytes = b"",
    loopback: bool = False,
) -> bytes:
    """The IPv4 packet the harness sends: an ICMP echo request from A to B carrying ``options``
    (``loopback``: from 127.0.0.1 to itself).

    ``options`` is the whole options area (a multiple of 4 bytes, at most 40), used unchanged.
    Checksums are computed here; the IP identification is ``seq`` and DF is set.
    """
    if len(options) % 4 or len(options) > 40:
        raise ValueError(
            f"the IPv4 options area must be a multiple of 4 bytes, at most 40 "
            f"(got {len(options)}); cipso.build_options() pads a bare option"
        )
    icmp = _echo(_ICMP_ECHO_REQUEST, ident, seq, payload)
    ihl = 5 + len(options) // 4
    header = (
        struct.pack(
            "!BBHHHBBH4s4s",
            0x40 | ihl,
            0,
            ihl * 4 + len(icmp),
            seq,
            0x4000,  # DF: the packet is never fragmented, so options stay where they are
            64,
            _IPPROTO_ICMP,
            0,
            _LOCALHOST if loopback else _SRC4,
            _LOCALHOST if loopback else _DST4,
        )
        + options
    )
    check = _checksum(header)
    return header[:10] + check.to_bytes(2, "big") + header[12:] + icmp


def ipv6_echo_request(
    hop_by_hop: bytes,
    *,
    ident: int = 0,
    seq: int = 0,
    payload: bytes = b"",
    destination_options: bool = False,
    multicast: bool = False,
) -> bytes:
    """The IPv6 packet the harness sends: an ICMPv6 echo request from A to B (``multicast``:
    to ff02::1, all nodes on the link, B among them).

    ``hop_by_hop`` is the whole hop-by-hop header (8..2048 bytes, a multiple of 8, length byte
    len/8 - 1: :func:`calipso.hopbyhop.check_header`, else :class:`calipso.HopByHopError`, a
    ValueError; :func:`calipso.build_header` builds one around a bare option). Its next-header
    byte is set to 58 (ICMPv6, which follows); every other byte is used unchanged.
    ``destination_options`` sends it as a destination options header (next header 60)
    instead.
    """
    calipso.hopbyhop.check_header(hop_by_hop)
    hop_by_hop = bytes([_IPPROTO_ICMPV6]) + hop_by_hop[1:]
    destination = _ALL_NODES if multicast else _DST6
    icmp_len = _ECHO.size + len(payload)
    pseudo = _SRC6 + destination + struct.pack("!I3xB", icmp_len, _IPPROTO_ICMPV6)
    icmp = _echo(_ICMPV6_ECHO_REQUEST, ident, seq, payload, pseudo)
    # The options header follows; its own next-header byte points at ICMPv6.
    first = _IPPROTO_DSTOPTS if destination_options else _IPPROTO_HOPOPTS
    header = struct.pack("!IHBB", 0x60000000, len(hop_by_hop) + icmp_len, first, 64)
    return header + _SRC6 + destination + hop_by_hop + icmp


def _ipv6_upper(packet: bytes) -> tuple[int, int] | None:
    """Walk the extension headers; return (upper-layer protocol, its offset)."""
    if len(packet) < 40:
        return None
    nh, off = packet[6], 40
    while nh in _EXTENSION_HEADERS:
        if off + 2 > len(packet):
            return None
        nh, off = packet[off], off + (packet[off + 1] + 1) * 8
    return nh, off


@dataclass(frozen=True, slots=True)
class _Answer:
    icmp_type: int
    icmp_code: int
    info: int  # the 4 bytes after the ICMP checksum (pointer for Parameter Problem)
    reply_options: bytes | None


def _ipv4_icmp(packet: bytes, source: bytes | None = None) -> bytes | None:
    """The ICMP message an IPv4 packet carries (from ``source`` only, when given), or None."""
    if len(packet) < _IPV4_HEADER_LENGTH or packet[0] >> 4 != 4 or packet[9] != _IPPROTO_ICMP:
        return None
    if source is not None and packet[12:16] != source:
        return None
    return packet[(packet[0] & 0x0F) * 4 :]


def _ipv6_icmp(packet: bytes, source: bytes | None = None) -> bytes | None:
    """The ICMPv6 message an IPv6 packet carries after its extension headers (from ``source``
    only, when given), or None."""
    if len(packet) < _IPV6_HEADER_LENGTH or packet[0] >> 4 != 6:
        return None
    if source is not None and packet[8:24] != source:
        return None
    upper = _ipv6_upper(packet)
    if upper is None or upper[0] != _IPPROTO_ICMPV6:
        return None
    return packet[upper[1] :]


@dataclass(frozen=True, slots=True)
class _Icmp:
    """One ICMP version: how its messages are found in a packet and which types matter."""

    message: Callable[..., bytes | None]  # _ipv4_icmp or _ipv6_icmp
    echo_request: int
    echo_reply: int
    errors: Container[int]  # the error types that quote the packet


_ICMPV4 = _Icmp(_ipv4_icmp, _ICMP_ECHO_REQUEST, _ICMP_ECHO_REPLY, _ICMP_ERRORS)
_ICMPV6 = _Icmp(_ipv6_icmp, _ICMPV6_ECHO_REQUEST, _ICMPV6_ECHO_REPLY, _ICMPV6_ERRORS)


def _answer(icmp: _Icmp, packet: bytes, source: bytes, ident: int, seq: int) -> _Answer | None:
    """Recognise B's answer to our echo request (ident, seq) in a frame received by A: the
    echo reply, or an ICMP error quoting the request."""
    message = icmp.message(packet, source)
    if message is None or len(message) < _ECHO.size:
        return None
    kind, code = message[0], message[1]
    echo = message
    if kind in icmp.errors:
        quoted = icmp.message(message[_ECHO.size :])
        if quoted is None or len(quoted) < _ECHO.size or quoted[0] != icmp.echo_request:
            return None
        echo = quoted
    elif kind != icmp.echo_reply:
        return None
    if struct.unpack_from("!HH", echo, 4) != (ident, seq):
        return None
    info = struct.unpack_from("!I", message, 4)[0]
    options = packet[_IPV4_HEADER_LENGTH : len(packet) - len(message)] if icmp is _ICMPV4 else None
    return _Answer(kind, code, info, options)


def _ipv4_answer(packet: bytes, ident: int, seq: int) -> _Answer | None:
    return _answer(_ICMPV4, packet, _DST4, ident, seq)


def _ipv6_answer(packet: bytes, ident: int, seq: int) -> _Answer | None:
    return _answer(_ICMPV6, packet, _DST6, ident, seq)


def _loopback_answer(packet: bytes, ident: int, seq: int) -> _Answer | None:
    return _answer(_ICMPV4, packet, _LOCALHOST, ident, seq)


# --------------------------------------------------------------------------------------------
# The harness


def _snmp_counters(text: str) -> dict[str, int]:
    """Parse /proc/net/snmp (header/value line pairs) or /proc/net/snmp6 (name value lines)."""
    counters: dict[str, int] = {}
    lines = text.splitlines()
    if lines and ":" in lines[0]:
        for head, values in zip(lines[::2], lines[1::2], strict=False):
            prefix, _, names = head.partition(":")
            for name, value in zip(names.split(), values.partition(":")[2].split(), strict=False):
                with suppress(ValueError):
                    counters[prefix + name] = int(value)
    else:
        for line in lines:
            name, _, value = line.partition(" ")
            with suppress(ValueError):
                counters[name] = int(value.strip())
    return counters


@dataclass(frozen=True, slots=True)
class _Seen:
    """What one wait for an answer saw, before it is read as a verdict."""

    answer: _Answer | None
    hdr_errors: int
    problems_sent: int
    delivered: bool
    elapsed: float
    packet: bytes


@dataclass(frozen=True, slots=True)
class _Path:
    """How a packet goes to B and how its answer comes back: over the veth pair from A, or
    through B's own loopback device."""

    send: Callable[[bytes], object]
    answers: socket.socket  # where the answer is read
    tap: socket.socket  # where B's receipt of the packet is seen
    answer: Callable[[bytes, int, int], _Answer | None]


@dataclass(frozen=True, slots=True)
class _Family:
    """What differs between the IPv4 and the IPv6 verdict paths."""

    ethertype: int
    hdr_errors: str  # B's counter of header errors
    out_param_problems: str  # B's counter of Parameter Problems sent
    answer: Callable[[bytes, int, int], _Answer | None]
    verdict: Callable[..., Any]  # cipso.Verdict or calipso.Verdict
    kinds: Callable[[str], Any]  # cipso.VerdictKind or calipso.VerdictKind
    echo_reply_type: int
    param_problem_type: int
    pointer_shift: int  # where the pointer sits in the 4 bytes after the ICMP checksum
    header_length: int  # the pointer counts from the IP header; offsets from after it
    # IPv4 sends a Parameter Problem with every header error it counts (ip_options_compile);
    # IPv6 counts a silent drop as a header error too.
    problem_with_every_header_error: bool
    # IPv4 drops a source-routed packet without answer or counter (ip_rcv_options); IPv6 has
    # no silent drop that nothing counts.
    silence_is_a_drop: bool


_V4 = _Family(
    _ETH_P_IP,
    "IpInHdrErrors",
    "IcmpOutParmProbs",
    _ipv4_answer,
    cipso.Verdict,
    cipso.VerdictKind,
    _ICMP_ECHO_REPLY,
    _ICMP_PARAMETER_PROBLEM,
    24,
    _IPV4_HEADER_LENGTH,
    problem_with_every_header_error=True,
    silence_is_a_drop=True,
)
_V6 = _Family(
    _ETH_P_IPV6,
    "Ip6InHdrErrors",
    "Icmp6OutParmProblems",
    _ipv6_answer,
    calipso.Verdict,
    calipso.VerdictKind,
    _ICMPV6_ECHO_REPLY,
    _ICMPV6_PARAMETER_PROBLEM,
    0,
    _IPV6_HEADER_LENGTH,
    problem_with_every_header_error=False,
    silence_is_a_drop=False,
)


def _seen_verdict(family: _Family, seen: _Seen) -> Any:
    """What was seen as the protocol's verdict (the table in docs/kernel.md), or None."""
    answer = seen.answer
    if answer is not None:
        if answer.icmp_type == family.echo_reply_type:
            return family.verdict(family.kinds("accepted"), _SEEN_ECHO_REPLY)
        if answer.icmp_type != family.param_problem_type:
            return None
        pointer = answer.info >> family.pointer_shift
        offset = pointer - family.header_length
        problem = family.kinds("parameter-problem")
        return family.verdict(problem, _SEEN_PROBLEM, offset, pointer, code=answer.icmp_code)
    if seen.hdr_errors and (seen.problems_sent or family.problem_with_every_header_error):
        return family.verdict(family.kinds("parameter-problem"), _SEEN_PROBLEM_LOST)
    if seen.hdr_errors:
        return family.verdict(family.kinds("dropped"), _SEEN_DROP)
    if seen.delivered and family.silence_is_a_drop:
        return family.verdict(family.kinds("dropped"), _SEEN_SILENCE)
    return None


def _kernel_answer(family: _Family, seen: _Seen) -> Any:
    answer = seen.answer
    return KernelAnswer(
        _seen_verdict(family, seen),
        icmp_type=None if answer is None else answer.icmp_type,
        icmp_code=None if answer is None else answer.icmp_code,
        reply_options=None if answer is None else answer.reply_options,
        hdr_errors=seen.hdr_errors,
        problems_sent=seen.problems_sent,
        delivered=seen.delivered,
        elapsed=seen.elapsed,
        packet=seen.packet,
    )


class KernelHarness:
    """Two network namespaces joined by veth, for asking the kernel about labeled packets.

    Use as a context manager (or call :meth:`open` and :meth:`close`); everything it creates
    is removed on exit, also on errors and Ctrl-C. Creating one takes tens of milliseconds, so
    tests share one per module or session. Verdicts asked from several threads are
    serialised by an internal lock.

    ``timeout`` bounds the wait for an answer when there is none; answers and silent drops end
    the wait as soon as they are seen.
    """

    def __init__(self, *, timeout: float = _DEFAULT_TIMEOUT) -> None:
        self.timeout = timeout
        token = secrets.token_hex(3)
        self.ns_a = f"{_NS_PREFIX}-{os.getpid()}-{token}-a"
        self.ns_b = f"{_NS_PREFIX}-{os.getpid()}-{token}-b"
        self.veth_a = f"ln{token}a"
        self.veth_b = f"ln{token}b"
        self._mac_b = b""
        self._sockets: dict[str, socket.socket] = {}
        self._counter_fds: dict[str, int] = {}
        self._counter = secrets.randbits(32)
        self._busy = threading.Lock()
        self._open = False

    # -- life cycle ------------------------------------------------------------------------

    def __enter__(self) -> KernelHarness:
        return self.open()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def open(self) -> KernelHarness:
        """Create the namespaces, the veth pair and the sockets."""
        if self._open:
            return self
        if os.geteuid() != 0:
            raise HarnessUnavailable("needs root (network namespaces)")
        if shutil.which("ip") is None:
            raise HarnessUnavailable("needs the program 'ip' (iproute2)")
        _sweep_stale_namespaces()
        self._open = True
        try:
            self._create()
        except BaseException:
            self.close()
            raise
        return self

    def _create(self) -> None:
        a, b, va, vb = self.ns_a, self.ns_b, self.veth_a, self.veth_b
        try:
            _netns.run(["ip", "netns", "add", a])
            _netns.run(["ip", "netns", "add", b])
        except CommandError as exc:
            raise HarnessUnavailable(f"cannot create network namespaces: {exc}") from exc
        # Both ends are created directly inside their namespaces; nothing appears on the host.
        _netns.run(["ip", "link", "add", va, "netns", a, "type", "veth", "peer", vb, "netns", b])
        for ns, dev, v4, v6 in ((a, va, A_IPV4, A_IPV6), (b, vb, B_IPV4, B_IPV6)):
            # nodad: the address is usable at once instead of after duplicate detection.
            batch = (
                f"link set lo up\n"
                f"addr add {v4}/30 dev {dev}\n"
                f"addr add {v6}/64 dev {dev} nodad\n"
                f"link set {dev} up\n"
            )
            _run_batch(ns, batch)
        mac_a = _link_address(a, va)
        mac_b = _link_address(b, vb)
        self._mac_b = bytes.fromhex(mac_b.replace(":", ""))
        # B answers A without ARP or neighbour discovery, so no answer waits on a resolution.
        _run_batch(
            b,
            f"neigh replace {A_IPV4} lladdr {mac_a} dev {vb} nud permanent\n"
            f"neigh replace {A_IPV6} lladdr {mac_a} dev {vb} nud permanent\n",
        )
        # ICMP errors are rate limited per peer (1/s after a burst of 6) and globally; the
        # harness sends hundreds of rejected packets per second, so B must answer them all.
        _netns.run(
            [
                "ip", "netns", "exec", b, "sysctl", "-q", "-w",
                "net.ipv4.icmp_ratelimit=0",
                "net.ipv4.icmp_ratemask=0",
                "net.ipv4.icmp_msgs_per_sec=1000000",
                "net.ipv4.icmp_msgs_burst=1000000",
                "net.ipv6.icmp.ratelimit=0",
            ]
        )  # fmt: skip
        with _netns.entered(a):
            for name, proto in (("a4", _ETH_P_IP), ("a6", _ETH_P_IPV6)):
                self._sockets[name] = _packet_socket(va, proto)
        with _netns.entered(b):
            for name, proto in (("b4", _ETH_P_IP), ("b6", _ETH_P_IPV6)):
                self._sockets[name] = _packet_socket(vb, proto)
            # B's own loopback: a raw socket sends to 127.0.0.1 with our header, a packet
            # socket on lo sees the packet arrive and the answer (B's IP layer would drop a
            # Parameter Problem quoting a rejected option before any socket read it).
            self._sockets["lo-send"] = socket.socket(
                socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW
            )
            self._sockets["lo"] = _packet_socket("lo", _ETH_P_IP)
            # /proc/thread-self/net is this thread's namespace; the open file stays bound to B.
            for name in ("snmp", "snmp6"):
                path = f"/proc/thread-self/net/{name}"
                self._counter_fds[name] = os.open(path, os.O_RDONLY | os.O_CLOEXEC)

    def close(self) -> None:
        """Close the sockets and delete both namespaces (which removes the veth pair)."""
        if not self._open:
            return
        for sock in self._sockets.values():
            sock.close()
        self._sockets.clear()
        for fd in self._counter_fds.values():
            os.close(fd)
        self._counter_fds.clear()
        # Sockets are closed first: an open socket would keep a deleted namespace alive.
        interrupted = False
        for ns in (self.ns_a, self.ns_b):
            try:
                _netns.delete(ns)
            except KeyboardInterrupt:
                interrupted = True
        self._open = False
        if interrupted:
            raise KeyboardInterrupt

    # -- verdicts --------------------------------------------------------------------------

    def cipso_verdict(
        self, options: bytes, *, timeout: float | None = None
    ) -> KernelAnswer[cipso.Verdict]:
        """Send an ICMP echo request from A to B whose IPv4 options area is exactly ``options``.

        ``options`` is the whole options area (a multiple of 4 bytes, at most 40); see
        :meth:`cipso_option_verdict` for a bare option. Returns what B's kernel did.
        """
        answer: KernelAnswer[cipso.Verdict] = self._ask(
            _V4, lambda ident, seq: ipv4_echo_request(options, ident=ident, seq=seq), timeout
        )
        return answer

    def cipso_option_verdict(
        self, option: cipso.CipsoOption | bytes, *, timeout: float | None = None
    ) -> KernelAnswer[cipso.Verdict]:
        """Like :meth:`cipso_verdict` for a bare option, in an options area of its own
        (:func:`cipso.build_options`: padded with EOL to a multiple of 4)."""
        return self.cipso_verdict(cipso.build_options(option), timeout=timeout)

    def cipso_loopback_verdict(
        self, options: bytes, *, timeout: float | None = None
    ) -> KernelAnswer[cipso.Verdict]:
        """Like :meth:`cipso_verdict`, but B sends the echo request to itself (127.0.0.1), so
        that it arrives on B's loopback device: the only device where the kernel accepts tag
        128 (local). The answer is read as it crosses lo; ``reply_options`` is that of B's
        answer to itself."""
        lo = self._sockets.get("lo")
        sender = self._sockets.get("lo-send")
        if lo is None or sender is None:
            raise HarnessError("the harness is not open (use it as a context manager)")
        path = _Path(
            lambda packet: sender.sendto(packet, ("127.0.0.1", 0)), lo, lo, _loopback_answer
        )
        answer: KernelAnswer[cipso.Verdict] = self._ask(
            _V4,
            lambda ident, seq: ipv4_echo_request(options, ident=ident, seq=seq, loopback=True),
            timeout,
            path,
        )
        return answer

    def calipso_verdict(
        self,
        hop_by_hop_header: bytes,
        *,
        timeout: float | None = None,
        destination_options: bool = False,
        multicast: bool = False,
    ) -> KernelAnswer[calipso.Verdict]:
        """Send an ICMPv6 echo request from A to B carrying exactly this hop-by-hop header
        (``destination_options``: as a destination options header; ``multicast``: to ff02::1).

        The header must be a whole number of 8-byte units and its length byte must agree. Its
        first byte (next header) is set to 58, ICMPv6, because the echo request follows it;
        every other byte is sent unchanged.
        """

        def build(ident: int, seq: int) -> bytes:
            return ipv6_echo_request(
                hop_by_hop_header,
                ident=ident,
                seq=seq,
                destination_options=destination_options,
                multicast=multicast,
            )

        path = self._veth_path(_V6, _ALL_NODES_MAC if multicast else None)
        answer: KernelAnswer[calipso.Verdict] = self._ask(_V6, build, timeout, path)
        return answer

    def calipso_option_verdict(
        self, option: calipso.CalipsoOption | bytes, *, timeout: float | None = None
    ) -> KernelAnswer[calipso.Verdict]:
        """Like :meth:`calipso_verdict` for one bare CALIPSO option, in a header of its own
        (:func:`calipso.build_header`: at offset 2, padded to a multiple of 8)."""
        header = calipso.build_header(option, next_header=_IPPROTO_ICMPV6)
        return self.calipso_verdict(header, timeout=timeout)

    def _counters(self, family: _Family) -> tuple[int, int]:
        fd = self._counter_fds["snmp" if family is _V4 else "snmp6"]
        # pread at offset 0 makes the kernel regenerate the file: fresh values every time.
        text = os.pread(fd, 1 << 16, 0).decode("ascii", "replace")
        counters = _snmp_counters(text)
        return counters.get(family.hdr_errors, 0), counters.get(family.out_param_problems, 0)

    def _veth_path(self, family: _Family, mac: bytes | None = None) -> _Path:
        v = "4" if family is _V4 else "6"
        tx, tap = self._sockets["a" + v], self._sockets["b" + v]
        address = (self.veth_a, family.ethertype, 0, 0, mac or self._mac_b)
        return _Path(lambda packet: tx.sendto(packet, address), tx, tap, family.answer)

    def _ask(
        self,
        family: _Family,
        build: Callable[[int, int], bytes],
        timeout: float | None,
        path: _Path | None = None,
    ) -> Any:
        if not self._open:
            raise HarnessError("the harness is not open (use it as a context manager)")
        limit = self.timeout if timeout is None else timeout
        with self._busy:
            path = path or self._veth_path(family)
            self._counter = (self._counter + 1) & 0xFFFFFFFF
            ident, seq = self._counter >> 16, self._counter & 0xFFFF
            packet = build(ident, seq)
            # Left-overs (router solicitations, late answers to earlier packets) must not be
            # mistaken for this packet's answer; matching by ident/seq is the real guard.
            _drain(path.answers)
            _drain(path.tap)
            before = self._counters(family)
            start = time.monotonic()
            path.send(packet)
            arrived: list[bool] = []

            def match(frame: bytes) -> _Answer | None:
                # Where one socket sees both the packet and the answer (lo), note the packet.
                if frame == packet:
                    arrived.append(True)
                    return None
                return path.answer(frame, ident, seq)

            answer = self._wait(family, path.answers, match, before, start + limit)
            elapsed = time.monotonic() - start
            errors, problems = self._counters(family)
            delivered = bool(arrived) or _check_delivery(path.tap, packet)
            seen = _Seen(
                answer, errors - before[0], problems - before[1], delivered, elapsed, packet
            )
            return _kernel_answer(family, seen)

    def _wait(
        self,
        family: _Family,
        tx: socket.socket,
        match: Callable[[bytes], _Answer | None],
        before: tuple[int, int],
        deadline: float,
    ) -> _Answer | None:
        """Wait for B's answer until ``deadline``; None when none came. A silent drop ends the
        wait early: a header error counted without a Parameter Problem sent. (When B did send
        one, the wait goes on: it is already on its way to A.)"""
        while True:
            answer = _receive(tx, match)
            if answer is not None:
                return answer
            errors, problems = self._counters(family)
            if errors > before[0] and problems == before[1]:
                return None
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            select.select([tx], [], [], min(remaining, _POLL_INTERVAL))


# --------------------------------------------------------------------------------------------
# Socket and namespace helpers


def _packet_socket(ifname: str, ethertype: int) -> socket.socket:
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(ethertype))
    try:
        sock.bind((ifname, ethertype))
        # The answer socket must not read back its own requests.
        sock.setsockopt(_SOL_PACKET, _PACKET_IGNORE_OUTGOING, 1)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


def _drain(sock: socket.socket) -> None:
    while True:
        try:
            sock.recv(65536)
        except BlockingIOError:
            return


def _receive(sock: socket.socket, match: Callable[[bytes], _Answer | None]) -> _Answer | None:
    """Read every frame waiting on ``sock``; return the first that answers our packet."""
    while True:
        try:
            frame, address = sock.recvfrom(65536)
        except BlockingIOError:
            return None
        if address[2] == _PACKET_OUTGOING:
            continue
        answer = match(frame)
        if answer is not None:
            return answer


def _check_delivery(tap: socket.socket, packet: bytes) -> bool:
    """Did B's veth end receive exactly ``packet``? Raise if it received something else."""
    ident_seq = packet[-4:]  # the echo request's identifier and sequence number end the packet
    while True:
        try:
            frame = tap.recv(65536)
        except BlockingIOError:
            return False
        if frame == packet:
            return True
        if len(frame) == len(packet) and frame[-4:] == ident_seq and frame[:1] == packet[:1]:
            raise HarnessError(
                "B received different bytes than A sent:\n"
                f" sent {packet.hex()}\n got  {frame.hex()}"
            )


def _run_batch(ns: str, commands: str) -> None:
    # One ip process per namespace instead of one per command: set-up stays fast.
    _netns.run(["ip", "-n", ns, "-batch", "-"], input=commands)


def _link_address(ns: str, dev: str) -> str:
    out = _netns.run(["ip", "-n", ns, "-o", "link", "show", dev])
    match = re.search(r"link/ether ([0-9a-f:]{17})", out)
    if match is None:
        raise HarnessError(f"no MAC address for {dev} in {ns}: {out!r}")
    return match.group(1)


def _sweep_stale_namespaces() -> None:
    """Delete namespaces left behind by harness processes that no longer exist (kill -9)."""
    try:
        names = os.listdir(_netns.NETNS_DIR)
    except FileNotFoundError:
        return
    for name in names:
        match = _NS_PATTERN.match(name)
        if match is None:
            continue
        if not _process_exists(int(match.group(1))):
            _netns.delete(name)


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # PermissionError: it exists, and is someone else's
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True
