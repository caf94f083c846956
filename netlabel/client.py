"""The NetLabel configuration client: what netlabelctl does, over generic netlink.

The messages are pyroute2 generic netlink messages (:mod:`netlabel._genl`); this module turns
them into typed results and kernel errors into :mod:`netlabel.errors` exceptions. Listing
works for any user; changes need CAP_NET_ADMIN. NetLabel exists only in the initial network
namespace (docs/netlabel.md).
"""

from __future__ import annotations

import errno
import ipaddress
import os
import socket
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeAlias

import calipso
import cipso

try:
    from pyroute2.netlink import (
        CTRL_CMD_GETFAMILY,
        GENL_ID_CTRL,
        NLM_F_ACK,
        NLM_F_DUMP,
        NLM_F_REQUEST,
        ctrlmsg,
    )
    from pyroute2.netlink.exceptions import NetlinkError
    from pyroute2.netlink.generic import GenericNetlinkSocket
except ImportError as exc:  # pragma: no cover - depends on the installation
    raise ImportError(
        "the NetLabel client needs pyroute2: pip install 'labelnet[netlink]'"
    ) from exc

from netlabel import _genl, model
from netlabel.errors import (
    AlreadyExists,
    FamilyNotFound,
    InvalidArgument,
    NetLabelError,
    NotFound,
    ProtocolError,
    Unsupported,
    from_errno,
)

__all__ = ["NetLabel"]

_U32_MAX = 0xFFFFFFFF
_IFNAMSIZ = 16  # interface names are at most 15 characters plus NUL
_FAMILIES = (socket.AF_UNSPEC, socket.AF_INET, socket.AF_INET6)

NetworkLike: TypeAlias = model.Network | str

# The kernel answers EINVAL for many different refusals; these say which ones are possible.
_MAP_ADD_ERRORS: dict[int, tuple[type[NetLabelError], str]] = {
    errno.EINVAL: (
        InvalidArgument,
        "invalid argument: the DOI is not configured, the domain (or the default) already "
        "has a mapping for this address family, or the address does not suit the protocol",
    ),
    errno.EEXIST: (AlreadyExists, "this address selector already exists"),
}
_CIPSO_ADD_ERRORS: dict[int, tuple[type[NetLabelError], str]] = {
    errno.EINVAL: (
        InvalidArgument,
        "invalid argument: the kernel refuses this DOI definition (a tag not allowed for "
        "the mapping type, more than 5 tags, or a level or category out of range)",
    ),
    errno.EEXIST: (AlreadyExists, "the DOI already exists"),
}
_CALIPSO_ADD_ERRORS: dict[int, tuple[type[NetLabelError], str]] = {
    errno.EEXIST: (AlreadyExists, "the DOI already exists"),
    errno.EOPNOTSUPP: (Unsupported, "the kernel has no CALIPSO engine (IPv6 disabled?)"),
}


def _as_network(value: NetworkLike, operation: str) -> model.Network:
    if isinstance(value, (ipaddress.IPv4Network, ipaddress.IPv6Network)):
        return value
    try:
        return model.parse_network(value)
    except ValueError as exc:
        raise InvalidArgument(operation, str(exc)) from None


def _check_u32(value: int, what: str, operation: str, *, low: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= _U32_MAX:
        raise InvalidArgument(operation, f"{what} must be an integer in {low}..{_U32_MAX}")
    return int(value)


def _in_initial_netns() -> bool | None:
    """Whether this thread is in the initial network namespace; None if that can't be told.

    kthreadd (pid 2) lives there on every kernel; pid 1 may not (sandboxes move it), and
    inside a PID namespace pid 2 is someone else, so its name is checked first.
    """
    try:
        with open("/proc/2/comm", encoding="ascii", errors="replace") as comm:
            if comm.read().strip() != "kthreadd":
                return None
        mine = os.stat("/proc/thread-self/ns/net")
        init = os.stat("/proc/2/ns/net")
    except OSError:
        return None
    return (mine.st_dev, mine.st_ino) == (init.st_dev, init.st_ino)


def _family_missing(name: str, operation: str) -> FamilyNotFound:
    where = _in_initial_netns()
    if where is False:
        why = (
            f"generic netlink family {name} is not visible: NetLabel can only be configured "
            "from the initial network namespace"
        )
    else:
        lacks = "CALIPSO (IPv6)" if name == _genl.CALIPSO_FAMILY else "NetLabel"
        why = f"generic netlink family {name} not found: the kernel lacks {lacks}"
        if where is None:
            why += " or this is not the initial network namespace (the only one with NetLabel)"
    return FamilyNotFound(operation, why, errno.ENOENT)


def _attr(msg: Any, name: str, operation: str) -> Any:
    value = msg.get_attr(name)
    if value is None:
        raise ProtocolError(operation, f"the kernel's reply has no {name} attribute")
    return value


def _one(replies: list[Any], operation: str) -> Any:
    """The single reply of a ``doit`` command."""
    if len(replies) != 1:
        raise ProtocolError(operation, f"expected one reply message, got {len(replies)}")
    return replies[0]


def _nested(msg: Any, name: str) -> list[Any]:
    """The list of (name, value) pairs inside a nested attribute, or [] if it is absent."""
    nest = msg.get_attr(name)
    return [] if nest is None else list(nest.get("attrs", []))


def _address_attrs(prefix: str, network: model.Network) -> list[tuple[str, bytes]]:
    kind = "IPV4" if network.version == 4 else "IPV6"
    return [
        (f"{prefix}{kind}ADDR", network.network_address.packed),
        (f"{prefix}{kind}MASK", network.netmask.packed),
    ]


def _address_from(msg: Any, prefix: str, operation: str) -> model.Network:
    for kind in ("IPV4", "IPV6"):
        addr = msg.get_attr(f"{prefix}{kind}ADDR")
        if addr is not None:
            mask = _attr(msg, f"{prefix}{kind}MASK", operation)
            try:
                return model.network_from_mask(bytes(addr), bytes(mask))
            except ValueError as exc:
                raise ProtocolError(operation, f"bad address in reply: {exc}") from None
    raise ProtocolError(operation, "the kernel's reply has no address attribute")


def _enum_or_int(enum_type: Any, value: int) -> Any:
    try:
        return enum_type(value)
    except ValueError:
        return value


def _doi_summaries(
    replies: list[Any], prefix: str, map_types: Any, operation: str
) -> tuple[model.DoiSummary, ...]:
    """The DOI and mapping type of each reply to a CIPSO or CALIPSO LISTALL dump; the
    attributes are ``{prefix}DOI`` and ``{prefix}MTYPE``."""
    return tuple(
        model.DoiSummary(
            int(_attr(r, f"{prefix}DOI", operation)),
            _enum_or_int(map_types, int(_attr(r, f"{prefix}MTYPE", operation))),
        )
        for r in replies
    )


class NetLabel:
    """A connection to the kernel's NetLabel configuration (generic netlink).

    Use it as a context manager, or call :meth:`close`. One instance is not thread-safe.
    Methods raise :class:`~netlabel.errors.NetLabelError` subclasses: ``NotFound``,
    ``AlreadyExists``, ``PermissionDenied``, ``InvalidArgument``, ``Unsupported`` /
    ``FamilyNotFound`` (the kernel lacks the family, or this is not the initial network
    namespace) and ``ProtocolError`` (a reply of an unexpected shape).
    """

    def __init__(self, *, trace: Callable[[str], None] | None = None) -> None:
        """``trace`` is called with each operation's name before it is sent (netlabelctl
        -v)."""
        self._trace = trace
        try:
            sock = GenericNetlinkSocket()
        except OSError as exc:
            raise NetLabelError("open generic netlink socket", str(exc), exc.errno or 0) from exc
        try:
            # Bound to the controller family itself; the NetLabel families are looked up one
            # by one when first used, so a missing CALIPSO does not stop CIPSO work.
            sock.bind("nlctrl", ctrlmsg)
        except (OSError, NetlinkError) as exc:
            sock.close()
            code = getattr(exc, "code", None) or getattr(exc, "errno", 0) or 0
            raise NetLabelError("bind generic netlink socket", str(exc), code) from exc
        self._sock: Any = sock
        self._ids: dict[str, int] = {}
        self._closed = False

    # -- life cycle ------------------------------------------------------------------------

    def close(self) -> None:
        """Close the netlink socket (idempotent)."""
        if not self._closed:
            self._closed = True
            self._sock.close()

    def __enter__(self) -> NetLabel:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- transport -------------------------------------------------------------------------

    def _family_id(self, name: str, msg_class: Any, operation: str) -> int:
        fid = self._ids.get(name)
        if fid is not None:
            return fid
        msg = ctrlmsg()
        msg["cmd"] = CTRL_CMD_GETFAMILY
        msg["version"] = 1
        msg["attrs"] = [("CTRL_ATTR_FAMILY_NAME", name)]
        try:
            replies = self._sock.nlm_request(
                msg, msg_type=GENL_ID_CTRL, msg_flags=NLM_F_REQUEST | NLM_F_ACK
            )
        except NetlinkError as exc:
            if exc.code == errno.ENOENT:
                raise _family_missing(name, operation) from None
            raise from_errno(operation, exc.code) from None
        reply = _one(list(replies), operation)
        fid = int(_attr(reply, "CTRL_ATTR_FAMILY_ID", operation))
        self._sock.marshal.msg_map[fid] = msg_class
        self._ids[name] = fid
        return fid

    def _request(
        self,
        family: str,
        msg_class: Any,
        cmd: int,
        attrs: Sequence[tuple[str, Any]] = (),
        *,
        operation: str,
        dump: bool = False,
        errors: dict[int, tuple[type[NetLabelError], str]] | None = None,
    ) -> list[Any]:
        if self._closed:
            raise NetLabelError(operation, "the NetLabel client is closed", errno.EBADF)
        fid = self._family_id(family, msg_class, operation)
        if self._trace is not None:
            self._trace(operation)
        msg = msg_class()
        msg["cmd"] = cmd
        msg["version"] = _genl.PROTO_VERSION
        msg["attrs"] = list(attrs)
        flags = NLM_F_REQUEST | (NLM_F_DUMP if dump else NLM_F_ACK)
        try:
            return list(self._sock.nlm_request(msg, msg_type=fid, msg_flags=flags))
        except NetlinkError as exc:
            special = (errors or {}).get(exc.code)
            if special is not None:
                cls, reason = special
                raise cls(operation, reason, exc.code) from None
            raise from_errno(operation, exc.code) from None

    def _mgmt(self, cmd: _genl.MgmtCmd, attrs: Sequence[tuple[str, Any]] = (), **kw: Any) -> Any:
        return self._request(_genl.MGMT_FAMILY, _genl.MgmtMsg, cmd, attrs, **kw)

    def _cipso(self, cmd: _genl.CipsoCmd, attrs: Sequence[tuple[str, Any]] = (), **kw: Any) -> Any:
        return self._request(_genl.CIPSOV4_FAMILY, _genl.CipsoMsg, cmd, attrs, **kw)

    def _calipso(
        self, cmd: _genl.CalipsoCmd, attrs: Sequence[tuple[str, Any]] = (), **kw: Any
    ) -> Any:
        return self._request(_genl.CALIPSO_FAMILY, _genl.CalipsoMsg, cmd, attrs, **kw)

    def _doi_request(self, send: Any, cmd: int, doi: int, op: str, **kw: Any) -> Any:
        # A CIPSO or CALIPSO request naming one DOI; ``send`` is self._cipso or self._calipso.
        attr = "NLBL_CIPSOV4_A_DOI" if send == self._cipso else "NLBL_CALIPSO_A_DOI"
        return send(cmd, [(attr, _check_u32(doi, "the DOI", op))], operation=op, **kw)

    def _doi_reply(self, send: Any, cmd: int, doi: int) -> tuple[Any, str]:
        # The one reply describing a DOI, and the operation's name for errors about it.
        name = "CIPSO" if send == self._cipso else "CALIPSO"
        op = f"{name.lower()} list doi:{doi}"
        # The kernel answers EINVAL, not ENOENT, for a DOI it does not have.
        errors = {errno.EINVAL: (NotFound, f"no such {name} DOI")}
        return _one(self._doi_request(send, cmd, doi, op, errors=errors), op), op

    def _unlbl(self, cmd: _genl.UnlblCmd, attrs: Sequence[tuple[str, Any]] = (), **kw: Any) -> Any:
        return self._request(_genl.UNLBL_FAMILY, _genl.UnlblMsg, cmd, attrs, **kw)

    # -- NLBL_MGMT -------------------------------------------------------------------------

    def version(self) -> int:
        """The kernel's NetLabel protocol version (3 on every current kernel)."""
        op = "mgmt version"
        reply = _one(self._mgmt(_genl.MgmtCmd.VERSION, operation=op), op)
        return int(_attr(reply, "NLBL_MGMT_A_VERSION", op))

    def protocols(self) -> tuple[model.Protocol | int, ...]:
        """The labeling protocols the kernel supports, in the kernel's order."""
        op = "mgmt protocols"
        replies = self._mgmt(_genl.MgmtCmd.PROTOCOLS, operation=op, dump=True)
        return tuple(
            _enum_or_int(model.Protocol, int(_attr(r, "NLBL_MGMT_A_PROTOCOL", op))) for r in replies
        )

    def list_domain_maps(self) -> tuple[model.DomainMap, ...]:
        """Every domain mapping, in the kernel's order; the defaults are not included."""
        op = "map list"
        replies = self._mgmt(_genl.MgmtCmd.LISTALL, operation=op, dump=True)
        return tuple(self._decode_map(r, op) for r in replies)

    def get_default_map(self, family: socket.AddressFamily) -> model.DomainMap | None:
        """The default mapping for AF_INET or AF_INET6, or None if there is none."""
        if family not in (socket.AF_INET, socket.AF_INET6):
            raise InvalidArgument(
                "map list default", f"family must be AF_INET or AF_INET6, not {family!r}"
            )
        op = f"map list default ({'IPv4' if family == socket.AF_INET else 'IPv6'})"
        try:
            replies = self._mgmt(
                _genl.MgmtCmd.LISTDEF, [("NLBL_MGMT_A_FAMILY", int(family))], operation=op
            )
        except NotFound:
            return None
        return self._decode_map(_one(replies, op), op)

    def list_default_maps(self) -> tuple[model.DomainMap, ...]:
        """The IPv4 then the IPv6 default mapping, leaving out a family without one."""
        maps = (self.get_default_map(socket.AF_INET), self.get_default_map(socket.AF_INET6))
        return tuple(m for m in maps if m is not None)

    def add_domain_map(
        self,
        domain: str,
        labeling: model.Labeling,
        *,
        address: NetworkLike | None = None,
        family: socket.AddressFamily | None = None,
    ) -> None:
        """Map an LSM domain to a labeling, for all traffic or for one address range.

        ``family`` defaults as netlabelctl's: AF_INET for CIPSO, AF_INET6 for CALIPSO, the
        address's family for an unlabeled selector, else AF_UNSPEC (both). Adding a second
        selector to a domain that already uses selectors merges it.
        """
        self._add_map(domain, labeling, address, family)

    def add_default_map(
        self,
        labeling: model.Labeling,
        *,
        address: NetworkLike | None = None,
        family: socket.AddressFamily | None = None,
    ) -> None:
        """Set the default mapping (for domains without their own). The kernel starts with an
        unlabeled default for both families, so remove it first (:meth:`remove_default_map`).
        """
        self._add_map(None, labeling, address, family)

    def remove_domain_map(self, domain: str) -> None:
        """Remove a domain's IPv4 and IPv6 mappings."""
        if not domain or "\0" in domain:
            raise InvalidArgument("map del", "the domain must be a non-empty string without NUL")
        self._mgmt(
            _genl.MgmtCmd.REMOVE,
            [("NLBL_MGMT_A_DOMAIN", domain)],
            operation=f"map del domain:{domain}",
        )

    def remove_default_map(self) -> None:
        """Remove the IPv4 and IPv6 default mappings."""
        self._mgmt(_genl.MgmtCmd.REMOVEDEF, operation="map del default")

    def add_map(self, entry: model.DomainMap) -> None:
        """Add a listed entry back as it was (one request per selector); used to restore."""
        if entry.labeling is not None:
            self._add_map(entry.domain, entry.labeling, None, entry.family)
            return
        for selector in entry.selectors:
            self._add_map(entry.domain, selector.labeling, selector.network, None)

    def _add_map(
        self,
        domain: str | None,
        labeling: model.Labeling,
        address: NetworkLike | None,
        family: socket.AddressFamily | None,
    ) -> None:
        base = "map add default" if domain is None else f"map add domain:{domain}"
        if domain is not None and (not domain or "\0" in domain):
            raise InvalidArgument(base, "the domain must be a non-empty string without NUL")
        network = None if address is None else _as_network(address, base)
        op = base if network is None else f"{base} address:{network}"
        if family is None:
            if labeling.protocol is model.Protocol.CIPSOV4:
                family = socket.AF_INET
            elif labeling.protocol is model.Protocol.CALIPSO:
                family = socket.AF_INET6
            elif network is not None:
                family = socket.AF_INET if network.version == 4 else socket.AF_INET6
            else:
                family = socket.AF_UNSPEC
        elif family not in _FAMILIES:
            raise InvalidArgument(
                op, f"family must be AF_UNSPEC, AF_INET or AF_INET6, not {family!r}"
            )
        attrs: list[tuple[str, Any]] = []
        if domain is not None:
            attrs.append(("NLBL_MGMT_A_DOMAIN", domain))
        attrs.append(("NLBL_MGMT_A_PROTOCOL", int(labeling.protocol)))
        attrs.append(("NLBL_MGMT_A_FAMILY", int(family)))
        if labeling.protocol is model.Protocol.CIPSOV4:
            attrs.append(("NLBL_MGMT_A_CV4DOI", labeling.doi))
        elif labeling.protocol is model.Protocol.CALIPSO:
            attrs.append(("NLBL_MGMT_A_CLPDOI", labeling.doi))
        if network is not None:
            attrs.extend(_address_attrs("NLBL_MGMT_A_", network))
        cmd = _genl.MgmtCmd.ADD if domain is not None else _genl.MgmtCmd.ADDDEF
        self._mgmt(cmd, attrs, operation=op, errors=_MAP_ADD_ERRORS)

    @staticmethod
    def _decode_labeling(msg: Any, op: str) -> model.Labeling:
        proto = int(_attr(msg, "NLBL_MGMT_A_PROTOCOL", op))
        try:
            if proto == model.Protocol.CIPSOV4:
                return model.Labeling.cipso(int(_attr(msg, "NLBL_MGMT_A_CV4DOI", op)))
            if proto == model.Protocol.CALIPSO:
                return model.Labeling.calipso(int(_attr(msg, "NLBL_MGMT_A_CLPDOI", op)))
            return model.Labeling(model.Protocol(proto))
        except ValueError as exc:
            raise ProtocolError(op, f"unexpected protocol in reply: {exc}") from None

    def _decode_map(self, msg: Any, op: str) -> model.DomainMap:
        domain = msg.get_attr("NLBL_MGMT_A_DOMAIN")
        try:
            family = socket.AddressFamily(int(msg.get_attr("NLBL_MGMT_A_FAMILY") or 0))
        except ValueError as exc:
            raise ProtocolError(op, f"unexpected address family in reply: {exc}") from None
        selectors = []
        for name, sel in _nested(msg, "NLBL_MGMT_A_SELECTORLIST"):
            if name != "NLBL_MGMT_A_ADDRSELECTOR":
                continue
            network = _address_from(sel, "NLBL_MGMT_A_", op)
            selectors.append(model.AddressSelector(network, self._decode_labeling(sel, op)))
        if selectors:
            return model.DomainMap(domain, family, None, tuple(selectors))
        return model.DomainMap(domain, family, self._decode_labeling(msg, op))

    # -- NLBL_CIPSOv4 ----------------------------------------------------------------------

    def add_cipso_doi(self, definition: cipso.CipsoDoi) -> None:
        """Add a CIPSO DOI: its mapping type, tags and (TRANS) translation tables."""
        op = f"cipso add {definition.map_type.name.lower()} doi:{definition.doi}"
        doi = _check_u32(definition.doi, "the DOI", op, low=1)
        tags = tuple(int(t) for t in definition.tags)
        if not tags or any(not 0 <= t <= 255 for t in tags):
            raise InvalidArgument(op, "a CIPSO DOI needs one or more tag types, each 0..255")
        attrs: list[tuple[str, Any]] = [
            ("NLBL_CIPSOV4_A_DOI", doi),
            ("NLBL_CIPSOV4_A_MTYPE", int(definition.map_type)),
            ("NLBL_CIPSOV4_A_TAGLST", {"attrs": [("NLBL_CIPSOV4_A_TAG", t) for t in tags]}),
        ]
        if definition.map_type == cipso.MapType.TRANS:
            attrs.append(("NLBL_CIPSOV4_A_MLSLVLLST", self._table("LVL", definition.levels, op)))
            attrs.append(
                ("NLBL_CIPSOV4_A_MLSCATLST", self._table("CAT", definition.categories, op))
            )
        elif definition.levels or definition.categories:
            raise InvalidArgument(op, "only TRANS DOIs have level and category tables")
        self._cipso(_genl.CipsoCmd.ADD, attrs, operation=op, errors=_CIPSO_ADD_ERRORS)

    @staticmethod
    def _table(kind: str, pairs: Iterable[tuple[int, int]], op: str) -> dict[str, Any]:
        items = []
        for local, remote in pairs:
            _check_u32(local, "a local value", op)
            _check_u32(remote, "a wire value", op)
            entry = [
                (f"NLBL_CIPSOV4_A_MLS{kind}LOC", local),
                (f"NLBL_CIPSOV4_A_MLS{kind}REM", remote),
            ]
            items.append((f"NLBL_CIPSOV4_A_MLS{kind}", {"attrs": entry}))
        return {"attrs": items}

    def remove_cipso_doi(self, doi: int) -> None:
        """Remove a CIPSO DOI; the kernel also drops the domain mappings that use it."""
        self._doi_request(self._cipso, _genl.CipsoCmd.REMOVE, doi, f"cipso del doi:{doi}")

    def get_cipso_doi(self, doi: int) -> cipso.CipsoDoi:
        """One CIPSO DOI with its tags and, for TRANS, its tables (ascending local values)."""
        reply, op = self._doi_reply(self._cipso, _genl.CipsoCmd.LIST, doi)
        try:
            map_type = cipso.MapType(int(_attr(reply, "NLBL_CIPSOV4_A_MTYPE", op)))
            tags = tuple(
                cipso.TagType(int(v))
                for name, v in _nested(reply, "NLBL_CIPSOV4_A_TAGLST")
                if name == "NLBL_CIPSOV4_A_TAG"
            )
            levels = self._read_table(reply, "LVL", op)
            categories = self._read_table(reply, "CAT", op)
            return cipso.CipsoDoi(doi, map_type, tags, levels, categories)
        except ValueError as exc:
            raise ProtocolError(op, f"the kernel's DOI does not fit the model: {exc}") from None

    @staticmethod
    def _read_table(reply: Any, kind: str, op: str) -> tuple[tuple[int, int], ...]:
        pairs = []
        for name, entry in _nested(reply, f"NLBL_CIPSOV4_A_MLS{kind}LST"):
            if name != f"NLBL_CIPSOV4_A_MLS{kind}":
                continue
            local = _attr(entry, f"NLBL_CIPSOV4_A_MLS{kind}LOC", op)
            remote = _attr(entry, f"NLBL_CIPSOV4_A_MLS{kind}REM", op)
            pairs.append((int(local), int(remote)))
        return tuple(pairs)

    def list_cipso_dois(self) -> tuple[model.DoiSummary, ...]:
        """Every CIPSO DOI with its mapping type (a ``cipso.MapType``), in the kernel's order."""
        op = "cipso list"
        replies = self._cipso(_genl.CipsoCmd.LISTALL, operation=op, dump=True)
        return _doi_summaries(replies, "NLBL_CIPSOV4_A_", cipso.MapType, op)

    # -- NLBL_CALIPSO ----------------------------------------------------------------------

    def add_calipso_doi(self, definition: calipso.CalipsoDoi) -> None:
        """Add a CALIPSO DOI (PASS is the only mapping type)."""
        op = f"calipso add {definition.map_type.name.lower()} doi:{definition.doi}"
        attrs = [
            ("NLBL_CALIPSO_A_DOI", _check_u32(definition.doi, "the DOI", op, low=1)),
            ("NLBL_CALIPSO_A_MTYPE", int(definition.map_type)),
        ]
        self._calipso(_genl.CalipsoCmd.ADD, attrs, operation=op, errors=_CALIPSO_ADD_ERRORS)

    def remove_calipso_doi(self, doi: int) -> None:
        """Remove a CALIPSO DOI; the kernel also drops the domain mappings that use it."""
        self._doi_request(self._calipso, _genl.CalipsoCmd.REMOVE, doi, f"calipso del doi:{doi}")

    def get_calipso_doi(self, doi: int) -> calipso.CalipsoDoi:
        """One CALIPSO DOI."""
        reply, op = self._doi_reply(self._calipso, _genl.CalipsoCmd.LIST, doi)
        try:
            map_type = calipso.MapType(int(_attr(reply, "NLBL_CALIPSO_A_MTYPE", op)))
            return calipso.CalipsoDoi(doi, map_type)
        except ValueError as exc:
            raise ProtocolError(op, f"the kernel's DOI does not fit the model: {exc}") from None

    def list_calipso_dois(self) -> tuple[model.DoiSummary, ...]:
        """Every CALIPSO DOI with its mapping type (a ``calipso.MapType``)."""
        op = "calipso list"
        replies = self._calipso(_genl.CalipsoCmd.LISTALL, operation=op, dump=True)
        return _doi_summaries(replies, "NLBL_CALIPSO_A_", calipso.MapType, op)

    # -- NLBL_UNLBL ------------------------------------------------------------------------

    def get_accept(self) -> bool:
        """Whether unlabeled packets are accepted (the kernel starts with True)."""
        op = "unlbl list"
        reply = _one(self._unlbl(_genl.UnlblCmd.LIST, operation=op), op)
        return bool(_attr(reply, "NLBL_UNLABEL_A_ACPTFLG", op))

    def set_accept(self, accept: bool) -> None:
        """Accept or refuse unlabeled packets."""
        op = f"unlbl accept {'on' if accept else 'off'}"
        self._unlbl(
            _genl.UnlblCmd.ACCEPT, [("NLBL_UNLABEL_A_ACPTFLG", int(bool(accept)))], operation=op
        )

    def list_static_labels(self) -> tuple[model.StaticLabel, ...]:
        """The static labels: per interface first, then the any-interface defaults.

        The kernel turns each stored label back into text through the LSM; with no LSM
        active it cannot, and the lists come back empty.
        """
        op = "unlbl list"
        found = []
        for cmd in (_genl.UnlblCmd.STATICLIST, _genl.UnlblCmd.STATICLISTDEF):
            for reply in self._unlbl(cmd, operation=op, dump=True):
                raw = bytes(_attr(reply, "NLBL_UNLABEL_A_SECCTX", op))
                label = raw.split(b"\0", 1)[0].decode("utf-8", "replace")
                network = _address_from(reply, "NLBL_UNLABEL_A_", op)
                found.append(
                    model.StaticLabel(reply.get_attr("NLBL_UNLABEL_A_IFACE"), network, label)
                )
        return tuple(found)

    def add_static_label(self, interface: str | None, address: NetworkLike, label: str) -> None:
        """Label unlabeled traffic from ``address`` on ``interface`` (None: any interface)."""
        network = _as_network(address, "unlbl add")
        where = "default" if interface is None else f"interface:{interface}"
        op = f"unlbl add {where} address:{network} label:{label}"
        if not label or "\0" in label:
            raise InvalidArgument(op, "the label must be a non-empty string without NUL")
        attrs = self._static_attrs(interface, network, op)
        # The LSM converts the context; libnetlabel sends it with its NUL, and so do we.
        attrs.append(("NLBL_UNLABEL_A_SECCTX", label.encode() + b"\0"))
        cmd = _genl.UnlblCmd.STATICADD if interface is not None else _genl.UnlblCmd.STATICADDDEF
        self._unlbl(cmd, attrs, operation=op)

    def remove_static_label(self, interface: str | None, address: NetworkLike) -> None:
        """Remove a static label added by :meth:`add_static_label`."""
        network = _as_network(address, "unlbl del")
        where = "default" if interface is None else f"interface:{interface}"
        op = f"unlbl del {where} address:{network}"
        attrs = self._static_attrs(interface, network, op)
        cmd = (
            _genl.UnlblCmd.STATICREMOVE if interface is not None else _genl.UnlblCmd.STATICREMOVEDEF
        )
        self._unlbl(cmd, attrs, operation=op)

    @staticmethod
    def _static_attrs(
        interface: str | None, network: model.Network, op: str
    ) -> list[tuple[str, Any]]:
        attrs: list[tuple[str, Any]] = []
        if interface is not None:
            if not interface or len(interface.encode()) >= _IFNAMSIZ or "\0" in interface:
                raise InvalidArgument(op, "an interface name is 1..15 bytes without NUL")
            attrs.append(("NLBL_UNLABEL_A_IFACE", interface))
        attrs.extend(_address_attrs("NLBL_UNLABEL_A_", network))
        return attrs
