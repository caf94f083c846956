"""``python -m calipso``: decode a CALIPSO option (or the hop-by-hop header or IPv6 packet
carrying it) and judge it as the Linux kernel does, or encode the option the kernel sends for a
label."""

from __future__ import annotations

import argparse
import string
import sys
from collections.abc import Sequence
from typing import NoReturn

from mls import Level, MlsError

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
from .validate import VerdictKind, validate, verdict

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
  python -m calipso encode s3:c0,c5 --doi 2 --hbh
      prints 0001070c000000020103980f84000000, the whole hop-by-hop header (IPV6_HOPOPTS)

exit status: 0 decoded (and accepted by the kernel when --doi is given); 1 the kernel would
drop the packet (silently, or with an ICMPv6 Parameter Problem); 2 bad input (not hex, not a
CALIPSO option, hop-by-hop header or IPv6 packet, a bad DOI or label, or bytes too malformed
to decode when no --doi is given), printed as one line on stderr.
"""

_HEX_SEPARATORS = str.maketrans("", "", " :\t\n-")
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


class UsageError(Exception):
    """Bad input: reported as one line on stderr, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # One line instead of argparse's usage block: the caller asked for --help if needed.
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def _doi(text: str) -> CalipsoDoi:
    words = text.split()
    if len(words) == 1 and ":" not in words[0] and words[0] != "pass":
        # A bare number is short for netlabelctl's 'pass doi:N'; the grammar checks it.
        words = ["pass", f"doi:{words[0]}"]
    try:
        return CalipsoDoi.from_netlabelctl(words)
    except CalipsoError as exc:
        raise argparse.ArgumentTypeError(exc.reason) from None


def _next_header(text: str) -> int:
    try:
        value = int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"next header {text!r} is not a number") from None
    if not 0 <= value <= 255:
        raise argparse.ArgumentTypeError(f"next header {value} is not 0..255")
    return value


def _parse_hex(words: Sequence[str]) -> bytes:
    text = "".join(words).translate(_HEX_SEPARATORS)
    if text[:2].lower() == "0x":
        text = text[2:]
    if not text:
        raise UsageError("no bytes given")
    bad = next((c for c in text if c not in string.hexdigits), None)
    if bad is not None:
        raise UsageError(f"{bad!r} is not a hex digit")
    if len(text) % 2:
        raise UsageError(f"{len(text)} hex digits: an odd number cannot be whole bytes")
    return bytes.fromhex(text)


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
        raise UsageError(f"the bytes could be {' or '.join(found)}; use --as to say which")
    if data[0] == OPTION_TYPE:
        return "option"  # a malformed option: say what is wrong with it
    if data[0] >> 4 == 6 and len(data) >= IPV6_HEADER_LENGTH:
        return "ipv6"
    raise UsageError(
        f"{len(data)} bytes starting {data[:2].hex()} are neither a CALIPSO option (07, then "
        "its length), a hop-by-hop header (a multiple of 8 bytes, its length byte saying so) "
        "nor an IPv6 packet (version 6, payload length matching); use --as to say which"
    )


def _header_of_packet(data: bytes, out: list[str]) -> bytes:
    if len(data) < IPV6_HEADER_LENGTH:
        raise UsageError(f"{len(data)} bytes is shorter than an IPv6 header (40)")
    if data[0] >> 4 != 6:
        raise UsageError(f"IP version {data[0] >> 4}, not 6")
    if data[6] != _HOP_BY_HOP:
        raise UsageError(
            f"the IPv6 header's next header is {data[6]}, not 0: no hop-by-hop header follows"
        )
    rest = data[IPV6_HEADER_LENGTH:]
    if len(rest) < 2:
        raise UsageError("the packet ends before the hop-by-hop header's length byte")
    size = (rest[1] + 1) * 8
    if size > len(rest):
        raise UsageError(
            f"the hop-by-hop header's length byte {rest[1]} means {size} bytes; "
            f"only {len(rest)} follow the IPv6 header"
        )
    out.append(f"ipv6      {len(data)} bytes, payload length {int.from_bytes(data[4:6], 'big')}")
    return rest[:size]


# -- describing ---------------------------------------------------------------------------------


def _describe_option(raw: bytes, out: list[str], indent: str = "") -> None:
    """Fields, checksum status and label of one option; a malformed one is bad input."""
    try:
        option = decode(raw)
    except CalipsoDecodeError as exc:
        raise UsageError(
            f"malformed CALIPSO option: {exc.reason} (option byte {exc.offset})"
        ) from None
    _describe_fields(raw, option, out, indent)


def _describe_fields(raw: bytes, option: CalipsoOption, out: list[str], indent: str) -> None:
    """Fields, checksum status and label of ``option``, decoded from ``raw``."""
    out.append(f"{indent}option    {raw.hex(' ')}")
    expected = option.correct_checksum
    found = raw[8] | raw[9] << 8
    out.append(f"{indent}length    {raw[1]} data bytes")
    out.append(f"{indent}doi       {option.doi}")
    words = option.words
    out.append(f"{indent}cmpt len  {words} word{'' if words == 1 else 's'} of bitmap")
    out.append(f"{indent}level     {option.level}")
    if option.checksum_ok:
        out.append(f"{indent}checksum  ok {found:#06x} (bytes {raw[8:10].hex(' ')})")
    else:
        out.append(
            f"{indent}checksum  bad: expected {expected:#06x} (bytes "
            f"{checksum_bytes(expected).hex(' ')}), found {found:#06x} "
            f"(bytes {raw[8:10].hex(' ')})"
        )
    out.append(f"{indent}bitmap    {option.bitmap.hex(' ') or '(none)'}")
    if option.extra:
        out.append(f"{indent}extra     {option.extra.hex(' ')} (after the bitmap)")
    out.append(f"{indent}label     {option.mls_level}")


def _describe_malformed(raw: bytes, out: list[str], indent: str = "") -> None:
    """What can be said about an option that does not decode (with --doi, not an error)."""
    try:
        option = decode(raw)
    except CalipsoDecodeError as exc:
        out.append(f"{indent}option    {raw.hex(' ')}")
        out.append(f"{indent}malformed at option byte {exc.offset}: {exc.reason}")
        if len(raw) >= 10 and raw[1] >= MIN_DATA_LENGTH:
            expected = option_checksum(raw[: raw[1] + 2])
            found = raw[8] | raw[9] << 8
            status = "ok" if found == expected else f"bad: expected {expected:#06x}"
            out.append(f"{indent}checksum  {status}, found {found:#06x}")
        return
    _describe_fields(raw, option, out, indent)


def _tlv_name(tlv: Tlv) -> str:
    name = _OPTION_NAMES.get(tlv.type)
    return f"type {tlv.type:#04x}" if name is None else name


def _describe_header(header: bytes, out: list[str], *, strict: bool) -> list[Tlv]:
    out.append(f"header    hop-by-hop, {len(header)} bytes, next header {header[0]}")
    try:
        tlvs = list(iter_options(header))
    except HopByHopError as exc:
        if strict:
            raise UsageError(f"malformed hop-by-hop header: {exc}") from None
        out.append(f"malformed at header byte {exc.offset}: {exc.reason}")
        return []
    out.append(
        "options   " + ", ".join(f"{_tlv_name(t)} at {t.offset} ({t.size} bytes)" for t in tlvs)
    )
    calipso = [t for t in tlvs if t.type == OPTION_TYPE]
    if not calipso and strict:
        raise UsageError("the hop-by-hop header carries no CALIPSO option")
    for number, tlv in enumerate(calipso):
        note = "" if number == 0 else " (the kernel reads the label from the first)"
        out.append(f"calipso   at header byte {tlv.offset}{note}")
        raw = header[tlv.offset : tlv.end]
        if strict:
            _describe_option(raw, out, "  ")
        else:
            _describe_malformed(raw, out, "  ")
    return tlvs


# -- commands -----------------------------------------------------------------------------------


def _decode(args: argparse.Namespace) -> int:
    data = _parse_hex(args.hex)
    dois: list[CalipsoDoi] = args.doi
    kind = args.kind or _guess_kind(data)
    out: list[str] = []
    if kind == "option":
        if dois:
            _describe_malformed(data, out)
            try:
                validate(data, dois)
            except CalipsoValidationError as exc:
                if exc.check in _NOT_ONE_OPTION:
                    # In a header, such bytes would be read as other options: say so.
                    raise UsageError(
                        f"not one whole CALIPSO option: {exc.reason} (option byte {exc.offset}); "
                        "give the whole hop-by-hop header (--as hbh) for the kernel's verdict"
                    ) from None
                out.append(f"kernel    dropped silently at option byte {exc.offset}: {exc.reason}")
                print("\n".join(out))
                return 1
            out.append("kernel    accepted")
        else:
            _describe_option(data, out)
        print("\n".join(out))
        return 0
    header = _header_of_packet(data, out) if kind == "ipv6" else data
    if kind == "hbh" and not _is_header(header):
        raise UsageError(
            f"{len(header)} bytes is not a hop-by-hop header: it is a multiple of 8 bytes "
            "whose second byte is len/8 - 1"
        )
    _describe_header(header, out, strict=not dois)
    if not dois:
        print("\n".join(out))
        return 0
    judged = verdict(header, dois)
    at = judged.offset
    if judged.kind is VerdictKind.ACCEPTED:
        out.append("kernel    accepted")
        status = 0
    elif judged.kind is VerdictKind.DROPPED:
        out.append(f"kernel    dropped silently at header byte {at}: {judged.reason}")
        status = 1
    else:
        out.append(
            f"kernel    dropped with ICMPv6 Parameter Problem code {judged.code}, pointer "
            f"{judged.pointer} (header byte {at}): {judged.reason}"
        )
        status = 1
    print("\n".join(out))
    return status


def _encode(args: argparse.Namespace) -> int:
    doi: CalipsoDoi = args.doi
    level = Level.parse(args.level)
    option = doi.label_option(level)
    if args.hbh:
        print(build_header(option, next_header=args.next_header).hex())
    else:
        print(encode(option).hex())
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The ``python -m calipso`` argument parser."""
    parser = _Parser(
        prog="python -m calipso",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    dec = commands.add_parser(
        "decode",
        help="show an option's fields, checksum and label; with --doi, the kernel's verdict",
        description="Decode a CALIPSO option, the hop-by-hop header carrying it, or a whole\n"
        "IPv6 packet. With --doi, judge it as the kernel's receive path does (ip6_parse_tlv,\n"
        "calipso_validate): accepted, or dropped and why, at which byte.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    dec.add_argument(
        "hex", nargs="+", metavar="HEX", help="the bytes in hex (spaces and colons allowed)"
    )
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
    dec.set_defaults(run=_decode)

    enc = commands.add_parser(
        "encode",
        help="print the option (or hop-by-hop header) the kernel sends for a label",
        description="Print, in hex, the CALIPSO option the kernel builds for a label under a\n"
        "PASS DOI: the bitmap trimmed to the last 32-bit word holding a category.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    enc.add_argument("level", metavar="LEVEL", help="an MLS level, e.g. s3:c0,c5")
    enc.add_argument("--doi", required=True, type=_doi, metavar="N", help="the DOI number")
    enc.add_argument(
        "--hbh",
        action="store_true",
        help="print the whole hop-by-hop header as the kernel builds it (option at byte 2, "
        "Pad1/PadN to a multiple of 8)",
    )
    enc.add_argument(
        "--next-header",
        type=_next_header,
        default=0,
        metavar="N",
        help="with --hbh, the header's first byte (default 0: the kernel fills it in)",
    )
    enc.set_defaults(run=_encode)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        status: int = args.run(args)
    except (UsageError, CalipsoError, MlsError) as exc:
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return 2
    return status


if __name__ == "__main__":
    sys.exit(main())
