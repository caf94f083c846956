"""Errors of the labelnet command line."""

from __future__ import annotations


class CommandError(Exception):
    """A failure to report as one line on stderr with exit status 2 (bad input, missing file).

    It lives in its own module because ``python -m labelnet`` runs ``labelnet/__main__.py`` as
    ``__main__``: a class defined there would be a different class from the one subcommand
    modules import, and ``except`` would not catch it.
    """
