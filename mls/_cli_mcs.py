"""``python -m mls mcs``: allocate unique sVirt-style MCS labels and print their contexts.

``register(subparsers)`` adds the subcommand to the ``mls`` command line. It draws N distinct
random pairs ``s0:cA,cB`` as libvirt does and prints, per label, the guest's process context
and its image context separated by a tab (``--containers``: podman's process and file
contexts). Impossible requests (a range that is too small, more labels than free pairs) raise a
ValueError, which the ``mls`` command line reports on one line with exit status 2.
"""

from __future__ import annotations

import argparse
import random

from ._cli import ascii_number
from .label import Context
from .mcs import (
    DEFAULT_DAEMON_CONTEXT,
    McsAllocator,
    McsExhaustedError,
    container_label,
    svirt_label,
)

EXAMPLES = """\
examples:
  python -m mls mcs                       one guest: svirt_t and svirt_image_t contexts
  python -m mls mcs -n 3 --format level   three distinct levels such as s0:c87,c520
  python -m mls mcs --containers          container_t and container_file_t contexts
  python -m mls mcs --daemon-context system_u:system_r:virtd_t:s0-s0:c100.c199
"""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``mcs`` subcommand."""
    parser = subparsers.add_parser(
        "mcs",
        help="allocate unique random MCS category pairs as libvirt / podman do",
        description="Allocate N distinct labels s0:cA,cB (A < B) and print the process and "
        "image contexts formed from each, separated by a tab.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "-n",
        "--count",
        type=ascii_number,
        default=1,
        metavar="N",
        help="how many labels (default 1)",
    )
    parser.add_argument(
        "--daemon-context",
        metavar="CONTEXT",
        default=str(DEFAULT_DAEMON_CONTEXT),
        help="the allocating daemon's context; its user and role go into process labels and "
        "its cMIN.cMAX gives the category pool (default %(default)s)",
    )
    parser.add_argument(
        "--containers",
        action="store_true",
        help="podman / go-selinux labels: container_t and container_file_t, with "
        "s0:c1022,c1023 kept back for privileged containers",
    )
    parser.add_argument(
        "--reserve",
        action="append",
        default=[],
        metavar="LABEL",
        help="a level, range or context already in use, never to be handed out (repeatable)",
    )
    parser.add_argument(
        "--single-categories",
        action="store_true",
        help="as older libvirt: a draw of two equal categories gives a one-category label s0:cN",
    )
    parser.add_argument(
        "--format",
        choices=("contexts", "process", "image", "level"),
        default="contexts",
        help="what to print per label (default: process and image contexts)",
    )
    parser.add_argument(
        "--seed",
        type=ascii_number,
        metavar="S",
        help="draw from a seeded pseudo-random generator (reproducible, for tests only; "
        "the default uses the system's cryptographic source)",
    )
    parser.set_defaults(run=_run_mcs)


def _run_mcs(args: argparse.Namespace) -> int:
    rng = random.Random(args.seed) if args.seed is not None else None
    if args.containers:
        allocator = McsAllocator.for_containers(rng=rng)
    else:
        # The text as typed, so that an error quotes it rather than its canonical form.
        allocator = McsAllocator.from_context(
            args.daemon_context, rng=rng, single_categories=args.single_categories
        )
    daemon = Context.parse(args.daemon_context)
    for label in args.reserve:
        allocator.reserve(label)
    if args.count > allocator.available:
        raise McsExhaustedError(
            f"asked for {args.count} labels but only {allocator.available} of "
            f"{allocator.capacity} labels are free"
        )
    for _ in range(args.count):
        level = allocator.allocate()
        label = container_label(level) if args.containers else svirt_label(level, daemon=daemon)
        if args.format == "level":
            print(level)
        elif args.format == "process":
            print(label.process)
        elif args.format == "image":
            print(label.image)
        else:
            print(f"{label.process}\t{label.image}")
    return 0
