"""The differential fuzzer: generated options through a live kernel against our validators.

:func:`run` configures scratch DOIs (removed afterwards), sends generated CIPSO options areas
or CALIPSO hop-by-hop headers from one namespace of a :class:`netlabel.harness.KernelHarness`
to the other, and compares what the receiving kernel did (accept, or the Parameter Problem
pointer; for CALIPSO also the silent drop) with :func:`cipso.verdict` or
:func:`calipso.verdict`. Every disagreement is shrunk to a small reproducer while
it persists (removing options, tags and bytes, zeroing fields, fixing a CALIPSO checksum).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import calipso
import cipso
from netlabel.harness import (
    KernelHarness,
    VerdictKind,
    ipv4_echo_request,
    ipv6_echo_request,
)

from ._dois import (
    Renumbering,
    calipso_doi_number,
    configure_calipso,
    configure_cipso,
    renumber_calipso_header,
    renumber_cipso_area,
)
from ._generate import CalipsoGenerator, CipsoGenerator, rewrap_header

__all__ = [
    "PROTOCOLS",
    "Disagreement",
    "Progress",
    "RunResult",
    "Verdict",
    "agree",
    "reply_rerouted",
    "run",
    "summary",
]

PROTOCOLS = ("cipso", "calipso")

#: DOIs configured besides the corpus's, for tag lists and tables the corpus lacks.
_EXTRA_CIPSO_DOIS = (
    "pass doi:1001 tags:5,2",
    "trans doi:1002 tags:1 levels:0=0,3=1",
)
_EXTRA_CALIPSO_DOIS = (1003,)
_STRICTVALID = "/proc/sys/net/ipv4/cipso_rbm_strictvalid"
#: Shrinking stops after this many kernel verdicts, or this many seconds, per disagreement.
_SHRINK_BUDGET = 600
_SHRINK_SECONDS = 10.0
#: How long to wait for an answer. The receiving kernel answers in softirq context before the
#: sending call returns (docs/kernel.md), so a packet without an answer after this long got
#: none; the harness's default is longer, for slower machines.
_TIMEOUT = 0.05


@dataclass(frozen=True, slots=True)
class Verdict:
    """A verdict in comparable form: ``kind`` is ``accepted``, ``rejected`` (CIPSO: ICMP
    Parameter Problem), ``dropped`` (silently: every CALIPSO failure, and a source-routed
    IPv4 packet whose options pass), ``unanswered`` (CIPSO: rejected, but the answer follows the
    packet's source route away from the sender), ``parameter-problem`` (CALIPSO: ICMPv6) or,
    from the kernel only, ``no-answer`` / ``icmp-error``."""

    kind: str
    pointer: int | None = None
    code: int | None = None

    def __str__(self) -> str:
        text = self.kind
        if self.pointer is not None:
            text += f", pointer {self.pointer}"
        if self.code is not None:
            text += f", code {self.code}"
        return text


@dataclass(frozen=True, slots=True)
class Disagreement:
    """One input on which the kernel and labelnet disagree, shrunk to ``minimal``."""

    protocol: str
    origin: str
    original: bytes
    minimal: bytes
    kernel: Verdict
    ours: Verdict
    dois: tuple[str, ...]
    shrink_steps: int

    @property
    def packet(self) -> bytes:
        """The whole IP packet the kernel was sent for ``minimal`` (ICMP echo request)."""
        if self.protocol == "cipso":
            return ipv4_echo_request(self.minimal)
        return ipv6_echo_request(self.minimal)

    def report(self) -> str:
        """A reproducer to paste into a bug report."""
        what = "IPv4 options area" if self.protocol == "cipso" else "hop-by-hop header"
        add = f"netlabelctl {self.protocol} add"
        lines = [
            f"kernel:   {self.kernel}",
            f"labelnet: {self.ours}",
            f"DOIs:     {add} {self.dois[0]}",
            *(f"          {add} {text}" for text in self.dois[1:]),
            f"{what} ({len(self.minimal)} bytes, shrunk in {self.shrink_steps} steps):",
            f"  {self.minimal.hex()}",
            f"as generated ({self.origin}): {self.original.hex()}",
            f"IP packet: {self.packet.hex()}",
            f"check:    python3 -c {_check_command(self)!r}",
        ]
        return "\n".join(lines)


def _check_command(found: Disagreement) -> str:
    data = f'bytes.fromhex("{found.minimal.hex()}")'
    if found.protocol == "cipso":
        dois = ", ".join(f'cipso.CipsoDoi.from_netlabelctl("{text}")' for text in found.dois)
        return f"import cipso; print(cipso.verdict({data}, [{dois}]))"
    numbers = ", ".join(str(calipso_doi_number(text)) for text in found.dois)
    return f"import calipso; print(calipso.verdict({data}, [{numbers}]))"


@dataclass(slots=True)
class RunResult:
    """What one run did. ``kernel_seconds`` is the time spent waiting for verdicts."""

    protocol: str
    seed: int
    sent: int = 0
    agreed: int = 0
    disagreeing: int = 0
    disagreements: list[Disagreement] = field(default_factory=list)
    origins: dict[str, int] = field(default_factory=dict)
    kernel_seconds: float = 0.0
    elapsed: float = 0.0
    interrupted: bool = False

    @property
    def agreement(self) -> float:
        """The share of inputs on which the kernel and labelnet agreed (1.0 when none sent)."""
        return self.agreed / self.sent if self.sent else 1.0

    @property
    def verdicts_per_second(self) -> float:
        return self.sent / self.elapsed if self.elapsed else 0.0


#: Called after every input with (inputs sent, inputs asked for or None, seconds so far,
#: disagreements so far).
Progress = Callable[[int, int | None, float, int], None]


class _Target:
    """What differs between the protocols: set-up, generation, both verdicts, shrinking."""

    dois: tuple[str, ...]
    generate: Callable[[], tuple[str, bytes]]

    def kernel(self, data: bytes) -> Verdict:
        raise NotImplementedError

    def ours(self, data: bytes) -> Verdict:
        raise NotImplementedError

    def smaller(self, data: bytes) -> Iterator[bytes]:
        raise NotImplementedError


def _strictvalid() -> bool:
    try:
        return Path(_STRICTVALID).read_text().strip() != "0"
    except OSError:
        return True


class _Cipso(_Target):
    def __init__(self, harness: KernelHarness, stack: ExitStack, rng: random.Random) -> None:
        self.harness = harness
        corpus = cipso.vectors()
        texts = dict.fromkeys(text for vector in corpus for text in vector.dois)
        definitions = [cipso.CipsoDoi.from_netlabelctl(text) for text in texts]
        definitions += [cipso.CipsoDoi.from_netlabelctl(text) for text in _EXTRA_CIPSO_DOIS]
        renumber = configure_cipso(stack, definitions)
        self.models = [_renumbered(doi, renumber) for doi in definitions]
        self.dois = tuple(doi.to_netlabelctl() for doi in self.models)
        self.strict = _strictvalid()
        areas = [
            renumber_cipso_area(vector.area, renumber)
            for vector in corpus
            if not vector.loopback and vector.strict_bitmap
        ]
        self.generate = CipsoGenerator(rng, self.models, renumber.unknown, areas)

    def kernel(self, data: bytes) -> Verdict:
        answer = self.harness.cipso_verdict(data, timeout=_TIMEOUT)
        if answer.kind is VerdictKind.ACCEPTED:
            return Verdict("accepted")
        if answer.kind is VerdictKind.PARAMETER_PROBLEM and answer.icmp_code == 0:
            return Verdict("rejected", answer.pointer)
        if answer.kind is VerdictKind.NO_ANSWER and not answer.hdr_errors:
            return Verdict("dropped")
        if answer.kind in (VerdictKind.DROPPED, VerdictKind.NO_ANSWER):
            # A header error was counted and no answer came back: sent elsewhere, or not
            # sent for want of a route.
            return Verdict("unanswered")
        return Verdict(answer.kind.value, answer.pointer, answer.icmp_code)

    def ours(self, data: bytes) -> Verdict:
        verdict = cipso.verdict(data, self.models, strict_bitmap=self.strict)
        if verdict.dropped:
            # A source route while accept_source_route is 0 (the default): ip_rcv_options
            # drops the packet after the options passed, without a counter or an answer.
            return Verdict("dropped")
        if not verdict.accepted:
            assert verdict.pointer is not None
            if reply_rerouted(data, verdict.pointer - 20):
                # The Parameter Problem is sent back along the reversed source route
                # (ip_options_echo), to the route's last address; whether it reaches the
                # sender depends on where that address leads (see agree()).
                return Verdict("unanswered", verdict.pointer)
            return Verdict("rejected", verdict.pointer)
        return Verdict("accepted")

    def smaller(self, data: bytes) -> Iterator[bytes]:
        yield from _smaller_area(data)


_SOURCE_ROUTES = (131, 137)  # IPOPT_LSRR, IPOPT_SSRR


def reply_rerouted(area: bytes, before: int) -> bool:
    """Whether the kernel's ICMP answer to a packet with this options area, rejected at area
    offset ``before``, goes elsewhere than the sender: a source route option that passed (it
    ends by ``before``) and holds an address before its pointer, which ``ip_options_echo``
    turns into the answer's first hop."""
    position = 0
    while position < min(before, len(area)):
        kind = area[position]
        if kind == 0:
            return False
        if kind == 1:
            position += 1
            continue
        if position + 1 >= len(area) or area[position + 1] < 2:
            return False
        length = area[position + 1]
        if kind in _SOURCE_ROUTES and length >= 3 and position + length <= before:
            return min(area[position + 2], length + 1) >= 8
        position += length
    return False


def agree(kernel: Verdict, ours: Verdict) -> bool:
    """Whether the kernel's verdict is the one labelnet predicts. A rejection whose answer
    follows a source route (``unanswered``) agrees with no answer at all and with the answer
    labelnet predicts arriving after all."""
    if ours.kind == "unanswered":
        return kernel in (Verdict("unanswered"), Verdict("rejected", ours.pointer))
    return kernel == ours


def _renumbered(doi: cipso.CipsoDoi, renumber: Renumbering) -> cipso.CipsoDoi:
    return cipso.CipsoDoi(renumber(doi.doi), doi.map_type, doi.tags, doi.levels, doi.categories)


class _Calipso(_Target):
    def __init__(self, harness: KernelHarness, stack: ExitStack, rng: random.Random) -> None:
        self.harness = harness
        corpus = calipso.vectors()
        texts = dict.fromkeys(text for vector in corpus for text in vector.dois)
        wanted = [calipso_doi_number(text) for text in texts] + list(_EXTRA_CALIPSO_DOIS)
        renumber = configure_calipso(stack, wanted)
        self.numbers = [renumber(number) for number in wanted]
        self.dois = tuple(f"pass doi:{number}" for number in self.numbers)
        headers = [renumber_calipso_header(vector.header, renumber) for vector in corpus]
        self.generate = CalipsoGenerator(rng, self.numbers, renumber.unknown, headers)

    def kernel(self, data: bytes) -> Verdict:
        answer = self.harness.calipso_verdict(data, timeout=_TIMEOUT)
        if answer.kind in (VerdictKind.ACCEPTED, VerdictKind.DROPPED, VerdictKind.NO_ANSWER):
            return Verdict(answer.kind.value)
        return Verdict(answer.kind.value, answer.pointer, answer.icmp_code)

    def ours(self, data: bytes) -> Verdict:
        verdict = calipso.verdict(data, self.numbers)
        return Verdict(verdict.kind.value, verdict.pointer, verdict.code)

    def smaller(self, data: bytes) -> Iterator[bytes]:
        yield from _smaller_header(data)


def run(
    harness: KernelHarness,
    protocol: str,
    *,
    count: int | None = 10_000,
    seconds: float | None = None,
    seed: int = 0,
    progress: Progress | None = None,
    max_reports: int = 10,
) -> RunResult:
    """Send up to ``count`` generated inputs (None: no limit) for up to ``seconds`` (None: no
    limit) through ``harness`` and compare every verdict with labelnet's. The first
    ``max_reports`` distinct disagreements are shrunk and kept; later ones are only counted.

    The scratch DOIs are removed before returning, also on errors and Ctrl-C; a Ctrl-C ends
    the run early with ``interrupted`` set instead of raising.
    """
    if protocol not in PROTOCOLS:
        raise ValueError(f"unknown protocol {protocol!r} (expected one of {PROTOCOLS})")
    result = RunResult(protocol, seed)
    rng = random.Random(seed)
    started = time.monotonic()
    deadline = None if seconds is None else started + seconds
    seen: set[bytes] = set()
    try:
        with ExitStack() as stack:
            target: _Target = (_Cipso if protocol == "cipso" else _Calipso)(harness, stack, rng)
            while count is None or result.sent < count:
                now = time.monotonic()
                if deadline is not None and now >= deadline:
                    break
                origin, data = target.generate()
                asked = time.perf_counter()
                theirs = target.kernel(data)
                result.kernel_seconds += time.perf_counter() - asked
                mine = target.ours(data)
                result.sent += 1
                result.origins[origin] = result.origins.get(origin, 0) + 1
                if agree(theirs, mine):
                    result.agreed += 1
                else:
                    result.disagreeing += 1
                    if len(result.disagreements) < max_reports:
                        found = _shrink(target, protocol, origin, data, theirs=theirs, mine=mine)
                        if found.minimal not in seen:
                            seen.add(found.minimal)
                            result.disagreements.append(found)
                if progress is not None:
                    progress(result.sent, count, time.monotonic() - started, result.disagreeing)
    except KeyboardInterrupt:
        result.interrupted = True
    result.elapsed = time.monotonic() - started
    return result


def _shrink(
    target: _Target, protocol: str, origin: str, data: bytes, *, theirs: Verdict, mine: Verdict
) -> Disagreement:
    """Make ``data`` smaller while the kernel and labelnet still disagree on it."""
    current, kernel, ours = data, theirs, mine
    steps = 0
    budget = _SHRINK_BUDGET
    deadline = time.monotonic() + _SHRINK_SECONDS
    improved = True
    while improved and budget > 0:
        improved = False
        for candidate in target.smaller(current):
            if budget <= 0 or time.monotonic() > deadline:
                budget = 0
                break
            if (len(candidate), candidate) >= (len(current), current):
                continue
            budget -= 1
            candidate_kernel = target.kernel(candidate)
            candidate_ours = target.ours(candidate)
            if not agree(candidate_kernel, candidate_ours):
                current, kernel, ours = candidate, candidate_kernel, candidate_ours
                steps += 1
                improved = True
                break
    return Disagreement(protocol, origin, data, current, kernel, ours, target.dois, steps)


# -- shrinking candidates ---------------------------------------------------------------------


def _pad4(data: bytes) -> bytes:
    return data + bytes(-len(data) % 4)


def _ipv4_options(area: bytes) -> list[tuple[int, int]]:
    """(start, end) of each option before EOL; a broken length ends the walk."""
    spans = []
    position = 0
    while position < len(area):
        kind = area[position]
        if kind == 0:
            break
        if kind == 1:
            spans.append((position, position + 1))
            position += 1
            continue
        if position + 1 >= len(area) or area[position + 1] < 2:
            spans.append((position, len(area)))
            break
        end = min(position + area[position + 1], len(area))
        spans.append((position, end))
        position = end
    return spans


def _smaller_area(area: bytes) -> Iterator[bytes]:
    spans = _ipv4_options(area)
    used = spans[-1][1] if spans else 0
    # Whole options out, and the area cut after the last option.
    for start, end in spans:
        yield _pad4(area[:start] + area[end:used])
    if used < len(area):
        yield _pad4(area[:used])
    found = cipso.find_option(area)
    if found is not None and found + 1 < len(area):
        start = found
        length = area[start + 1]
        option = area[start : start + length]
        yield _pad4(option)
        # Tags out, then data off the end of each tag (the tag and option lengths follow),
        # then single bytes out of the tag area.
        position = 6
        while position + 1 < len(option) and option[position + 1] >= 2:
            end = position + option[position + 1]
            if end > len(option):
                break
            yield _replace_option(area, start, length, option[:position] + option[end:])
            for cut in (4, 2, 1):
                if end - cut >= position + 2:
                    tag = option[position : position + 1] + bytes((end - cut - position,))
                    shorter = option[:position] + tag + option[position + 2 : end - cut]
                    yield _replace_option(area, start, length, shorter + option[end:])
            position = end
        for index in range(len(option) - 1, 5, -1):
            yield _replace_option(area, start, length, option[:index] + option[index + 1 :])
    # Four bytes out anywhere, then bytes set to zero or lowered, from the end.
    for index in range(len(area) - 4, -1, -1):
        yield area[:index] + area[index + 4 :]
    for index in range(len(area) - 1, -1, -1):
        if area[index]:
            yield area[:index] + b"\0" + area[index + 1 :]
            if area[index] > 1:
                yield area[:index] + bytes((area[index] - 1,)) + area[index + 1 :]


def _replace_option(area: bytes, start: int, length: int, option: bytes) -> bytes:
    """``area`` with the CIPSO option at ``start`` (``length`` bytes) replaced by ``option``,
    whose length byte is set to its size."""
    rest = area[start + length :]
    return _pad4(area[:start] + bytes((0x86, len(option))) + option[2:] + rest)


def _tlvs(header: bytes) -> list[bytes]:
    size = min(len(header), (header[1] + 1) * 8)
    found = []
    position = 2
    while position < size:
        if header[position] == 0:
            found.append(header[position : position + 1])
            position += 1
            continue
        end = min(size, position + 2 + (header[position + 1] if position + 1 < size else 0))
        found.append(header[position:end])
        position = max(end, position + 1)
    return found


def _fixed_checksum(option: bytes) -> bytes:
    if len(option) < 10 or option[0] != 0x07:
        return option
    value = calipso.crc16_x25(option[:8] + b"\0\0" + option[10:])
    return option[:8] + bytes((value & 0xFF, value >> 8)) + option[10:]


def _smaller_header(header: bytes) -> Iterator[bytes]:
    tlvs = _tlvs(header)
    first = header[0]
    for index in range(len(tlvs)):
        yield rewrap_header(b"".join(tlvs[:index] + tlvs[index + 1 :]), first)
    for index, tlv in enumerate(tlvs):
        if tlv[:1] != b"\x07" or len(tlv) < 10:
            continue
        others = tlvs[:index], tlvs[index + 1 :]

        def with_option(option: bytes, others: tuple[list[bytes], list[bytes]] = others) -> bytes:
            return rewrap_header(b"".join([*others[0], option, *others[1]]), first)

        yield rewrap_header(tlv, first)
        fixed = _fixed_checksum(tlv)
        if fixed != tlv:
            yield with_option(fixed)
        # Words and extra bytes off the end, checksum kept right when it was.
        right = _fixed_checksum(tlv) == tlv
        for cut in (4, 1):
            if len(tlv) - cut >= 10:
                shorter = bytes((0x07, tlv[1] - cut)) + tlv[2:-cut]
                if tlv[6] * 4 + 8 > shorter[1] and right:
                    shorter = shorter[:6] + bytes(((shorter[1] - 8) // 4,)) + shorter[7:]
                yield with_option(_fixed_checksum(shorter) if right else shorter)
        for at in (7, 6):
            if tlv[at]:
                zeroed = tlv[:at] + b"\0" + tlv[at + 1 :]
                yield with_option(_fixed_checksum(zeroed) if right else zeroed)
    for index in range(len(header) - 1, 1, -1):
        if header[index]:
            yield header[:index] + b"\0" + header[index + 1 :]


def summary(results: Sequence[RunResult]) -> str:
    """A table of the runs: inputs, agreement, disagreements, verdicts per second, time."""
    lines = [
        f"{'protocol':<9} {'inputs':>8} {'agreed':>8} {'agreement':>10} {'disagreeing':>12} "
        f"{'verdicts/s':>11} {'seconds':>8}"
    ]
    for result in results:
        lines.append(
            f"{result.protocol:<9} {result.sent:>8} {result.agreed:>8} "
            f"{result.agreement:>10.4%} {result.disagreeing:>12} "
            f"{result.verdicts_per_second:>11,.0f} {result.elapsed:>8.1f}"
        )
    return "\n".join(lines)
