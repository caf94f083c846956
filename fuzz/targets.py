"""The fuzz targets: one function per entry point, each taking raw bytes.

A target feeds its bytes to the entry point and checks what may come out: a result, or one of
the typed errors listed beside it (:data:`TARGETS`). Where an entry point has an inverse, the
target also checks the round trip. Anything else escaping a target is a bug; the fuzzers
(:mod:`fuzz.run`) and the test suite (``tests/fuzz``) report it with the input.

Targets for text entry points decode the bytes as UTF-8 (with replacement characters), so the
fuzzer reaches non-ASCII digits, NULs and the like.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable
from dataclasses import dataclass

import calipso
import cipso
import mls
from calipso import schema as calipso_schema
from cipso import schema as cipso_schema
from labelnet import ipsec
from labelnet.ipsec import schema as ipsec_schema
from mls.translate import SetransError, Translator
from netlabel import ctl
from tests.cipso.fuzz import DOIS


class TargetFailure(AssertionError):
    """A target saw something that breaks the contract (not one of its typed errors)."""


def _text(data: bytes) -> str:
    return data.decode("utf-8", "replace")


# The DOIs of the structure-aware fuzzer (tests/cipso/fuzz.py): one of every mapping type.
CIPSO_DOIS = DOIS
CALIPSO_DOIS = frozenset({1, 2, 0xFFFFFFFF})
_CALIPSO_DOI = calipso.CalipsoDoi(2)


# -- cipso ----------------------------------------------------------------------------------


def cipso_option(data: bytes) -> None:
    """decode, encode, the schema, validate, decode_label, check_options, find_option."""
    try:
        option: cipso.CipsoOption | None = cipso.decode(data)
    except cipso.CipsoDecodeError:
        option = None
    if option is not None and cipso.encode(option) != data:
        raise TargetFailure("a decoded option did not re-encode to the same bytes")
    try:
        parsed: cipso.CipsoOption | None = cipso_schema.parse(data)
    except cipso.CipsoDecodeError:
        parsed = None
    if parsed != option:
        raise TargetFailure(f"schema.parse gave {parsed!r}, decode gave {option!r}")
    for loopback in (False, True):
        try:
            cipso.validate(data, CIPSO_DOIS, loopback=loopback)
        except cipso.CipsoValidationError:
            continue
        # validate reads the option its length byte covers; decode wants nothing after it.
        if option is None and len(data) >= 2 and data[1] == len(data):
            raise TargetFailure("validate accepted an option decode refuses")
        if option is not None:
            cipso.validate(option, CIPSO_DOIS, loopback=loopback)
    if option is not None:
        for doi in CIPSO_DOIS:
            with contextlib.suppress(cipso.CipsoError):
                doi.decode_label(option)
    verdict = cipso.verdict(data[:40], CIPSO_DOIS)
    if not isinstance(verdict, cipso.Verdict):
        raise TargetFailure(f"verdict returned {verdict!r}")
    _cipso_area(data[:40])


def _cipso_area(area: bytes) -> None:
    with contextlib.suppress(cipso.CipsoError):
        cipso.find_option(area)
    _cipso_first_label(area)
    # The tolerant walk never raises; the strict one raises only OptionsAreaError.
    walked = list(cipso.iter_options(area, strict=False))
    with contextlib.suppress(cipso.OptionsAreaError):
        if list(cipso.iter_options(area)) != walked:
            raise TargetFailure("the strict and the tolerant walk differ on a whole area")


def _cipso_first_label(area: bytes) -> None:
    # The dump's straight read of a sender's label is what decoding the option gives.
    found = cipso.first_label(area)
    if found is not None:
        option = cipso.decode(area[: area[1]])
        level = option.mls_level
        tag = option.tags[0].tag_type
        if level is None or found != (option.doi, tag, level.sensitivity, level.categories.bits):
            raise TargetFailure(f"first_label read {found!r} from {option!r}")
        text = cipso.first_label_text(area)
        if text is not None and text != (option.doi, tag, str(level)):
            raise TargetFailure(f"first_label_text read {text!r} from {option!r}")


def cipso_doi(data: bytes) -> None:
    """CipsoDoi.from_netlabelctl and its inverse to_netlabelctl."""
    try:
        doi = cipso.CipsoDoi.from_netlabelctl(_text(data))
    except cipso.CipsoDoiError:
        return
    if cipso.CipsoDoi.from_netlabelctl(doi.to_netlabelctl()) != doi:
        raise TargetFailure(f"{doi.to_netlabelctl()!r} does not parse back to {doi!r}")


# -- calipso --------------------------------------------------------------------------------


def calipso_option(data: bytes) -> None:
    """decode (lenient and strict), encode, the schema, validate, decode_label: on the bytes
    as they are, and with a correct checksum written in (random bytes rarely have one)."""
    _calipso_option(data)
    option = data[: 2 + data[1]] if len(data) >= 2 else b""
    if len(option) >= 10:
        crc = calipso.crc16_x25(option[:8] + b"\0\0" + option[10:])
        fixed = data[:8] + crc.to_bytes(2, "little") + data[10:]
        if fixed != data:
            _calipso_option(fixed)


def _calipso_option(data: bytes) -> None:
    try:
        option: calipso.CalipsoOption | None = calipso.decode(data)
    except calipso.CalipsoDecodeError:
        option = None
    if option is not None and calipso.encode(option) != data:
        raise TargetFailure("decode/encode do not round-trip")
    try:
        strict: calipso.CalipsoOption | None = calipso.decode(data, strict=True)
    except calipso.CalipsoDecodeError:
        strict = None
    if strict is not None and (option is None or not option.checksum_ok):
        raise TargetFailure("strict decode accepted what lenient decode flags")
    try:
        twin: calipso.CalipsoOption | None = calipso_schema.parse(data)
    except calipso.CalipsoDecodeError:
        twin = None
    if twin != option:
        raise TargetFailure(f"schema {twin!r} != codec {option!r}")
    try:
        calipso.validate(data, CALIPSO_DOIS)
        accepted = True
    except calipso.CalipsoValidationError:
        accepted = False
    expected = option is not None and option.checksum_ok and option.doi in CALIPSO_DOIS
    if accepted != expected:
        raise TargetFailure(f"validate accepted={accepted}, but decode gives {option!r}")
    if option is not None:
        with contextlib.suppress(calipso.CalipsoError):
            _CALIPSO_DOI.decode_label(option)


def calipso_header(data: bytes) -> None:
    """verdict, iter_options, find_option, insert/remove_option, decode_header, first_label."""
    _calipso_first_label(data)
    for dois, max_options in ((CALIPSO_DOIS, 8), (frozenset({2}), -2)):
        verdict = calipso.verdict(data, dois, max_options=max_options)
        if not isinstance(verdict, calipso.Verdict):
            raise TargetFailure(f"verdict returned {verdict!r}")
    list(calipso.iter_options(data, strict=False))
    try:
        options = list(calipso.iter_options(data))
    except calipso.HopByHopError:
        return
    position = calipso.find_option(data)
    if position is not None and not any(tlv.type == calipso.OPTION_TYPE for tlv in options):
        raise TargetFailure("find_option found an option iter_options does not list")
    try:
        removed = calipso.remove_option(data)
    except calipso.HopByHopError:
        removed = None
    # Like calipso_opt_del, remove_option cuts the first CALIPSO option out with the padding
    # and any further CALIPSO options up to the next other option: fewer CALIPSO options are
    # left, and every other option stays, in order.
    before = sum(tlv.type == calipso.OPTION_TYPE for tlv in options)
    left = [] if removed is None else list(calipso.iter_options(removed))
    after = sum(tlv.type == calipso.OPTION_TYPE for tlv in left)
    if before and after >= before:
        raise TargetFailure(f"remove_option left {after} of {before} CALIPSO options")
    if _others(left) != _others(options):
        raise TargetFailure("remove_option changed the other options")
    try:
        inserted = calipso.insert_option(data, calipso.CalipsoOption(2, 1))
    except (calipso.HopByHopError, calipso.CalipsoEncodeError):
        pass
    else:
        if calipso.find_option(inserted) is None:
            raise TargetFailure("insert_option made a header without CALIPSO")
    with contextlib.suppress(calipso.HopByHopError, calipso.CalipsoValidationError):
        _CALIPSO_DOI.decode_header(data)


def _calipso_first_label(header: bytes) -> None:
    # The dump's straight read of a sender's label is what decoding the option gives.
    found = calipso.first_label(header)
    if found is not None:
        option = calipso.decode(header[2 : 4 + header[3]])
        level = option.mls_level
        if found != (option.doi, level.sensitivity, level.categories.bits):
            raise TargetFailure(f"first_label read {found!r} from {option!r}")
        if calipso.first_label_text(header) != (option.doi, str(level)):
            raise TargetFailure(f"first_label_text does not print {level} of {option!r}")


def _others(options: list[calipso.Tlv]) -> list[tuple[int, bytes]]:
    padding = (calipso.OptionType.PAD1, calipso.OptionType.PADN, calipso.OPTION_TYPE)
    return [(tlv.type, tlv.data) for tlv in options if tlv.type not in padding]


def calipso_doi(data: bytes) -> None:
    """CalipsoDoi.from_netlabelctl and its inverse to_netlabelctl."""
    text = _text(data)
    try:
        doi = calipso.CalipsoDoi.from_netlabelctl(text)
    except calipso.CalipsoDoiError:
        return
    if calipso.CalipsoDoi.from_netlabelctl(doi.to_netlabelctl()) != doi:
        raise TargetFailure(f"{doi.to_netlabelctl()!r} does not parse back to {doi!r}")


# -- netlabel.ctl ---------------------------------------------------------------------------


def netlabel_ctl(data: bytes) -> None:
    """The netlabelctl argument grammars: cipso/calipso add, map add/del, unlbl."""
    tokens = _text(data).split()
    allowed = (ctl.CtlSyntaxError, cipso.CipsoDoiError, calipso.CalipsoDoiError)
    calls: list[Callable[[], object]] = [
        lambda: ctl.parse_cipso_add(tokens),
        lambda: ctl.parse_calipso_add(tokens),
        lambda: ctl.parse_map_add(tokens),
        lambda: ctl.parse_map_del(tokens),
        lambda: ctl.parse_accept(tokens),
        lambda: ctl.parse_static_label(tokens, with_label=True),
        lambda: ctl.parse_static_label(tokens, with_label=False),
        lambda: ctl.parse_doi(tokens, required=True),
    ]
    for call in calls:
        with contextlib.suppress(*allowed):
            call()


# -- mls ------------------------------------------------------------------------------------


def mls_text(data: bytes) -> None:
    """Level, Range, Context and CategorySet parsing; what parses prints and parses back."""
    text = _text(data)
    limits = (mls.DEFAULT_LIMITS, mls.REFPOLICY_MLS_LIMITS)[len(data) % 2]
    parsers: list[Callable[..., object]] = [
        mls.Level.parse,
        mls.Range.parse,
        mls.Context.parse,
        mls.CategorySet.parse,
    ]
    for parse in parsers:
        try:
            value = parse(text, limits=limits)
        except mls.MlsError:
            continue
        if parse(str(value), limits=limits) != value:
            raise TargetFailure(f"{parse.__qualname__}: {str(value)!r} does not parse back")


def mls_bitmap(data: bytes) -> None:
    """CategorySet.from_bitmap and back."""
    categories = mls.CategorySet.from_bitmap(data)
    again = mls.CategorySet.from_bitmap(categories.to_bitmap())
    if again != categories:
        raise TargetFailure("to_bitmap/from_bitmap do not round-trip")


def mls_translate(data: bytes) -> None:
    """Translator.from_text on a configuration (before the first NUL), then translate and
    untranslate of each NUL-separated query after it."""
    config, *queries = _text(data).split("\0")
    try:
        translator = Translator.from_text(config, resolve_include=_no_includes)
    except SetransError:
        return
    for query in queries[:8]:
        for call in (
            translator.translate,
            translator.untranslate,
            translator.translate_context,
            translator.untranslate_context,
        ):
            with contextlib.suppress(SetransError, mls.MlsError):
                call(query)


def _no_includes(pattern: str) -> str:
    # Includes would read files: send every one where nothing matches.
    return "/nonexistent/labelnet-fuzz/" + pattern.replace("/", "_")


# -- labelnet.ipsec -------------------------------------------------------------------------

_IPSEC_WIRE: list[tuple[Callable[..., object], Callable[..., bytes], Callable[..., object], bool]]
_IPSEC_WIRE = [
    (
        ipsec.decode_xfrm_sec_ctx,
        ipsec.encode_xfrm_sec_ctx,
        ipsec_schema.parse_xfrm_sec_ctx,
        True,
    ),
    (ipsec.decode_xfrm_attr, ipsec.encode_xfrm_attr, ipsec_schema.parse_xfrm_attr, True),
    (
        ipsec.decode_sadb_sec_ctx,
        ipsec.encode_sadb_sec_ctx,
        ipsec_schema.parse_sadb_sec_ctx,
        True,
    ),
    (ipsec.decode_ts_payload, ipsec.encode_ts_payload, ipsec_schema.parse_ts_payload, False),
    (
        ipsec.decode_traffic_selector,
        ipsec.encode_traffic_selector,
        ipsec_schema.parse_traffic_selector,
        False,
    ),
]


def ipsec_wire(data: bytes) -> None:
    """Every labelnet.ipsec decoder (the first byte picks one and the byte order), its
    encoder and its construct twin; find_xfrm_sec_ctx; the label inside."""
    if not data:
        return
    selector, body = data[0], data[1:]
    decode, encode, parse, ordered = _IPSEC_WIRE[selector % len(_IPSEC_WIRE)]
    order: ipsec.ByteOrder = "big" if selector & 0x80 else "little"
    kwargs = {"byteorder": order} if ordered else {}
    try:
        value: object = decode(body, **kwargs)
    except ipsec.IpsecDecodeError:
        value = None
    if value is not None:
        again = encode(value, **kwargs)
        # An XFRM attribute may come without its trailing padding; encode always adds it.
        unpadded = decode is ipsec.decode_xfrm_attr and again == body + bytes(
            len(again) - len(body)
        )
        if again != body and not unpadded:
            raise TargetFailure(f"{decode.__name__} then encode changed the bytes")
    try:
        twin: object = parse(body, **kwargs)
    except ipsec.IpsecDecodeError:
        twin = None
    if twin != value:
        raise TargetFailure(f"schema gave {twin!r}, {decode.__name__} gave {value!r}")
    context = getattr(value, "context", getattr(value, "label", None))
    if isinstance(context, bytes):
        try:
            label = ipsec.parse_label(context)
        except ipsec.LabelError:
            pass
        else:
            if ipsec.parse_label(ipsec.label_bytes(label)) != label:
                raise TargetFailure(f"the label {label} does not survive label_bytes")
    with contextlib.suppress(ipsec.IpsecDecodeError):
        ipsec.find_xfrm_sec_ctx(body, byteorder=order)


def ipsec_setkey(data: bytes) -> None:
    """parse_setkey_ctx, find_setkey_ctx and with_setkey_ctx: a clause inserted or replaced is
    found again, unchanged."""
    text = _text(data)
    with contextlib.suppress(ipsec.SetkeySyntaxError):
        ipsec.parse_setkey_ctx(text)
    try:
        found = ipsec.find_setkey_ctx(text)
    except ipsec.SetkeySyntaxError:
        return
    replacement = ipsec.SetkeyCtx(mls.Context.parse("system_u:object_r:ipsec_spd_t:s0-s3:c1"))
    for ctx in (replacement, None, found.ctx if found else None):
        try:
            changed = ipsec.with_setkey_ctx(text, ctx)
        except ipsec.SetkeySyntaxError:
            if ctx is None:
                raise TargetFailure("removing a clause failed") from None
            continue
        again = ipsec.find_setkey_ctx(changed)
        if (again.ctx if again else None) != ctx:
            raise TargetFailure(f"with_setkey_ctx wrote {changed!r}; it reads back as {again!r}")


# -- the capture reader and the dump --------------------------------------------------------


def capture(data: bytes) -> None:
    """labelnet.capture's readers and labelnet.dump.records on a capture file in memory."""
    from labelnet import dump
    from labelnet.capture import CaptureError, labeled_packets, read_segments

    # Framed in one read and in small ones: the same packets, then the same error.
    outcomes = []
    for chunk in (1 << 20, 1 + len(data) % 61):
        found: list[object] = []
        error = None
        try:
            for segment in read_segments(io.BytesIO(data), chunk):
                found.extend(labeled_packets(segment))
        except CaptureError as exc:
            error = (exc.reason, exc.offset, exc.packet)
        outcomes.append((found, error))
    if outcomes[0] != outcomes[1]:
        raise TargetFailure("framing depends on the read size")
    dois = ("cipso add pass doi:16 tags:1", "calipso add pass doi:2")
    try:
        for record in dump.records(io.BytesIO(data), dois):
            str(record)
    except CaptureError:
        pass
    formats = list(dump.Format)
    settings = dump.DumpSettings(
        format=formats[len(data) % len(formats)], dois=dois, stats=True, dominates="s0"
    )
    with contextlib.suppress(CaptureError):
        dump.dump(io.BytesIO(data), io.StringIO(), settings)


def columnar(data: bytes) -> None:
    """labelnet.columnar.record_batches on a capture file in memory, without and with DOIs, or
    with an address filter, in batches of seven rows: every batch has the schema, every list
    of categories ascends."""
    from labelnet import columnar as columnar_module
    from labelnet.capture import CaptureError
    from labelnet.dump import DumpSettings

    dois = ("cipso add pass doi:16 tags:1", "calipso add pass doi:2")
    choices = (None, DumpSettings(dois=dois), DumpSettings(addresses=("10.0.0.1", "::/1")))
    settings = choices[len(data) % len(choices)]
    with contextlib.suppress(CaptureError):
        for batch in columnar_module.record_batches(io.BytesIO(data), settings, batch_rows=7):
            if batch.schema != columnar_module.SCHEMA:
                raise TargetFailure(f"a batch of another schema: {batch.schema}")
            for categories in batch.column("categories").to_pylist():
                if categories is not None and categories != sorted(set(categories)):
                    raise TargetFailure(f"categories out of order: {categories}")


# -- the scapy layers -----------------------------------------------------------------------


def _shown(packet: object) -> None:
    show = getattr(packet, "show")  # noqa: B009 - scapy is untyped here
    with io.StringIO() as sink:
        show(dump=True)
        packet.summary()  # type: ignore[attr-defined]
        sink.write(repr(packet))


def scapy_cipso(data: bytes) -> None:
    """An IPv4 packet with ``data`` as its options area: dissect, show, summary, label.

    (scapy's layers, its own option layers included, raise on bytes shorter than their fixed
    fields when built from them directly; inside a packet they must not.)"""
    from scapy.layers.inet import IP

    from cipso.scapy import IPOption_CIPSO

    options = data[:40] + bytes(-len(data[:40]) % 4)
    packet = IP(bytes([0x45 + len(options) // 4]) + bytes(19) + options + data[40:])
    _shown(packet)
    for option in packet.options if isinstance(packet.options, list) else []:
        if isinstance(option, IPOption_CIPSO):
            _ = option.label
            for tag in option.tags if isinstance(option.tags, list) else []:
                _ = getattr(tag, "label", None)


def scapy_calipso(data: bytes) -> None:
    """An IPv6 packet whose hop-by-hop header has ``data`` as its options: dissect, show,
    summary, label."""
    from scapy.layers.inet6 import IPv6

    from calipso.scapy import CALIPSO

    body = data + bytes(-(len(data) + 2) % 8)
    header = bytes([59, (len(body) + 2) // 8 - 1]) + body
    fixed = bytes([0x60, 0, 0, 0]) + len(header).to_bytes(2, "big") + bytes([0, 64]) + bytes(32)
    packet = IPv6(fixed + header)
    _shown(packet)
    layer = packet.payload
    for option in getattr(layer, "options", None) or []:
        if isinstance(option, CALIPSO):
            _ = option.label


@dataclass(frozen=True, slots=True)
class Target:
    """A fuzz target and what it exercises: ``covers`` are the modules its coverage is
    measured against (``python -m fuzz.run --coverage``)."""

    name: str
    run: Callable[[bytes], None]
    max_len: int
    covers: tuple[str, ...]


TARGETS: dict[str, Target] = {
    target.name: target
    for target in (
        Target(
            "cipso_option",
            cipso_option,
            64,
            ("cipso._codec", "cipso.schema", "cipso.validate", "cipso.model"),
        ),
        Target("cipso_doi", cipso_doi, 256, ("cipso.doi",)),
        Target(
            "calipso_option",
            calipso_option,
            300,
            ("calipso._codec", "calipso.schema", "calipso.validate", "calipso._checks"),
        ),
        Target(
            "calipso_header",
            calipso_header,
            300,
            ("calipso.hopbyhop", "calipso.validate", "calipso.doi"),
        ),
        Target("calipso_doi", calipso_doi, 256, ("calipso.doi", "netlabel.ctl")),
        Target("netlabel_ctl", netlabel_ctl, 256, ("netlabel.ctl",)),
        Target("mls_text", mls_text, 256, ("mls.label", "mls.categories")),
        Target("mls_bitmap", mls_bitmap, 300, ("mls.categories",)),
        Target("mls_translate", mls_translate, 1024, ("mls.translate",)),
        Target(
            "ipsec_wire",
            ipsec_wire,
            400,
            ("labelnet.ipsec._codec", "labelnet.ipsec.schema", "labelnet.ipsec.label"),
        ),
        Target("ipsec_setkey", ipsec_setkey, 400, ("labelnet.ipsec.setkey",)),
        Target("capture", capture, 2048, ("labelnet.capture", "labelnet.dump")),
        Target("columnar", columnar, 2048, ("labelnet.columnar",)),
        Target("scapy_cipso", scapy_cipso, 80, ("cipso.scapy",)),
        Target("scapy_calipso", scapy_calipso, 300, ("calipso.scapy",)),
    )
}
