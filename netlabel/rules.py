"""NetLabel configuration as a file: netlabelctl commands, one a line, as in /etc/netlabel.rules.

netlabel-config (netlabel-tools) can only run such a file line by line (``load``) and clear
the configuration (``reset``). This module reads the running configuration into a
:class:`Configuration`, writes it as such a file (:func:`save`), works out what a file would
make of a configuration without touching the kernel (:meth:`Configuration.apply`), loads a
file all or nothing (:func:`load`), says what differs (:func:`diff`) and resets (:func:`reset`).

A rules file describes a configuration from the kernel's boot state (:data:`BOOT`): that is
what /etc/netlabel.rules is run against, and what :func:`save` writes for. Its commands are
the modifying commands of netlabelctl: ``cipso add|del``, ``calipso add|del``,
``map add|del``, ``unlbl accept|add|del`` (``netlabelctl`` in front is allowed); blank lines
and ``#`` comments are skipped.
"""

from __future__ import annotations

import shlex
import socket
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, TypeVar

import calipso
import cipso
from netlabel import ctl
from netlabel.model import (
    AddressSelector,
    DomainMap,
    Labeling,
    Network,
    StaticLabel,
    format_network,
)
from netlabel.model import Protocol as LabelProtocol

if TYPE_CHECKING:
    from netlabel.client import NetLabel

__all__ = [
    "BOOT",
    "Command",
    "Configuration",
    "RulesError",
    "command",
    "diff",
    "difference",
    "load",
    "parse_rules",
    "reset",
    "restore",
    "save",
]


class RulesError(ValueError):
    """A rules file cannot be loaded: a line that does not parse, or a command the kernel (or
    the configuration it would meet) refuses. ``line`` is the 1-based line number (0 when no
    line is to blame) and ``text`` the line itself."""

    def __init__(self, reason: str, line: int = 0, text: str = "", source: str = "") -> None:
        self.reason = reason
        self.line = line
        self.text = text
        self.source = source
        where = f"{source or 'rules'}:{line}: " if line else ""
        quoted = f" ({text!r})" if text else ""
        super().__init__(f"{where}{reason}{quoted}")


# -- the configuration --------------------------------------------------------------------


def _map_key(entry: DomainMap) -> tuple[str, int]:
    return (entry.domain or "", int(entry.family))


@dataclass(frozen=True, slots=True)
class Configuration:
    """A whole NetLabel configuration, in a canonical order so that two equal configurations
    compare equal: DOIs by number, domain maps by domain then family (defaults last, as
    netlabelctl lists them), selectors and static labels in their listing order."""

    cipso_dois: tuple[cipso.CipsoDoi, ...] = ()
    calipso_dois: tuple[calipso.CalipsoDoi, ...] = ()
    maps: tuple[DomainMap, ...] = ()
    accept: bool = True
    static_labels: tuple[StaticLabel, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "cipso_dois", tuple(sorted(self.cipso_dois, key=_doi_number)))
        object.__setattr__(self, "calipso_dois", tuple(sorted(self.calipso_dois, key=_doi_number)))
        domains = sorted((m for m in self.maps if m.domain is not None), key=_map_key)
        defaults = sorted((m for m in self.maps if m.domain is None), key=_map_key)
        object.__setattr__(self, "maps", tuple(domains + defaults))

    @classmethod
    def read(cls, client: NetLabel) -> Configuration:
        """The kernel's running configuration. Static labels list empty without an LSM that
        can turn them back into text (see :meth:`netlabel.NetLabel.list_static_labels`)."""
        return cls(
            tuple(client.get_cipso_doi(d.doi) for d in client.list_cipso_dois()),
            tuple(client.get_calipso_doi(d.doi) for d in client.list_calipso_dois()),
            client.list_domain_maps() + client.list_default_maps(),
            client.get_accept(),
            client.list_static_labels(),
        )

    def apply(self, commands: Iterable[Command]) -> Configuration:
        """The configuration after ``commands``, worked out here as the kernel would: a
        command the kernel refuses raises :class:`RulesError` naming its line."""
        state = self
        for command in commands:
            try:
                state = command.applied_to(state)
            except _Refused as exc:
                raise RulesError(str(exc), command.line, command.text, command.source) from None
        return state

    def to_rules(self) -> str:
        """The configuration as a rules file that turns :data:`BOOT` into it."""
        return "".join(f"{line}\n" for line in self.rule_lines())

    def rule_lines(self) -> list[str]:
        lines = [f"cipso add {_cipso_words(d)}" for d in self.cipso_dois]
        lines += [f"calipso add pass doi:{d.doi}" for d in self.calipso_dois]
        lines += [
            line for entry in self.maps if entry.domain is not None for line in _map_lines(entry)
        ]
        defaults = [entry for entry in self.maps if entry.domain is None]
        if defaults != [entry for entry in BOOT.maps if entry.domain is None]:
            lines.append("map del default")
            lines += _default_lines(defaults)
        if not self.accept:
            lines.append("unlbl accept off")
        lines += [
            f"unlbl add {_where(label.interface)} address:{format_network(label.network)} "
            f"label:{label.label}"
            for label in self.static_labels
        ]
        return lines


_Doi = TypeVar("_Doi", cipso.CipsoDoi, calipso.CalipsoDoi)


def _doi_number(definition: cipso.CipsoDoi | calipso.CalipsoDoi) -> int:
    return definition.doi


def _cipso_words(definition: cipso.CipsoDoi) -> str:
    kind = definition.map_type.name.lower()
    text = f"{kind} doi:{definition.doi}"
    if definition.map_type is not cipso.MapType.LOCAL:
        text += " " + ctl.format_cipso_doi(definition).strip()
    return text


def _protocol_words(labeling: Labeling, family: socket.AddressFamily) -> str:
    if labeling.protocol is LabelProtocol.CIPSOV4:
        return f"cipso,{labeling.doi}"
    if labeling.protocol is LabelProtocol.CALIPSO:
        return f"calipso,{labeling.doi}"
    suffix = {socket.AF_INET: ",4", socket.AF_INET6: ",6"}.get(family, "")
    return f"unlbl{suffix}"


def _where(interface: str | None) -> str:
    return "default" if interface is None else f"interface:{interface}"


def _map_lines(entry: DomainMap) -> list[str]:
    head = "map add " + ("default" if entry.domain is None else f"domain:{entry.domain}")
    if entry.labeling is not None:
        return [f"{head} protocol:{_protocol_words(entry.labeling, entry.family)}"]
    return [
        f"{head} address:{format_network(s.network)} "
        f"protocol:{_protocol_words(s.labeling, socket.AF_UNSPEC)}"
        for s in entry.selectors
    ]


def _default_lines(defaults: Sequence[DomainMap]) -> list[str]:
    # The kernel lists a default for both families as one entry per family; one
    # "map add default" line without a family gives both.
    both = [DomainMap(None, family, Labeling.unlabeled()) for family in _FAMILIES]
    if list(defaults) == both:
        return ["map add default protocol:unlbl"]
    return [line for entry in defaults for line in _map_lines(entry)]


#: The address families a default mapping for both (AF_UNSPEC) is listed under.
_FAMILIES = (socket.AF_INET, socket.AF_INET6)

#: What the kernel starts with: no DOIs, an unlabeled default for both address families
#: (listed as one entry per family), unlabeled packets accepted, no static labels.
BOOT = Configuration(
    maps=tuple(DomainMap(None, family, Labeling.unlabeled()) for family in _FAMILIES),
)


# -- commands -----------------------------------------------------------------------------


class _Refused(Exception):
    """A command that the configuration it meets makes the kernel refuse."""


@dataclass(frozen=True, slots=True)
class Command:
    """One line of a rules file: where it stands, its words, and what it does."""

    line: int
    text: str
    module: str
    verb: str
    words: tuple[str, ...]
    source: str = ""
    _parsed: object = field(default=None, compare=False, repr=False)

    def applied_to(self, state: Configuration) -> Configuration:
        return _EFFECTS[(self.module, self.verb)](state, self._parsed)

    def run(self, client: NetLabel) -> None:
        """Carry the command out on the kernel."""
        _ACTIONS[(self.module, self.verb)](client, self._parsed)


_MODULE_NAMES = {"cipso": "cipso", "cipsov4": "cipso", "calipso": "calipso"}
_MODULE_NAMES |= {"map": "map", "unlbl": "unlbl"}


def parse_rules(text: str, source: str = "") -> tuple[Command, ...]:
    """The commands of a rules file; :class:`RulesError` names the first line that does not
    parse."""
    commands = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        try:
            words = shlex.split(line)
        except ValueError as exc:
            raise RulesError(str(exc), number, line, source) from None
        if words and words[0] == "netlabelctl":
            words = words[1:]
        if len(words) < 2:
            raise RulesError(
                "expected a netlabelctl command: cipso, calipso, map or unlbl, then add, del "
                "or accept",
                number,
                line,
                source,
            )
        try:
            found = command(words[0], words[1], words[2:])
        except ValueError as exc:
            raise RulesError(str(exc), number, line, source) from None
        commands.append(replace(found, line=number, text=line, source=source))
    return tuple(commands)


def command(module: str, verb: str, words: Sequence[str]) -> Command:
    """One netlabelctl command that changes the configuration (``cipso add pass doi:16
    tags:1`` is ``command("cipso", "add", ["pass", "doi:16", "tags:1"])``), parsed;
    ValueError (:class:`netlabel.ctl.CtlSyntaxError`) names what does not parse."""
    module = _MODULE_NAMES.get(module, module)
    parse = _PARSERS.get((module, verb))
    if parse is None:
        raise ValueError(f"{module} {verb} is not a command that changes NetLabel")
    text = " ".join((module, verb, *words))
    return Command(0, text, module, verb, tuple(words), "", parse(words))


def _doi_exists(dois: Iterable[cipso.CipsoDoi | calipso.CalipsoDoi], number: int) -> bool:
    return any(d.doi == number for d in dois)


def _add_cipso(state: Configuration, definition: object) -> Configuration:
    assert isinstance(definition, cipso.CipsoDoi)
    if _doi_exists(state.cipso_dois, definition.doi):
        raise _Refused(f"CIPSO DOI {definition.doi} is already configured")
    return replace(state, cipso_dois=(*state.cipso_dois, definition))


def _add_calipso(state: Configuration, definition: object) -> Configuration:
    assert isinstance(definition, calipso.CalipsoDoi)
    if _doi_exists(state.calipso_dois, definition.doi):
        raise _Refused(f"CALIPSO DOI {definition.doi} is already configured")
    return replace(state, calipso_dois=(*state.calipso_dois, definition))


def _without_doi(state: Configuration, labeling: Labeling) -> tuple[DomainMap, ...]:
    # Removing a DOI removes the plain mappings that use it; mappings that use it through an
    # address selector stay (observed on Linux 6.18).
    return tuple(m for m in state.maps if m.labeling != labeling)


def _drop_doi(dois: tuple[_Doi, ...], number: int, name: str) -> tuple[_Doi, ...]:
    if not _doi_exists(dois, number):
        raise _Refused(f"{name} DOI {number} is not configured")
    return tuple(d for d in dois if d.doi != number)


def _del_cipso(state: Configuration, number: object) -> Configuration:
    assert isinstance(number, int)
    kept = _drop_doi(state.cipso_dois, number, "CIPSO")
    maps = _without_doi(state, Labeling.cipso(number))
    return replace(state, cipso_dois=kept, maps=maps)


def _del_calipso(state: Configuration, number: object) -> Configuration:
    assert isinstance(number, int)
    kept = _drop_doi(state.calipso_dois, number, "CALIPSO")
    maps = _without_doi(state, Labeling.calipso(number))
    return replace(state, calipso_dois=kept, maps=maps)


def _map_family(request: ctl.MapAddRequest) -> socket.AddressFamily:
    # The family netlabelctl (and netlabel.NetLabel) sends when none is given.
    if request.family is not None:
        return request.family
    if request.labeling.protocol is LabelProtocol.CIPSOV4:
        return socket.AF_INET
    if request.labeling.protocol is LabelProtocol.CALIPSO:
        return socket.AF_INET6
    if request.address is not None:
        return socket.AF_INET if request.address.version == 4 else socket.AF_INET6
    return socket.AF_UNSPEC


def _overlaps(a: socket.AddressFamily, b: socket.AddressFamily) -> bool:
    return a == b or socket.AF_UNSPEC in (a, b)


def _check_labeling(state: Configuration, labeling: Labeling) -> None:
    dois: dict[LabelProtocol, tuple[cipso.CipsoDoi | calipso.CalipsoDoi, ...]] = {
        LabelProtocol.CIPSOV4: state.cipso_dois,
        LabelProtocol.CALIPSO: state.calipso_dois,
    }
    configured = dois.get(labeling.protocol)
    if configured is not None and labeling.doi is not None:
        if _doi_exists(configured, labeling.doi):
            return
        name = "CIPSO" if labeling.protocol is LabelProtocol.CIPSOV4 else "CALIPSO"
        raise _Refused(f"{name} DOI {labeling.doi} is not configured")


def _selector_family(network: Network, labeling: Labeling) -> socket.AddressFamily:
    family = socket.AF_INET if network.version == 4 else socket.AF_INET6
    wrong = {socket.AF_INET: LabelProtocol.CALIPSO, socket.AF_INET6: LabelProtocol.CIPSOV4}
    if labeling.protocol is wrong[family]:
        raise _Refused(f"{labeling.protocol.name} cannot label IPv{network.version} addresses")
    return family


def _add_map(state: Configuration, parsed: object) -> Configuration:
    assert isinstance(parsed, ctl.MapAddRequest)
    _check_labeling(state, parsed.labeling)
    domain = parsed.domain
    mine = [m for m in state.maps if m.domain == domain]
    others = [m for m in state.maps if m.domain != domain]
    who = "the default" if domain is None else f"domain {domain}"
    if parsed.address is None:
        family = _map_family(parsed)
        if any(_overlaps(m.family, family) for m in mine):
            raise _Refused(f"{who} is already mapped")
        families = _FAMILIES if domain is None and family == socket.AF_UNSPEC else (family,)
        added = tuple(DomainMap(domain, f, parsed.labeling) for f in families)
        return replace(state, maps=(*state.maps, *added))
    family = _selector_family(parsed.address, parsed.labeling)
    selector = AddressSelector(parsed.address, parsed.labeling)
    merged: list[DomainMap] = []
    placed = False
    for entry in mine:
        if not _overlaps(entry.family, family):
            merged.append(entry)
            continue
        if entry.labeling is not None or any(
            s.network == selector.network for s in entry.selectors
        ):
            raise _Refused(f"{who} is already mapped for {format_network(parsed.address)}")
        # Selectors list longest prefix first (the kernel's lookup order).
        selectors = sorted((*entry.selectors, selector), key=lambda s: -s.network.prefixlen)
        merged.append(replace(entry, selectors=tuple(selectors)))
        placed = True
    if not placed:
        merged.append(DomainMap(domain, family, None, (selector,)))
    return replace(state, maps=(*others, *merged))


def _del_map(state: Configuration, domain: object) -> Configuration:
    assert domain is None or isinstance(domain, str)
    kept = tuple(m for m in state.maps if m.domain != domain)
    if len(kept) == len(state.maps):
        raise _Refused("there is no default mapping" if domain is None else f"no domain {domain}")
    return replace(state, maps=kept)


def _accept(state: Configuration, accept: object) -> Configuration:
    assert isinstance(accept, bool)
    return replace(state, accept=accept)


def _static_key(interface: str | None, network: Network) -> tuple[str | None, Network]:
    return (interface, network)


def _add_static(state: Configuration, parsed: object) -> Configuration:
    assert isinstance(parsed, ctl.StaticLabelRequest) and parsed.label is not None
    key = _static_key(parsed.interface, parsed.address)
    if any(_static_key(s.interface, s.network) == key for s in state.static_labels):
        raise _Refused(f"a static label for {format_network(parsed.address)} already exists")
    label = StaticLabel(parsed.interface, parsed.address, parsed.label)
    return replace(state, static_labels=(*state.static_labels, label))


def _del_static(state: Configuration, parsed: object) -> Configuration:
    assert isinstance(parsed, ctl.StaticLabelRequest)
    key = _static_key(parsed.interface, parsed.address)
    kept = tuple(s for s in state.static_labels if _static_key(s.interface, s.network) != key)
    if len(kept) == len(state.static_labels):
        raise _Refused(f"no static label for {format_network(parsed.address)}")
    return replace(state, static_labels=kept)


def _parse_del_doi(tokens: Sequence[str]) -> int:
    number = ctl.parse_doi(tokens, required=True)
    assert number is not None
    return number


def _parse_static_add(tokens: Sequence[str]) -> ctl.StaticLabelRequest:
    return ctl.parse_static_label(tokens, with_label=True)


def _parse_static_del(tokens: Sequence[str]) -> ctl.StaticLabelRequest:
    return ctl.parse_static_label(tokens, with_label=False)


def _run_map_add(client: NetLabel, parsed: object) -> None:
    assert isinstance(parsed, ctl.MapAddRequest)
    if parsed.domain is None:
        client.add_default_map(parsed.labeling, address=parsed.address, family=parsed.family)
    else:
        client.add_domain_map(
            parsed.domain, parsed.labeling, address=parsed.address, family=parsed.family
        )


def _run_map_del(client: NetLabel, domain: object) -> None:
    if domain is None:
        client.remove_default_map()
    else:
        assert isinstance(domain, str)
        client.remove_domain_map(domain)


def _run_static_add(client: NetLabel, parsed: object) -> None:
    assert isinstance(parsed, ctl.StaticLabelRequest) and parsed.label is not None
    client.add_static_label(parsed.interface, parsed.address, parsed.label)


def _run_static_del(client: NetLabel, parsed: object) -> None:
    assert isinstance(parsed, ctl.StaticLabelRequest)
    client.remove_static_label(parsed.interface, parsed.address)


# (module, verb) -> how its words parse, what it makes of a configuration, how it runs.
_PARSERS: dict[tuple[str, str], Callable[[Sequence[str]], object]] = {
    ("cipso", "add"): ctl.parse_cipso_add,
    ("cipso", "del"): _parse_del_doi,
    ("calipso", "add"): ctl.parse_calipso_add,
    ("calipso", "del"): _parse_del_doi,
    ("map", "add"): ctl.parse_map_add,
    ("map", "del"): ctl.parse_map_del,
    ("unlbl", "accept"): ctl.parse_accept,
    ("unlbl", "add"): _parse_static_add,
    ("unlbl", "del"): _parse_static_del,
}
_EFFECTS: dict[tuple[str, str], Callable[[Configuration, object], Configuration]] = {
    ("cipso", "add"): _add_cipso,
    ("cipso", "del"): _del_cipso,
    ("calipso", "add"): _add_calipso,
    ("calipso", "del"): _del_calipso,
    ("map", "add"): _add_map,
    ("map", "del"): _del_map,
    ("unlbl", "accept"): _accept,
    ("unlbl", "add"): _add_static,
    ("unlbl", "del"): _del_static,
}
_ACTIONS: dict[tuple[str, str], Callable[[NetLabel, object], None]] = {
    ("cipso", "add"): lambda client, d: client.add_cipso_doi(d),  # type: ignore[arg-type]
    ("cipso", "del"): lambda client, n: client.remove_cipso_doi(n),  # type: ignore[arg-type]
    ("calipso", "add"): lambda client, d: client.add_calipso_doi(d),  # type: ignore[arg-type]
    ("calipso", "del"): lambda client, n: client.remove_calipso_doi(n),  # type: ignore[arg-type]
    ("map", "add"): _run_map_add,
    ("map", "del"): _run_map_del,
    ("unlbl", "accept"): lambda client, flag: client.set_accept(bool(flag)),
    ("unlbl", "add"): _run_static_add,
    ("unlbl", "del"): _run_static_del,
}


# -- whole files against the kernel -------------------------------------------------------


def save(client: NetLabel) -> str:
    """The running configuration as a rules file (:meth:`Configuration.to_rules`)."""
    return Configuration.read(client).to_rules()


def load(
    client: NetLabel, text: str, *, source: str = "", dry_run: bool = False
) -> tuple[Configuration, Configuration]:
    """Run a rules file's commands on the running configuration, all or nothing; returns the
    configuration before and after.

    The whole file is parsed and worked out against the running configuration first, so a
    line that does not parse or that the kernel would refuse stops the load before anything
    changes. A command the kernel refuses anyway puts the configuration back as it was (what
    the load added is removed, what it removed is added back) before :class:`RulesError`
    names the line. ``dry_run`` only works it out.
    """
    commands = parse_rules(text, source)
    before = Configuration.read(client)
    after = before.apply(commands)
    if dry_run:
        return before, after
    for command in commands:
        try:
            command.run(client)
        except (OSError, ValueError) as exc:
            restore(client, before)
            raise RulesError(
                f"{exc}; the configuration is back as it was", command.line, command.text, source
            ) from exc
    return before, after


def reset(client: NetLabel) -> None:
    """Put the configuration back to the kernel's boot state, as ``netlabel-config reset``
    does: no DOIs, an unlabeled default mapping, unlabeled packets accepted, no static
    labels."""
    restore(client, BOOT)


def restore(client: NetLabel, target: Configuration) -> None:
    """Change the running configuration into ``target``, touching only what differs."""
    current = Configuration.read(client)
    # Mappings first (a DOI in use cannot go), then DOIs, then mappings again: removing a DOI
    # takes the plain mappings that use it along.
    for domain in _changed_domains(current.maps, target.maps):
        _run_map_del(client, domain)
    _restore_dois(
        current.cipso_dois, target.cipso_dois, client.remove_cipso_doi, client.add_cipso_doi
    )
    _restore_dois(
        current.calipso_dois,
        target.calipso_dois,
        client.remove_calipso_doi,
        client.add_calipso_doi,
    )
    current = Configuration.read(client)
    for domain in _changed_domains(current.maps, target.maps):
        if any(m.domain == domain for m in current.maps):
            _run_map_del(client, domain)
        for entry in target.maps:
            if entry.domain == domain:
                client.add_map(entry)
    if current.accept != target.accept:
        client.set_accept(target.accept)
    _restore_static_labels(client, current.static_labels, target.static_labels)


def _restore_dois(
    old: Sequence[_Doi],
    new: Sequence[_Doi],
    remove: Callable[[int], None],
    add: Callable[[_Doi], None],
) -> None:
    for definition in old:
        if definition not in new:
            remove(definition.doi)
    for definition in new:
        if definition not in old:
            add(definition)


def _restore_static_labels(
    client: NetLabel, old: Sequence[StaticLabel], new: Sequence[StaticLabel]
) -> None:
    for label in old:
        if label not in new:
            client.remove_static_label(label.interface, label.network)
    for label in new:
        if label not in old:
            client.add_static_label(label.interface, label.network, label.label)


def _changed_domains(old: Sequence[DomainMap], new: Sequence[DomainMap]) -> list[str | None]:
    domains = dict.fromkeys(m.domain for m in (*old, *new))
    return [
        d for d in domains if [m for m in old if m.domain == d] != [m for m in new if m.domain == d]
    ]


def difference(current: Configuration, wanted: Configuration) -> list[str]:
    """What differs, as rules lines: ``- line`` in ``current`` only, ``+ line`` in
    ``wanted`` only."""
    old, new = _object_lines(current), _object_lines(wanted)
    return [f"- {line}" for line in old if line not in new] + [
        f"+ {line}" for line in new if line not in old
    ]


def _object_lines(config: Configuration) -> list[str]:
    # One line per configured object (unlike to_rules, no "map del default" step).
    lines = [f"cipso add {_cipso_words(d)}" for d in config.cipso_dois]
    lines += [f"calipso add pass doi:{d.doi}" for d in config.calipso_dois]
    lines += [line for entry in config.maps for line in _map_lines(entry)]
    lines.append(f"unlbl accept {'on' if config.accept else 'off'}")
    lines += [
        f"unlbl add {_where(s.interface)} address:{format_network(s.network)} label:{s.label}"
        for s in config.static_labels
    ]
    return lines


def diff(client: NetLabel, text: str, *, source: str = "") -> list[str]:
    """What differs between the configuration a rules file describes (from the boot state)
    and the running one: ``- line`` only in the kernel, ``+ line`` only in the file."""
    wanted = BOOT.apply(parse_rules(text, source))
    return difference(Configuration.read(client), wanted)
