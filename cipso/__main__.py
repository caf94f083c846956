"""``python -m cipso``: decode a CIPSO option (or the IPv4 packet carrying it) and judge it as
the Linux kernel does, or encode the option the kernel sends for a label."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

from mls import Level, MlsError
from mls._cli import (
    UsageError,
    add_command,
    add_container_argument,
    add_input_arguments,
    add_setrans_arguments,
    bounded_int,
    command_main,
    command_parser,
    load_setrans,
    print_json,
    read_bytes,
    setrans_epilog,
    verdict_fields,
    verdict_line,
)

from ._codec import decode
from .doi import CipsoDoi, doi_table
from .errors import CipsoDecodeError, CipsoError
from .model import OPTION_TYPE, CipsoOption, LocalTag, MapType, Tag, TagType
from .options import OptionType, find_option
from .validate import Verdict, verdict

if TYPE_CHECKING:
    from mls.translate import Translator

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
      also the kernel's verdict: parameter-problem at option byte 2 (DOI 17 is not
      configured)
  python -m cipso decode 01860a000000110104000300 --doi 16
      an options area (NOP, CIPSO, EOL): the ICMP Parameter Problem pointer is 23
  python -m cipso decode 4800002800010000400100000a0000010a000002860b000000100105000384000800f7ff00000000 --doi 16
      a whole IPv4 packet: finds the option in the header, judges every option
  python -m cipso encode s3:c0,c5 --doi 'pass doi:16 tags:1'
      prints 860b000000100105000384, the option the kernel sends for s3:c0,c5
  python -m cipso encode s3:c0,c5 --doi 'pass doi:16 tags:1' --as options
      prints 860b00000010010500038400 (EOL-padded options area, for IP_OPTIONS)

exit status: 0 decoded (and accepted by the kernel when --doi is given); 1 the kernel would
reject it, or drop it silently (an options area with a source route, unless
--accept-source-route); 2 bad input (not hex, no CIPSO option, a bad DOI or label, an option
that would change nothing, or an option too malformed to decode when no --doi is given),
printed as one line on stderr.
"""  # noqa: E501

_IPV4_BASE_HEADER = 20
MAX_OPTIONS_LENGTH = 40
#: Width of the name column of decode's text output (the same in python -m calipso).
_NAME_WIDTH = 10


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


def _line(name: str, value: object) -> str:
    return f"{name:<{_NAME_WIDTH - 1}} {value}"


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


@dataclass
class _Decoded:
    # What decode found, shown as text or JSON. ``area`` is the options area the verdict
    # judges (for one option given alone, that option as the first and only one).
    kind: str
    lines: list[str]
    area: bytes
    start: int | None = None  # where the CIPSO option starts in the area
    raw: bytes | None = None
    option: CipsoOption | None = None
    error: CipsoDecodeError | None = None
    judged: Verdict | None = None
    host: Level | str | None = None  # the host label, or what stands for it (secid, error)
    named: bool = False  # a setrans.conf names the label
    name: str | None = None


def _locate(data: bytes, kind: str) -> _Decoded:
    if kind == "option":
        # Judged as the first option of an area: the bytes its length byte claims, at most 40.
        claimed = data[1] if len(data) >= 2 and data[1] >= 2 else MAX_OPTIONS_LENGTH
        return _Decoded(kind, [], data[: min(claimed, MAX_OPTIONS_LENGTH)], 0, data)
    lines: list[str] = []
    if kind == "ipv4":
        area = _ipv4_options(data, lines)
    else:
        area = data
        lines.append(_line("options", f"{len(data)} bytes (after a 20-byte IPv4 header)"))
    if len(area) > MAX_OPTIONS_LENGTH:
        raise UsageError(f"{len(area)} bytes of options: an IPv4 header holds at most 40")
    at = find_option(area)
    if at is None:
        return _Decoded(kind, lines, area)
    return _Decoded(kind, lines, area, at, area[at : at + area[at + 1]])


def _refuse_unused(args: argparse.Namespace, kind: str) -> None:
    # An option that would change nothing is refused rather than silently ignored.
    if not args.doi:
        given = [
            name
            for name in ("loopback", "no_strict_bitmap", "accept_source_route")
            if getattr(args, name)
        ]
        if given:
            flag = "--" + given[0].replace("_", "-")
            raise UsageError(f"{flag} changes only the kernel's verdict: give --doi as well")
    if args.accept_source_route and kind == "option":
        raise UsageError(
            "--accept-source-route needs an options area or an IPv4 packet: one CIPSO option "
            "has no source route"
        )


def _decode(args: argparse.Namespace) -> int:
    translator = load_setrans(args)
    data = read_bytes(args.hex)
    dois = doi_table([_parse_doi(text) for text in args.doi])
    kind = args.kind or _guess_kind(data)
    _refuse_unused(args, kind)
    found = _locate(data, kind)
    if found.raw is None and not dois:
        raise UsageError("no CIPSO option in the options area")
    if found.raw is not None:
        try:
            found.option = decode(found.raw)
        except CipsoDecodeError as exc:
            if not dois:
                raise UsageError(
                    f"malformed CIPSO option: {exc.reason} (option byte {exc.offset})"
                ) from None
            found.error = exc
    if dois:
        found.judged = verdict(
            found.area,
            dois,
            strict_bitmap=not args.no_strict_bitmap,
            loopback=args.loopback,
            accept_source_route=args.accept_source_route,
        )
        if found.judged.accepted and found.option is not None:
            found.host = _host_label(found.option, dois)
    if translator is not None:
        _name_label(found, translator)
    if args.format == "json":
        print_json(_json(found))
    else:
        print("\n".join(_text(found)))
    if found.judged is not None:
        return 0 if found.judged.accepted else 1
    return 0


def _text(found: _Decoded) -> list[str]:
    out = list(found.lines)
    if found.kind != "option":
        where = (
            "(none)" if found.start is None else f"at header byte {_IPV4_BASE_HEADER + found.start}"
        )
        out.append(_line("cipso", where))
    if found.raw is not None:
        out.append(_line("option", found.raw.hex(" ")))
    if found.error is not None:
        out.append(f"malformed at option byte {found.error.offset}: {found.error.reason}")
    option = found.option
    if option is not None:
        out.append(_line("length", option.length))
        out.append(_line("doi", option.doi))
        for number, tag in enumerate(option.tags):
            unread = "" if number == 0 else " (not read by the kernel)"
            out.append(_line(f"tag {tag.tag_type}", f"{tag}{unread}"))
        level = option.mls_level
        no_level = "(none: the first tag has no level)"
        out.append(_line("label", no_level if level is None else level))
    if found.judged is not None:
        out.append(_line("kernel", _verdict_text(found.judged, alone=found.kind == "option")))
    if found.host is not None:
        out.append(_line("host", found.host))
    if found.name is not None:
        out.append(_line("setrans", found.name))
    return out


def _name_label(found: _Decoded, translator: Translator) -> None:
    """The setrans.conf name of the label the receiver sees: the host label when the verdict
    gives one, else the label on the wire (none for a secid or a label that cannot be read)."""
    found.named = True
    level = found.option.mls_level if found.option is not None else None
    if found.host is not None:
        level = found.host if isinstance(found.host, Level) else None
    found.name = None if level is None else translator.translate(level)


def _verdict_text(judged: Verdict, *, alone: bool) -> str:
    # ``alone``: the area is one option given alone, so every offset is also an option byte.
    offset = 0 if judged.offset is None else judged.offset
    return verdict_line(
        judged,
        icmp="ICMP",
        header_byte=_IPV4_BASE_HEADER + offset,
        option_byte=offset if alone else judged.option_offset,
    )


def _json(found: _Decoded) -> dict[str, Any]:
    """The JSON object of decode (field names shared with python -m calipso)."""
    shown: dict[str, Any] = {
        "protocol": "cipso",
        "input": found.kind,
        "options": [] if found.raw is None else [_option_json(found)],
    }
    return shown | verdict_fields(found.judged)


def _option_json(found: _Decoded) -> dict[str, Any]:
    option, error, raw = found.option, found.error, found.raw
    assert raw is not None
    shown: dict[str, Any] = {
        "start": None if found.kind == "option" else found.start,
        "bytes": raw.hex(),
        "error": None if error is None else error.reason,
        "error_offset": None if error is None else error.offset,
    }
    if option is None:
        return shown
    level = option.mls_level
    wire = None if level is None else str(level)
    label = wire if found.host is None else str(found.host)
    named = {"setrans": found.name} if found.named else {}
    return shown | {
        "size": option.size,
        "doi": option.doi,
        "wire_label": wire,
        "label": label,
        **named,
        "tags": [_tag_json(tag) for tag in option.tags],
    }


def _tag_json(tag: Tag) -> dict[str, Any]:
    values: dict[str, Any] = {"type": int(tag.tag_type), "name": tag.name, "length": tag.length}
    for field in fields(tag):
        value = getattr(tag, field.name)
        values[field.name] = (
            value.hex()
            if isinstance(value, bytes)
            else (list(value) if isinstance(value, tuple) else value)
        )
    level = getattr(tag, "mls_level", None)
    if level is not None:
        values["wire_label"] = str(level)
    return values


def _host_label(option: CipsoOption, dois: Mapping[int, CipsoDoi]) -> Level | str | None:
    doi = dois.get(option.doi)
    if doi is None or not option.tags:
        return None
    try:
        if isinstance(option.tags[0], LocalTag):
            return f"secid {doi.decode_secid(option)}"
        return doi.decode_label(option, strict_bitmap=False)
    except CipsoError as exc:
        return f"(cannot be read: {exc.reason})"


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
        _line(
            "ipv4",
            f"header {header_length} bytes, options {header_length - _IPV4_BASE_HEADER} bytes",
        )
    )
    return data[_IPV4_BASE_HEADER:header_length]


def _encode(args: argparse.Namespace) -> int:
    doi = _parse_doi(args.doi)
    _refuse_unused_encode(args, doi)
    level = None if args.level is None else Level.parse(args.level)
    data = doi.encode_label(
        level,
        secid=args.secid,
        optimized_bitmap=args.optimized_bitmap,
        pad=args.kind == "options",
    )
    print(data.hex())
    return 0


def _refuse_unused_encode(args: argparse.Namespace, doi: CipsoDoi) -> None:
    # A local DOI sends the secid and nothing else; every other DOI sends the label only.
    if doi.map_type is MapType.LOCAL:
        if args.level is not None:
            raise UsageError(f"a local DOI sends a secid, not a label: drop {args.level}")
        if args.secid is None:
            raise UsageError("give a label (e.g. s3:c0,c5), or --secid for a local DOI")
    elif args.secid is not None:
        kind = doi.map_type.name.lower()
        raise UsageError(f"--secid is for a local DOI (tag 128); DOI {doi.doi} is {kind}")
    elif args.level is None:
        raise UsageError("give a label (e.g. s3:c0,c5), or --secid for a local DOI")
    if args.optimized_bitmap and TagType.RESTRICTED_BITMAP not in doi.tags:
        raise UsageError(f"--optimized-bitmap shapes tag 1, which DOI {doi.doi} does not use")


def build_parser() -> argparse.ArgumentParser:
    """The ``python -m cipso`` argument parser."""
    parser, commands = command_parser("python -m cipso", DESCRIPTION, EPILOG)

    dec = add_command(
        commands,
        "decode",
        _decode,
        summary="show an option's fields and label; with --doi, the kernel's verdict",
        description="Decode a CIPSO option, an IPv4 options area, or the IPv4 header/packet "
        "carrying one. With "
        "--doi, judge it as the kernel's cipso_v4_validate does: accepted, or rejected with "
        "the offending byte (and the ICMP Parameter Problem pointer).",
        epilog=EPILOG
        + "\n"
        + setrans_epilog(
            "python -m cipso decode 860b000000100105000384 --setrans /etc/selinux/mls/setrans.conf",
            'the name of s3:c0,c5 in a "setrans" row (in JSON, "setrans" beside "label")',
        ),
    )
    add_input_arguments(dec)
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
    add_setrans_arguments(dec)

    enc = add_command(
        commands,
        "encode",
        _encode,
        summary="print the option the kernel sends for a label",
        description="Print, in hex, the CIPSO option the kernel builds for a label under a "
        "DOI (the first tag of the DOI that can carry the label).",
        epilog=EPILOG,
    )
    enc.add_argument("level", nargs="?", metavar="LEVEL", help="an MLS level, e.g. s3:c0,c5")
    enc.add_argument("--doi", required=True, metavar="SPEC", help="the DOI, netlabelctl syntax")
    add_container_argument(
        enc,
        "options",
        "--padded",
        "the whole options area the kernel writes: the option with EOL (00) padding to a "
        "multiple of 4, for IP_OPTIONS",
    )
    enc.add_argument(
        "--optimized-bitmap",
        action="store_true",
        help="as with sysctl net.ipv4.cipso_rbm_optfmt=1 (10-byte tag-1 bitmaps)",
    )
    enc.add_argument(
        "--secid",
        type=bounded_int("secid", 0xFFFFFFFF),
        help="the LSM secid for a local DOI (tag 128)",
    )
    return parser


#: Run the command line; returns the exit status.
main = command_main(build_parser, (CipsoError, MlsError))


if __name__ == "__main__":
    sys.exit(main())
