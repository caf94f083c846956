"""Hypothesis strategies for CALIPSO: options and their bytes, DOIs, labels, near-valid mutants
for fuzzing validators, whole hop-by-hop headers and scapy packets carrying them.

The names are those of :mod:`cipso.strategies` for the same things (docs/strategies.md):
``options``/``option_bytes`` draw model values and their encodings, ``mutants`` valid bytes
with one fault, ``hop_by_hop_headers`` (the counterpart of ``options_areas``) the header
around the option and ``packets`` scapy packets. Requires the ``hypothesis`` extra (``pip
install labelnet[hypothesis]``); :func:`packets` the ``scapy`` extra too::

    from hypothesis import given
    from calipso import decode, encode
    from calipso.strategies import options

    @given(options())
    def test_round_trip(option):
        assert decode(encode(option)) == option
"""

from __future__ import annotations

from mls._extras import needs_extra

with needs_extra("hypothesis", by=__name__):
    import hypothesis  # noqa: F401

from typing import TYPE_CHECKING, Any

from hypothesis import strategies as st

from mls import CategorySet, Level
from mls.strategies import doi_numbers, option_doi_numbers

from ._codec import encode
from .doi import CalipsoDoi
from .hopbyhop import OptionType, insert_option, pad
from .model import MAX_CATEGORY, MAX_DATA_LENGTH, MAX_DOI, MAX_WORDS, CalipsoOption

__all__ = [
    "doi_labels",
    "doi_numbers",
    "dois",
    "hop_by_hop_headers",
    "labels",
    "mutants",
    "option_bytes",
    "options",
    "packets",
]

if TYPE_CHECKING:
    from scapy.packet import Packet


def dois() -> st.SearchStrategy[CalipsoDoi]:
    """Valid DOI definitions (PASS)."""
    return st.builds(CalipsoDoi, doi_numbers())


@st.composite
def _category_sets(draw: st.DrawFn, max_category: int) -> CategorySet:
    bits = 0
    for _ in range(draw(st.integers(0, 6))):
        first = draw(st.integers(0, max_category))
        length = draw(st.integers(1, max(1, min(40, max_category - first + 1))))
        bits |= ((1 << length) - 1) << first
    return CategorySet.from_int(bits)


@st.composite
def labels(draw: st.DrawFn, *, max_category: int = MAX_CATEGORY) -> Level:
    """Levels every CALIPSO DOI can carry (all map PASS): sensitivity 0..255, categories
    0..1951 (or ``max_category``)."""
    sensitivity = draw(st.one_of(st.integers(0, 15), st.integers(0, 255)))
    return Level(sensitivity, draw(_category_sets(min(max_category, MAX_CATEGORY))))


def doi_labels() -> st.SearchStrategy[tuple[CalipsoDoi, Level]]:
    """A DOI and a label it can carry."""
    return st.tuples(dois(), labels())


@st.composite
def options(
    draw: st.DrawFn,
    *,
    extra: bool = True,
    bad_checksums: bool = True,
    doi: int | st.SearchStrategy[int] | None = None,
) -> CalipsoOption:
    """Any option the kernel's length checks accept: any level, bitmaps of 0..61 words with
    trailing zero words at times, and (``extra``) data bytes after the bitmap and
    (``bad_checksums``) wrong checksums now and then; ``doi`` is a DOI number, a strategy
    drawing them, or None for any (0 too)."""
    words = draw(st.integers(0, MAX_WORDS))
    if draw(st.booleans()):
        bitmap = draw(_category_sets(32 * words - 1)).to_bitmap() if words else b""
        bitmap += bytes(4 * words - len(bitmap))
    else:
        bitmap = draw(st.binary(min_size=4 * words, max_size=4 * words))
    room = MAX_DATA_LENGTH - 8 - len(bitmap)
    extra_bytes = b""
    if extra and room and draw(st.integers(0, 7)) == 0:
        extra_bytes = draw(st.binary(min_size=1, max_size=room))
    bad = None
    if bad_checksums and draw(st.integers(0, 7)) == 0:
        bad = draw(st.integers(0, 0xFFFF))
    return CalipsoOption(
        draw(option_doi_numbers(doi)),
        draw(st.integers(0, 255)),
        bitmap,
        extra_bytes,
        bad,
    )


def option_bytes(**kwargs: Any) -> st.SearchStrategy[bytes]:
    """Encoded :func:`options` (the same keyword arguments)."""
    return options(**kwargs).map(encode)


@st.composite
def mutants(draw: st.DrawFn, valid: st.SearchStrategy[bytes] | None = None) -> bytes:
    """An option drawn from ``valid`` (None: :func:`option_bytes` with good checksums) with one
    fault: a bad checksum, a data length below 8, a compartment length that overruns the
    data, another DOI, a truncation, a trailing byte, a flipped bit anywhere, or another type.
    From a valid option, the result is one the kernel refuses."""
    data = bytearray(draw(valid if valid is not None else option_bytes(bad_checksums=False)))
    if len(data) < 10:
        return bytes(data)
    fault = draw(
        st.sampled_from(
            ["checksum", "short", "words", "doi", "truncate", "trailing", "flip", "type"]
        )
    )
    if fault == "checksum":
        index = draw(st.sampled_from([8, 9]))
        data[index] ^= draw(st.integers(1, 255))
    elif fault == "short":
        data[1] = draw(st.integers(0, 7))
        del data[2 + data[1] :]
    elif fault == "words":
        data[6] = draw(st.integers((data[1] - 8) // 4 + 1, 255))
    elif fault == "doi":
        doi = int.from_bytes(data[2:6], "big")
        other = draw(st.integers(0, MAX_DOI).filter(lambda n: n != doi))
        data[2:6] = other.to_bytes(4, "big")
    elif fault == "truncate":
        del data[draw(st.integers(0, len(data) - 1)) :]
    elif fault == "trailing":
        data += draw(st.binary(min_size=1, max_size=8))
    elif fault == "flip":
        index = draw(st.integers(0, len(data) - 1))
        data[index] ^= 1 << draw(st.integers(0, 7))
    else:
        data[0] = draw(st.integers(0, 255).filter(lambda n: n != 0x07))
    return bytes(data)


@st.composite
def _other_option(draw: st.DrawFn) -> bytes:
    """An option a receiver skips: a well-formed Router Alert, or an unknown type whose
    action bits are 00 (0x1e and 0x3e are the experimental types of RFC 4727)."""
    kind = draw(
        st.one_of(
            st.sampled_from([OptionType.ROUTER_ALERT, 0x1E, 0x3E]),
            st.integers(2, 0x3F).filter(lambda n: n not in (OptionType.CALIPSO, OptionType.IOAM)),
        )
    )
    body = draw(
        st.binary(min_size=2, max_size=2)
        if kind == OptionType.ROUTER_ALERT
        else st.binary(max_size=12)
    )
    return bytes((kind, len(body))) + body


@st.composite
def hop_by_hop_headers(
    draw: st.DrawFn, *, doi: int | st.SearchStrategy[int] | None = None
) -> bytes:
    """Hop-by-hop headers as a kernel would send them: skippable options (type action 00) and
    Router Alerts before and after, with a CALIPSO option for ``doi`` (as in :func:`options`)
    inserted as the kernel does (:func:`calipso.insert_option`), sometimes twice
    (replacement). The counterpart of :func:`cipso.strategies.options_areas`."""
    doi = draw(option_doi_numbers(doi))
    before = draw(st.lists(_other_option(), max_size=3))
    after = draw(st.lists(_other_option(), max_size=2))
    body = b"".join(before)
    header = None
    if body:
        header = _wrap(body)
    option = draw(options(doi=doi, extra=False, bad_checksums=False))
    header = insert_option(header, option)
    if after:
        tail = b"".join(after)
        header = _wrap(header[2:] + tail, first=header[0])
    if draw(st.booleans()):
        header = insert_option(header, draw(options(doi=doi, extra=False, bad_checksums=False)))
    return header


def _wrap(body: bytes, first: int = 0) -> bytes:
    """A header from a run of options: each gap of padding up to 7 bytes long at the end."""
    size = 2 + len(body)
    fill = -size % 8
    return bytes((first, (size + fill) // 8 - 1)) + body + pad(fill)


@st.composite
def packets(draw: st.DrawFn, *, doi: int | st.SearchStrategy[int] | None = None) -> Packet:
    """Scapy IPv6 ICMPv6 echo requests whose hop-by-hop header is one of
    :func:`hop_by_hop_headers`, dissected (the CALIPSO option a :class:`calipso.scapy.CALIPSO`)."""
    from scapy.layers.inet6 import ICMPv6EchoRequest, IPv6, IPv6ExtHdrHopByHop

    from . import scapy as _layers  # noqa: F401  (registers the option class)

    header = draw(hop_by_hop_headers(doi=doi))
    source, destination = draw(st.lists(st.ip_addresses(v=6), min_size=2, max_size=2))
    echo = ICMPv6EchoRequest(id=draw(st.integers(0, 0xFFFF)), seq=draw(st.integers(0, 0xFFFF)))
    hop_by_hop = IPv6ExtHdrHopByHop(bytes((58,)) + header[1:])  # next header: ICMPv6
    built = IPv6(src=str(source), dst=str(destination)) / hop_by_hop / echo
    return IPv6(bytes(built))
