"""Security-context octets and their text: the NUL convention of labeled IPsec.

iproute2, setkey, libreswan, strongSwan and the kernel's own reports send a context as its
text followed by one NUL, and count that NUL in the length field (labeled-ipsec.md §2, §5).
The kernel takes the octets with or without it. These helpers make octets from a context and
read them back, with errors that point at the offending byte.
"""

from __future__ import annotations

from mls import DEFAULT_LIMITS, Context, Limits, MlsError, MlsSyntaxError

from .errors import IpsecEncodeError, LabelError


def label_bytes(context: Context | str, *, nul: bool = True) -> bytes:
    """The octets for ``context``: its UTF-8 text (canonical when it is a
    :class:`mls.Context`), followed by one NUL unless ``nul`` is False."""
    text = str(context) if isinstance(context, Context) else context
    if not isinstance(text, str):
        raise IpsecEncodeError(f"a context is a mls.Context or str, not {type(text).__name__}")
    if "\0" in text:
        raise IpsecEncodeError("a context must not contain NUL", text.index("\0"))
    return text.encode() + (b"\0" if nul else b"")


def label_text(data: bytes) -> str:
    """The text of context octets: one trailing NUL removed, UTF-8 decoded.

    Raises :class:`LabelError` for an embedded NUL (a C string would end there) or bytes that
    are not UTF-8, with the offset of that byte.
    """
    data = bytes(data)
    body = data[:-1] if data.endswith(b"\0") else data
    nul = body.find(b"\0")
    if nul >= 0:
        raise LabelError("the context has a NUL before its end", nul)
    try:
        return body.decode()
    except UnicodeDecodeError as error:
        raise LabelError("the context is not UTF-8 text", error.start) from None


def parse_label(data: bytes, *, limits: Limits = DEFAULT_LIMITS) -> Context:
    """Context octets parsed by :meth:`mls.Context.parse`; the offset of a syntax error
    counts bytes from the first context byte."""
    text = label_text(data)
    if not text:
        raise LabelError("the context is empty", 0)
    try:
        return Context.parse(text, limits=limits)
    except MlsSyntaxError as error:
        offset = len(text[: error.offset].encode())
        raise LabelError(f"not a security context: {error.reason}", offset) from None
    except MlsError as error:
        raise LabelError(f"not a security context: {error}", 0) from None
