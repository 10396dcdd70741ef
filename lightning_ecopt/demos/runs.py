"""What the example apps check of a run's Trainer settings before they build anything, and keep when a trial fails."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

__all__ = ["NO_TRAINING_STEP", "keep_what_ran", "nothing_to_measure", "processes_in_a_sweep", "what_ran"]

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


def what_ran(fit_trainer: Any, trainer: Any, trained: Any = None) -> dict[str, float | str]:
    """The figures of what ran before a trial failed, for its share of the search energy.

    Args:
        fit_trainer: The Trainer of the fit: one that never started a loop trained nothing (weights loaded, or a
            refusal first), 0 J, known (:data:`~lightning_ecopt.exceptions.NOTHING_RAN`).
        trainer: The Trainer that ran last (the fit's, or the test's): its :func:`~lightning_ecopt.trial_metrics`.
        trained: The :class:`~lightning_ecopt.checkpoints.CachedTraining` loaded (or trained) before the failure, if
            any: its figures count too.
    """
    from lightning_ecopt.callbacks.energy import trial_metrics
    from lightning_ecopt.exceptions import NOTHING_RAN

    known: dict[str, float | str] = dict(NOTHING_RAN) if fit_trainer.state.fn is None else {}
    known.update(trial_metrics(trainer))
    if trained is not None:
        known.update(trained.metrics())
    return known


@contextlib.contextmanager
def keep_what_ran(spent: Callable[[], Mapping[str, float | str]]) -> Iterator[None]:
    """Fail the trial with the figures of what ran (``spent()``) whatever goes wrong inside.

    A :class:`~lightning_ecopt.exceptions.TrialTimeoutError` (the sweep's ``trial_timeout_s``) stays one, with those
    figures attached; another :class:`~lightning_ecopt.exceptions.TrialFailure` passes as raised; a
    :class:`~lightning_ecopt.checkpoints.CheckpointCacheError` (refused before any fit) ran nothing, 0 J, known; any
    other exception (out of memory included) becomes a ``TrialFailure`` naming it.

    Example::

        with keep_what_ran(lambda: NOTHING_RAN):  # building the model: nothing ran yet
            model = DigitsCNN(**cfg.model)
    """
    from lightning_ecopt.checkpoints import CheckpointCacheError
    from lightning_ecopt.exceptions import NOTHING_RAN, TrialFailure, TrialTimeoutError

    try:
        yield
    except TrialTimeoutError as err:
        err.metrics = {**spent(), **err.metrics}
        raise
    except TrialFailure:
        raise
    except CheckpointCacheError as err:
        raise TrialFailure(f"{type(err).__name__}: {err}", metrics=NOTHING_RAN) from err
    except Exception as err:
        raise TrialFailure(f"{type(err).__name__}: {err}", metrics=spent()) from err


def _is_zero(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value == 0
