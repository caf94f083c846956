"""The live reference for setrans.conf translation: Debian's unmodified mcstransd, started on a
configuration of the test's own and asked over its socket as libselinux asks it."""

from __future__ import annotations

import os
import shutil
import socket
import struct
import subprocess
import time
from pathlib import Path

from tests.support import need

MCSTRANSD = Path("/sbin/mcstransd")

# mcstransd insists on an MLS-enabled kernel policy, root and a socket under /var/run. This shim,
# preloaded into the daemon, reports MLS as enabled, names the configuration to read and moves
# the socket to a private path, so the unmodified daemon can answer on any machine.
SHIM_SOURCE = r"""
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define DAEMON_SOCKET "/var/run/setrans/.setrans-unix"

static const char *moved(const char *path)
{
	const char *alt = getenv("SETRANS_TEST_SOCKET");
	return (alt && path && strcmp(path, DAEMON_SOCKET) == 0) ? alt : path;
}

int is_selinux_mls_enabled(void) { return 1; }
const char *selinux_translations_path(void) { return getenv("SETRANS_TEST_CONFIG"); }
const char *selinux_colors_path(void) { return "/nonexistent/secolor.conf"; }
uid_t getuid(void) { return 0; }

int bind(int fd, const struct sockaddr *addr, socklen_t len)
{
	int (*real)(int, const struct sockaddr *, socklen_t) = dlsym(RTLD_NEXT, "bind");
	struct sockaddr_un copy;
	if (addr->sa_family != AF_UNIX)
		return real(fd, addr, len);
	memset(&copy, 0, sizeof(copy));
	copy.sun_family = AF_UNIX;
	strncpy(copy.sun_path, moved(((const struct sockaddr_un *)addr)->sun_path),
		sizeof(copy.sun_path) - 1);
	return real(fd, (const struct sockaddr *)&copy, sizeof(copy));
}

int unlink(const char *path)
{
	int (*real)(const char *) = dlsym(RTLD_NEXT, "unlink");
	return real(moved(path));
}

int chmod(const char *path, mode_t mode)
{
	int (*real)(const char *, mode_t) = dlsym(RTLD_NEXT, "chmod");
	return real(moved(path), mode);
}
"""

RAW_TO_TRANS_CONTEXT = 2
TRANS_TO_RAW_CONTEXT = 3


def build_shim(directory: Path) -> Path:
    """Compile the shim into ``directory``; skip (fail under CI=true) without mcstransd or a C
    compiler."""
    need(MCSTRANSD.is_file(), f"needs {MCSTRANSD} (Debian package mcstrans) as a live reference")
    compiler = next((c for c in ("cc", "gcc") if shutil.which(c) is not None), None)
    need(compiler is not None, "needs a C compiler to build the mcstransd test shim")
    assert compiler is not None
    (directory / "shim.c").write_text(SHIM_SOURCE)
    subprocess.run(
        [compiler, "-shared", "-fPIC", "-o", "shim.so", "shim.c", "-ldl"],
        cwd=directory,
        check=True,
        capture_output=True,
    )
    return directory / "shim.so"


class LiveDaemon:
    """One mcstransd reading one configuration, asked over its socket like libselinux does."""

    def __init__(self, shim: Path, config: Path) -> None:
        self.socket_path = config.parent / "setrans.sock"
        environment = dict(
            os.environ,
            LD_PRELOAD=str(shim),
            SETRANS_TEST_CONFIG=str(config),
            SETRANS_TEST_SOCKET=str(self.socket_path),
        )
        self.process = subprocess.Popen(
            [str(MCSTRANSD), "-f"],
            env=environment,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        # The socket file appears at bind(), before the daemon listens: wait until a connection
        # is accepted, or an early request is refused (ECONNREFUSED, a start-up race).
        deadline = time.monotonic() + 10
        while not self._accepts_connections():
            if self.process.poll() is not None:
                raise RuntimeError(f"mcstransd exited with {self.process.returncode}")
            if time.monotonic() > deadline:
                self.close()
                raise RuntimeError("mcstransd did not start listening on its socket")
            time.sleep(0.01)

    def _accepts_connections(self) -> bool:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
            try:
                probe.connect(str(self.socket_path))
            except (FileNotFoundError, ConnectionRefusedError):
                return False
        return True

    def ask(self, function: int, context: str) -> str:
        request = context.encode() + b"\0"
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
            connection.settimeout(10)
            connection.connect(str(self.socket_path))
            connection.sendall(struct.pack("=III", function, len(request), 1) + request + b"\0")
            answer = b""
            while len(answer) < 12 or len(answer) < 12 + struct.unpack("=IIi", answer[:12])[1]:
                chunk = connection.recv(65536)
                if not chunk:
                    break
                answer += chunk
        _, size, status = struct.unpack("=IIi", answer[:12])
        # libselinux hands back the input when the daemon reports a failure.
        return answer[12 : 12 + size - 1].decode() if status == 0 else context

    def settled(self, function: int, context: str) -> str:
        # Debian's mcstransd 3.4 stores a computed answer but replies with the input the first
        # time (fixed upstream in 2026, "mcstrans: Fix translation for uncached entries"); the
        # second request is answered from its cache.
        first = self.ask(function, context)
        second = self.ask(function, context)
        assert first in (context, second)
        return second

    def close(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)
