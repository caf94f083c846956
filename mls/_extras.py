"""Which extra provides each optional dependency, and the error that says so.

The core packages need no optional dependency; the integration modules (``cipso.scapy``,
``calipso.strategies``, ...) open with::

    with needs_extra("scapy", by=__name__):
        import scapy

so that a missing dependency names the extra that installs it, not only the module.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

# extra -> the top-level modules it installs; pyproject.toml declares the same extras.
EXTRAS: dict[str, tuple[str, ...]] = {
    "scapy": ("scapy",),
    "hypothesis": ("hypothesis",),
    "netlink": ("pyroute2",),
    "parquet": ("pyarrow",),
    "dask": ("dask", "pandas", "pyarrow"),
    # The checkout's fuzz/ tools (python -m fuzz.run), not a module of the library.
    "fuzz": ("atheris", "coverage"),
}


@contextmanager
def needs_extra(extra: str, *, by: str) -> Iterator[None]:
    """Turn a missing module of ``extra`` into an error naming the extra to install.

    ``by`` is the module that needs it (its ``__name__``), shown in the message. Any other
    import error passes through unchanged.
    """
    try:
        yield
    except ModuleNotFoundError as exc:
        missing = (exc.name or "").partition(".")[0]
        if missing not in EXTRAS[extra]:
            raise
        raise ModuleNotFoundError(
            f"{by} needs {missing}, from labelnet's [{extra}] extra: "
            f"pip install 'labelnet[{extra}]'",
            name=exc.name,
        ) from exc
