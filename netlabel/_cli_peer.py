"""``python -m netlabel peer-server`` and ``send``: the peer-label demo.

A client labels its socket with CIPSO or CALIPSO (:func:`netlabel.sockets.label_socket`), the
kernel checks the option on the way in, and the server prints the peer context SELinux would
give the sender. Argument set-up and handlers only; the socket work is in netlabel.sockets,
imported when a command runs so that ``python -m netlabel --help`` stays fast.
"""

from __future__ import annotations

import argparse
import ipaddress
import socket
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from mls._cli import add_setrans_arguments, load_setrans, setrans_epilog

if TYPE_CHECKING:
    from mls.translate import Translator
    from netlabel.sockets import PeerLabel

__all__ = [
    "SEND_DESCRIPTION",
    "SEND_HELP",
    "SERVER_DESCRIPTION",
    "SERVER_HELP",
    "configure_send",
    "configure_server",
]

PROG = "python -m netlabel"
NAME = "netlabel"

# How long the server waits for a TCP client's data, and how much of it it reads: a client
# that never closes must not stall the demo.
_DRAIN_TIMEOUT = 2.0
_DRAIN_LIMIT = 1 << 20
# Exit status after Ctrl-C, as a shell reports a process ended by SIGINT.
_INTERRUPTED = 130

Handler = Callable[[argparse.Namespace], int]

_SETUP = """\
The kernel must know the DOI (run these as root, in the initial network namespace; the DOI
table is global, so this also serves every other namespace):
  python -m netlabel cipso add pass doi:2 tags:1,2,5     for CIPSO (IPv4)
  python -m netlabel calipso add pass doi:2              for CALIPSO (IPv6)
Tag 5 (ranged) is what carries a label like s0:c1,c2,c5,c7.c300: tag 1 stops at c239 and tag
2 at 15 categories. A CIPSO DOI whose tags cannot carry the label is refused by the sender's
kernel (EINVAL); a CALIPSO packet whose DOI the receiver does not know is dropped without a
word. Remove the DOIs afterwards with 'cipso del doi:2' and 'calipso del doi:2'."""

SERVER_HELP = "print the label of every peer that connects (demo server)"
SERVER_DESCRIPTION = f"""\
Listen on PORT and print, for each TCP connection or UDP datagram, the context SELinux
would give the peer from the CIPSO or CALIPSO label its packets carried:

  connect(127.0.0.1, system_u:object_r:netlabel_peer_t:s0:c1,c2,c5,c7.c300)
  connect(::1, NO_CONTEXT)                      (an unlabeled peer)

The label is read from the options the kernel hands the socket after validating them:
IPv4 TCP from the connecting SYN, IPv6 TCP from the last hop-by-hop header received,
datagrams from each datagram. No root and no active LSM are needed to receive. CIPSO levels
are read as a PASS DOI sends them (wire level and categories unchanged).

The server says where it listens on standard error (PORT 0 picks a free port) and runs
until Ctrl-C (exit status 130) or, with --count N, until N peers have been printed.

{_SETUP}

examples:
  {PROG} peer-server 5000                          (IPv4, TCP, 127.0.0.1)
  {PROG} peer-server 5000 --ipv6 --udp             (::1)
  {PROG} peer-server 5000 --address 0.0.0.0 --count 1
then, from another terminal:
  {PROG} send --level s0:c1,c2,c5,c7.c300 --doi 2 127.0.0.1 5000

{
    setrans_epilog(
        f"{PROG} peer-server 5000 --setrans /etc/selinux/mls/setrans.conf",
        "connect(127.0.0.1, system_u:object_r:netlabel_peer_t:s3:c0,c5) setrans Secret",
    )
}"""

SEND_HELP = "send a message from a socket labeled with CIPSO or CALIPSO (demo client)"
SEND_DESCRIPTION = f"""\
Send MESSAGE (default: hello) to ADDRESS PORT over TCP (default) or UDP, from a socket whose
packets carry LEVEL under DOI N: CIPSO in the IPv4 options for an IPv4 address, CALIPSO in
the IPv6 hop-by-hop header for an IPv6 address (--cipso / --calipso say so explicitly).
Without --level and --doi the packets go unlabeled. Setting the option needs root
(CAP_NET_RAW).

For CIPSO the option is the one the kernel builds for a PASS DOI listing the tags of
--tags (default 1,2,5), in that order: the first tag that can carry LEVEL is used. It must
match the kernel's definition of the DOI, which checks the option as the socket is labeled.

{_SETUP}

examples:
  {PROG} send --level s0:c1,c2,c5,c7.c300 --doi 2 127.0.0.1 5000
  {PROG} send --level s0:c1.c300,c400.c500 --doi 2 --calipso --udp ::1 5000 "hi there"
  {PROG} send 127.0.0.1 5000                      (unlabeled)
"""


def _positive(text: str) -> int:
    try:
        value = int(text, 10)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, not {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number of at least 1, not {value}")
    return value


def _doi(text: str) -> int | str:
    """A DOI number (read by the DOI grammar: ASCII digits, 1..4294967295), or a whole DOI
    definition in netlabelctl's syntax, kept as text until the protocol is known."""
    from netlabel.ctl import parse_doi

    if ":" in text:
        return text
    try:
        number = parse_doi([f"doi:{text}"], required=True)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    assert number is not None
    return number


def _cipso_definition(text: str) -> object:
    """A CIPSO DOI definition in netlabelctl's syntax, for reading labels through it."""
    import cipso

    try:
        return cipso.CipsoDoi.from_netlabelctl(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _port(text: str) -> int:
    try:
        value = int(text, 10)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a port is a number, not {text!r}") from None
    if not 0 <= value <= 0xFFFF:
        raise argparse.ArgumentTypeError(f"a port is 0..65535, not {value}")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds, not {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, not {text}")
    return value


def _add_choice(
    parser: argparse.ArgumentParser, dest: str, *choices: tuple[str, object, str]
) -> None:
    # Mutually exclusive flags that each store one constant in the same destination.
    group = parser.add_mutually_exclusive_group()
    for flag, value, help_text in choices:
        group.add_argument(flag, dest=dest, action="store_const", const=value, help=help_text)


def _add_transport(parser: argparse.ArgumentParser) -> None:
    _add_choice(
        parser,
        "transport",
        ("--tcp", socket.SOCK_STREAM, "use TCP (the default)"),
        ("--udp", socket.SOCK_DGRAM, "use UDP"),
    )
    parser.set_defaults(transport=socket.SOCK_STREAM)


def _transport_name(kind: int) -> str:
    return "TCP" if kind == socket.SOCK_STREAM else "UDP"


def _host(address: object) -> str:
    # IPv4 peers are (host, port), IPv6 peers (host, port, flowinfo, scope id).
    if isinstance(address, tuple) and address:
        return str(address[0])
    return str(address)


# -- peer-server ------------------------------------------------------------------------------


def configure_server(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``peer-server``."""
    parser.add_argument("port", metavar="PORT", type=_port, help="port to listen on (0: any)")
    _add_choice(
        parser,
        "family",
        ("--ipv4", socket.AF_INET, "IPv4, CIPSO labels (the default; listens on 127.0.0.1)"),
        ("--ipv6", socket.AF_INET6, "IPv6, CALIPSO labels (listens on ::1)"),
    )
    _add_transport(parser)
    parser.add_argument(
        "--address",
        metavar="ADDRESS",
        help="address to listen on (default 127.0.0.1, or ::1 with --ipv6); IPv4 or IPv6 "
        "follows from it",
    )
    parser.add_argument(
        "--count",
        metavar="N",
        type=_positive,
        help="exit after N peers (connections or datagrams); default: run until Ctrl-C",
    )
    parser.add_argument(
        "--doi",
        metavar="DEFINITION",
        dest="dois",
        action="append",
        type=_cipso_definition,
        default=[],
        help="a CIPSO DOI in netlabelctl's syntax to read labels through (repeatable), e.g. "
        "'trans doi:7 tags:1 levels:3=5 categories:1=2': without one a CIPSO label is read "
        "as a PASS DOI sends it",
    )
    add_setrans_arguments(parser)
    parser.set_defaults(handler=_server_handler(parser))


def _server_handler(parser: argparse.ArgumentParser) -> Handler:
    def handler(args: argparse.Namespace) -> int:
        family: int | None = args.family
        if args.address is None:
            address = "::1" if family == socket.AF_INET6 else "127.0.0.1"
            family = family or socket.AF_INET
        else:
            try:
                parsed = ipaddress.ip_address(args.address)
            except ValueError:
                parser.error(f"--address: {args.address!r} is not an IPv4 or IPv6 address")
            wanted = socket.AF_INET if parsed.version == 4 else socket.AF_INET6
            if family is not None and family != wanted:
                asked = 4 if family == socket.AF_INET else 6
                parser.error(f"--address {args.address} is IPv{parsed.version}, not IPv{asked}")
            family, address = wanted, str(parsed)
        names = load_setrans(args)
        try:
            return _serve(family, args.transport, address, args.port, args.count, args.dois, names)
        except KeyboardInterrupt:
            return _INTERRUPTED

    return handler


def _serve(
    family: int,
    kind: int,
    address: str,
    port: int,
    count: int | None,
    dois: list[Any],
    names: Translator | None,
) -> int:
    from netlabel import sockets

    with socket.socket(family, kind) as server:
        if family == socket.AF_INET6:
            server.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        if kind == socket.SOCK_STREAM:
            server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            server.bind((address, port))
        except OSError as exc:
            print(
                f"{NAME}: error, peer-server: cannot listen on {address} port {port}: "
                f"{exc.strerror or exc}",
                file=sys.stderr,
            )
            return 1
        sockets.enable_label_reception(server)
        if kind == socket.SOCK_STREAM:
            server.listen(16)
        bound = server.getsockname()[1]
        print(
            f"{NAME} peer-server: listening on {address} port {bound} ({_transport_name(kind)}); "
            "Ctrl-C stops",
            file=sys.stderr,
            flush=True,
        )
        seen = 0
        while count is None or seen < count:
            if kind == socket.SOCK_STREAM:
                conn, peer = server.accept()
                with conn:
                    try:
                        label = sockets.peer_label(conn, cipso_dois=dois)
                    except sockets.UnreadableLabel as exc:
                        _unreadable(peer, exc)
                    except OSError as exc:
                        # The peer went away between accept and the question (a reset).
                        _unreadable(peer, exc)
                    else:
                        _print_peer(peer, label, names)
                    _drain(conn)
            else:
                try:
                    _data, peer, label = sockets.recv_labeled(server, 65535, cipso_dois=dois)
                except sockets.UnreadableLabel as exc:
                    _unreadable(exc.address, exc)
                else:
                    _print_peer(peer, label, names)
            seen += 1
    return 0


def _print_peer(peer: object, label: PeerLabel | None, names: Translator | None) -> None:
    from netlabel.sockets import NO_CONTEXT

    line = f"connect({_host(peer)}, {NO_CONTEXT if label is None else label})"
    if names is not None and label is not None:
        line += f" setrans {names.translate(label.level)}"
    print(line, flush=True)


def _unreadable(peer: object, error: Exception) -> None:
    print(f"{NAME}: peer {_host(peer)}: no label read: {error}", file=sys.stderr, flush=True)


def _drain(conn: socket.socket) -> None:
    """Read what the client sends until it closes (bounded in time and size)."""
    conn.settimeout(_DRAIN_TIMEOUT)
    total = 0
    try:
        while total < _DRAIN_LIMIT:
            chunk = conn.recv(65536)
            if not chunk:
                return
            total += len(chunk)
    except OSError:
        return


# -- send ---------------------------------------------------------------------------------------


def configure_send(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``send``."""
    parser.add_argument("address", metavar="ADDRESS", help="IPv4 or IPv6 address of the server")
    parser.add_argument("port", metavar="PORT", type=_port, help="the server's port")
    parser.add_argument(
        "message", metavar="MESSAGE", nargs="?", default="hello", help="text to send (hello)"
    )
    parser.add_argument(
        "--level", metavar="LEVEL", help="MLS level to label with, e.g. s0:c1,c2,c5,c7.c300"
    )
    parser.add_argument(
        "--doi",
        metavar="DOI",
        type=_doi,
        help="the DOI the label is sent under: a number (a PASS DOI), or a whole definition in "
        "netlabelctl's syntax, e.g. 'trans doi:7 tags:1 levels:3=5 categories:1=2'",
    )
    _add_choice(
        parser,
        "protocol",
        ("--cipso", "cipso", "CIPSO in the IPv4 options (the default for an IPv4 address)"),
        (
            "--calipso",
            "calipso",
            "CALIPSO in the IPv6 hop-by-hop header (the default for an IPv6 address)",
        ),
    )
    parser.add_argument(
        "--tags",
        metavar="T,T,...",
        help="CIPSO: the tags the DOI lists, in the kernel's order (default 1,2,5)",
    )
    _add_transport(parser)
    parser.add_argument(
        "--timeout",
        metavar="SECONDS",
        type=_seconds,
        default=5.0,
        help="how long to wait for a TCP connection (default 5)",
    )
    parser.set_defaults(handler=_send_handler(parser))


def _parse_tags(parser: argparse.ArgumentParser, text: str) -> tuple[int, ...]:
    try:
        tags = tuple(int(item, 10) for item in text.split(","))
    except ValueError:
        parser.error(f"--tags: expected numbers separated by commas, not {text!r}")
    return tags


def _send_handler(parser: argparse.ArgumentParser) -> Handler:
    def handler(args: argparse.Namespace) -> int:
        try:
            parsed = ipaddress.ip_address(args.address)
        except ValueError:
            parser.error(f"{args.address!r} is not an IPv4 or IPv6 address")
        family = socket.AF_INET if parsed.version == 4 else socket.AF_INET6
        protocol = args.protocol or ("cipso" if family == socket.AF_INET else "calipso")
        if protocol == "cipso" and family != socket.AF_INET:
            parser.error("CIPSO labels IPv4 packets: give an IPv4 address, or use --calipso")
        if protocol == "calipso" and family != socket.AF_INET6:
            parser.error("CALIPSO labels IPv6 packets: give an IPv6 address, or use --cipso")
        if (args.level is None) != (args.doi is None):
            parser.error("--level and --doi go together (neither: send unlabeled)")
        if args.tags is not None and protocol != "cipso":
            parser.error("--tags describes a CIPSO DOI; CALIPSO DOIs have no tags")
        if args.tags is not None and isinstance(args.doi, str):
            parser.error("--tags goes with a DOI number; a DOI definition lists its own tags")
        tags = (1, 2, 5) if args.tags is None else _parse_tags(parser, args.tags)
        return _send(args, family, protocol, str(parsed), tags)

    return handler


def _send(
    args: argparse.Namespace, family: int, protocol: str, address: str, tags: tuple[int, ...]
) -> int:
    import calipso
    import cipso
    from mls import Level

    label = "unlabeled"
    doi: cipso.CipsoDoi | calipso.CalipsoDoi | None = None
    level: Level | None = None
    if args.level is not None:
        level = Level.parse(args.level)
        given: int | str = args.doi
        if isinstance(given, str):
            kind_of = cipso.CipsoDoi if protocol == "cipso" else calipso.CalipsoDoi
            doi = kind_of.from_netlabelctl(given)
        elif protocol == "cipso":
            doi = cipso.CipsoDoi.pass_through(given, tags)
        else:
            doi = calipso.CalipsoDoi(given)
    kind = args.transport
    message = args.message.encode()
    with socket.socket(family, kind) as sock:
        if level is not None and doi is not None:
            from netlabel import sockets

            data = sockets.label_socket(sock, level, doi)
            if protocol == "cipso":
                label = f"labeled {level} (CIPSO DOI {doi.doi}, tag {data[6]})"
            else:
                label = f"labeled {level} (CALIPSO DOI {doi.doi})"
        if kind == socket.SOCK_DGRAM:
            sock.sendto(message, (address, args.port))
        else:
            status = _send_stream(sock, address, message, args, protocol)
            if status:
                return status
    print(
        f"sent {len(message)} bytes to {address} port {args.port} over "
        f"{_transport_name(kind)}, {label}"
    )
    return 0


def _send_stream(
    sock: socket.socket, address: str, message: bytes, args: argparse.Namespace, protocol: str
) -> int:
    port: int = args.port
    timeout: float = args.timeout
    doi: int | str | None = args.doi
    if isinstance(doi, str):
        import calipso

        doi = calipso.CalipsoDoi.from_netlabelctl(doi).doi if protocol == "calipso" else None
    sock.settimeout(timeout)
    try:
        sock.connect((address, port))
    except ConnectionRefusedError:
        print(
            f"{NAME}: error, send: nothing listens on {address} port {port} (TCP)", file=sys.stderr
        )
        return 1
    except TimeoutError:
        hint = ""
        if doi is not None and protocol == "calipso":
            hint = (
                f": a receiver that does not know CALIPSO DOI {doi} drops the labeled SYN "
                f"without a word ('{PROG} calipso list')"
            )
        print(
            f"{NAME}: error, send: no connection to {address} port {port} within "
            f"{timeout:g} s{hint}",
            file=sys.stderr,
        )
        return 1
    sock.sendall(message)
    sock.shutdown(socket.SHUT_WR)
    # Wait until the server has read everything and closed, so that it has seen the label.
    try:
        while sock.recv(65536):
            pass
    except OSError:
        pass
    return 0
