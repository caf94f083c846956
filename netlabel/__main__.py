"""``python -m netlabel``: netlabelctl's commands and output, from Python.

The modules and their commands sit in the :data:`MODULES` table; a new top-level subcommand
is one more :class:`Module` entry with its own argument set-up and handler.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mls._cli import UsageError, error_text
from netlabel import _cli_peer, _cli_rules

if TYPE_CHECKING:
    from netlabel.client import NetLabel

PROG = "python -m netlabel"
# Error lines start with this name, as netlabelctl's start with its own.
NAME = "netlabel"

# A handler gets the parsed arguments and returns the exit status.
Handler = Callable[[argparse.Namespace], int]
# A netlabelctl-style command gets the client, its key:value tokens and the -p flag, and
# returns the text to print.
CtlCommand = Callable[["NetLabel", Sequence[str], bool], str]


@dataclass(frozen=True)
class Module:
    """One top-level subcommand: its name, help and how it sets up its parser."""

    name: str
    help: str
    configure: Callable[[argparse.ArgumentParser], None]
    aliases: tuple[str, ...] = ()
    description: str = ""


# -- netlabelctl modules -------------------------------------------------------------------


def _mgmt_version(client: NetLabel, tokens: Sequence[str], pretty: bool) -> str:
    from netlabel import ctl

    _no_arguments(tokens)
    return ctl.format_version(client.version(), pretty=pretty)


def _mgmt_protocols(client: NetLabel, tokens: Sequence[str], pretty: bool) -> str:
    from netlabel import ctl

    _no_arguments(tokens)
    return ctl.format_protocols(client.protocols(), pretty=pretty)


def _map_list(client: NetLabel, tokens: Sequence[str], pretty: bool) -> str:
    from netlabel import ctl

    _no_arguments(tokens)
    return ctl.format_maps(client.list_domain_maps(), client.list_default_maps(), pretty=pretty)


def _unlbl_list(client: NetLabel, tokens: Sequence[str], pretty: bool) -> str:
    from netlabel import ctl

    _no_arguments(tokens)
    accept = client.get_accept()
    return ctl.format_unlbl_list(accept, client.list_static_labels(), pretty=pretty)


def _cipso_list(client: NetLabel, tokens: Sequence[str], pretty: bool) -> str:
    from netlabel import ctl

    doi = ctl.parse_doi(tokens, required=False)
    if doi is None:
        return ctl.format_cipso_list(client.list_cipso_dois(), pretty=pretty)
    return ctl.format_cipso_doi(client.get_cipso_doi(doi), pretty=pretty)


def _calipso_list(client: NetLabel, tokens: Sequence[str], pretty: bool) -> str:
    from netlabel import ctl

    doi = ctl.parse_doi(tokens, required=False)
    if doi is None:
        return ctl.format_calipso_list(client.list_calipso_dois(), pretty=pretty)
    return ctl.format_calipso_doi(client.get_calipso_doi(doi), pretty=pretty)


def _change(module: str, verb: str) -> CtlCommand:
    """The command that applies ``module verb`` (a netlabelctl change) through
    :mod:`netlabel.rules`; it prints nothing."""

    def change(client: NetLabel, tokens: Sequence[str], pretty: bool) -> str:
        from netlabel import rules

        rules.command(module, verb, tokens).run(client)
        return ""

    return change


_CHANGE = None


def _no_arguments(tokens: Sequence[str]) -> None:
    from netlabel.ctl import CtlSyntaxError

    if tokens:
        raise CtlSyntaxError(tokens[0], 0, "this command takes no arguments")


# (command, syntax, help, implementation) per netlabelctl module; a change (_CHANGE) is
# applied through netlabel.rules and prints nothing.
_CTL_COMMANDS: dict[str, list[tuple[str, str, str, CtlCommand | None]]] = {
    "mgmt": [
        ("version", "", "the kernel's NetLabel protocol version", _mgmt_version),
        ("protocols", "", "the labeling protocols the kernel supports", _mgmt_protocols),
    ],
    "map": [
        (
            "add",
            "default|domain:<d> [address:<A>[/<bits>]] protocol:<p>[,<extra>]",
            "map an LSM domain (or the default) to a labeling protocol",
            _CHANGE,
        ),
        ("del", "default|domain:<d>", "remove a domain's mappings, or the default", _CHANGE),
        ("list", "", "list the domain mappings and the defaults", _map_list),
    ],
    "unlbl": [
        ("accept", "on|off", "accept or refuse unlabeled packets", _CHANGE),
        (
            "add",
            "default|interface:<dev> address:<A>[/<bits>] label:<ctx>",
            "add a static label for unlabeled traffic",
            _CHANGE,
        ),
        ("del", "default|interface:<dev> address:<A>[/<bits>]", "remove a static label", _CHANGE),
        ("list", "", "the accept flag and the static labels", _unlbl_list),
    ],
    "cipso": [
        (
            "add",
            "pass|trans|local doi:<N> [tags:<t>,...] [levels:<l>=<r>,...] [categories:<l>=<r>,...]",
            "add a CIPSO DOI",
            _CHANGE,
        ),
        ("del", "doi:<N>", "remove a CIPSO DOI (and the mappings using it)", _CHANGE),
        ("list", "[doi:<N>]", "list the CIPSO DOIs, or one DOI in full", _cipso_list),
    ],
    "calipso": [
        ("add", "pass doi:<N>", "add a CALIPSO DOI", _CHANGE),
        ("del", "doi:<N>", "remove a CALIPSO DOI (and the mappings using it)", _CHANGE),
        ("list", "[doi:<N>]", "list the CALIPSO DOIs, or one DOI", _calipso_list),
    ],
}

_CTL_EXAMPLES = {
    "mgmt": "  python -m netlabel mgmt version\n  python -m netlabel -p mgmt protocols",
    "map": (
        "  python -m netlabel map add domain:httpd_t protocol:cipso,16\n"
        "  python -m netlabel map add domain:httpd_t address:192.168.1.0/24 protocol:cipso,16\n"
        "  python -m netlabel map del default\n"
        "  python -m netlabel map add default address:::1 protocol:calipso,2\n"
        "  python -m netlabel map add default protocol:unlbl\n"
        "  python -m netlabel -p map list\n\n"
        "protocol: is cipso,<DOI> (also cipsov4), calipso,<DOI>, or unlbl with an optional\n"
        ",4 or ,6 to cover one address family. The kernel starts with an unlabeled default\n"
        "for both families: 'map del default' before adding another default."
    ),
    "unlbl": (
        "  python -m netlabel unlbl accept off\n"
        "  python -m netlabel -p unlbl list\n"
        "  python -m netlabel unlbl add interface:lo address:127.0.0.1 \\\n"
        "      label:system_u:object_r:lo_t:s0"
    ),
    "cipso": (
        "  python -m netlabel cipso add pass doi:16 tags:1,2,5\n"
        "  python -m netlabel cipso add trans doi:3 tags:1 levels:0=0,1=1 categories:0=1,1=2\n"
        "  python -m netlabel cipso add local doi:5\n"
        "  python -m netlabel cipso del doi:16\n"
        "  python -m netlabel -p cipso list\n"
        "  python -m netlabel cipso list doi:16\n\n"
        "tags: 1 restricted bitmap, 2 enumerated, 5 ranged (2 and 5 only for pass),\n"
        "128 local (only for local). levels:/categories: map local=remote values (trans)."
    ),
    "calipso": (
        "  python -m netlabel calipso add pass doi:2\n"
        "  python -m netlabel calipso del doi:2\n"
        "  python -m netlabel -p calipso list"
    ),
}

_CTL_HELP = {
    "mgmt": "NetLabel version and protocols",
    "map": "domain to protocol mappings",
    "unlbl": "unlabeled packets and static labels",
    "cipso": "CIPSO (IPv4) DOIs",
    "calipso": "CALIPSO (IPv6) DOIs",
}


def _ctl_module(name: str) -> Callable[[argparse.ArgumentParser], None]:
    def configure(parser: argparse.ArgumentParser) -> None:
        commands = parser.add_subparsers(dest="command", metavar="<command>", required=True)
        for command, syntax, help_text, run in _CTL_COMMANDS[name]:
            sub = commands.add_parser(
                command,
                help=help_text,
                description=f"{help_text}.\n\nsyntax: {name} {command} {syntax}".rstrip(),
                epilog=f"examples:\n{_CTL_EXAMPLES[name]}",
                formatter_class=argparse.RawDescriptionHelpFormatter,
            )
            # netlabelctl (GNU getopt) also takes -p after the command; so do we.
            sub.add_argument(
                "-p",
                "--pretty",
                action="store_true",
                default=argparse.SUPPRESS,
                help="multi-line human output (netlabelctl -p)",
            )
            sub.add_argument(
                "tokens",
                nargs="*",
                metavar="key:value",
                help=f"arguments in netlabelctl's key:value form: {syntax or '(none)'}",
            )
            sub.set_defaults(handler=_ctl_handler(run or _change(name, command)))

    return configure


def _ctl_handler(run: CtlCommand) -> Handler:
    def handler(args: argparse.Namespace) -> int:
        try:
            from netlabel.client import NetLabel
        except ImportError as exc:
            print(f"{NAME}: error, {exc}", file=sys.stderr)
            return 1

        with NetLabel(**client_options(args)) as client:
            text = run(client, list(args.tokens), bool(args.pretty))
        sys.stdout.write(text)
        return 0

    return handler


MODULES: list[Module] = [
    Module(
        name,
        _CTL_HELP[name],
        _ctl_module(name),
        aliases=("cipsov4",) if name == "cipso" else (),
        description=(f"{_CTL_HELP[name]}.\n\nexamples:\n{_CTL_EXAMPLES[name]}"),
    )
    for name in _CTL_COMMANDS
]

# The peer-label demo: a client that labels its socket, a server that prints the peer's label.
MODULES += [
    Module(
        "peer-server",
        _cli_peer.SERVER_HELP,
        _cli_peer.configure_server,
        description=_cli_peer.SERVER_DESCRIPTION,
    ),
    Module(
        "send",
        _cli_peer.SEND_HELP,
        _cli_peer.configure_send,
        description=_cli_peer.SEND_DESCRIPTION,
    ),
]

# The configuration as a file: save, load, diff, reset.
MODULES += [
    Module(name, help_text, configure, description=description)
    for name, help_text, description, configure in _cli_rules.COMMANDS
]

_DESCRIPTION = """\
Configure the kernel's NetLabel subsystem (CIPSO, CALIPSO, domain mappings, unlabeled
traffic) over generic netlink. The commands and their output are netlabelctl's: the
same syntax, the same terse output and, with -p, the same pretty output. Two more
commands show labeled sockets end to end: peer-server prints the label of every peer,
send sends from a socket labeled with CIPSO or CALIPSO.

Arguments after the command are key:value words, as in netlabelctl:
  doi:16                a number
  tags:1,2,5            a comma-separated list
  levels:0=0,1=3        local=remote pairs
  address:10.0.0.0/8    an IPv4 or IPv6 address, /bits optional (one host without)
  protocol:cipso,16     a protocol name with its extra value
  default               a bare word

Changing NetLabel state needs root (CAP_NET_ADMIN) and works only in the initial
network namespace; listing works for any user.

examples:
  python -m netlabel cipso add pass doi:16 tags:1,2,5
  python -m netlabel map add domain:httpd_t protocol:cipso,16
  python -m netlabel -p map list
  python -m netlabel peer-server 4242 --ipv6 --count 1 &
  python -m netlabel send --level s0:c1,c2,c5,c7.c300 --doi 2 ::1 4242
  python -m netlabel <module> --help     (a module's commands, with examples)
"""


def _timeout(text: str) -> float:
    try:
        seconds = float(text) if text.isascii() else -1.0
    except ValueError:
        seconds = -1.0
    if not 0 < seconds < 1e6:  # NaN fails this too
        raise argparse.ArgumentTypeError(f"a timeout is a number of seconds above 0, not {text!r}")
    return seconds


def client_options(args: argparse.Namespace) -> dict[str, Any]:
    """How the commands open :class:`netlabel.NetLabel`: with -v, each request is named on
    standard error."""
    if not getattr(args, "verbose", False):
        return {}
    return {"trace": lambda operation: print(f"{NAME}: request: {operation}", file=sys.stderr)}


@contextlib.contextmanager
def _deadline(seconds: float | None) -> Iterator[None]:
    """netlabelctl -t: end the command when NetLabel has not answered in time. The netlink
    client waits inside an event loop that swallows exceptions, so the alarm ends the process
    itself (status 1) after saying why."""
    if seconds is None:
        yield
        return

    def expired(signum: int, frame: object) -> None:
        sys.stderr.write(f"{NAME}: error, no answer from NetLabel within {seconds:g} s\n")
        sys.stderr.flush()
        os._exit(1)

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description=_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "-p", "--pretty", action="store_true", help="multi-line human output (netlabelctl -p)"
    )
    parser.add_argument(
        "-t",
        "--timeout",
        metavar="SECONDS",
        dest="netlabel_timeout",  # send has a --timeout of its own
        type=_timeout,
        help="give up when NetLabel has not answered within SECONDS (netlabelctl -t)",
    )
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="say on standard error each request sent to NetLabel (netlabelctl -v)",
    )
    modules = parser.add_subparsers(dest="module", metavar="<module>", required=True)
    for module in MODULES:
        sub = modules.add_parser(
            module.name,
            aliases=list(module.aliases),
            help=module.help,
            description=module.description or module.help,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        module.configure(sub)
    return parser


def _where(args: argparse.Namespace) -> str:
    """The command that failed, as error lines name it: ``cipso add``, ``peer-server``."""
    return " ".join(x for x in (args.module, getattr(args, "command", None)) if x)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; return the exit status (0 success, 1 failure, 2 usage error)."""
    from netlabel.errors import NetLabelError

    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Handler = args.handler
    try:
        with _deadline(args.netlabel_timeout):
            return handler(args)
    except NetLabelError as exc:
        # NetLabelError is an OSError and a few subclasses are ValueErrors: catch it first.
        print(f"{NAME}: error, {exc}", file=sys.stderr)
        return 1
    except UsageError as exc:
        # Bad input an argument names (a setrans.conf that cannot be used), as argparse's.
        print(f"{NAME}: error, {_where(args)}: {exc}", file=sys.stderr)
        return 2
    except ValueError as exc:
        # Malformed key:value arguments, or a DOI definition the model refuses.
        print(f"{NAME}: error, {_where(args)}: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"{NAME}: error, {error_text(exc)}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
