"""``python -m calipso``: decode a CALIPSO option (or the hop-by-hop header or IPv6 packet
carrying it) and judge it as the Linux kernel does, or encode the option the kernel sends for a
label."""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from typing import Any

from mls import Level, MlsError
from mls import _cli as cli
from mls.verdict import VerdictKind

from ._checksum import checksum_bytes, option_checksum
from ._codec import decode, encode
from .doi import CalipsoDoi
from .errors import (
    CalipsoDecodeError,
    CalipsoError,
    CalipsoValidationError,
    Check,
    HopByHopError,
)
from .hopbyhop import IPV6_HEADER_LENGTH, OptionType, Tlv, build_header, iter_options
from .model import MIN_DATA_LENGTH, OPTION_TYPE, CalipsoOption
from .validate import Verdict, validate, verdict

DESCRIPTION = """\
Decode and encode CALIPSO, the IPv6 hop-by-hop security label option (RFC 5570, type 0x07),
byte for byte as Linux NetLabel does.

A DOI (domain of interpretation) is a number from 1 to 4294967295; Linux knows only PASS
DOIs (netlabelctl calipso add pass doi:N), whose labels go on the wire unchanged.
A label is an MLS level: s3, s3:c0,c5, s0:c1.c10 (cA.cB is every category from A to B);
CALIPSO carries sensitivities s0..s255 and categories c0..c1951.
"""

EPILOG = """\
examples:
  python -m calipso decode 070c000000020103980f84000000
      the option's fields, its checksum status and the label it carries (s3:c0,c5)
  python -m calipso decode '07 0c 00 00 00 02 01 03 98 0f 84 00 00 00' --doi 3
      also the kernel's verdict: dropped at option byte 2 (DOI 2 is not configured)
  python -m calipso decode 3a01070c000000020103980f84000000 --doi 2
      a whole hop-by-hop header (next header 58): every option in it, the kernel's verdict
  python -m calipso decode 600000000018004020010db800000000000000000000000120010db8\
00000000000000000000000\
23a01070c000000020103980f840000008000244800000000 --doi 2
      a whole IPv6 packet (an echo request from 2001:db8::1 to ::2): its hop-by-hop header
  python -m calipso encode s3:c0,c5 --doi 2
      prints 070c000000020103980f84000000, the option the kernel sends for s3:c0,c5
  python -m calipso encode s3:c0,c5 --doi 2 --as hbh
      prints 0001070c000000020103980f84000000, the whole hop-by-hop header (IPV6_HOPOPTS)

exit status: 0 decoded (and accepted by the kernel when --doi is given); 1 the kernel would
drop the packet (silently, or with an ICMPv6 Parameter Problem); 2 bad input (not hex, not a
CALIPSO option, hop-by-hop header or IPv6 packet, a bad DOI or label, an option that would
change nothing, or bytes too malformed to decode when no --doi is given), printed as one line
on stderr.
"""

_HOP_BY_HOP = 0  # IPv6 next-header value of the hop-by-hop options header
_OPTION_NAMES: dict[int, str] = {
    OptionType.PAD1: "Pad1",
    OptionType.PADN: "PadN",
    OptionType.ROUTER_ALERT: "Router Alert",
    OptionType.CALIPSO: "CALIPSO",
    OptionType.IOAM: "IOAM",
    OptionType.JUMBO: "Jumbo Payload",
}
_KINDS = ("option", "hbh", "ipv6")
#: validate() failures that say the bytes are not one option, not that the kernel drops it.
_NOT_ONE_OPTION = frozenset({Check.NOT_CALIPSO, Check.TRUNCATED, Check.TRAILING_DATA})


def _doi(text: str) -> CalipsoDoi:
    words = text.split()
    if len(words) == 1 and ":" not in words[0] and words[0] != "pass":
        # A bare number is short for netlabelctl's 'pass doi:N'; the grammar checks it.
        words = ["pass", f"doi:{words[0]}"]
    try:
        return CalipsoDoi.from_netlabelctl(words)
    except CalipsoError as exc:
        raise argparse.ArgumentTypeError(exc.reason) from None


# -- what the bytes are -------------------------------------------------------------------------


def _is_option(data: bytes) -> bool:
    return len(data) >= 2 and data[0] == OPTION_TYPE and data[1] + 2 == len(data)


def _is_header(data: bytes) -> bool:
    return len(data) >= 8 and len(data) % 8 == 0 and (data[1] + 1) * 8 == len(data)


def _is_packet(data: bytes) -> bool:
    if len(data) < IPV6_HEADER_LENGTH or data[0] >> 4 != 6:
        return False
    return IPV6_HEADER_LENGTH + int.from_bytes(data[4:6], "big") == len(data)


def _guess_kind(data: bytes) -> str:
    found = [
        kind
        for kind, fits in (
            ("option", _is_option(data)),
            ("hbh", _is_header(data)),
            ("ipv6", _is_packet(data)),
        )
        if fits
    ]
    if len(found) == 1:
        return found[0]
    if found:
        raise cli.UsageError(f"the bytes could be {' or '.join(found)}; use --as to say which")
    if data[0] == OPTION_TYPE:
        return "option"  # a malformed option: say what is wrong with it
    if data[0] >> 4 == 6 and len(data) >= IPV6_HEADER_LENGTH:
        return "ipv6"
    raise cli.UsageError(
        f"{len(data)} bytes starting {data[:2].hex()} are neither a CALIPSO option (07, then "
        "its length), a hop-by-hop header (a multiple of 8 bytes, its length byte saying so) "
        "nor an IPv6 packet (version 6, payload length matching); use --as to say which"
    )


def _header_of_packet(data: bytes, out: list[str]) -> bytes:
    if len(data) < IPV6_HEADER_LENGTH:
        raise cli.UsageError(f"{len(data)} bytes is shorter than an IPv6 header (40)")
    if data[0] >> 4 != 6:
        raise cli.UsageError(f"IP version {data[0] >> 4}, not 6")
    if data[6] != _HOP_BY_HOP:
        raise cli.UsageError(
            f"the IPv6 header's next header is {data[6]}, not 0: no hop-by-hop header follows"
        )
    rest = data[IPV6_HEADER_LENGTH:]
    if len(rest) < 2:
        raise cli.UsageError("the packet ends before the hop-by-hop header's length byte")
    size = (rest[1] + 1) * 8
    if size > len(rest):
        raise cli.UsageError(
            f"the hop-by-hop header's length byte {rest[1]} means {size} bytes; "
            f"only {len(rest)} follow the IPv6 header"
        )
    out.append(f"ipv6      {len(data)} bytes, payload length {int.from_bytes(data[4:6], 'big')}")
    return rest[:size]


# -- describing ---------------------------------------------------------------------------------


@dataclass
class _Found:
    # One CALIPSO option: where it starts in the hop-by-hop header (None when given alone),
    # its bytes, and what decoding them gave.
    start: int | None
    raw: bytes
    option: CalipsoOption | None = None
    error: CalipsoDecodeError | None = None
    name: str | None = None  # what a setrans.conf names the label


@dataclass
class _Decoded:
    # What decode found, shown as text or JSON.
    kind: str
    lines: list[str] = field(default_factory=list)
    header: bytes | None = None
    tlvs: list[Tlv] | None = None
    header_error: HopByHopError | None = None
    found: list[_Found] = field(default_factory=list)
    judged: Verdict | None = None
    named: bool = False  # a setrans.conf names the labels


def _read(raw: bytes, start: int | None, *, strict: bool) -> _Found:
    """One option decoded; with ``strict`` (no --doi) a malformed one is bad input."""
    found = _Found(start, raw)
    try:
        found.option = decode(raw)
    except CalipsoDecodeError as exc:
        if strict:
            raise cli.UsageError(
                f"malformed CALIPSO option: {exc.reason} (option byte {exc.offset})"
            ) from None
        found.error = exc
    return found


def _decode_option(data: bytes, dois: list[CalipsoDoi]) -> _Decoded:
    decoded = _Decoded("option", found=[_read(data, None, strict=not dois)])
    if not dois:
        return decoded
    try:
        validate(data, dois)
    except CalipsoValidationError as exc:
        if exc.check in _NOT_ONE_OPTION:
            # In a header, such bytes would be read as other options: say so.
            raise cli.UsageError(
                f"not one whole CALIPSO option: {exc.reason} (option byte {exc.offset}); "
                "give the whole hop-by-hop header (--as hbh) for the kernel's verdict"
            ) from None
        # Every CALIPSO failure is a silent drop; the option is its own frame here.
        decoded.judged = Verdict(
            VerdictKind.DROPPED,
            exc.reason,
            exc.offset,
            option_start=0,
            in_option=True,
            check=exc.check,
        )
    else:
        decoded.judged = Verdict(VerdictKind.ACCEPTED, option_start=0)
    return decoded


def _decode_header(data: bytes, kind: str, dois: list[CalipsoDoi]) -> _Decoded:
    decoded = _Decoded(kind)
    header = _header_of_packet(data, decoded.lines) if kind == "ipv6" else data
    if kind == "hbh" and not _is_header(header):
        raise cli.UsageError(
            f"{len(header)} bytes is not a hop-by-hop header: it is a multiple of 8 bytes "
            "whose second byte is len/8 - 1"
        )
    decoded.header = header
    try:
        decoded.tlvs = list(iter_options(header))
    except HopByHopError as exc:
        if not dois:
            raise cli.UsageError(f"malformed hop-by-hop header: {exc}") from None
        decoded.header_error = exc
    calipso = [t for t in decoded.tlvs or () if t.type == OPTION_TYPE]
    if decoded.tlvs is not None and not calipso and not dois:
        raise cli.UsageError("the hop-by-hop header carries no CALIPSO option")
    decoded.found = [_read(header[t.offset : t.end], t.offset, strict=not dois) for t in calipso]
    if dois:
        decoded.judged = verdict(header, dois)
    return decoded


# -- showing ------------------------------------------------------------------------------------


def _option_lines(found: _Found, indent: str) -> list[str]:
    """Fields, checksum status and label of one option (what can be said of a malformed one)."""
    raw, option = found.raw, found.option
    out = [f"{indent}option    {raw.hex(' ')}"]
    if option is None:
        error = found.error
        assert error is not None
        out.append(f"{indent}malformed at option byte {error.offset}: {error.reason}")
        if len(raw) >= 10 and raw[1] >= MIN_DATA_LENGTH:
            expected = option_checksum(raw[: raw[1] + 2])
            found_checksum = raw[8] | raw[9] << 8
            status = "ok" if found_checksum == expected else f"bad: expected {expected:#06x}"
            out.append(f"{indent}checksum  {status}, found {found_checksum:#06x}")
        return out
    expected = option.correct_checksum
    received = raw[8] | raw[9] << 8
    words = option.words
    out += [
        f"{indent}length    {raw[1]} data bytes",
        f"{indent}doi       {option.doi}",
        f"{indent}cmpt len  {words} word{'' if words == 1 else 's'} of bitmap",
        f"{indent}level     {option.level}",
    ]
    if option.checksum_ok:
        out.append(f"{indent}checksum  ok {received:#06x} (bytes {raw[8:10].hex(' ')})")
    else:
        out.append(
            f"{indent}checksum  bad: expected {expected:#06x} (bytes "
            f"{checksum_bytes(expected).hex(' ')}), found {received:#06x} "
            f"(bytes {raw[8:10].hex(' ')})"
        )
    out.append(f"{indent}bitmap    {option.bitmap.hex(' ') or '(none)'}")
    if option.extra:
        out.append(f"{indent}extra     {option.extra.hex(' ')} (after the bitmap)")
    out.append(f"{indent}label     {option.mls_level}")
    if found.name is not None:
        out.append(f"{indent}setrans   {found.name}")
    return out


def _tlv_name(tlv: Tlv) -> str:
    name = _OPTION_NAMES.get(tlv.type)
    return f"type {tlv.type:#04x}" if name is None else name


def _text(decoded: _Decoded) -> list[str]:
    out = list(decoded.lines)
    header = decoded.header
    if header is not None:
        out.append(f"header    hop-by-hop, {len(header)} bytes, next header {header[0]}")
        if decoded.header_error is not None:
            error = decoded.header_error
            out.append(f"malformed at header byte {error.offset}: {error.reason}")
        elif decoded.tlvs is not None:
            listed = ", ".join(
                f"{_tlv_name(t)} at {t.offset} ({t.size} bytes)" for t in decoded.tlvs
            )
            out.append(f"options   {listed}")
    for number, found in enumerate(decoded.found):
        indent = ""
        if found.start is not None:
            note = "" if number == 0 else " (the kernel reads the label from the first)"
            out.append(f"calipso   at header byte {found.start}{note}")
            indent = "  "
        out += _option_lines(found, indent)
    if decoded.judged is not None:
        out.append(f"kernel    {_verdict_text(decoded.judged, alone=header is None)}")
    return out


def _verdict_text(judged: Verdict, *, alone: bool) -> str:
    # ``alone``: the option was given without its header; its offsets count from its type byte.
    return cli.verdict_line(
        judged,
        icmp="ICMPv6",
        header_byte=None if alone else judged.offset,
        option_byte=judged.option_offset,
    )


def _json(decoded: _Decoded) -> dict[str, Any]:
    """The JSON object of decode (field names shared with python -m cipso)."""
    header = decoded.header
    shown: dict[str, Any] = {
        "protocol": "calipso",
        "input": decoded.kind,
        "options": [_option_json(found, named=decoded.named) for found in decoded.found],
    }
    if header is not None:
        error = decoded.header_error
        shown["header"] = {
            "size": len(header),
            "next_header": header[0],
            "error": None if error is None else error.reason,
            "error_offset": None if error is None else error.offset,
            "tlvs": None
            if decoded.tlvs is None
            else [
                {"type": t.type, "name": _tlv_name(t), "offset": t.offset, "size": t.size}
                for t in decoded.tlvs
            ],
        }
    judged = decoded.judged
    shown.update(cli.verdict_fields(judged))
    shown["check"] = None if judged is None or judged.check is None else judged.check.value
    return shown


def _option_json(found: _Found, *, named: bool) -> dict[str, Any]:
    option, error = found.option, found.error
    shown: dict[str, Any] = {
        "start": found.start,
        "bytes": found.raw.hex(),
        "error": None if error is None else error.reason,
        "error_offset": None if error is None else error.offset,
    }
    if option is None:
        return shown
    name = {"setrans": found.name} if named else {}
    label = str(option.mls_level)
    return shown | {
        "size": option.size,
        "doi": option.doi,
        "wire_label": label,
        "label": label,  # PASS, the only mapping: the host label is the wire label
        **name,
        "level": option.level,
        "words": option.words,
        "bitmap": option.bitmap.hex(),
        "extra": option.extra.hex(),
        "checksum": option.checksum,
        "checksum_ok": option.checksum_ok,
        "expected_checksum": option.correct_checksum,
    }


# -- commands -----------------------------------------------------------------------------------


def _decode(args: argparse.Namespace) -> int:
    translator = cli.load_setrans(args)
    data = cli.read_bytes(args.hex)
    dois: list[CalipsoDoi] = args.doi
    kind = args.kind or _guess_kind(data)
    decoded = _decode_option(data, dois) if kind == "option" else _decode_header(data, kind, dois)
    if translator is not None:
        decoded.named = True
        for found in decoded.found:
            if found.option is not None:
                found.name = translator.translate(found.option.mls_level)
    if args.format == "json":
        cli.print_json(_json(decoded))
    else:
        print("\n".join(_text(decoded)))
    if decoded.judged is None:
        return 0
    return 0 if decoded.judged.accepted else 1


def _encode(args: argparse.Namespace) -> int:
    doi: CalipsoDoi = args.doi
    if args.next_header is not None and args.kind != "hbh":
        raise cli.UsageError("--next-header is the hop-by-hop header's first byte: give --as hbh")
    option = doi.label_option(Level.parse(args.level))
    if args.kind == "hbh":
        print(build_header(option, next_header=args.next_header or 0).hex())
    else:
        print(encode(option).hex())
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The ``python -m calipso`` argument parser."""
    parser, commands = cli.command_parser("python -m calipso", DESCRIPTION, EPILOG)

    dec = cli.add_command(
        commands,
        "decode",
        _decode,
        summary="show an option's fields, checksum and label; with --doi, the kernel's verdict",
        description="Decode a CALIPSO option, the hop-by-hop header carrying it, or a whole\n"
        "IPv6 packet. With --doi, judge it as the kernel's receive path does (ip6_parse_tlv,\n"
        "calipso_validate): accepted, or dropped and why, at which byte.",
        epilog=EPILOG
        + "\n"
        + cli.setrans_epilog(
            "python -m calipso decode 070c000000020103980f84000000 --setrans "
            "/etc/selinux/mls/setrans.conf",
            'the name of s3:c0,c5 in a "setrans" row (in JSON, "setrans" beside "label")',
        ),
    )
    cli.add_input_arguments(dec)
    dec.add_argument(
        "--as",
        dest="kind",
        choices=_KINDS,
        help="what the bytes are: a bare option, a hop-by-hop header, an IPv6 packet "
        "(default: guessed from the length bytes)",
    )
    dec.add_argument(
        "--doi",
        action="append",
        default=[],
        type=_doi,
        metavar="N",
        help="a DOI configured in the kernel (repeatable)",
    )
    cli.add_setrans_arguments(dec)

    enc = cli.add_command(
        commands,
        "encode",
        _encode,
        summary="print the option (or hop-by-hop header) the kernel sends for a label",
        description="Print, in hex, the CALIPSO option the kernel builds for a label under a\n"
        "PASS DOI: the bitmap trimmed to the last 32-bit word holding a category.",
        epilog=EPILOG,
    )
    enc.add_argument("level", metavar="LEVEL", help="an MLS level, e.g. s3:c0,c5")
    enc.add_argument("--doi", required=True, type=_doi, metavar="N", help="the DOI number")
    cli.add_container_argument(
        enc,
        "hbh",
        "--hbh",
        "the whole hop-by-hop header the kernel builds (option at byte 2, Pad1/PadN to a "
        "multiple of 8), for IPV6_HOPOPTS",
    )
    enc.add_argument(
        "--next-header",
        type=cli.bounded_int("next header", 255),
        metavar="N",
        help="with --as hbh, the header's first byte (default 0: the kernel fills it in)",
    )
    return parser


#: Run the command line; returns the exit status.
main = cli.command_main(build_parser, (CalipsoError, MlsError))


if __name__ == "__main__":
    sys.exit(main())
