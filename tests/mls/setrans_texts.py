"""setrans.conf texts read by the translation tests and benchmarks."""

# Fedora's targeted (MCS) setrans.conf, in substance.
TARGETED = """\
# MCS categories are defined by the administrator
s0=SystemLow
s0-s0:c0.c1023=SystemLow-SystemHigh
s0:c0.c1023=SystemHigh
"""
