"""Exceptions raised by the NetLabel configuration client.

Every error the client raises is a :class:`NetLabelError`. Kernel refusals keep the kernel's
errno (``err.errno``) and name the operation that was refused (``err.operation``, in
netlabelctl's words, e.g. ``"cipso add doi:16"``), so one line says what failed and why.
"""

from __future__ import annotations

import errno as _errno
import os

__all__ = [
    "AlreadyExists",
    "FamilyNotFound",
    "InvalidArgument",
    "NetLabelError",
    "NotFound",
    "PermissionDenied",
    "ProtocolError",
    "Unsupported",
]


class NetLabelError(OSError):
    """Base class: a NetLabel operation failed.

    ``errno`` is the kernel's error number (0 when the failure was found before anything was
    sent), ``operation`` says what was attempted and ``reason`` why it failed.
    """

    def __init__(self, operation: str, reason: str, errno: int = 0) -> None:
        super().__init__(errno, reason)
        self.operation = operation
        self.reason = reason

    def __str__(self) -> str:
        code = _errno.errorcode.get(self.errno or 0)
        suffix = f" ({code})" if code else ""
        return f"{self.operation}: {self.reason}{suffix}"

    def __reduce__(self) -> tuple[type[NetLabelError], tuple[str, str, int]]:
        return type(self), (self.operation, self.reason, self.errno or 0)


class NotFound(NetLabelError):
    """The DOI, domain mapping or static label does not exist (ENOENT, or EINVAL where the
    kernel uses it for an unknown DOI)."""


class AlreadyExists(NetLabelError):
    """The DOI or mapping already exists (EEXIST); remove it first."""


class PermissionDenied(NetLabelError, PermissionError):
    """Changing NetLabel state needs CAP_NET_ADMIN (EPERM)."""


class InvalidArgument(NetLabelError, ValueError):
    """The request was refused as invalid, by the kernel (EINVAL) or before it was sent."""


class Unsupported(NetLabelError):
    """The kernel does not support the request (EOPNOTSUPP), e.g. CALIPSO without IPv6."""


class FamilyNotFound(Unsupported):
    """A NetLabel generic netlink family is missing.

    The kernel was built without NetLabel (or without CALIPSO), or the caller is not in the
    initial network namespace: the NetLabel families exist only there.
    """


class ProtocolError(NetLabelError):
    """The kernel's reply did not have the expected shape (a missing or malformed attribute)."""


_BY_ERRNO: dict[int, type[NetLabelError]] = {
    _errno.ENOENT: NotFound,
    _errno.EEXIST: AlreadyExists,
    _errno.EPERM: PermissionDenied,
    _errno.EACCES: PermissionDenied,
    _errno.EINVAL: InvalidArgument,
    _errno.EOPNOTSUPP: Unsupported,
    _errno.EPROTONOSUPPORT: Unsupported,
}

_REASONS: dict[int, str] = {
    _errno.ENOENT: "not found",
    _errno.EEXIST: "already exists",
    _errno.EPERM: "permission denied (needs CAP_NET_ADMIN)",
    _errno.EACCES: "permission denied (needs CAP_NET_ADMIN)",
    _errno.EINVAL: "invalid argument",
    _errno.EOPNOTSUPP: "not supported by this kernel",
}


def from_errno(operation: str, code: int, reason: str | None = None) -> NetLabelError:
    """The exception for a kernel error number (positive errno) answering ``operation``."""
    cls = _BY_ERRNO.get(code, NetLabelError)
    if reason is None:
        reason = _REASONS.get(code) or os.strerror(code)
    return cls(operation, reason, code)
