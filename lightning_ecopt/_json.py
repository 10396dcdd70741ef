"""Plain JSON values from what a sweep's figures and configs hold (shared by the report and the fingerprint)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

__all__ = ["json_safe"]


def json_safe(value: Any, *, nonfinite_as_text: bool = False) -> Any:
    """``value`` with mappings, lists and tuples rebuilt, and what JSON cannot hold as text.

    Args:
        value: Any nesting of mappings, sequences and scalars.
        nonfinite_as_text: NaN and infinities as ``"nan"``/``"inf"`` (values that must compare equal to themselves,
            as in a saved fingerprint); else ``None`` (JSON's null, for output).

    Returns:
        Dicts with string keys, lists, and ``None``/bool/int/float/str leaves; any other object as its ``str``.

    Example:
        >>> json_safe({"a": (1, float("nan")), 2: object}, nonfinite_as_text=True)
        {'a': [1, 'nan'], '2': "<class 'object'>"}
        >>> json_safe([float("inf")])
        [None]
    """
    if isinstance(value, Mapping):
        return {str(k): json_safe(v, nonfinite_as_text=nonfinite_as_text) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v, nonfinite_as_text=nonfinite_as_text) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return str(value) if nonfinite_as_text else None
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)
