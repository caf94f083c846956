"""Ask the live Linux kernel for its verdict on a CIPSO or CALIPSO option.

This is the one harness that the kernel tests, the conformance runs and the capture tool share.
It needs root, ``ip`` (iproute2) and ``netlabelctl`` (netlabel-tools); :func:`unavailable_reason`
says whether they are all here.

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
* DOIs are global to the kernel and can only be configured from the initial namespace:
  :func:`cipso_doi` and :func:`calipso_doi` add a scratch DOI for the duration of a ``with``
  block, under the :func:`netlabel_lock` file lock.

Standard library only (plus the ``ip`` and ``netlabelctl`` programs).
"""

from __future__ import annotations

import enum
import errno
import fcntl
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
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, suppress
from dataclasses import dataclass, field
from types import TracebackType

from netlabel import _netns
from netlabel._netns import CommandError

__all__ = [
    "A_IPV4",
    "A_IPV6",
    "B_IPV4",
    "B_IPV6",
    "LOCK_PATH",
    "SCRATCH_DOI_BASE",
    "CalipsoVerdict",
    "CipsoMapping",
    "CipsoVerdict",
    "CommandError",
    "DoiInUse",
    "HarnessError",
    "HarnessUnavailable",
    "KernelHarness",
    "VerdictKind",
    "calipso_doi",
    "cipso_doi",
    "ipv4_echo_request",
    "ipv6_echo_request",
    "list_calipso_dois",
    "list_cipso_dois",
    "netlabel_lock",
    "pad_ipv4_options",
    "require",
    "unavailable_reason",
    "wrap_hop_by_hop",
]

# Addresses on the veth pair; they exist only inside the harness's own namespaces.
A_IPV4 = "169.254.77.1"
B_IPV4 = "169.254.77.2"
A_IPV6 = "fd4c:6162:6c00::1"
B_IPV6 = "fd4c:6162:6c00::2"

LOCK_PATH = "/run/lock/labelnet-netlabel.lock"
_LOCK_FALLBACK = "/tmp/labelnet-netlabel.lock"

# Scratch DOIs are picked from here upwards: far above anything a real site uses.
SCRATCH_DOI_BASE = 3_000_000
_DOI_MAX = 0xFFFFFFFF

_NS_PREFIX = "labelnet"
_NS_PATTERN = re.compile(rf"^{_NS_PREFIX}-(\d+)-[0-9a-f]+-[ab]$")

_ETH_P_IP = 0x0800
_ETH_P_IPV6 = 0x86DD
# Not exported by the socket module before Python 3.12; the value is fixed in the kernel ABI.
_PACKET_IGNORE_OUTGOING = 23
_PACKET_OUTGOING = 4
_SOL_PACKET = 263

_IPPROTO_ICMP = 1
_IPPROTO_ICMPV6 = 58
_IPOPT_CIPSO = 134
_IPV6_TLV_PAD1 = 0
_IPV6_TLV_PADN = 1

_DEFAULT_TIMEOUT = 0.25
# While waiting, re-read B's counters this often so that a silent drop ends the wait early.
_POLL_INTERVAL = 0.002


class HarnessError(RuntimeError):
    """The harness could not do what was asked (a set-up or consistency problem)."""


class HarnessUnavailable(HarnessError):
    """This machine cannot run the harness: not root, no namespaces, no netlabelctl."""


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
    for program in ("ip", "netlabelctl"):
        if shutil.which(program) is None:
            return f"needs the program {program!r} on PATH"
    if not os.path.exists("/proc/thread-self/ns/net"):
        return "the kernel has no network namespaces"
    try:
        _netns.run(["ip", "netns", "list"])
    except (OSError, CommandError) as exc:
        return f"'ip netns' does not work here: {exc}"
    try:
        _netns.run(["netlabelctl", "mgmt", "version"])
    except (OSError, CommandError) as exc:
        return f"NetLabel is not usable (netlabelctl mgmt version failed): {exc}"
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


class CipsoMapping(enum.Enum):
    """CIPSO DOI mapping types, as netlabelctl spells them."""

    PASS = "pass"  # identity levels and categories
    TRANS = "trans"  # translated through level/category tables
    LOCAL = "local"  # loopback only, tag 128 carrying the secid


def _list_dois(protocol: str) -> frozenset[int]:
    # Plain (non-pretty) output is one line of "DOI,TYPE" items separated by spaces.
    out = _netns.run(["netlabelctl", protocol, "list"])
    dois = set()
    for item in out.split():
        number, _, _kind = item.partition(",")
        if number.isdigit():
            dois.add(int(number))
    return frozenset(dois)


def list_cipso_dois() -> frozenset[int]:
    """The CIPSO DOIs configured in the kernel right now."""
    return _list_dois("cipso")


def list_calipso_dois() -> frozenset[int]:
    """The CALIPSO DOIs configured in the kernel right now."""
    return _list_dois("calipso")


def _pick_doi(taken: frozenset[int]) -> int:
    # Start at a per-process offset so that concurrent test runs rarely even look at the same
    # numbers; the lock makes the final choice safe anyway.
    doi = SCRATCH_DOI_BASE + (os.getpid() % 100_000) * 16
    while doi in taken:
        doi += 1
    return doi


def _map_arg(table: str | Mapping[int, int]) -> str:
    if isinstance(table, str):
        return table
    return ",".join(f"{local}={remote}" for local, remote in sorted(table.items()))


@contextmanager
def _scratch_doi(
    protocol: str, doi: int | None, add_args: Callable[[int], list[str]]
) -> Iterator[int]:
    with netlabel_lock():
        taken = _list_dois(protocol)
        if doi is None:
            doi = _pick_doi(taken)
        elif not 0 < doi <= _DOI_MAX:
            raise ValueError(f"DOI must be 1..{_DOI_MAX}, got {doi}")
        elif doi in taken:
            raise DoiInUse(f"{protocol} DOI {doi} already exists; refusing to touch it")
        argv = ["netlabelctl", protocol, "add", *add_args(doi)]
        try:
            _netns.run(argv)
        except BaseException:
            # Interrupted or failed half-way: remove the DOI only if it did get added.
            with suppress(CommandError, OSError):
                if doi in _list_dois(protocol):
                    _netns.run_shielded(["netlabelctl", protocol, "del", f"doi:{doi}"])
            raise
    try:
        yield doi
    finally:
        _remove_doi(protocol, doi)


def _remove_doi(protocol: str, doi: int) -> None:
    # A Ctrl-C while waiting for the lock or for netlabelctl must not leave the DOI behind:
    # retry until the removal has run, then deliver the interrupt.
    interrupted = False
    while True:
        try:
            with netlabel_lock():
                status = _netns.run_shielded(["netlabelctl", protocol, "del", f"doi:{doi}"])
            break
        except KeyboardInterrupt:
            interrupted = True
    if status != 0 and doi in _list_dois(protocol):
        raise HarnessError(f"could not remove {protocol} DOI {doi} (netlabelctl: {status})")
    if interrupted:
        raise KeyboardInterrupt


def cipso_doi(
    doi: int | None = None,
    *,
    mapping: CipsoMapping | str = CipsoMapping.PASS,
    tags: Sequence[int] = (1,),
    levels: str | Mapping[int, int] | None = None,
    categories: str | Mapping[int, int] | None = None,
) -> AbstractContextManager[int]:
    """Add a CIPSO DOI for the duration of a ``with`` block; yields the DOI number.

    ``doi=None`` picks an unused number from :data:`SCRATCH_DOI_BASE` upwards. A DOI that
    already exists raises :class:`DoiInUse`. ``tags`` is the DOI's tag list in order (not used
    for LOCAL, whose only tag is 128). For TRANS, ``levels`` and ``categories`` map local to
    remote values, either as mappings or in netlabelctl syntax (``"0=0,1=3"``); ``categories``
    may be left out (then no category can be mapped). The DOI is removed on exit, also when the
    block raises or is interrupted.
    """
    kind = CipsoMapping(mapping)
    if kind is not CipsoMapping.TRANS and (levels is not None or categories is not None):
        raise ValueError("level and category maps are only for TRANS DOIs")
    if kind is CipsoMapping.TRANS and levels is None:
        raise ValueError("a TRANS DOI needs a level map")

    def add_args(number: int) -> list[str]:
        args = [kind.value, f"doi:{number}"]
        if kind is not CipsoMapping.LOCAL:
            args.append("tags:" + ",".join(str(t) for t in tags))
        if levels is not None:
            args.append("levels:" + _map_arg(levels))
        if categories is not None:
            args.append("categories:" + _map_arg(categories))
        return args

    return _scratch_doi("cipso", doi, add_args)


def calipso_doi(doi: int | None = None) -> AbstractContextManager[int]:
    """Add a CALIPSO PASS DOI (the only type) for a ``with`` block; yields the DOI number.

    Same rules as :func:`cipso_doi`.
    """
    return _scratch_doi("calipso", doi, lambda number: ["pass", f"doi:{number}"])


# --------------------------------------------------------------------------------------------
# Option helpers


def pad_ipv4_options(option: bytes) -> bytes:
    """Pad a bare option with EOL (zero) bytes to a multiple of 4, as the kernel does."""
    padded = option + bytes(-len(option) % 4)
    if len(padded) > 40:
        raise ValueError(f"IPv4 options are at most 40 bytes, got {len(padded)}")
    return padded


def wrap_hop_by_hop(option: bytes, *, next_header: int = _IPPROTO_ICMPV6) -> bytes:
    """Wrap one bare option (e.g. CALIPSO) into a hop-by-hop header, as the kernel builds it.

    The option starts at header offset 2 (so a CALIPSO DOI is 4-byte aligned, calipso.md §4)
    and Pad1 or PadN fills the header up to a multiple of 8 bytes.
    """
    body = bytes([next_header, 0]) + option
    pad = -len(body) % 8
    if pad == 1:
        body += bytes([_IPV6_TLV_PAD1])
    elif pad:
        body += bytes([_IPV6_TLV_PADN, pad - 2]) + bytes(pad - 2)
    if len(body) > 2048:
        raise ValueError("a hop-by-hop header is at most 2048 bytes")
    return body[:1] + bytes([len(body) // 8 - 1]) + body[2:]


# --------------------------------------------------------------------------------------------
# Verdicts


class VerdictKind(enum.Enum):
    """What the receiving kernel did with the packet."""

    ACCEPTED = "accepted"  # the echo reply came back
    PARAMETER_PROBLEM = "parameter-problem"  # ICMP type 12 / ICMPv6 type 4 quoting our packet
    ICMP_ERROR = "icmp-error"  # another ICMP error quoting our packet (e.g. admin prohibited)
    DROPPED = "dropped"  # no answer, and B counted a header error without sending an ICMP error
    NO_ANSWER = "no-answer"  # nothing within the timeout and no header error counted


@dataclass(frozen=True, slots=True)
class CipsoVerdict:
    """The receiving kernel's answer to one IPv4 packet.

    ``pointer`` is the Parameter Problem pointer, counted from the start of the IPv4 header (the
    first option byte is 20). ``reply_options`` is the options area of the reply's own IPv4
    header (the kernel echoes the CIPSO option there). ``hdr_errors`` is how much B's
    InHdrErrors rose. ``delivered`` says B's veth end saw exactly the bytes that were sent.
    """

    kind: VerdictKind
    icmp_type: int | None = None
    icmp_code: int | None = None
    pointer: int | None = None
    reply_options: bytes | None = None
    hdr_errors: int = 0
    delivered: bool = False
    elapsed: float = 0.0
    packet: bytes = field(default=b"", repr=False)

    @property
    def accepted(self) -> bool:
        return self.kind is VerdictKind.ACCEPTED

    @property
    def option_offset(self) -> int | None:
        """The pointer counted from the first byte of the options area (pointer - 20)."""
        return None if self.pointer is None else self.pointer - 20

    @property
    def echoed_cipso(self) -> bytes | None:
        """The first CIPSO option in the reply's IP header, or None."""
        return None if self.reply_options is None else _find_ipv4_option(self.reply_options)


@dataclass(frozen=True, slots=True)
class CalipsoVerdict:
    """The receiving kernel's answer to one IPv6 packet.

    ``pointer`` is the ICMPv6 Parameter Problem pointer, counted from the start of the IPv6
    header (a hop-by-hop option at header offset 2 has pointer 42). ``hdr_errors`` is how much
    B's Ip6InHdrErrors rose. ``delivered`` says B's veth end saw exactly the bytes sent.
    """

    kind: VerdictKind
    icmp_type: int | None = None
    icmp_code: int | None = None
    pointer: int | None = None
    hdr_errors: int = 0
    delivered: bool = False
    elapsed: float = 0.0
    packet: bytes = field(default=b"", repr=False)

    @property
    def accepted(self) -> bool:
        return self.kind is VerdictKind.ACCEPTED

    @property
    def dropped(self) -> bool:
        return self.kind is VerdictKind.DROPPED


def _find_ipv4_option(options: bytes, wanted: int = _IPOPT_CIPSO) -> bytes | None:
    i = 0
    while i < len(options):
        kind = options[i]
        if kind == 0:  # EOL
            return None
        if kind == 1:  # NOP
            i += 1
            continue
        if i + 1 >= len(options) or options[i + 1] < 2:
            return None
        length = options[i + 1]
        if kind == wanted:
            return options[i : i + length]
        i += length
    return None


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
_SRC6 = socket.inet_pton(socket.AF_INET6, A_IPV6)
_DST6 = socket.inet_pton(socket.AF_INET6, B_IPV6)
_ECHO = struct.Struct("!BBHHH")


def _echo(kind: int, ident: int, seq: int, payload: bytes, pseudo: bytes = b"") -> bytes:
    message = _ECHO.pack(kind, 0, 0, ident, seq) + payload
    check = _checksum(pseudo + message)
    return message[:2] + check.to_bytes(2, "big") + message[4:]


def ipv4_echo_request(
    options: bytes, *, ident: int = 0, seq: int = 0, payload: bytes = b""
) -> bytes:
    """The IPv4 packet the harness sends: an ICMP echo request from A to B carrying ``options``.

    ``options`` is the whole options area (a multiple of 4 bytes, at most 40), used unchanged.
    Checksums are computed here; the IP identification is ``seq`` and DF is set.
    """
    if len(options) % 4 or len(options) > 40:
        raise ValueError(
            f"the IPv4 options area must be a multiple of 4 bytes, at most 40 "
            f"(got {len(options)}); pad_ipv4_options() pads a bare option"
        )
    icmp = _echo(8, ident, seq, payload)
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
            _SRC4,
            _DST4,
        )
        + options
    )
    check = _checksum(header)
    return header[:10] + check.to_bytes(2, "big") + header[12:] + icmp


def ipv6_echo_request(
    hop_by_hop: bytes, *, ident: int = 0, seq: int = 0, payload: bytes = b""
) -> bytes:
    """The IPv6 packet the harness sends: an ICMPv6 echo request from A to B.

    ``hop_by_hop`` is the whole hop-by-hop header (8..2048 bytes, a multiple of 8, length byte
    len/8 - 1). Its next-header byte is set to 58 (ICMPv6, which follows); every other byte is
    used unchanged.
    """
    if (
        len(hop_by_hop) < 8
        or len(hop_by_hop) % 8
        or len(hop_by_hop) > 2048
        or hop_by_hop[1] != len(hop_by_hop) // 8 - 1
    ):
        raise ValueError(
            "a hop-by-hop header is 8..2048 bytes, a multiple of 8, with length byte "
            "len/8 - 1; wrap_hop_by_hop() builds one around a bare option"
        )
    hop_by_hop = bytes([_IPPROTO_ICMPV6]) + hop_by_hop[1:]
    icmp_len = _ECHO.size + len(payload)
    pseudo = _SRC6 + _DST6 + struct.pack("!I3xB", icmp_len, _IPPROTO_ICMPV6)
    icmp = _echo(128, ident, seq, payload, pseudo)
    # Next header 0: the hop-by-hop header follows; its own next-header byte points at ICMPv6.
    header = struct.pack("!IHBB", 0x60000000, len(hop_by_hop) + icmp_len, 0, 64) + _SRC6 + _DST6
    return header + hop_by_hop + icmp


def _ipv6_upper(packet: bytes) -> tuple[int, int] | None:
    """Walk the extension headers; return (upper-layer protocol, its offset)."""
    if len(packet) < 40:
        return None
    nh, off = packet[6], 40
    while nh in (0, 43, 60):  # hop-by-hop, routing, destination options
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


def _ipv4_answer(packet: bytes, ident: int, seq: int) -> _Answer | None:
    """Recognise B's answer to our echo request (ident, seq) in a frame received by A."""
    if len(packet) < 28 or packet[0] >> 4 != 4 or packet[9] != _IPPROTO_ICMP:
        return None
    if packet[12:16] != _DST4:
        return None
    ihl = (packet[0] & 0x0F) * 4
    icmp = packet[ihl:]
    if len(icmp) < 8:
        return None
    kind, code = icmp[0], icmp[1]
    if kind == 0:
        got = struct.unpack_from("!HH", icmp, 4)
    elif kind in (3, 4, 5, 11, 12):
        quoted = icmp[8:]
        if len(quoted) < 20 or quoted[9] != _IPPROTO_ICMP:
            return None
        qihl = (quoted[0] & 0x0F) * 4
        if len(quoted) < qihl + 8 or quoted[qihl] != 8:
            return None
        got = struct.unpack_from("!HH", quoted, qihl + 4)
    else:
        return None
    if got != (ident, seq):
        return None
    info = struct.unpack_from("!I", icmp, 4)[0]
    return _Answer(kind, code, info, packet[20:ihl])


def _ipv6_answer(packet: bytes, ident: int, seq: int) -> _Answer | None:
    if len(packet) < 48 or packet[0] >> 4 != 6 or packet[8:24] != _DST6:
        return None
    upper = _ipv6_upper(packet)
    if upper is None or upper[0] != _IPPROTO_ICMPV6:
        return None
    icmp = packet[upper[1] :]
    if len(icmp) < 8:
        return None
    kind, code = icmp[0], icmp[1]
    if kind == 129:
        got = struct.unpack_from("!HH", icmp, 4)
    elif 1 <= kind <= 4:
        quoted = icmp[8:]
        qupper = _ipv6_upper(quoted)
        if qupper is None or qupper[0] != _IPPROTO_ICMPV6:
            return None
        qicmp = quoted[qupper[1] :]
        if len(qicmp) < 8 or qicmp[0] != 128:
            return None
        got = struct.unpack_from("!HH", qicmp, 4)
    else:
        return None
    if got != (ident, seq):
        return None
    return _Answer(kind, code, struct.unpack_from("!I", icmp, 4)[0], None)


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
class _Family:
    """What differs between the IPv4 and the IPv6 verdict paths."""

    ethertype: int
    hdr_errors: str  # B's counter of header errors
    out_param_problems: str  # B's counter of Parameter Problems sent
    answer: Callable[[bytes, int, int], _Answer | None]
    param_problem_type: int
    echo_reply_type: int


_V4 = _Family(_ETH_P_IP, "IpInHdrErrors", "IcmpOutParmProbs", _ipv4_answer, 12, 0)
_V6 = _Family(_ETH_P_IPV6, "Ip6InHdrErrors", "Icmp6OutParmProblems", _ipv6_answer, 4, 129)


@dataclass(frozen=True, slots=True)
class _Outcome:
    kind: VerdictKind
    answer: _Answer | None
    hdr_errors: int
    delivered: bool
    elapsed: float
    packet: bytes


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

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
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

    def cipso_verdict(self, options: bytes, *, timeout: float | None = None) -> CipsoVerdict:
        """Send an ICMP echo request from A to B whose IPv4 options area is exactly ``options``.

        ``options`` is the whole options area (a multiple of 4 bytes, at most 40); see
        :meth:`cipso_option_verdict` for a bare option. Returns what B's kernel did.
        """
        out = self._verdict(
            _V4, lambda ident, seq: ipv4_echo_request(options, ident=ident, seq=seq), timeout
        )
        a = out.answer
        return CipsoVerdict(
            kind=out.kind,
            icmp_type=None if a is None else a.icmp_type,
            icmp_code=None if a is None else a.icmp_code,
            pointer=a.info >> 24 if a is not None and a.icmp_type == 12 else None,
            reply_options=None if a is None else a.reply_options,
            hdr_errors=out.hdr_errors,
            delivered=out.delivered,
            elapsed=out.elapsed,
            packet=out.packet,
        )

    def cipso_option_verdict(self, option: bytes, *, timeout: float | None = None) -> CipsoVerdict:
        """Like :meth:`cipso_verdict` for a bare option, padded with EOL to a multiple of 4."""
        return self.cipso_verdict(pad_ipv4_options(option), timeout=timeout)

    def calipso_verdict(
        self, hop_by_hop_header: bytes, *, timeout: float | None = None
    ) -> CalipsoVerdict:
        """Send an ICMPv6 echo request from A to B carrying exactly this hop-by-hop header.

        The header must be a whole number of 8-byte units and its length byte must agree. Its
        first byte (next header) is set to 58, ICMPv6, because the echo request follows it;
        every other byte is sent unchanged.
        """
        out = self._verdict(
            _V6,
            lambda ident, seq: ipv6_echo_request(hop_by_hop_header, ident=ident, seq=seq),
            timeout,
        )
        a = out.answer
        return CalipsoVerdict(
            kind=out.kind,
            icmp_type=None if a is None else a.icmp_type,
            icmp_code=None if a is None else a.icmp_code,
            pointer=a.info if a is not None and a.icmp_type == 4 else None,
            hdr_errors=out.hdr_errors,
            delivered=out.delivered,
            elapsed=out.elapsed,
            packet=out.packet,
        )

    def calipso_option_verdict(
        self, option: bytes, *, timeout: float | None = None
    ) -> CalipsoVerdict:
        """Like :meth:`calipso_verdict` for a bare option, wrapped by :func:`wrap_hop_by_hop`."""
        return self.calipso_verdict(wrap_hop_by_hop(option), timeout=timeout)

    def _counters(self, family: _Family) -> tuple[int, int]:
        fd = self._counter_fds["snmp" if family is _V4 else "snmp6"]
        # pread at offset 0 makes the kernel regenerate the file: fresh values every time.
        text = os.pread(fd, 1 << 16, 0).decode("ascii", "replace")
        counters = _snmp_counters(text)
        return counters.get(family.hdr_errors, 0), counters.get(family.out_param_problems, 0)

    def _verdict(
        self, family: _Family, build: Callable[[int, int], bytes], timeout: float | None
    ) -> _Outcome:
        if not self._open:
            raise HarnessError("the harness is not open (use it as a context manager)")
        limit = self.timeout if timeout is None else timeout
        with self._busy:
            v = "4" if family is _V4 else "6"
            tx, tap = self._sockets["a" + v], self._sockets["b" + v]
            self._counter = (self._counter + 1) & 0xFFFFFFFF
            ident, seq = self._counter >> 16, self._counter & 0xFFFF
            packet = build(ident, seq)
            # Left-overs (router solicitations, late answers to earlier packets) must not be
            # mistaken for this packet's answer; matching by ident/seq is the real guard.
            _drain(tx)
            _drain(tap)
            errors0, problems0 = self._counters(family)
            start = time.monotonic()
            tx.sendto(packet, (self.veth_a, family.ethertype, 0, 0, self._mac_b))
            deadline = start + limit
            kind = VerdictKind.NO_ANSWER
            answer: _Answer | None = None
            while True:
                answer = _receive(tx, lambda frame: family.answer(frame, ident, seq))
                if answer is not None:
                    if answer.icmp_type == family.echo_reply_type:
                        kind = VerdictKind.ACCEPTED
                    elif answer.icmp_type == family.param_problem_type:
                        kind = VerdictKind.PARAMETER_PROBLEM
                    else:
                        kind = VerdictKind.ICMP_ERROR
                    break
                errors, problems = self._counters(family)
                # A header error without a Parameter Problem sent is a silent drop. (When B
                # did send one, the loop waits for it: it is already on its way to A.)
                if errors > errors0 and problems == problems0:
                    kind = VerdictKind.DROPPED
                    break
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                select.select([tx], [], [], min(remaining, _POLL_INTERVAL))
            elapsed = time.monotonic() - start
            errors, _ = self._counters(family)
            delivered = _check_delivery(tap, packet)
            return _Outcome(kind, answer, errors - errors0, delivered, elapsed, packet)


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
        pid = int(match.group(1))
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            _netns.delete(name)
        except PermissionError:
            pass
        except OSError as exc:
            if exc.errno != errno.ESRCH:
                raise
