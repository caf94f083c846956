"""CIPSO, the IPv4 security option (type 134), byte for byte as Linux NetLabel speaks it.

Sans-I/O: decode and encode options, define DOIs, build the option the kernel would send for
a label, read a label back, and judge an option exactly as ``cipso_v4_validate`` does::

    >>> import cipso
    >>> from mls import Level
    >>> doi = cipso.CipsoDoi(16, cipso.MapType.PASS, (cipso.TagType.RESTRICTED_BITMAP,))
    >>> doi.encode_label(Level.parse("s3:c0,c5")).hex(" ")
    '86 0b 00 00 00 10 01 05 00 03 84'
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mls import __version__ as __version__
from mls.verdict import VerdictKind

from ._codec import decode, encode, first_label, first_label_text
from .doi import CipsoDoi
from .errors import (
    CipsoDecodeError,
    CipsoDoiError,
    CipsoDroppedError,
    CipsoEncodeError,
    CipsoError,
    CipsoLabelError,
    CipsoLocalError,
    CipsoValidationError,
    CipsoWireError,
    OptionsAreaError,
)
from .model import (
    OPTION_TYPE,
    TAG_CLASS_BY_TYPE,
    CipsoOption,
    EnumeratedTag,
    FreeFormTag,
    GenericTag,
    LocalTag,
    MapType,
    MlsTag,
    PermissiveBitmapTag,
    RangedTag,
    RestrictedBitmapTag,
    Tag,
    TagType,
    tag_class,
)
from .options import OptionType, Tlv, build_options, find_option, iter_options
from .validate import Verdict, validate, verdict

__all__ = [
    "OPTION_TYPE",
    "TAG_CLASS_BY_TYPE",
    "CipsoDecodeError",
    "CipsoDecoded",
    "CipsoDoi",
    "CipsoDoiError",
    "CipsoDroppedError",
    "CipsoEncodeError",
    "CipsoError",
    "CipsoLabelError",
    "CipsoLocalError",
    "CipsoOption",
    "CipsoValidationError",
    "CipsoVector",
    "CipsoWireError",
    "EnumeratedTag",
    "FreeFormTag",
    "GenericTag",
    "LocalTag",
    "MapType",
    "MlsTag",
    "OptionType",
    "OptionsAreaError",
    "PermissiveBitmapTag",
    "RangedTag",
    "RestrictedBitmapTag",
    "Tag",
    "TagType",
    "Tlv",
    "Verdict",
    "VerdictKind",
    "build_options",
    "decode",
    "encode",
    "find_option",
    "first_label",
    "first_label_text",
    "iter_options",
    "tag_class",
    "validate",
    "vectors",
    "verdict",
]

if TYPE_CHECKING:
    from ._vectors import CipsoDecoded, CipsoVector, vectors

#: Loaded on first use: most programs never read the vector corpus.
_FROM_VECTORS = frozenset({"CipsoDecoded", "CipsoVector", "vectors"})


def __getattr__(name: str) -> object:
    if name in _FROM_VECTORS:
        from . import _vectors

        return getattr(_vectors, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
