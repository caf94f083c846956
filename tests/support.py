"""Helpers shared by the test suite.

Tests against real references (the live kernel, netlabelctl, tshark) may skip on a developer's
machine that lacks them, but under CI=true a missing reference is a failure: a broken set-up
must never pass silently.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Protocol, TypeVar

import pytest

if TYPE_CHECKING:
    import calipso
    import cipso

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def need(condition: bool, why: str) -> None:
    """Skip the calling test when ``condition`` is false, or fail it under CI=true."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"required test set-up is missing under CI=true: {why}")
    pytest.skip(why)


def need_root() -> None:
    need(os.geteuid() == 0, "needs root (network namespaces, NetLabel configuration)")


def need_program(name: str) -> str:
    path = shutil.which(name)
    need(path is not None, f"needs the program {name!r} on PATH")
    assert path is not None
    return path


def need_kernel_harness() -> None:
    """Skip (or fail under CI=true) unless root, ip netns and NetLabel (pyroute2) are all here."""
    from netlabel.harness import unavailable_reason

    need_root()
    reason = unavailable_reason()
    need(reason is None, reason or "")


def run_python(*args: str) -> subprocess.CompletedProcess[str]:
    """Run this interpreter with ``args`` (``"-c", code`` or ``"-m", module, ...``) in a child
    process, its output captured as text; the caller checks the exit status."""
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, check=False)


def python_output(code: str) -> str:
    """What ``python -c code`` prints in a child process, which must exit with status 0."""
    done = run_python("-c", code)
    assert done.returncode == 0, done.stderr
    return done.stdout


def reference_crc16_x25(data: bytes) -> int:
    """CRC-16/X-25 as calipso.md §2's bitwise loop (reflected 0x8408, init 0xFFFF, final
    complement): a reference written apart from calipso.crc16_x25, to check it and to build
    options the library has not touched."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x8408 if crc & 1 else crc >> 1
    return ~crc & 0xFFFF


def unused_doi(taken: frozenset[int], near: int) -> int:
    """A DOI number not in ``taken`` (the kernel's, listed once), a little above ``near``."""
    from netlabel.harness import free_dois

    return free_dois(taken, near + 7919)[0]


def checksum_swapped(make: Callable[[int], bytes]) -> tuple[bytes, bytes]:
    """A CALIPSO option ``make(level)`` whose two checksum bytes differ, and that option with
    them swapped. With equal bytes (one DOI in 256 at a given level) the swap would change
    nothing and a test expecting a drop would see the option accepted."""
    for level in range(256):
        good = make(level)
        if good[8] != good[9]:
            return good, good[:8] + good[9:10] + good[8:9] + good[10:]
    raise AssertionError("every level gives a checksum of two equal bytes")


def run_module_fresh(
    module: str, argv: Sequence[str], watched: Iterable[str]
) -> tuple[str, list[str]]:
    """Run ``python -m module *argv`` in a fresh interpreter, which must exit with status 0.

    Returns what it printed and which of the ``watched`` top-level packages it imported, to
    check that a lower floor's command line stays clear of the floors above it."""
    code = (
        "import json, runpy, sys\n"
        f"sys.argv = {[module, *argv]!r}\n"
        "try:\n"
        f"    runpy.run_module({module!r}, run_name='__main__')\n"
        "except SystemExit as exit:\n"
        "    assert exit.code == 0, exit.code\n"
        f"watched = {sorted(watched)!r}\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in watched)))\n"
    )
    *printed, loaded = python_output(code).splitlines(keepends=True)
    return "".join(printed), json.loads(loaded)


class CorpusVector(Protocol):
    """What the two protocols' corpus vectors have in common for the decode check."""

    @property
    def option(self) -> bytes | None: ...
    @property
    def decoded(self) -> object: ...
    @property
    def decode_error_offset(self) -> int | None: ...


OptionT = TypeVar("OptionT")
DecodeErrorT = TypeVar("DecodeErrorT", "cipso.CipsoDecodeError", "calipso.CalipsoDecodeError")


def decode_corpus_option(
    vector: CorpusVector,
    decode: Callable[[bytes], OptionT],
    encode: Callable[[OptionT], bytes],
    error: type[DecodeErrorT],
) -> OptionT | None:
    """The part of a corpus vector's decode check both protocols share: a vector without an
    option decodes to nothing; one the corpus records as undecodable is refused with ``error``
    at the recorded offset; any other decodes and encodes back to its own bytes. Returns that
    option for the protocol's own checks, or None when there is nothing more to check."""
    if vector.option is None:
        assert vector.decoded is None
        return None
    if vector.decoded is None:
        with pytest.raises(error) as caught:
            decode(vector.option)
        assert caught.value.offset == vector.decode_error_offset
        return None
    option = decode(vector.option)
    assert encode(option) == vector.option
    return option


class TsharkVector(CorpusVector, Protocol):
    """A corpus vector with the fields tshark showed for it when the corpus was recorded."""

    @property
    def tshark(self) -> tuple[tuple[str, str], ...]: ...


VectorT = TypeVar("VectorT", bound=TsharkVector)


def assert_tshark_reads_as_recorded(
    vectors: Iterable[VectorT], packet: Callable[[VectorT], bytes], names: Sequence[str]
) -> None:
    """The installed tshark shows each decodable vector, sent in ``packet``, as the corpus
    recorded it (fields ``names``)."""
    from labelnet.conformance import _tshark

    need_program("tshark")
    decodable = [vector for vector in vectors if vector.decoded is not None]
    found = _tshark.fields([packet(vector) for vector in decodable], names)
    assert [dict(vector.tshark) for vector in decodable] == found


def feed_stdin(monkeypatch: pytest.MonkeyPatch, data: bytes) -> None:
    """Stand ``data`` in for standard input, as a command reads it (bytes, sys.stdin.buffer)."""
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))


def assert_stdin_decodes_as_argument(
    run: Callable[..., object], monkeypatch: pytest.MonkeyPatch, argument: str, given: bytes
) -> None:
    """A command line's ``decode -`` reading ``given`` from standard input does exactly what
    ``decode argument`` does (``run(*argv)`` runs the command and returns what it did)."""
    expected = run("decode", argument)
    feed_stdin(monkeypatch, given)
    assert run("decode", "-") == expected


#: The verdict fields both protocols' ``decode --format json`` show for an accepted option
#: (CALIPSO adds its ``check``).
ACCEPTED_VERDICT_JSON = {
    "verdict": "accepted",
    "reason": None,
    "offset": None,
    "pointer": None,
    "option_offset": None,
    "code": None,
}


ErrorT = TypeVar("ErrorT", bound=ValueError)


def raises_at(
    error: type[ErrorT], call: Callable[[], object], offset: int, words: str = ""
) -> ErrorT:
    """Assert that ``call()`` raises ``error`` at ``offset`` with ``words`` in its reason, and
    return the error for any further checks."""
    with pytest.raises(error) as caught:
        call()
    assert caught.value.offset == offset, str(caught.value)  # type: ignore[attr-defined]
    assert words in caught.value.reason  # type: ignore[attr-defined]
    return caught.value


def refusal_table(rows: Sequence[tuple[str, int, str]]) -> pytest.MarkDecorator:
    """Parametrize a test over ``(text, offset, words)``: an input refused, where, and words its
    reason must contain (checked with ``raises_at``)."""
    return pytest.mark.parametrize(("text", "offset", "words"), rows)


def usage_error_table(rows: Sequence[tuple[list[str], str]]) -> pytest.MarkDecorator:
    """Parametrize a test over ``(argv, message)``: a command line refused, and words its one
    line of error must contain (checked with ``assert_usage_error``)."""
    return pytest.mark.parametrize(("argv", "message"), rows)


def assert_usage_error(out: str, err: str, prog: str, message: str) -> None:
    """Assert that a refused command printed nothing on stdout and one line, naming ``prog``
    and containing ``message``, on stderr."""
    assert out == ""
    assert err.startswith(f"{prog}: error: ") and err.count("\n") == 1
    assert message in err
