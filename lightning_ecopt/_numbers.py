"""Numbers as people read them: whole numbers whole, other figures to a few significant digits, huge counts short.

Below :data:`MAX_WHOLE` a number never reads in exponent form for being large: a figure with more integer digits than
significant ones is written to the unit (``12346``), as a whole float beside it is, so a column reads in one notation.

Shared by the report, the frontier views, the sweep's log lines and its refusals, so a figure reads the same in each.
"""

from __future__ import annotations

import math
from decimal import Decimal
from numbers import Integral
from typing import SupportsFloat

__all__ = ["MAX_WHOLE", "format_count", "format_number"]

MAX_WHOLE = 1e15
"""Whole floats below this (in magnitude) are written in full; at and beyond it, as any other float. Floats from 2**52
on are all whole, so there being whole says nothing about a figure; below it, a count (``model/params``, FLOPs, samples,
tokens) that came through Lightning's logging, JSON or YAML as a float still reads as the count it is."""

_MAX_DIGITS = 20
"""Counts of up to this many digits (any 64-bit integer) are written in full by :func:`format_count`: 2**53 + 1
must read as itself."""


def format_number(value: SupportsFloat, digits: int = 4) -> str:
    """``value`` with ``digits`` significant digits; an integer, or a whole float below :data:`MAX_WHOLE`, in full.

    A count arrives as a float wherever it went through Lightning's logging or a JSON or YAML round trip
    (``model/params`` reads ``1234567.0``): written to 4 significant digits it was ``1.235e+06``, the count lost. A
    float with a fraction keeps its significant digits, and all its integer digits below :data:`MAX_WHOLE`:
    ``12345.6`` reads ``12346``, as a whole ``12346.0`` and a ``9876.4`` (``9876``) beside it do. It read
    ``1.235e+04``, so one column of joules showed two notations.

    Args:
        value: A number (Python's or numpy's; not a bool).
        digits: Significant digits of a float with a fraction.

    Returns:
        The text: ``'1234567'``, ``'0.9123'``, ``'1.153e+18'``, ``'nan'``.

    Example:
        >>> format_number(1234567.0), format_number(1234567.3), format_number(0.912345), format_number(12)
        ('1234567', '1234567', '0.9123', '12')
        >>> format_number(2.0**60), format_number(float("inf")), format_number(-0.0), format_number(0.1, 6)
        ('1.153e+18', 'inf', '0', '0.1')
        >>> format_number(9999.7), format_number(-12345.6), format_number(1234567.3, 8), format_number(1.5e-7)
        ('10000', '-12346', '1234567.3', '1.5e-07')
    """
    if isinstance(value, Integral):
        return str(int(value))
    number = float(value)
    if not math.isfinite(number):
        return str(number)
    if number.is_integer() and abs(number) < MAX_WHOLE:
        return str(int(number))
    text = f"{number:.{digits}g}"
    if "e+" in text and abs(number) < MAX_WHOLE:  # more integer digits than significant ones: to the unit
        return f"{number:.0f}"
    return text


def format_count(n: int) -> str:
    """A count in full up to 20 digits; a larger one as ``about 1e+616``, which reads where 617 digits do not.

    Args:
        n: The count (any size: a range of floats is counted exactly, in decimal).

    Returns:
        The text.

    Example:
        >>> format_count(1001), format_count(2**64), format_count(10**616 + 1), format_count(123456789 * 10**20)
        ('1001', '18446744073709551616', 'about 1e+616', 'about 1.23e+28')
    """
    if len(str(abs(n))) <= _MAX_DIGITS:
        return str(n)
    mantissa, exponent = f"{Decimal(n):.2e}".split("e")
    return f"about {mantissa.rstrip('0').rstrip('.')}e{exponent}"
