"""Record the Linux kernel's verdicts for the shipped vector corpora.

``labelnet conformance record`` (or ``python -m labelnet conformance record``) sends every
vector of ``cipso/corpus/*.json`` and ``calipso/corpus/*.json`` through a live kernel with
:class:`netlabel.harness.KernelHarness`, with the vector's DOIs configured as scratch DOIs, and
writes the observed verdict into the vector's ``kernel`` entry. NetLabel is left as it was
found: the scratch DOIs are removed, and the one sysctl touched for the vectors that need it
(``net.ipv4.cipso_rbm_strictvalid``) is set back, also on errors and Ctrl-C.

CIPSO vectors for a loopback device (tag 128 is accepted only there) are sent by B to itself
(:meth:`KernelHarness.cipso_loopback_verdict`). The answer to a rejected packet that carries a
source route goes to the route's last address instead of the sender; such vectors keep the
verdict cipso.md §4 gives and ``"recorded": false``.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import calipso
import cipso
from netlabel.harness import (
    HarnessError,
    KernelHarness,
    ipv4_echo_request,
    ipv6_echo_request,
    netlabel_lock,
)

from . import _dois, _tshark
from .fuzz import reply_rerouted

__all__ = ["STRICTVALID", "Change", "RecordResult", "corpus_files", "record", "strictvalid"]

STRICTVALID = "/proc/sys/net/ipv4/cipso_rbm_strictvalid"


@dataclass(frozen=True, slots=True)
class Change:
    """A vector whose recorded verdict differs from the one the file held."""

    path: Path
    name: str
    before: dict[str, Any]
    after: dict[str, Any]


@dataclass(slots=True)
class RecordResult:
    """What :func:`record` did: vectors sent (``loopback`` of them through B's loopback),
    vectors whose answer cannot be seen (it follows a source route elsewhere), verdicts
    changed, and the vectors whose tshark fields changed."""

    sent: int = 0
    loopback: int = 0
    unobservable: int = 0
    changes: list[Change] = field(default_factory=list)
    tshark_changes: list[str] = field(default_factory=list)


def corpus_files(protocol: str) -> list[Path]:
    """The corpus files of ``cipso`` or ``calipso`` in this installation."""
    if protocol not in ("cipso", "calipso"):
        raise ValueError(f"no corpus for protocol {protocol!r} (cipso or calipso)")
    folder = resources.files(protocol).joinpath("corpus")
    return sorted(Path(str(folder)).glob("*.json"))


@contextmanager
def strictvalid(value: bool) -> Iterator[None]:
    """Set ``net.ipv4.cipso_rbm_strictvalid`` for the block and restore it afterwards (it is
    global to the kernel: callers hold :func:`netlabel.harness.netlabel_lock`)."""
    path = Path(STRICTVALID)
    old = path.read_text().strip()
    wanted = "1" if value else "0"
    if old == wanted:
        yield
        return
    path.write_text(wanted)
    try:
        yield
    finally:
        interrupted = False
        while True:
            try:
                path.write_text(old)
                break
            except KeyboardInterrupt:
                interrupted = True
        if interrupted:
            raise KeyboardInterrupt


def _groups(items: list[dict[str, Any]]) -> dict[tuple[str, ...], list[dict[str, Any]]]:
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for item in items:
        groups.setdefault(tuple(item["dois"]), []).append(item)
    return groups


#: The corpus files' word for a CIPSO Parameter Problem (cipso/_vectors.py reads it back).
_REJECTED = "rejected"


def _cipso_kernel(harness: KernelHarness, area: bytes, loopback: bool) -> dict[str, Any] | None:
    ask = harness.cipso_loopback_verdict if loopback else harness.cipso_verdict
    answer = ask(area)
    verdict = answer.verdict
    if not answer.delivered or verdict is None:
        raise HarnessError(f"no clear verdict for options area {area.hex()}: {answer}")
    if verdict.kind is cipso.VerdictKind.PARAMETER_PROBLEM and verdict.pointer is None:
        if reply_rerouted(area, len(area)):
            # Rejected (a header error was counted), but the Parameter Problem follows the
            # packet's reversed source route away from the sender: the pointer cannot be seen.
            return None
        raise HarnessError(f"no clear verdict for options area {area.hex()}: {answer}")
    if verdict.kind is cipso.VerdictKind.PARAMETER_PROBLEM:
        return {"verdict": _REJECTED, "pointer": verdict.pointer, "recorded": True}
    # Accepted, or dropped after validation without a trace (a source route while
    # accept_source_route is 0): no answer within the timeout, no header error.
    return {"verdict": str(verdict.kind), "pointer": None, "recorded": True}


def _record_cipso(
    harness: KernelHarness, corpus: dict[str, Any], result: RecordResult
) -> Callable[[dict[str, Any]], dict[str, Any] | None]:
    def configure(stack: ExitStack, texts: list[str]) -> _dois.Renumbering:
        return _dois.configure_cipso(stack, [cipso.CipsoDoi.from_netlabelctl(t) for t in texts])

    def judge(item: dict[str, Any], renumber: _dois.Renumbering) -> dict[str, Any] | None:
        area = _dois.renumber_cipso_area(bytes.fromhex(item["area"]), renumber)
        with strictvalid(item.get("strict_bitmap", True)):
            return _cipso_kernel(harness, area, item.get("loopback", False))

    return _record_groups(corpus, result, configure, judge)


def _record_calipso(
    harness: KernelHarness, corpus: dict[str, Any], result: RecordResult
) -> Callable[[dict[str, Any]], dict[str, Any] | None]:
    def configure(stack: ExitStack, texts: list[str]) -> _dois.Renumbering:
        return _dois.configure_calipso(stack, [_dois.calipso_doi_number(t) for t in texts])

    def judge(item: dict[str, Any], renumber: _dois.Renumbering) -> dict[str, Any] | None:
        header = _dois.renumber_calipso_header(bytes.fromhex(item["header"]), renumber)
        answer = harness.calipso_verdict(header)
        verdict = answer.verdict
        unseen = verdict is None or (
            verdict.kind is calipso.VerdictKind.PARAMETER_PROBLEM and verdict.pointer is None
        )
        if not answer.delivered or verdict is None or unseen:
            raise HarnessError(f"no clear verdict for header {header.hex()}: {answer}")
        return {
            "verdict": str(verdict.kind),
            "pointer": verdict.pointer,
            "code": verdict.code,
            "recorded": True,
        }

    return _record_groups(corpus, result, configure, judge)


def _record_groups(
    corpus: dict[str, Any],
    result: RecordResult,
    configure: Callable[[ExitStack, list[str]], _dois.Renumbering],
    judge: Callable[[dict[str, Any], _dois.Renumbering], dict[str, Any] | None],
) -> Callable[[dict[str, Any]], dict[str, Any] | None]:
    """Send every vector, its group's DOIs configured; a verdict ``judge`` cannot observe
    (None) keeps the file's with ``"recorded": false``."""
    texts: dict[str, str] = corpus["dois"]
    recorded: dict[int, dict[str, Any]] = {}
    for names, items in _groups(corpus["vectors"]).items():
        with ExitStack() as stack:
            renumber = configure(stack, [texts[name] for name in names])
            for item in items:
                verdict = judge(item, renumber)
                result.sent += 1
                result.loopback += bool(item.get("loopback", False))
                if verdict is None:
                    result.unobservable += 1
                    verdict = dict(item["kernel"], recorded=False)
                recorded[id(item)] = verdict
    return lambda item: recorded.get(id(item))


def _tshark_available() -> bool:
    return shutil.which("tshark") is not None


def _record_tshark(protocol: str, corpus: dict[str, Any], result: RecordResult) -> None:
    """Store tshark's fields for every vector whose option decodes."""
    items = [item for item in corpus["vectors"] if item.get("decode") is not None]
    names: tuple[str, ...]
    if protocol == "cipso":
        packets = [ipv4_echo_request(bytes.fromhex(item["area"])) for item in items]
        names = _tshark.CIPSO_FIELDS
    else:
        packets = [ipv6_echo_request(bytes.fromhex(item["header"])) for item in items]
        names = _tshark.CALIPSO_FIELDS
    for item, found in zip(items, _tshark.fields(packets, names), strict=True):
        if item.get("tshark") != found:
            result.tshark_changes.append(item["name"])
        item["tshark"] = found
    corpus["tshark"] = _tshark.version()


def record(
    harness: KernelHarness,
    protocol: str,
    *,
    paths: list[Path] | None = None,
    write: bool = True,
    kernel: str | None = None,
) -> RecordResult:
    """Send every vector of ``protocol``'s corpus files (or ``paths``) through ``harness`` and
    store the verdicts (``write=False``: only compare). ``kernel`` names the kernel in the
    files' ``kernel`` field."""
    recorder = {"cipso": _record_cipso, "calipso": _record_calipso}[protocol]
    result = RecordResult()
    for path in paths if paths is not None else corpus_files(protocol):
        corpus = json.loads(path.read_text(encoding="utf-8"))
        with netlabel_lock():
            lookup = recorder(harness, corpus, result)
        if _tshark_available():
            _record_tshark(protocol, corpus, result)
        for item in corpus["vectors"]:
            new = lookup(item)
            if new is None:
                continue
            old = item["kernel"]
            if {k: v for k, v in old.items() if k != "recorded"} != {
                k: v for k, v in new.items() if k != "recorded"
            }:
                result.changes.append(Change(path, item["name"], old, new))
            item["kernel"] = new
        if write:
            if kernel is not None:
                corpus["kernel"] = kernel
            path.write_text(json.dumps(corpus, indent=1) + "\n", encoding="utf-8")
    return result
