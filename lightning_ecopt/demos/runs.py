"""Checks the example apps make of a run's Trainer settings before they build anything."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["NO_TRAINING_STEP", "nothing_to_measure"]

NO_TRAINING_STEP = (
    "no training step ran (the training loader yields less than one batch, or a step or epoch limit of 0): the test "
    "would score the untrained weights as this configuration's result"
)
"""The reason of a trial whose fit ran no step: its test figures are those of the initial weights."""


def nothing_to_measure(trainer: Mapping[str, Any], loops: Iterable[str] = ("test",)) -> str | None:
    """Why a run with these ``Trainer`` settings would measure nothing worth a result, or ``None``.

    A fit of no step (``max_epochs=0``, ``max_steps=0``, ``limit_train_batches=0``) tests untrained weights as if they
    were the configuration's; a measured loop limited to 0 batches has no figures at all.

    Args:
        trainer: The app's ``trainer`` config (the keyword arguments of ``pl.Trainer``).
        loops: The loops the app's result comes from (``"test"``, ``"predict"``).

    >>> nothing_to_measure({"max_epochs": 5}) is None
    True
    >>> nothing_to_measure({"max_epochs": 0})
    'trainer.max_epochs=0: no training step would run, and the test would score untrained weights; set it >= 1.'
    """
    for key in ("max_epochs", "max_steps", "limit_train_batches"):
        if _is_zero(trainer.get(key)):
            return (
                f"trainer.{key}={trainer[key]!r}: no training step would run, and the test would score untrained "
                f"weights; set it >= 1."
            )
    for loop in loops:
        key = f"limit_{loop}_batches"
        if _is_zero(trainer.get(key)):
            return (
                f"trainer.{key}={trainer[key]!r}: the {loop} loop is the measured result and would run no batch; "
                f"remove it or set it above 0."
            )
    return None


def _is_zero(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value == 0
