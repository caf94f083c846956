"""Exceptions raised by labelnet.ipsec.

Every error is a :class:`ValueError` with ``reason`` (what is wrong, in words) and ``offset``
(the byte or character at fault, or None when none is involved). Offsets count from the first
byte handed to the decoder (the ``len`` field of an ``xfrm_user_sec_ctx``, the ``nla_len`` of
a netlink attribute, the ``sadb_x_sec_len`` of a PF_KEY extension, the Next Payload byte of an
IKEv2 payload, the type byte of a traffic selector) or, for setkey text, from the first
character of the text (0-based).

As in h11 there are two families: bytes from the wire that are not acceptable
(:class:`IpsecDecodeError`, :class:`LabelError`) and values a caller asked us to encode that
the wire format cannot carry (:class:`IpsecEncodeError`). :class:`SetkeySyntaxError` is for
setkey command text.
"""

from __future__ import annotations

from mls.errors import ByteError, shortened


class IpsecError(ByteError):
    """Base class of every labelnet.ipsec error."""


class IpsecDecodeError(IpsecError):
    """Bytes are not a well-formed security-context structure: truncated, a length field that
    contradicts the data or another length field, a wrong type number, non-zero padding."""


class IpsecEncodeError(IpsecError):
    """A value the wire format cannot carry: a DOI above 255, a context too long for its
    16-bit length fields, an empty IKEv2 security label."""


class LabelError(IpsecError):
    """Context bytes that are not a security context: embedded NUL, not UTF-8, or text that
    :meth:`mls.Context.parse` refuses. ``offset`` counts from the first context byte."""


class SetkeySyntaxError(IpsecError):
    """setkey text with a malformed or misplaced ``-ctx`` clause.

    ``offset`` is the 0-based column in ``text`` (the whole line or file handed to the parser)
    where the problem was found.
    """

    def __init__(self, text: str, offset: int, reason: str) -> None:
        self.text = text
        IpsecError.__init__(self, reason, offset)
        ValueError.__init__(self, f"{reason} at offset {offset} in {shortened(text)!r}")
