"""Argument checks shared across the package (the demos, the timed inference passes)."""

from __future__ import annotations

import math
from typing import cast


def as_bool(value: object) -> bool | None:
    """``value`` as a bool where it is one (numpy's ``bool_`` too, as from an array's element), else ``None``.

    A YAML ``no`` arrives as a string, and a string is true: flags are checked, not cast.

    >>> import numpy as np
    >>> as_bool(True), as_bool(np.False_), as_bool("no"), as_bool(1)
    (True, False, None, None)
    """
    if isinstance(value, bool):
        return value
    if type(value).__module__ == "numpy" and type(value).__name__ in ("bool_", "bool"):
        return bool(value)
    return None


def checked_flags(owner: str, **values: object) -> list[bool]:
    """``values`` as bools, in order; ``TypeError`` naming the first that is not one (:func:`as_bool`).

    >>> import numpy as np
    >>> checked_flags("Meter", read_cpu=np.True_, fast=False)
    [True, False]
    >>> checked_flags("Meter", read_cpu="no")
    Traceback (most recent call last):
    ...
    TypeError: Meter(read_cpu='no'): expected True or False.
    """
    flags = []
    for name, value in values.items():
        flag = as_bool(value)
        if flag is None:  # a YAML "no" arrives as a string, and a string is true
            raise TypeError(f"{owner}({name}={value!r}): expected True or False.")
        flags.append(flag)
    return flags


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


def check_timed_passes(
    owner: str, prefix: str, *, min_s: object, warmup_batches: object, num_workers: object, what: str
) -> None:
    """Check a data module's timed-pass settings (``<prefix>_min_s``, ``<prefix>_warmup_batches``, ``num_workers``).

    The digits and text demos repeat their evaluation set in :class:`~lightning_ecopt.inference.TimedPasses`,
    configured alike; ``what`` names the passes in the message (``"test"``, ``"generation"``).

    >>> check_timed_passes("Data", "eval", min_s=0.2, warmup_batches=1, num_workers=2, what="test")
    Traceback (most recent call last):
    ...
    ValueError: Data(eval_min_s=0.2, num_workers=2): timed test passes build their batches in the main process; set \
num_workers=0, or eval_min_s=0 for a fixed number of passes.
    """
    if min_s != "auto" and (isinstance(min_s, bool) or not isinstance(min_s, int | float) or not 0 <= min_s < math.inf):
        raise ValueError(
            f"{owner}({prefix}_min_s={min_s!r}): expected seconds >= 0 or 'auto' (the min_duration_s of the trainer's "
            f"EnergyCallback; 0: always {prefix}_repeats passes)."
        )
    if isinstance(warmup_batches, bool) or not isinstance(warmup_batches, int) or warmup_batches < 0:
        raise ValueError(
            f"{owner}({prefix}_warmup_batches={warmup_batches!r}): expected an int >= 0, the EnergyCallback's "
            "warmup_batches."
        )
    if (min_s == "auto" or cast(float, min_s) > 0) and num_workers:
        raise ValueError(
            f"{owner}({prefix}_min_s={min_s!r}, num_workers={num_workers!r}): timed {what} passes build their batches "
            f"in the main process; set num_workers=0, or {prefix}_min_s=0 for a fixed number of passes."
        )
