"""Private plumbing for the kernel harness: commands, network namespaces, setns.

Standard library only. The harness keeps long-lived sockets inside its namespaces; a socket keeps
the namespace it was created in, so the calling thread only visits a namespace (``entered``) for
as long as it takes to create a socket or open a /proc file, then returns to where it was.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import subprocess
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

CLONE_NEWNET = 0x40000000
NETNS_DIR = "/run/netns"

_libc: ctypes.CDLL | None = None


class CommandError(RuntimeError):
    """A helper program (ip, sysctl) failed."""

    def __init__(self, argv: Sequence[str], returncode: int, output: str) -> None:
        self.argv = tuple(argv)
        self.returncode = returncode
        self.output = output
        super().__init__(f"{' '.join(argv)!r} failed with status {returncode}: {output.strip()}")


def run(argv: Sequence[str], *, check: bool = True, input: str = "") -> str:
    """Run a short helper program and return its standard output."""
    proc = subprocess.run(list(argv), capture_output=True, text=True, check=False, input=input)
    if check and proc.returncode != 0:
        raise CommandError(argv, proc.returncode, proc.stderr or proc.stdout)
    return proc.stdout


def run_shielded(argv: Sequence[str]) -> int:
    """Run a clean-up command to completion even if the user presses Ctrl-C meanwhile.

    The child gets its own session so that the terminal's SIGINT does not reach it, and a
    KeyboardInterrupt raised while waiting is held back until the child has finished: a
    half-done clean-up would leave namespaces behind. Returns the exit status.
    """
    proc = subprocess.Popen(
        list(argv),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    interrupted = False
    while True:
        try:
            status = proc.wait()
            break
        except KeyboardInterrupt:
            interrupted = True
    if interrupted:
        raise KeyboardInterrupt
    return status


def _setns(fd: int) -> None:
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"setns(CLONE_NEWNET): {os.strerror(err)}")


@contextmanager
def entered(name: str) -> Iterator[None]:
    """Run the body with the calling thread inside the named network namespace.

    Only this thread moves (setns acts per thread); /proc/thread-self (not /proc/self, which
    names the main thread) gives the namespace to return to.
    """
    home = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    try:
        target = os.open(os.path.join(NETNS_DIR, name), os.O_RDONLY | os.O_CLOEXEC)
        try:
            _setns(target)
        finally:
            os.close(target)
        try:
            yield
        finally:
            # If this failed the thread would keep working in the test namespace; there is no
            # sane way on from there, so the OSError propagates.
            _setns(home)
    finally:
        os.close(home)


def exists(name: str) -> bool:
    return os.path.exists(os.path.join(NETNS_DIR, name))


def delete(name: str) -> None:
    """Delete a named namespace (its veth end and addresses go with it); ignore if absent."""
    if exists(name):
        run_shielded(["ip", "netns", "delete", name])
