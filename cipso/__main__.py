"""``python -m cipso``: decode a CIPSO option (or the IPv4 packet carrying it) and judge it as
the Linux kernel does, or encode the option the kernel sends for a label."""

from __future__ import annotations

import argparse
import string
import sys
from collections.abc import Mapping, Sequence
from typing import NoReturn

from mls import Level, MlsError

from ._codec import decode
from .doi import CipsoDoi, doi_table
from .errors import CipsoDecodeError, CipsoError
from .model import (
    OPTION_TYPE,
    CipsoOption,
    EnumeratedTag,
    FreeFormTag,
    GenericTag,
    LocalTag,
    PermissiveBitmapTag,
    RangedTag,
    RestrictedBitmapTag,
    Tag,
)
from .options import OptionType, find_option
from .validate import validate, verdict

DESCRIPTION = """\
Decode and encode CIPSO, the IPv4 security option (type 134), byte for byte as Linux
NetLabel does.

A DOI (domain of interpretation) is given in netlabelctl syntax, exactly as after
'netlabelctl cipso add':
  'pass doi:16 tags:1,2,5'                   labels go on the wire unchanged
  'trans doi:8 tags:1 levels:0=0,1=3 categories:0=1,1=0'   host=wire tables
  'local doi:5'                              tag 128 (LSM secid), loopback only
A bare number (--doi 16) means 'pass doi:16 tags:1'.

A label is an MLS level: s3, s3:c0,c5, s0:c1.c10 (cA.cB is every category from A to B).
"""

EPILOG = """\
examples:
  python -m cipso decode 860b000000100105000384
      the option's fields, its tag and the label it carries (s3:c0,c5)
  python -m cipso decode '86 0b 00 00 00 11 01 05 00 03 84' --doi 'pass doi:16 tags:1'
      also the kernel's verdict: rejected at option byte 2 (DOI 17 is not configured)
  python -m cipso decode 01860a000000110104000300 --doi 16
      an options area (NOP, CIPSO, EOL): the ICMP Parameter Problem pointer is 23
  python -m cipso decode 4800002800010000400100000a0000010a000002860b000000100105000384000800f7ff00000000 --doi 16
      a whole IPv4 packet: finds the option in the header, judges every option
  python -m cipso encode s3:c0,c5 --doi 'pass doi:16 tags:1'
      prints 860b000000100105000384, the option the kernel sends for s3:c0,c5
  python -m cipso encode s3:c0,c5 --doi 'pass doi:16 tags:1' --padded
      prints 860b00000010010500038400 (EOL-padded options area, for IP_OPTIONS)

exit status: 0 decoded (and accepted by the kernel when --doi is given); 1 the kernel would
reject it, or drop it silently (an options area with a source route, unless
--accept-source-route); 2 bad input (not hex, no CIPSO option, a bad DOI or label, or an option too
malformed to decode when no --doi is given), printed as one line on stderr.
"""  # noqa: E501

_HEX_SEPARATORS = str.maketrans("", "", " :\t\n-")
_IPV4_BASE_HEADER = 20
MAX_OPTIONS_LENGTH = 40


class UsageError(Exception):
    """Bad input: reported as one line on stderr, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # One line instead of argparse's usage block: the caller asked for --help if needed.
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def _parse_doi(text: str) -> CipsoDoi:
    words = text.split()
    if (
        len(words) == 1
        and ":" not in words[0]
        and words[0] not in ("local", "pass", "trans", "std")
    ):
        # A bare number is short for a PASS DOI with tag 1; the grammar checks the number.
        words = ["pass", f"doi:{words[0]}", "tags:1"]
    return CipsoDoi.from_netlabelctl(words)


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


def _tag_lines(tag: Tag) -> str:
    if isinstance(tag, (RestrictedBitmapTag, PermissiveBitmapTag)):
        name = "restricted bitmap" if isinstance(tag, RestrictedBitmapTag) else "permissive bitmap"
        detail = f"bitmap {tag.bitmap.hex() or '(none)'}"
    elif isinstance(tag, EnumeratedTag):
        name = "enumerated"
        detail = "categories " + (",".join(map(str, tag.category_list)) or "(none)")
    elif isinstance(tag, RangedTag):
        name = "ranged"
        ranges = [f"{high}-{0 if low is None else low}" for high, low in tag.ranges]
        detail = "ranges high-low " + (",".join(ranges) or "(none)")
    elif isinstance(tag, LocalTag):
        return f"local, length 6, secid {tag.secid} (host byte order)"
    elif isinstance(tag, FreeFormTag):
        return f"free form, length {tag.length}, data {tag.data.hex() or '(none)'}"
    else:
        assert isinstance(tag, GenericTag)
        return f"type {tag.tag_type}, length {tag.length}, data {tag.data.hex() or '(none)'}"
    extra = f", alignment {tag.alignment}" if tag.alignment else ""
    return f"{name}, length {tag.length}, level {tag.level}, {detail}{extra} -> {tag.mls_level}"


def _describe(option: CipsoOption, out: list[str]) -> None:
    out.append(f"doi      {option.doi}")
    for number, tag in enumerate(option.tags):
        unread = "" if number == 0 else " (not read by the kernel)"
        out.append(f"tag {tag.tag_type:<4} {_tag_lines(tag)}{unread}")
    level = option.mls_level
    out.append(f"label    {level if level is not None else '(none: the first tag has no level)'}")


def _host_label(option: CipsoOption, dois: Mapping[int, CipsoDoi]) -> str | None:
    doi = dois.get(option.doi)
    if doi is None or not option.tags:
        return None
    try:
        if isinstance(option.tags[0], LocalTag):
            return f"secid {doi.decode_secid(option)}"
        return str(doi.decode_label(option, strict_bitmap=False))
    except CipsoError as exc:
        return f"(cannot be read: {exc.reason})"


def _guess_kind(data: bytes) -> str:
    first = data[0]
    if first == OPTION_TYPE:
        # A CIPSO option followed by more bytes (EOL padding, other options) is an options area.
        return "options" if len(data) >= 2 and 2 <= data[1] < len(data) else "option"
    if first >> 4 == 4:
        return "ipv4"
    if first in (OptionType.END, OptionType.NOOP):
        return "options"
    raise UsageError(
        f"the first byte {first:#04x} starts neither a CIPSO option (0x86), an options area "
        "(0x00, 0x01) nor an IPv4 header (0x4_); use --as to say which"
    )


def _decode(args: argparse.Namespace) -> int:
    data = _parse_hex(args.hex)
    dois = doi_table([_parse_doi(text) for text in args.doi])
    kind = args.kind or _guess_kind(data)
    out: list[str] = []
    if kind == "option":
        options, raw = data, data
    else:
        if kind == "ipv4":
            options = _ipv4_options(data, out)
        else:
            options = data
            out.append(f"options  {len(data)} bytes (after a 20-byte IPv4 header)")
        if len(options) > MAX_OPTIONS_LENGTH:
            raise UsageError(f"{len(options)} bytes of options: an IPv4 header holds at most 40")
        at = find_option(options)
        if at is None:
            if not dois:
                raise UsageError("no CIPSO option in the options area")
            out.append("cipso    (none)")
            raw = None
        else:
            out.append(f"cipso    at header byte {_IPV4_BASE_HEADER + at}")
            raw = options[at : at + options[at + 1]]
    status = _describe_option(raw, out, have_dois=bool(dois))
    if dois:
        strict = not args.no_strict_bitmap
        if kind == "option":
            try:
                validate(data, dois, strict_bitmap=strict, loopback=args.loopback)
            except CipsoError as exc:
                out.append(
                    f"kernel   rejected at option byte {exc.offset} (ICMP parameter problem "
                    f"pointer {_IPV4_BASE_HEADER + (exc.offset or 0)} as the first option): "
                    f"{exc.reason}"
                )
                status = 1
            else:
                out.append("kernel   accepted")
                status = 0
        else:
            judged = verdict(
                options,
                dois,
                strict_bitmap=strict,
                loopback=args.loopback,
                accept_source_route=args.accept_source_route,
            )
            if judged.accepted:
                out.append("kernel   accepted")
                status = 0
            elif judged.dropped:
                out.append(
                    f"kernel   dropped silently (no ICMP error), source route at header byte "
                    f"{_IPV4_BASE_HEADER + (judged.offset or 0)}: {judged.reason}"
                )
                status = 1
            else:
                where = ""
                if judged.option_offset is not None:
                    where = f", option byte {judged.option_offset}"
                out.append(
                    f"kernel   rejected: ICMP parameter problem, pointer {judged.pointer}"
                    f"{where}: {judged.reason}"
                )
                status = 1
        if status == 0 and raw is not None:
            host = _host_label(decode(raw), dois)
            if host is not None:
                out.append(f"host     {host}")
    print("\n".join(out))
    return status


def _describe_option(raw: bytes | None, out: list[str], *, have_dois: bool) -> int:
    if raw is None:
        return 0
    out.append(f"option   {raw.hex(' ')}")
    try:
        option = decode(raw)
    except CipsoDecodeError as exc:
        if not have_dois:
            raise UsageError(
                f"malformed CIPSO option: {exc.reason} (option byte {exc.offset})"
            ) from None
        out.append(f"malformed at option byte {exc.offset}: {exc.reason}")
        return 1
    out.append(f"length   {raw[1]}")
    _describe(option, out)
    return 0


def _ipv4_options(data: bytes, out: list[str]) -> bytes:
    if data[0] >> 4 != 4:
        raise UsageError(f"IP version {data[0] >> 4}, not 4")
    if len(data) < _IPV4_BASE_HEADER:
        raise UsageError(f"{len(data)} bytes is shorter than an IPv4 header (20)")
    header_length = (data[0] & 0x0F) * 4
    if header_length < _IPV4_BASE_HEADER:
        raise UsageError(f"IPv4 header length {header_length} is below 20")
    if header_length > len(data):
        raise UsageError(
            f"IPv4 header length {header_length} runs past the {len(data)} bytes given"
        )
    out.append(
        f"ipv4     header {header_length} bytes, options {header_length - _IPV4_BASE_HEADER} bytes"
    )
    return data[_IPV4_BASE_HEADER:header_length]


def _encode(args: argparse.Namespace) -> int:
    doi = _parse_doi(args.doi)
    if args.level is None and args.secid is None:
        raise UsageError("give a label (e.g. s3:c0,c5), or --secid for a local DOI")
    level = None if args.level is None else Level.parse(args.level)
    data = doi.encode_label(
        level,
        secid=args.secid,
        optimized_bitmap=args.optimized_bitmap,
        pad=args.padded,
    )
    print(data.hex())
    return 0


def _secid(text: str) -> int:
    try:
        value = int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"secid {text!r} is not a number") from None
    if not 0 <= value <= 0xFFFFFFFF:
        raise argparse.ArgumentTypeError(f"secid {value} does not fit 32 bits")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The ``python -m cipso`` argument parser."""
    parser = _Parser(
        prog="python -m cipso",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    dec = commands.add_parser(
        "decode",
        help="show an option's fields and label; with --doi, the kernel's verdict",
        description="Decode a CIPSO option, an IPv4 options area, or the IPv4 header/packet "
        "carrying one. With "
        "--doi, judge it as the kernel's cipso_v4_validate does: accepted, or rejected with "
        "the offending byte (and the ICMP Parameter Problem pointer).",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    dec.add_argument(
        "hex", nargs="+", metavar="HEX", help="the bytes in hex (spaces and colons allowed)"
    )
    dec.add_argument(
        "--as",
        dest="kind",
        choices=("option", "options", "ipv4"),
        help="what the bytes are: one option, an options area (what follows the 20-byte "
        "header), or an IPv4 header/packet (default: guessed from the first byte: 0x86 an "
        "option, or an options area when more bytes follow it; 0x00/0x01 an options area; "
        "0x4_ an IPv4 header)",
    )
    dec.add_argument(
        "--doi",
        action="append",
        default=[],
        metavar="SPEC",
        help="a DOI configured in the kernel, netlabelctl syntax (repeatable)",
    )
    dec.add_argument(
        "--loopback",
        action="store_true",
        help="the packet arrived on loopback (the only place tag 128 is accepted)",
    )
    dec.add_argument(
        "--no-strict-bitmap",
        action="store_true",
        help="as with sysctl net.ipv4.cipso_rbm_strictvalid=0 (tag 1 level and bitmap unchecked)",
    )
    dec.add_argument(
        "--accept-source-route",
        action="store_true",
        help="as with net.ipv4.conf.all and <dev>.accept_source_route at 1 (by default a "
        "packet with a loose or strict source route is dropped silently)",
    )
    dec.set_defaults(run=_decode)

    enc = commands.add_parser(
        "encode",
        help="print the option the kernel sends for a label",
        description="Print, in hex, the CIPSO option the kernel builds for a label under a "
        "DOI (the first tag of the DOI that can carry the label).",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    enc.add_argument("level", nargs="?", metavar="LEVEL", help="an MLS level, e.g. s3:c0,c5")
    enc.add_argument("--doi", required=True, metavar="SPEC", help="the DOI, netlabelctl syntax")
    enc.add_argument(
        "--padded",
        action="store_true",
        help="print the whole options area: EOL (00) padding to a multiple of 4",
    )
    enc.add_argument(
        "--optimized-bitmap",
        action="store_true",
        help="as with sysctl net.ipv4.cipso_rbm_optfmt=1 (10-byte tag-1 bitmaps)",
    )
    enc.add_argument("--secid", type=_secid, help="the LSM secid for a local DOI (tag 128)")
    enc.set_defaults(run=_encode)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        status: int = args.run(args)
    except (UsageError, CipsoError, MlsError) as exc:
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return 2
    return status


if __name__ == "__main__":
    sys.exit(main())
