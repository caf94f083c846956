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
from typing import Any

import calipso
import cipso
from netlabel.harness import (
    KernelAnswer,
    KernelHarness,
    ipv4_echo_request,
    ipv6_echo_request,
    summarize,
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

#: A verdict of either protocol: the kernel's (from the harness) or labelnet's.
Verdict = cipso.Verdict | calipso.Verdict


def agree(kernel: Verdict | None, ours: Verdict, *, rerouted: bool = False) -> bool:
    """Whether the kernel's verdict (None: the harness saw none) is the one labelnet predicts:
    the same kind, ICMP pointer and ICMP code. Reasons, and the offsets labelnet knows but no
    answer shows, are not compared.

    ``rerouted`` says labelnet's Parameter Problem would follow the packet's source route away
    from the sender (:func:`reply_rerouted`); then a Parameter Problem the sender never saw
    (pointer None) agrees too, and so does the predicted one arriving after all."""
    if kernel is None:
        return False
    if rerouted and kernel.kind == ours.kind and kernel.pointer is None:
        return True
    return (kernel.kind, kernel.pointer, kernel.code) == (ours.kind, ours.pointer, ours.code)


@dataclass(frozen=True, slots=True)
class Disagreement:
    """One input on which the kernel and labelnet disagree, shrunk to ``minimal``; ``kernel``
    is the harness's answer for ``minimal`` and ``ours`` labelnet's verdict on it."""

    protocol: str
    origin: str
    original: bytes
    minimal: bytes
    kernel: KernelAnswer[Any]
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
            f"labelnet: {summarize(self.ours)}",
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

    def kernel(self, data: bytes) -> KernelAnswer[Any]:
        raise NotImplementedError

    def ours(self, data: bytes) -> Verdict:
        raise NotImplementedError

    def agree(self, data: bytes, kernel: KernelAnswer[Any], ours: Verdict) -> bool:
        return agree(kernel.verdict, ours)

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

    def kernel(self, data: bytes) -> KernelAnswer[Any]:
        return self.harness.cipso_verdict(data, timeout=_TIMEOUT)

    def ours(self, data: bytes) -> Verdict:
        # A source route while accept_source_route is 0 (the default) is dropped silently
        # after the options passed (ip_rcv_options): cipso.verdict says DROPPED.
        return cipso.verdict(data, self.models, strict_bitmap=self.strict)

    def agree(self, data: bytes, kernel: KernelAnswer[Any], ours: Verdict) -> bool:
        # A Parameter Problem is sent back along the reversed source route (ip_options_echo),
        # to the route's last address; whether it reaches the sender depends on where that
        # address leads.
        rerouted = (
            ours.kind is cipso.VerdictKind.PARAMETER_PROBLEM
            and ours.offset is not None
            and reply_rerouted(data, ours.offset)
        )
        return agree(kernel.verdict, ours, rerouted=rerouted)

    def smaller(self, data: bytes) -> Iterator[bytes]:
        yield from _smaller_area(data)


_SOURCE_ROUTES = (cipso.OptionType.LSRR, cipso.OptionType.SSRR)
#: A source route's pointer counts from the option's first byte; the first address is at 4.
_FIRST_ADDRESS_END = 8


def reply_rerouted(area: bytes, before: int) -> bool:
    """Whether the kernel's ICMP answer to a packet with this options area, rejected at area
    offset ``before``, goes elsewhere than the sender: a source route option that passed (it
    ends by ``before``) and holds an address before its pointer, which ``ip_options_echo``
    turns into the answer's first hop."""
    for tlv in cipso.iter_options(area, strict=False):
        if tlv.offset >= before or tlv.fault:
            return False
        if tlv.type in _SOURCE_ROUTES and tlv.data and tlv.end <= before:
            return min(tlv.data[0], tlv.size + 1) >= _FIRST_ADDRESS_END
    return False


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

    def kernel(self, data: bytes) -> KernelAnswer[Any]:
        return self.harness.calipso_verdict(data, timeout=_TIMEOUT)

    def ours(self, data: bytes) -> Verdict:
        return calipso.verdict(data, self.numbers)

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
                if target.agree(data, theirs, mine):
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
    target: _Target,
    protocol: str,
    origin: str,
    data: bytes,
    *,
    theirs: KernelAnswer[Any],
    mine: Verdict,
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
            if not target.agree(candidate, candidate_kernel, candidate_ours):
                current, kernel, ours = candidate, candidate_kernel, candidate_ours
                steps += 1
                improved = True
                break
    return Disagreement(protocol, origin, data, current, kernel, ours, target.dois, steps)


# -- shrinking candidates ---------------------------------------------------------------------


def _pad4(data: bytes) -> bytes:
    return data + bytes(-len(data) % 4)


_CIPSO = cipso.OptionType.CIPSO
_CALIPSO = calipso.OptionType.CALIPSO
#: Where the tags of a CIPSO option start: after type, length and DOI.
_CIPSO_TAGS = 6
#: The end of a CALIPSO option's fixed part (type, length, DOI, words, level, checksum).
_CALIPSO_FIXED = 10
_CALIPSO_WORDS = 6
_CALIPSO_LEVEL = 7


def _ipv4_options(area: bytes) -> list[tuple[int, int]]:
    """(start, end) of each option before EOL; an option the walk cannot pass (a broken
    length) is the last and runs to the end of the area."""
    spans = []
    for tlv in cipso.iter_options(area, strict=False):
        if tlv.type == cipso.OptionType.END:
            break
        spans.append((tlv.offset, len(area) if tlv.fault else tlv.end))
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
        yield from _smaller_cipso(area, found)
    # Four bytes out anywhere, then bytes set to zero or lowered, from the end.
    for index in range(len(area) - 4, -1, -1):
        yield area[:index] + area[index + 4 :]
    yield from _lower_bytes(area, 0)


def _smaller_cipso(area: bytes, start: int) -> Iterator[bytes]:
    """The CIPSO option at ``start`` alone, then with tags out, data off the end of each tag
    (the tag and option lengths follow), then single bytes out of the tag area."""
    length = area[start + 1]
    option = area[start : start + length]
    yield _pad4(option)
    position = _CIPSO_TAGS
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
    for index in range(len(option) - 1, _CIPSO_TAGS - 1, -1):
        yield _replace_option(area, start, length, option[:index] + option[index + 1 :])


def _lower_bytes(data: bytes, first: int, *, by_one: bool = True) -> Iterator[bytes]:
    """``data`` with one byte from ``first`` on set to zero (or, ``by_one``, lowered by one),
    from the end."""
    for index in range(len(data) - 1, first - 1, -1):
        if data[index]:
            yield data[:index] + b"\0" + data[index + 1 :]
            if by_one and data[index] > 1:
                yield data[:index] + bytes((data[index] - 1,)) + data[index + 1 :]


def _replace_option(area: bytes, start: int, length: int, option: bytes) -> bytes:
    """``area`` with the CIPSO option at ``start`` (``length`` bytes) replaced by ``option``,
    whose length byte is set to its size."""
    rest = area[start + length :]
    return _pad4(area[:start] + bytes((_CIPSO, len(option))) + option[2:] + rest)


def _tlvs(header: bytes) -> list[bytes]:
    """The options of a hop-by-hop header as bytes; one that runs past the end is cut there."""
    size = min(len(header), (header[1] + 1) * 8) if len(header) > 1 else 0
    inside = header[:size]
    return [
        inside[tlv.offset : tlv.offset + tlv.size]
        for tlv in calipso.iter_options(header, strict=False)
    ]


def _fixed_checksum(option: bytes) -> bytes:
    if len(option) < _CALIPSO_FIXED or option[0] != _CALIPSO:
        return option
    value = calipso.crc16_x25(option[:8] + b"\0\0" + option[10:])
    return option[:8] + bytes((value & 0xFF, value >> 8)) + option[10:]


def _smaller_header(header: bytes) -> Iterator[bytes]:
    tlvs = _tlvs(header)
    first = header[0]
    for index in range(len(tlvs)):
        yield rewrap_header(b"".join(tlvs[:index] + tlvs[index + 1 :]), first)
    for index, tlv in enumerate(tlvs):
        if tlv[0] != _CALIPSO or len(tlv) < _CALIPSO_FIXED:
            continue
        before, after = b"".join(tlvs[:index]), b"".join(tlvs[index + 1 :])
        yield rewrap_header(tlv, first)
        for option in _smaller_calipso(tlv):
            yield rewrap_header(before + option + after, first)
    yield from _lower_bytes(header, 2, by_one=False)


def _smaller_calipso(option: bytes) -> Iterator[bytes]:
    """The CALIPSO option with its checksum fixed, words and extra bytes off the end, the
    word count or level zeroed; a right checksum is kept right."""
    fixed = _fixed_checksum(option)
    right = fixed == option
    if not right:
        yield fixed

    def keep(candidate: bytes) -> bytes:
        return _fixed_checksum(candidate) if right else candidate

    for cut in (4, 1):
        if len(option) - cut >= _CALIPSO_FIXED:
            shorter = bytes((_CALIPSO, option[1] - cut)) + option[2:-cut]
            if option[_CALIPSO_WORDS] * 4 + 8 > shorter[1] and right:
                words = (shorter[1] - 8) // 4
                shorter = shorter[:_CALIPSO_WORDS] + bytes((words,)) + shorter[_CALIPSO_LEVEL:]
            yield keep(shorter)
    for at in (_CALIPSO_LEVEL, _CALIPSO_WORDS):
        if option[at]:
            yield keep(option[:at] + b"\0" + option[at + 1 :])


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
