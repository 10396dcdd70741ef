"""Argument checks shared across the package (the demos, the timed inference passes)."""

from __future__ import annotations


def check_positive_ints(owner: str, **values: object) -> None:
    """Raise ``ValueError`` naming the first argument that is not an int >= 1 (``bool`` is not an int here).

    >>> check_positive_ints("Model", width=4, depth=0)
    Traceback (most recent call last):
    ...
    ValueError: Model(depth=0): expected an int >= 1.
    """
    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{owner}({name}={value!r}): expected an int >= 1.")
