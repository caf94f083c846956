"""NetLabel, the kernel side of labelnet: configuration, labeled sockets and the test harness.

``NetLabel`` (the generic netlink client) is imported on first use, so ``import netlabel``
does not load pyroute2.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from netlabel.errors import (
    AlreadyExists,
    FamilyNotFound,
    InvalidArgument,
    NetLabelError,
    NotFound,
    PermissionDenied,
    ProtocolError,
    Unsupported,
)
from netlabel.model import (
    AddressSelector,
    DoiSummary,
    DomainMap,
    Labeling,
    Protocol,
    StaticLabel,
)

if TYPE_CHECKING:
    from netlabel.client import NetLabel

__all__ = [
    "AddressSelector",
    "AlreadyExists",
    "DoiSummary",
    "DomainMap",
    "FamilyNotFound",
    "InvalidArgument",
    "Labeling",
    "NetLabel",
    "NetLabelError",
    "NotFound",
    "PermissionDenied",
    "Protocol",
    "ProtocolError",
    "StaticLabel",
    "Unsupported",
]


def __getattr__(name: str) -> Any:
    if name == "NetLabel":
        from netlabel.client import NetLabel

        return NetLabel
    raise AttributeError(f"module 'netlabel' has no attribute {name!r}")
