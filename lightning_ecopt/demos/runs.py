"""Checks the example apps make of a run's Trainer settings before they build anything."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["NO_TRAINING_STEP", "nothing_to_measure", "processes_in_a_sweep"]

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


def processes_in_a_sweep(trainer: Any, multirun: bool | None = None) -> str | None:
    """Why a multirun trial cannot run on this ``Trainer``, which would start processes of its own, or ``None``.

    Lightning's DDP launcher starts each further rank by running the command line again: in a multirun that is the
    whole sweep (``-m``), which each rank starts over (the sweep's lock refuses the second, and the sweep is killed).
    A spawning strategy (``ddp_spawn``, ``ddp_fork``) trains in processes whose figures do not come back whole (the
    trial's global step stays 0: "no training step ran"). Processes started by someone else (SLURM's tasks, torchrun)
    are fine: Lightning joins them.

    Args:
        trainer: A built ``Trainer`` (nothing is run).
        multirun: Whether this runs as a trial of a multirun; default: what Hydra says (``RunMode.MULTIRUN``).

    Example::

        refusal = processes_in_a_sweep(pl.Trainer(accelerator="cpu", devices=2, strategy="ddp"), multirun=True)
        # "trainer.devices=2 (num_nodes=1), strategy DDPStrategy: ..."
    """
    if multirun is None:
        from hydra.core.hydra_config import HydraConfig
        from hydra.types import RunMode

        multirun = HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN
    launcher = getattr(getattr(trainer, "strategy", None), "launcher", None)
    processes = int(getattr(trainer, "num_devices", 1)) * int(getattr(trainer, "num_nodes", 1))
    if not multirun or launcher is None or processes <= 1:
        return None
    environment = getattr(launcher, "cluster_environment", None)
    if getattr(environment, "creates_processes_externally", False):  # SLURM's tasks, torchrun: Lightning joins them
        return None
    return (
        f"trainer.devices={trainer.num_devices} (num_nodes={trainer.num_nodes}) with {type(trainer.strategy).__name__} "
        f"({type(launcher).__name__.lstrip('_')}): in a multirun (-m) Lightning would start the other ranks itself, "
        "by running the whole sweep again in each (a script launcher: each starts the sweep over, the sweep's lock "
        "refuses it, and the sweep is killed) or in spawned processes whose training does not come back to the "
        "trial. Give each trial one "
        "device (trainer.devices=1; trials side by side with hydra.sweeper.max_batch_size and a parallel launcher), "
        "or start one process per device from the launcher: hydra/launcher=submitit_slurm with "
        f"hydra.launcher.tasks_per_node={trainer.num_devices} (Lightning joins SLURM's tasks). A single run (no -m) "
        "runs on several devices as it is, or under torchrun."
    )


def _is_zero(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value == 0
