"""Labeled sockets: put a CIPSO or CALIPSO label on a socket's packets, read the peer's label.

Sending: :func:`label_socket` sets the option the kernel would build for a labeled socket,
CIPSO through ``IP_OPTIONS`` (the option padded with EOL to a multiple of 4) and CALIPSO
through ``IPV6_HOPOPTS`` (the whole hop-by-hop header). Without an active LSM the kernel never
labels packets by itself, so this is how a process sends labeled traffic. Setting either
option needs CAP_NET_RAW.

Receiving: the label comes from the options the kernel hands back, after its own receive
path has validated them (an option it rejects never reaches a socket):

* datagrams: :func:`enable_label_reception` (``IP_RECVOPTS`` / ``IPV6_RECVHOPOPTS``), then
  :func:`recv_labeled`, which reads the options from the ancillary data;
* TCP: :func:`peer_label` on the accepted socket. IPv4 returns the connecting SYN's options
  through ``getsockopt(IP_OPTIONS)``; IPv6 returns the last received hop-by-hop header
  through ``getsockopt(IPV6_2292PKTOPTIONS)``, which needs ``IPV6_RECVHOPOPTS`` on the
  listening socket before the peer connects.

A label is a :class:`PeerLabel`: protocol, DOI and MLS level, and the peer context SELinux
forms from it (``system_u:object_r:netlabel_peer_t:LEVEL``). No label reads as ``None``
(:data:`NO_CONTEXT` in text).
"""

from __future__ import annotations

import errno
import socket
import struct
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import calipso
import cipso
from mls import Context, Level, Range
from mls.errors import ByteError
from netlabel.model import Protocol

__all__ = [
    "NO_CONTEXT",
    "PEER_ROLE",
    "PEER_TYPE",
    "PEER_USER",
    "FamilyMismatch",
    "LabelNotReceived",
    "OptionRefused",
    "PeerLabel",
    "SocketLabelError",
    "UnreadableLabel",
    "clear_label",
    "enable_label_reception",
    "label_from_hop_by_hop",
    "label_from_options",
    "label_reception_enabled",
    "label_socket",
    "outgoing_label",
    "parse_control_messages",
    "peer_context",
    "peer_label",
    "recv_labeled",
    "socket_option",
]

#: What the demo prints (and SELinux tools show) for a peer without a label.
NO_CONTEXT = "NO_CONTEXT"
#: User, role and type of the peer context SELinux builds from a NetLabel label: those of the
#: ``netmsg`` initial SID in refpolicy and Fedora (security_netlbl_secattr_to_sid).
PEER_USER = "system_u"
PEER_ROLE = "object_r"
PEER_TYPE = "netlabel_peer_t"

# Socket option numbers from include/uapi/linux/in.h and in6.h. Python's socket module lacks
# IPV6_2292PKTOPTIONS and, on some builds, the others; the values are fixed in the ABI.
IP_OPTIONS = 4
IP_RECVOPTS = 6
IPV6_2292PKTOPTIONS = 6
IPV6_RECVHOPOPTS = 53
IPV6_HOPOPTS = 54

# An IPv4 header holds at most 40 bytes of options; a hop-by-hop header at most 2048 bytes.
_MAX_IP_OPTIONS = 40
_MAX_HOP_BY_HOP = 2048
# CPython's getsockopt refuses buffers larger than this.
_GETSOCKOPT_LIMIT = 1024
# Room for both label messages plus a few others the caller may have enabled (pktinfo, TTL).
_ANCILLARY_SPACE = socket.CMSG_SPACE(_MAX_IP_OPTIONS) + socket.CMSG_SPACE(_MAX_HOP_BY_HOP) + 256

# struct cmsghdr: size_t cmsg_len; int cmsg_level; int cmsg_type; data aligned to size_t.
_CMSG_HEADER = struct.Struct("@Nii")
_CMSG_ALIGN = struct.calcsize("@N")

# The tags a DOI is assumed to accept when the receiver has no definition for it: every tag a
# PASS DOI can list, so any option the kernel let through can be read.
_PASS_TAGS = (
    cipso.TagType.RESTRICTED_BITMAP,
    cipso.TagType.ENUMERATED,
    cipso.TagType.RANGED,
)

CipsoDois = Mapping[int, cipso.CipsoDoi] | Iterable[cipso.CipsoDoi]


# --------------------------------------------------------------------------------------------
# Errors


class SocketLabelError(ByteError):
    """Base class of the labeled-socket errors. ``reason`` says what is wrong; ``offset`` is
    the byte at fault in the options area or hop-by-hop header, or None."""


class FamilyMismatch(SocketLabelError):
    """The socket cannot carry this label: CIPSO needs an AF_INET socket, CALIPSO an AF_INET6
    one, and :func:`peer_label` a connected stream socket."""


class LabelNotReceived(SocketLabelError):
    """The socket was not asked to receive labels (see :func:`enable_label_reception`), so an
    absent label would be indistinguishable from an unlabeled peer."""


class OptionRefused(SocketLabelError, OSError):
    """The kernel refused the option in ``setsockopt``. ``errno`` is its error.

    For CIPSO, EINVAL means the kernel's validator rejected the option: the DOI is not
    configured as a CIPSO DOI in the kernel, the DOI does not list the tag the definition
    chose, a TRANS DOI does not map the level or a category, or the process lacks
    CAP_NET_RAW. For CALIPSO (which the kernel does not check on the sending side), EPERM
    means the process lacks CAP_NET_RAW.
    """

    def __init__(self, error: int, reason: str) -> None:
        SocketLabelError.__init__(self, reason)
        self.errno = error
        self.strerror = reason

    def __str__(self) -> str:
        name = errno.errorcode.get(self.errno or 0, str(self.errno))
        return f"{self.reason} ({name})"


class UnreadableLabel(SocketLabelError):
    """Received options that the kernel accepted but that carry no readable MLS level: a
    tag-128 (local secid) option, a TRANS DOI that does not map the wire values, or a
    truncated control message. ``offset`` counts from the start of the options area or
    hop-by-hop header. When a datagram was consumed, ``data`` and ``address`` hold it."""

    data: bytes | None
    address: Any

    def __init__(
        self,
        reason: str,
        offset: int | None = None,
        *,
        data: bytes | None = None,
        address: Any = None,
    ) -> None:
        super().__init__(reason, offset)
        self.data = data
        self.address = address


# --------------------------------------------------------------------------------------------
# The label


def peer_context(level: Level) -> Context:
    """The context SELinux gives a peer whose packets carry ``level`` (mls.md §6): the
    ``netmsg`` user, role and type, with ``level`` as both ends of the range."""
    return Context(PEER_USER, PEER_ROLE, PEER_TYPE, Range(level, level))


@dataclass(frozen=True, slots=True)
class PeerLabel:
    """The label received packets carried.

    ``level`` is the host level: for CIPSO read through the DOI's definition (a PASS reading
    when none was given), for CALIPSO the wire level (Linux CALIPSO DOIs are all PASS).
    ``option`` is the option's bytes as received, from its type byte to its end; it is not
    compared (two encodings of one label, e.g. CIPSO tags 1 and 5, are the same label).
    """

    protocol: Protocol
    doi: int
    level: Level
    option: bytes = field(default=b"", repr=False, compare=False)

    @property
    def context(self) -> Context:
        """The peer context SELinux would form: ``system_u:object_r:netlabel_peer_t:LEVEL``."""
        return peer_context(self.level)

    def __str__(self) -> str:
        return str(self.context)


# --------------------------------------------------------------------------------------------
# Encoding


def socket_option(
    level: Level,
    doi: cipso.CipsoDoi | calipso.CalipsoDoi,
    header: bytes | None = None,
) -> bytes:
    """The bytes :func:`label_socket` hands to the kernel for ``level``.

    For a :class:`cipso.CipsoDoi`: the IPv4 options area for ``IP_OPTIONS``, the option the
    kernel's tag choice builds followed by EOL bytes up to a multiple of 4. For a
    :class:`calipso.CalipsoDoi`: the hop-by-hop header for ``IPV6_HOPOPTS``, ``header`` (the
    socket's current one) with the CALIPSO option put in as the kernel does, or a new header.
    Raises :class:`cipso.CipsoLabelError` / :class:`calipso.CalipsoEncodeError` for a label
    the DOI cannot carry.
    """
    if isinstance(doi, cipso.CipsoDoi):
        if header is not None:
            raise TypeError("header is for CALIPSO; IP_OPTIONS is replaced as a whole")
        return doi.encode_label(level, pad=True)
    if isinstance(doi, calipso.CalipsoDoi):
        return doi.encode_header(level, header)
    raise TypeError(f"doi must be a cipso.CipsoDoi or calipso.CalipsoDoi, not {doi!r}")


def _require_family(sock: socket.socket, family: int, what: str) -> None:
    if sock.family != family:
        name = "AF_INET" if family == socket.AF_INET else "AF_INET6"
        raise FamilyMismatch(f"{what} needs an {name} socket, not {sock.family!r}")


def label_socket(
    sock: socket.socket, level: Level, doi: cipso.CipsoDoi | calipso.CalipsoDoi
) -> bytes:
    """Label every packet ``sock`` sends from now on with ``level`` under ``doi``.

    CIPSO (``doi`` a :class:`cipso.CipsoDoi`, ``sock`` AF_INET) replaces the socket's IP
    options, as the kernel's own cipso_v4_sock_setattr does. CALIPSO (``doi`` a
    :class:`calipso.CalipsoDoi`, ``sock`` AF_INET6) goes into the socket's hop-by-hop header,
    keeping other options there, as calipso_sock_setattr does. For a TCP connection, label
    the socket before ``connect`` so that the SYN carries the label. Returns the bytes set.

    The kernel checks a CIPSO option against its configured DOIs right here: a refusal
    raises :class:`OptionRefused` (EINVAL). A CALIPSO option is not checked until a receiver
    sees it; a receiver without the DOI drops the packets silently.
    """
    if isinstance(doi, cipso.CipsoDoi):
        _require_family(sock, socket.AF_INET, "a CIPSO label")
        options = socket_option(level, doi)
        try:
            sock.setsockopt(socket.IPPROTO_IP, IP_OPTIONS, options)
        except OSError as exc:
            if exc.errno != errno.EINVAL:
                raise
            raise _cipso_refusal(doi.doi, options) from exc
        return options
    if isinstance(doi, calipso.CalipsoDoi):
        _require_family(sock, socket.AF_INET6, "a CALIPSO label")
        header = socket_option(level, doi, _sticky_hop_by_hop(sock))
        _set_hop_by_hop(sock, header)
        return header
    raise TypeError(f"doi must be a cipso.CipsoDoi or calipso.CalipsoDoi, not {doi!r}")


def clear_label(sock: socket.socket) -> None:
    """Stop labeling ``sock``'s packets: drop the IP options (AF_INET), or the CALIPSO option
    from the hop-by-hop header, keeping any other options (AF_INET6)."""
    if sock.family == socket.AF_INET:
        sock.setsockopt(socket.IPPROTO_IP, IP_OPTIONS, b"")
        return
    _require_family(sock, socket.AF_INET6, "clearing a label")
    header = _sticky_hop_by_hop(sock)
    if header is None:
        return
    _set_hop_by_hop(sock, calipso.remove_option(header) or b"")


def outgoing_label(sock: socket.socket, *, cipso_dois: CipsoDois | None = None) -> PeerLabel | None:
    """The label ``sock`` puts on the packets it sends, read back from the kernel, or None.

    On a socket accepted from a labeled IPv4 connection this is the peer's label: the kernel
    answers with the options of the connecting SYN (see :func:`peer_label`).
    """
    if sock.family == socket.AF_INET:
        return label_from_options(
            sock.getsockopt(socket.IPPROTO_IP, IP_OPTIONS, _MAX_IP_OPTIONS), cipso_dois=cipso_dois
        )
    _require_family(sock, socket.AF_INET6, "reading a socket's label")
    header = _sticky_hop_by_hop(sock)
    return None if header is None else label_from_hop_by_hop(header)


def _sticky_hop_by_hop(sock: socket.socket) -> bytes | None:
    current = sock.getsockopt(socket.IPPROTO_IPV6, IPV6_HOPOPTS, _GETSOCKOPT_LIMIT)
    return current or None


def _set_hop_by_hop(sock: socket.socket, header: bytes) -> None:
    try:
        sock.setsockopt(socket.IPPROTO_IPV6, IPV6_HOPOPTS, header)
    except PermissionError as exc:
        raise OptionRefused(
            exc.errno or errno.EPERM,
            "the kernel refused the hop-by-hop header: setting IPV6_HOPOPTS needs CAP_NET_RAW",
        ) from exc


def _cipso_refusal(doi: int, options: bytes) -> OptionRefused:
    tag = options[6] if len(options) > 6 else None
    return OptionRefused(
        errno.EINVAL,
        f"the kernel refused the CIPSO option for DOI {doi} (tag {tag}), invalid for the DOIs "
        f"configured there: DOI {doi} is not a CIPSO DOI, does not list tag {tag}, or (TRANS) "
        "does not map the level or a category; or the process lacks CAP_NET_RAW. Compare "
        f"'python -m netlabel cipso list doi:{doi}' with the definition used. Option: "
        f"{options.hex()}",
    )


# --------------------------------------------------------------------------------------------
# Decoding


def _find_cipso_doi(doi: int, cipso_dois: CipsoDois | None) -> cipso.CipsoDoi:
    if cipso_dois is not None:
        if isinstance(cipso_dois, Mapping):
            found = cipso_dois.get(doi)
            if found is not None:
                return found
        else:
            for definition in cipso_dois:
                if definition.doi == doi:
                    return definition
    return cipso.CipsoDoi(doi, cipso.MapType.PASS, _PASS_TAGS)


def label_from_options(options: bytes, *, cipso_dois: CipsoDois | None = None) -> PeerLabel | None:
    """The label in an IPv4 options area (as ``IP_OPTIONS`` or ``IP_RECVOPTS`` return it):
    the first CIPSO option read as the kernel reads it, or None when there is none.

    ``cipso_dois`` are DOI definitions to read the level and categories through (needed for
    TRANS DOIs); a DOI not among them is read as PASS (wire values are host values). Raises
    :class:`UnreadableLabel` when the option carries no MLS level this way.
    """
    options = bytes(options)
    start = cipso.find_option(options)
    if start is None:
        return None
    if start + 6 > len(options):
        raise UnreadableLabel("the CIPSO option is cut short before its DOI", start)
    end = start + options[start + 1]
    option = options[start:end]
    number = int.from_bytes(option[2:6], "big")
    if number == 0:
        raise UnreadableLabel(
            "the CIPSO option carries DOI 0, which is never configured", start + 2
        )
    definition = _find_cipso_doi(number, cipso_dois)
    try:
        level = definition.decode_label(option)
    except cipso.CipsoError as exc:
        offset = None if exc.offset is None else start + exc.offset
        raise UnreadableLabel(f"CIPSO option of DOI {number}: {exc.reason}", offset) from exc
    return PeerLabel(Protocol.CIPSOV4, number, level, option)


def label_from_hop_by_hop(header: bytes) -> PeerLabel | None:
    """The label in an IPv6 hop-by-hop header (as ``IPV6_RECVHOPOPTS`` returns it): the first
    CALIPSO option, the one the kernel reads, or None when there is none. Raises
    :class:`UnreadableLabel` for a malformed header or option."""
    header = bytes(header)
    try:
        start = calipso.find_option(header)
        if start is None:
            return None
        option = header[start : start + 2 + header[start + 1]]
        if len(option) < 6:
            raise UnreadableLabel("the CALIPSO option is cut short before its DOI", start)
        number = int.from_bytes(option[2:6], "big")
        level = calipso.CalipsoDoi(number).decode_label(option)
    except calipso.CalipsoError as exc:
        offset = exc.offset
        if not isinstance(exc, calipso.HopByHopError) and offset is not None:
            offset += start or 0
        raise UnreadableLabel(f"hop-by-hop header: {exc.reason}", offset) from exc
    return PeerLabel(Protocol.CALIPSO, number, level, option)


def parse_control_messages(buffer: bytes) -> list[tuple[int, int, bytes]]:
    """Split a control-message buffer (as ``getsockopt(IPV6_2292PKTOPTIONS)`` returns it) into
    ``(level, type, data)`` triples, the shape ``recvmsg`` gives its ancillary data.

    Each message is a native ``struct cmsghdr`` (length, level, type) followed by its data,
    padded to the size of ``size_t``. Raises :class:`UnreadableLabel` when a length runs past
    the buffer (the kernel truncates a buffer that is too small).
    """
    buffer = bytes(buffer)
    messages = []
    offset = 0
    header_size = _CMSG_HEADER.size
    while offset < len(buffer):
        if offset + header_size > len(buffer):
            raise UnreadableLabel(
                f"{len(buffer) - offset} stray bytes where a control message header "
                f"({header_size} bytes) should be",
                offset,
            )
        length, level, kind = _CMSG_HEADER.unpack_from(buffer, offset)
        if length < header_size or offset + length > len(buffer):
            raise UnreadableLabel(
                f"control message length {length} does not fit the {len(buffer)}-byte buffer "
                "(truncated?)",
                offset,
            )
        messages.append((level, kind, buffer[offset + header_size : offset + length]))
        offset += -(-length // _CMSG_ALIGN) * _CMSG_ALIGN
    return messages


def _label_from_ancillary(
    ancillary: Iterable[tuple[int, int, bytes]], cipso_dois: CipsoDois | None
) -> PeerLabel | None:
    for level, kind, data in ancillary:
        if level == socket.IPPROTO_IP and kind == IP_RECVOPTS:
            return label_from_options(data, cipso_dois=cipso_dois)
        if level == socket.IPPROTO_IPV6 and kind == IPV6_HOPOPTS:
            return label_from_hop_by_hop(data)
    return None


# --------------------------------------------------------------------------------------------
# Receiving


def enable_label_reception(sock: socket.socket) -> None:
    """Ask the kernel to hand ``sock`` the options that carry labels.

    AF_INET: ``IP_RECVOPTS`` (for :func:`recv_labeled`; TCP needs nothing). AF_INET6:
    ``IPV6_RECVHOPOPTS``, for datagrams and, on a listening socket, for the connections it
    accepts afterwards (:func:`peer_label`); and ``IP_RECVOPTS`` as well, for the IPv4
    datagrams a dual-stack socket (``IPV6_V6ONLY`` off) receives from IPv4-mapped peers.
    """
    if sock.family == socket.AF_INET:
        sock.setsockopt(socket.IPPROTO_IP, IP_RECVOPTS, 1)
    elif sock.family == socket.AF_INET6:
        sock.setsockopt(socket.IPPROTO_IPV6, IPV6_RECVHOPOPTS, 1)
        sock.setsockopt(socket.IPPROTO_IP, IP_RECVOPTS, 1)
    else:
        raise FamilyMismatch(f"labels travel on AF_INET and AF_INET6 sockets, not {sock.family!r}")


def label_reception_enabled(sock: socket.socket) -> bool:
    """Whether :func:`enable_label_reception` is in effect on ``sock``."""
    if sock.family == socket.AF_INET:
        return bool(sock.getsockopt(socket.IPPROTO_IP, IP_RECVOPTS))
    if sock.family == socket.AF_INET6:
        return bool(
            sock.getsockopt(socket.IPPROTO_IPV6, IPV6_RECVHOPOPTS)
            and sock.getsockopt(socket.IPPROTO_IP, IP_RECVOPTS)
        )
    return False


def recv_labeled(
    sock: socket.socket,
    bufsize: int,
    flags: int = 0,
    *,
    cipso_dois: CipsoDois | None = None,
) -> tuple[bytes, Any, PeerLabel | None]:
    """Receive one datagram and the label it carried: ``(data, address, label or None)``.

    ``sock`` must have had :func:`enable_label_reception` (else :class:`LabelNotReceived`).
    The label is the first CIPSO option of the IPv4 options, or the first CALIPSO option of
    the hop-by-hop header; ``cipso_dois`` as in :func:`label_from_options`. When the options
    cannot be read, :class:`UnreadableLabel` carries the datagram in ``data``/``address``.
    """
    if sock.family not in (socket.AF_INET, socket.AF_INET6):
        raise FamilyMismatch(f"labels travel on AF_INET and AF_INET6 sockets, not {sock.family!r}")
    if sock.type != socket.SOCK_DGRAM:
        raise FamilyMismatch(
            "recv_labeled reads datagrams; for a TCP connection use peer_label on the "
            "accepted socket"
        )
    if not label_reception_enabled(sock):
        raise LabelNotReceived(
            "label reception is off on this socket: call enable_label_reception(sock) first"
        )
    data, ancillary, msg_flags, address = sock.recvmsg(bufsize, _ANCILLARY_SPACE, flags)
    if msg_flags & socket.MSG_CTRUNC:
        raise UnreadableLabel("the kernel truncated the ancillary data", data=data, address=address)
    try:
        label = _label_from_ancillary(ancillary, cipso_dois)
    except UnreadableLabel as exc:
        raise UnreadableLabel(exc.reason, exc.offset, data=data, address=address) from exc
    return data, address, label


def peer_label(conn: socket.socket, *, cipso_dois: CipsoDois | None = None) -> PeerLabel | None:
    """The label of the peer of a connected TCP socket, or None when its packets carry none.

    IPv4: the options of the connecting SYN, which the kernel keeps on the accepted socket
    (``getsockopt(IP_OPTIONS)``); read it before setting options on ``conn`` yourself. IPv6:
    the hop-by-hop header of the last packet received (``getsockopt(IPV6_2292PKTOPTIONS)``),
    which the kernel records only when the listening socket had
    :func:`enable_label_reception` before the peer connected (else :class:`LabelNotReceived`).
    """
    if conn.type != socket.SOCK_STREAM:
        raise FamilyMismatch(
            "peer_label reads a connected stream socket; datagrams carry their own labels "
            "(use recv_labeled)"
        )
    if conn.family == socket.AF_INET or (
        conn.family == socket.AF_INET6 and _ipv4_mapped_peer(conn)
    ):
        raw = conn.getsockopt(socket.IPPROTO_IP, IP_OPTIONS, _MAX_IP_OPTIONS)
        return label_from_options(raw, cipso_dois=cipso_dois)
    _require_family(conn, socket.AF_INET6, "peer_label")
    if not conn.getsockopt(socket.IPPROTO_IPV6, IPV6_RECVHOPOPTS):
        raise LabelNotReceived(
            "the kernel records a TCP peer's hop-by-hop header only when the listening socket "
            "had enable_label_reception(listener) before the peer connected"
        )
    buffer = conn.getsockopt(socket.IPPROTO_IPV6, IPV6_2292PKTOPTIONS, _GETSOCKOPT_LIMIT)
    return _label_from_ancillary(parse_control_messages(buffer), cipso_dois)


def _ipv4_mapped_peer(conn: socket.socket) -> bool:
    try:
        host = conn.getpeername()[0]
    except OSError:
        return False
    return isinstance(host, str) and host.lower().startswith("::ffff:") and "." in host
