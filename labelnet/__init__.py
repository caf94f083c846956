"""labelnet: labeled networking (CIPSO, CALIPSO, MLS labels) as the Linux kernel does it."""
