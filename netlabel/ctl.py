"""netlabelctl's language: its ``key:value`` arguments and its terse and pretty outputs.

The parsers turn netlabelctl arguments into the client's typed requests; the formatters turn
the client's typed results into exactly the text netlabelctl 0.30 prints (plain, or ``-p``).
Nothing here talks to the kernel, so everything works without root:

>>> from netlabel.ctl import parse_map_add, format_maps
>>> request = parse_map_add(["domain:web_t", "address:10.1.2.0/24", "protocol:cipso,16"])
>>> request.labeling, request.address
(Labeling(protocol=<Protocol.CIPSOV4: 3>, doi=16), IPv4Network('10.1.2.0/24'))
"""

from __future__ import annotations

import re
import socket
from collections.abc import Sequence
from dataclasses import dataclass, replace

import calipso
import cipso
from mls.errors import quoted
from netlabel.model import (
    DoiSummary,
    DomainMap,
    Labeling,
    Network,
    Protocol,
    StaticLabel,
    format_network,
    parse_network,
)

__all__ = [
    "CtlSyntaxError",
    "MapAddRequest",
    "StaticLabelRequest",
    "format_calipso_doi",
    "format_calipso_list",
    "format_cipso_doi",
    "format_cipso_list",
    "format_maps",
    "format_protocols",
    "format_unlbl_list",
    "format_version",
    "parse_accept",
    "parse_calipso_add",
    "parse_cipso_add",
    "parse_definition",
    "parse_doi",
    "parse_map_add",
    "parse_map_del",
    "parse_static_label",
]

# The userspace protocol version netlabelctl reports beside the kernel's.
_TOOL_PROTO_VERSION = 3
_NUMBER = re.compile(r"[0-9]+\Z")  # ASCII digits only, unlike str.isdigit()


class CtlSyntaxError(ValueError):
    """A netlabelctl-style argument is malformed.

    ``token`` is the offending argument and ``offset`` the character position in it where
    the problem starts.
    """

    def __init__(self, token: str, offset: int, reason: str) -> None:
        super().__init__(f"{reason} in argument {quoted(token)} at character {offset}")
        self.token = token
        self.offset = offset
        self.reason = reason


# -- parsing -------------------------------------------------------------------------------


def _split(tokens: Sequence[str], keys: Sequence[str], flags: Sequence[str] = ()) -> dict[str, str]:
    """Split ``key:value`` tokens (and bare flag words); each key at most once."""
    found: dict[str, str] = {}
    for token in tokens:
        key, colon, value = token.partition(":")
        if not colon and key in flags:
            value = ""
        elif not colon or key not in keys:
            expected = ", ".join([*(f"{k}:" for k in keys), *flags])
            raise CtlSyntaxError(token, 0, f"unknown argument (expected {expected})")
        if key in found:
            raise CtlSyntaxError(token, 0, f"{key} given twice")
        found[key] = value
    return found


def _number(token: str, offset: int, text: str, what: str, limit: int = 0xFFFFFFFF) -> int:
    if not _NUMBER.match(text):
        raise CtlSyntaxError(token, offset, f"{what} must be a decimal number")
    # Compare lengths first: int() of thousands of digits is slow or refused outright.
    significant = text.lstrip("0")
    if len(significant) > len(str(limit)) or int(significant or "0") > limit:
        raise CtlSyntaxError(token, offset, f"{what} must be at most {limit}")
    return int(significant or "0")


def _network(token: str, offset: int, text: str) -> Network:
    try:
        return parse_network(text)
    except ValueError:
        raise CtlSyntaxError(token, offset, "not an IPv4 or IPv6 address[/prefix]") from None


def _domain(args: dict[str, str], token: str) -> str | None:
    """The ``domain:<d>`` of a map command, or None for ``default``: exactly one of the two,
    and a name that is not empty. ``token`` is the command's text for the first error."""
    if ("default" in args) == ("domain" in args):
        raise CtlSyntaxError(token, 0, "give exactly one of default or domain:<name>")
    domain = args.get("domain")
    if domain == "":
        raise CtlSyntaxError("domain:", 7, "the domain name is empty")
    return domain


@dataclass(frozen=True, slots=True)
class MapAddRequest:
    """``map add``: a domain (None for the default), its labeling and optional selector."""

    domain: str | None
    labeling: Labeling
    address: Network | None = None
    family: socket.AddressFamily | None = None


def parse_map_add(tokens: Sequence[str]) -> MapAddRequest:
    """Parse ``default|domain:<d> [address:<A>[/<bits>]] protocol:<p>[,<extra>]``.

    ``protocol:`` is ``cipso,DOI`` (or ``cipsov4,DOI``), ``calipso,DOI`` or ``unlbl`` with an
    optional ``,4`` or ``,6`` that restricts the address family.

    >>> parse_map_add(["default", "address:::1", "protocol:calipso,2"]).labeling
    Labeling(protocol=<Protocol.CALIPSO: 7>, doi=2)
    >>> parse_map_add(["domain:x", "protocol:unlbl,4"]).family
    <AddressFamily.AF_INET: 2>
    """
    args = _split(tokens, ("domain", "address", "protocol"), ("default",))
    token = "map add " + " ".join(tokens)
    domain = _domain(args, token)
    if "protocol" not in args:
        raise CtlSyntaxError(token, 0, "protocol:<p>[,<extra>] is required")
    address = None
    if "address" in args:
        address = _network("address:" + args["address"], 8, args["address"])
    text = args["protocol"]
    ptoken = "protocol:" + text
    name, comma, extra = text.partition(",")
    family: socket.AddressFamily | None = None
    if name in ("cipso", "cipsov4", "calipso"):
        if not comma:
            raise CtlSyntaxError(ptoken, 9 + len(name), f"{name} needs a DOI: {name},<DOI>")
        doi = _number(ptoken, 10 + len(name), extra, "the DOI")
        if doi == 0:
            raise CtlSyntaxError(ptoken, 10 + len(name), "DOI 0 is reserved")
        labeling = Labeling.calipso(doi) if name == "calipso" else Labeling.cipso(doi)
    elif name == "unlbl":
        labeling = Labeling.unlabeled()
        if comma:
            if extra not in ("4", "6"):
                raise CtlSyntaxError(ptoken, 15, "unlbl takes ,4 or ,6")
            family = socket.AF_INET if extra == "4" else socket.AF_INET6
    else:
        raise CtlSyntaxError(ptoken, 9, "the protocol is cipso, calipso or unlbl")
    return MapAddRequest(domain, labeling, address, family)


def parse_map_del(tokens: Sequence[str]) -> str | None:
    """Parse ``default|domain:<d>``; returns the domain, or None for the default."""
    return _domain(_split(tokens, ("domain",), ("default",)), " ".join(tokens))


def parse_accept(tokens: Sequence[str]) -> bool:
    """Parse ``on|off`` (or ``1|0``, any case) for ``unlbl accept``."""
    if len(tokens) != 1:
        raise CtlSyntaxError(" ".join(tokens), 0, "expected exactly one of on or off")
    word = tokens[0].lower()
    if word in ("on", "1"):
        return True
    if word in ("off", "0"):
        return False
    raise CtlSyntaxError(tokens[0], 0, "expected on or off")


@dataclass(frozen=True, slots=True)
class StaticLabelRequest:
    """``unlbl add|del``: interface (None for default), address and, for add, the label."""

    interface: str | None
    address: Network
    label: str | None = None


def parse_static_label(tokens: Sequence[str], *, with_label: bool) -> StaticLabelRequest:
    """Parse ``default|interface:<dev> address:<A>[/<bits>]`` plus ``label:<ctx>`` for add."""
    keys = ("interface", "address", "label") if with_label else ("interface", "address")
    args = _split(tokens, keys, ("default",))
    whole = " ".join(tokens)
    if ("default" in args) == ("interface" in args):
        raise CtlSyntaxError(whole, 0, "give exactly one of default or interface:<dev>")
    if "address" not in args:
        raise CtlSyntaxError(whole, 0, "address:<A>[/<bits>] is required")
    if with_label and not args.get("label"):
        raise CtlSyntaxError(whole, 0, "label:<context> is required")
    address = _network("address:" + args["address"], 8, args["address"])
    return StaticLabelRequest(args.get("interface"), address, args.get("label"))


def parse_doi(tokens: Sequence[str], *, required: bool) -> int | None:
    """Parse the ``doi:<N>`` of ``del`` and ``list`` (N is 1..4294967295, ASCII digits)."""
    if not tokens:
        if required:
            raise CtlSyntaxError("", 0, "doi:<N> is required")
        return None
    for token in tokens:
        if not token.startswith("doi:"):
            raise CtlSyntaxError(token, 0, "unknown argument (expected doi:<N>)")
    # A local CIPSO definition is exactly doi:<N>: the one DOI grammar reads the number.
    return parse_cipso_add(["local", *tokens]).doi


def parse_cipso_add(tokens: Sequence[str]) -> cipso.CipsoDoi:
    """Parse ``pass|trans|local doi:<N> [tags:<t>,...] [levels:<l>=<r>,...] [categories:...]``
    with :meth:`cipso.CipsoDoi.from_netlabelctl`, the one DOI grammar.

    ``local`` takes no tags (the kernel gets tag 128); ``pass`` and ``trans`` need ``tags:``.
    A malformed argument raises :class:`CtlSyntaxError`; a definition the kernel refuses
    (tag 2 in a trans DOI, DOI 0...) raises :class:`cipso.CipsoDoiError`.
    """
    try:
        return cipso.CipsoDoi.from_netlabelctl(tokens)
    except cipso.doi.CipsoDoiSyntaxError as error:
        raise CtlSyntaxError(error.argument, error.position, error.problem) from None


def parse_calipso_add(tokens: Sequence[str]) -> calipso.CalipsoDoi:
    """Parse ``pass doi:<N>`` with :meth:`calipso.CalipsoDoi.from_netlabelctl`; errors as
    :func:`parse_cipso_add`."""
    try:
        return calipso.CalipsoDoi.from_netlabelctl(tokens)
    except calipso.doi.CalipsoDoiSyntaxError as error:
        raise CtlSyntaxError(error.argument, error.position, error.problem) from None


def parse_definition(text: str | Sequence[str]) -> cipso.CipsoDoi | calipso.CalipsoDoi:
    """A DOI definition of either protocol: ``[netlabelctl] cipso|cipsov4|calipso [add] ...``,
    read by the protocol's own grammar; errors as :func:`parse_cipso_add`.

    >>> parse_definition("cipso pass doi:16 tags:1,5").tags
    (<TagType.RESTRICTED_BITMAP: 1>, <TagType.RANGED: 5>)
    >>> parse_definition("netlabelctl calipso add pass doi:2")
    CalipsoDoi(doi=2, map_type=<MapType.PASS: 2>)
    """
    words = text.split() if isinstance(text, str) else list(text)
    whole = " ".join(words)
    protocol = words[1:2] if words[:1] == ["netlabelctl"] else words[:1]
    if not protocol:
        raise CtlSyntaxError(whole, 0, "an empty DOI definition")
    if protocol[0] in ("cipso", "cipsov4"):
        return parse_cipso_add(words)
    if protocol[0] == "calipso":
        return parse_calipso_add(words)
    raise CtlSyntaxError(
        whole, whole.index(protocol[0]), "a DOI definition starts with cipso or calipso"
    )


# -- formatting ----------------------------------------------------------------------------


def format_version(kernel: int, *, pretty: bool = False) -> str:
    """``mgmt version``.

    >>> print(format_version(3, pretty=True), end="")
    Supported NetLabel protocol versions
      kernel : 3
      netlabelctl : 3
    """
    if not pretty:
        return f"{kernel}\n"
    return (
        "Supported NetLabel protocol versions\n"
        f"  kernel : {kernel}\n"
        f"  netlabelctl : {_TOOL_PROTO_VERSION}\n"
    )


def _protocol_name(protocol: int, pretty: bool) -> str:
    names: dict[int, str] = {
        Protocol.UNLABELED: "UNLABELED",
        Protocol.RIPSO: "RIPSO",
        Protocol.CIPSOV4: "CIPSO" if pretty else "CIPSOv4",
        Protocol.CIPSOV6: "CIPSOv6",
        Protocol.CALIPSO: "CALIPSO",
    }
    return names.get(int(protocol), f"UNKNOWN({int(protocol)})")


def format_protocols(protocols: Sequence[int], *, pretty: bool = False) -> str:
    """``mgmt protocols``.

    >>> format_protocols([Protocol.UNLABELED, Protocol.CIPSOV4, Protocol.CALIPSO])
    'UNLABELED,CIPSOv4,CALIPSO\\n'
    """
    names = [_protocol_name(p, pretty) for p in protocols]
    if pretty:
        return "NetLabel protocols : " + " ".join(names) + "\n"
    return ",".join(names) + "\n"


def _labeling_text(labeling: Labeling, *, pretty: bool) -> str:
    if labeling.protocol is Protocol.CIPSOV4:
        return f"CIPSO, DOI = {labeling.doi}" if pretty else f"CIPSOv4,{labeling.doi}"
    if labeling.protocol is Protocol.CALIPSO:
        return f"CALIPSO, DOI = {labeling.doi}" if pretty else f"CALIPSO,{labeling.doi}"
    return "UNLABELED"


def _combined_defaults(defaults: Sequence[DomainMap]) -> list[DomainMap]:
    # netlabelctl shows IPv4 and IPv6 unlabeled defaults as one entry for both families.
    unlabeled = [
        d for d in defaults if d.labeling is not None and d.labeling.protocol is Protocol.UNLABELED
    ]
    if len(defaults) == 2 and len(unlabeled) == 2:
        return [replace(defaults[0], family=socket.AF_UNSPEC)]
    return list(defaults)


_FAMILY_SUFFIX = {
    socket.AF_INET: " (IPv4)\n",
    socket.AF_INET6: " (IPv6)\n",
    socket.AF_UNSPEC: " (IPv4/IPv6)\n",
}


def format_maps(
    domain_maps: Sequence[DomainMap], default_maps: Sequence[DomainMap], *, pretty: bool = False
) -> str:
    """``map list``: the domain mappings, then the defaults (IPv4 before IPv6).

    >>> unlabeled = Labeling.unlabeled()
    >>> defaults = [DomainMap(None, socket.AF_INET, unlabeled),
    ...             DomainMap(None, socket.AF_INET6, unlabeled)]
    >>> web = DomainMap("web_t", socket.AF_INET, Labeling.cipso(16))
    >>> format_maps([web], defaults)
    'domain:"web_t",CIPSOv4,16 domain:DEFAULT,UNLABELED\\n'
    >>> print(format_maps([web], defaults, pretty=True), end="")
    Configured NetLabel domain mappings (2)
     domain: "web_t" (IPv4)
       protocol: CIPSO, DOI = 16
     domain: DEFAULT (IPv4/IPv6)
       protocol: UNLABELED
    """
    entries = [*domain_maps, *_combined_defaults(default_maps)]
    if pretty:
        lines = [f"Configured NetLabel domain mappings ({len(entries)})\n"]
        for entry in entries:
            name = "DEFAULT" if entry.domain is None else f'"{entry.domain}"'
            lines.append(f" domain: {name}{_FAMILY_SUFFIX.get(entry.family, '')}")
            if entry.labeling is not None:
                lines.append(f"   protocol: {_labeling_text(entry.labeling, pretty=True)}\n")
            for sel in entry.selectors:
                lines.append(f"   address: {format_network(sel.network)}\n")
                lines.append(f"    protocol: {_labeling_text(sel.labeling, pretty=True)}\n")
        return "".join(lines)
    items = []
    for entry in entries:
        text = "domain:" + ("DEFAULT," if entry.domain is None else f'"{entry.domain}",')
        if entry.labeling is not None:
            text += _labeling_text(entry.labeling, pretty=False)
            if entry.labeling.protocol is Protocol.UNLABELED:
                text += {socket.AF_INET: ",4", socket.AF_INET6: ",6"}.get(entry.family, "")
        text += ",".join(
            f"address:{format_network(sel.network)},"
            f"protocol:{_labeling_text(sel.labeling, pretty=False)}"
            for sel in entry.selectors
        )
        items.append(text)
    return " ".join(items) + "\n"


_CIPSO_MAP_NAMES = {1: "TRANSLATED", 2: "PASS_THROUGH", 3: "LOCAL"}
_CALIPSO_MAP_NAMES = {2: "PASS_THROUGH"}
_TAG_NAMES = {
    1: "RESTRICTED BITMAP",
    2: "ENUMERATED",
    5: "RANGED",
    6: "PERMISSIVE_BITMAP",
    7: "FREEFORM",
    128: "LOCAL",
}


def _doi_list(
    title: str, dois: Sequence[DoiSummary], names: dict[int, str], *, pretty: bool
) -> str:
    def name(map_type: int) -> str:
        return names.get(int(map_type), f"UNKNOWN({int(map_type)})")

    if pretty:
        lines = [f"Configured {title} mappings ({len(dois)})\n"]
        for d in dois:
            lines.append(f" DOI value : {d.doi}\n   mapping type : {name(d.map_type)}\n")
        return "".join(lines)
    return " ".join(f"{d.doi},{name(d.map_type)}" for d in dois) + "\n"


def format_cipso_list(dois: Sequence[DoiSummary], *, pretty: bool = False) -> str:
    """``cipso list``.

    >>> format_cipso_list([DoiSummary(16, 2), DoiSummary(8, 1)])
    '16,PASS_THROUGH 8,TRANSLATED\\n'
    """
    return _doi_list("CIPSO", dois, _CIPSO_MAP_NAMES, pretty=pretty)


def format_calipso_list(dois: Sequence[DoiSummary], *, pretty: bool = False) -> str:
    """``calipso list``."""
    return _doi_list("CALIPSO", dois, _CALIPSO_MAP_NAMES, pretty=pretty)


def format_cipso_doi(definition: cipso.CipsoDoi, *, pretty: bool = False) -> str:
    """``cipso list doi:<N>``: tags, and for TRANS the level and category tables."""
    tags = [int(t) for t in definition.tags]
    trans = int(definition.map_type) == int(cipso.MapType.TRANS)
    if pretty:
        lines = [f"Configured CIPSO mapping (DOI = {definition.doi})\n", f" tags ({len(tags)}): \n"]
        lines += [f"   {_TAG_NAMES.get(t, f'UNKNOWN({t})')}\n" for t in tags]
        if trans:
            lines.append(f" levels ({len(definition.levels)}): \n")
            lines += [f"   {lo} = {re}\n" for lo, re in definition.levels]
            lines.append(f" categories ({len(definition.categories)}): \n")
            lines += [f"   {lo} = {re}\n" for lo, re in definition.categories]
        return "".join(lines)
    text = "tags:" + ",".join(str(t) for t in tags)
    if trans:
        text += " levels:" + ",".join(f"{lo}={re}" for lo, re in definition.levels)
        text += " categories:" + ",".join(f"{lo}={re}" for lo, re in definition.categories)
    return text + "\n"


def format_calipso_doi(definition: calipso.CalipsoDoi, *, pretty: bool = False) -> str:
    """``calipso list doi:<N>``."""
    known = int(definition.map_type) in _CALIPSO_MAP_NAMES
    if pretty:
        head = f"Configured CALIPSO mapping (DOI = {definition.doi})\n"
        return head + (" type: PASS_THROUGH\n" if known else "")
    return ("type:PASS_THROUGH" if known else "") + "\n"


def format_unlbl_list(accept: bool, labels: Sequence[StaticLabel], *, pretty: bool = False) -> str:
    """``unlbl list``: the accept flag, then the static labels (per interface, then default).

    >>> format_unlbl_list(True, [])
    'accept:on\\n'
    """
    flag = "on" if accept else "off"
    if pretty:
        lines = [f"Accept unlabeled packets : {flag}\n"]
        lines.append(f"Configured NetLabel address mappings ({len(labels)})\n")
        previous: StaticLabel | None = None
        for label in labels:
            # The interface heads a group of entries; default entries each get their own.
            if previous is None or label.interface is None or label.interface != previous.interface:
                lines.append(f" interface: {label.interface or 'DEFAULT'}\n")
            lines.append(f"   address: {format_network(label.network)}\n")
            lines.append(f'    label: "{label.label}"\n')
            previous = label
        return "".join(lines)
    items = [
        f"interface:{label.interface or 'DEFAULT'},address:{format_network(label.network)},"
        f'label:"{label.label}"'
        for label in labels
    ]
    return f"accept:{flag}" + (" " + " ".join(items) if items else "") + "\n"
