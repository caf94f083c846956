"""CALIPSO, the IPv6 hop-by-hop security label option (RFC 5570, option type 0x07), sans-I/O.

Decode and encode options byte for byte as Linux writes them, check them as Linux does on
receive, map MLS levels through a PASS DOI and build the hop-by-hop header around them::

    >>> import calipso
    >>> from mls import Level
    >>> doi = calipso.CalipsoDoi(2)
    >>> option = doi.label_option(Level.parse("s3:c0,c5"))
    >>> calipso.encode(option).hex(" ")
    '07 0c 00 00 00 02 01 03 98 0f 84 00 00 00'
    >>> str(calipso.decode(bytes.fromhex("070c000000020103980f84000000")).mls_level)
    's3:c0,c5'
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mls import __version__ as __version__
from mls.verdict import VerdictKind

from ._checksum import crc16_x25
from ._codec import decode, encode, first_label, first_label_text
from .doi import CalipsoDoi
from .errors import (
    CalipsoChecksumError,
    CalipsoDecodeError,
    CalipsoDoiError,
    CalipsoDroppedError,
    CalipsoEncodeError,
    CalipsoError,
    CalipsoLocalError,
    CalipsoValidationError,
    CalipsoWireError,
    Check,
    HopByHopError,
)
from .hopbyhop import (
    OptionType,
    Tlv,
    UnknownAction,
    build_header,
    find_option,
    insert_option,
    iter_options,
    remove_option,
)
from .model import (
    MAX_CATEGORY,
    MAX_WORDS,
    OPTION_TYPE,
    CalipsoOption,
    MapType,
)
from .validate import Verdict, validate, verdict

__all__ = [
    "MAX_CATEGORY",
    "MAX_WORDS",
    "OPTION_TYPE",
    "CalipsoChecksumError",
    "CalipsoDecodeError",
    "CalipsoDecoded",
    "CalipsoDoi",
    "CalipsoDoiError",
    "CalipsoDroppedError",
    "CalipsoEncodeError",
    "CalipsoError",
    "CalipsoInsertion",
    "CalipsoLocalError",
    "CalipsoOption",
    "CalipsoValidationError",
    "CalipsoVector",
    "CalipsoWireError",
    "Check",
    "HopByHopError",
    "MapType",
    "OptionType",
    "Tlv",
    "UnknownAction",
    "Verdict",
    "VerdictKind",
    "build_header",
    "crc16_x25",
    "decode",
    "encode",
    "find_option",
    "first_label",
    "first_label_text",
    "insert_option",
    "iter_options",
    "remove_option",
    "validate",
    "vectors",
    "verdict",
]

if TYPE_CHECKING:
    from ._vectors import CalipsoDecoded, CalipsoInsertion, CalipsoVector, vectors

#: Loaded on first use: most programs never read the vector corpus.
_FROM_VECTORS = frozenset({"CalipsoDecoded", "CalipsoInsertion", "CalipsoVector", "vectors"})


def __getattr__(name: str) -> object:
    if name in _FROM_VECTORS:
        from . import _vectors

        return getattr(_vectors, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
