"""NetLabel, the kernel side of labelnet: configuration, labeled sockets and the test harness.

``NetLabel`` (the generic netlink client) and the labeled-socket functions of
:mod:`netlabel.sockets` are imported on first use, so ``import netlabel`` loads neither
pyroute2 nor the protocol packages.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mls import __version__ as __version__
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
    from netlabel.sockets import (
        NO_CONTEXT,
        PeerLabel,
        SocketLabelError,
        enable_label_reception,
        label_socket,
        peer_label,
        recv_labeled,
    )

__all__ = [
    "NO_CONTEXT",
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
    "PeerLabel",
    "PermissionDenied",
    "Protocol",
    "ProtocolError",
    "SocketLabelError",
    "StaticLabel",
    "Unsupported",
    "enable_label_reception",
    "label_socket",
    "peer_label",
    "recv_labeled",
]

# Names imported from their module on first use: module -> names.
_LAZY = {
    "netlabel.client": ("NetLabel",),
    "netlabel.sockets": (
        "NO_CONTEXT",
        "PeerLabel",
        "SocketLabelError",
        "enable_label_reception",
        "label_socket",
        "peer_label",
        "recv_labeled",
    ),
}


def __getattr__(name: str) -> Any:
    import importlib

    for module, names in _LAZY.items():
        if name in names:
            return getattr(importlib.import_module(module), name)
    raise AttributeError(f"module 'netlabel' has no attribute {name!r}")
