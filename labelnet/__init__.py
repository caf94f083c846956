"""labelnet: labeled networking (CIPSO, CALIPSO, MLS labels) as the Linux kernel does it."""

from mls import __version__ as __version__
