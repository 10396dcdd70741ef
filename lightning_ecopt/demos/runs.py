"""What the example apps check of a run's Trainer settings before they build anything, and keep when a trial fails.

Also how they read a ``trainer`` config's ``logger`` and ``callbacks`` (:func:`trainer_settings`), and end the
experiment tracker's run a trial opened (:func:`ending_tracker_runs`).
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

__all__ = [
    "NO_TRAINING_STEP",
    "ending_tracker_runs",
    "keep_what_ran",
    "nothing_to_measure",
    "processes_in_a_sweep",
    "trainer_settings",
    "what_ran",
]

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


_FORMS = {
    "logger": (
        "false, [] or {} (no logger), true or null (the app's default), a mapping with _target_ "
        "(+trainer.logger._target_=lightning.pytorch.loggers.CSVLogger "
        "'+trainer.logger.save_dir=${hydra:runtime.output_dir}', each trial's logs in its job dir), a list of such "
        "mappings, or a mapping of names to them (null entries are skipped, as in the lightning-hydra-template)"
    ),
    "callbacks": (
        "null, false, [] or {} (none beside the app's own), a mapping with _target_ "
        "('+trainer.callbacks={_target_:lightning.pytorch.callbacks.LearningRateMonitor}'), a list of such mappings, "
        "or a mapping of names to them (null entries are skipped, as in the lightning-hydra-template)"
    ),
}
"""The forms :func:`trainer_settings` accepts for each key, named in its refusals."""


def trainer_settings(
    trainer: Mapping[str, Any], default_logger: Callable[[], Any]
) -> tuple[dict[str, Any], Any, list[Any]]:
    """Split an app's ``trainer`` config into the ``Trainer``'s other arguments, its logger and extra callbacks.

    The apps build their ``Trainer`` with callbacks of their own (the ``EnergyCallback``) and a default logger, so
    ``**cfg.trainer`` with a ``logger`` or ``callbacks`` in it gave ``Trainer()`` the argument twice. Here a
    ``logger`` in the config replaces the default: ``false``, ``[]`` or ``{}`` for none, ``true`` or ``null`` for
    the default, a mapping with ``_target_`` (instantiated with ``hydra.utils.instantiate``), a list of them, or a
    mapping of names to them (``logger: {csv: {_target_: ...}, wandb: {_target_: ...}}``); a logger object is used as
    it is. ``callbacks``, in the same forms (``null``, ``false``, ``[]`` or ``{}``: none), are extra callbacks the
    app adds beside its own, never in their place. A ``null`` entry of a list or of a named mapping is skipped, as
    the lightning-hydra-template's ``instantiate_loggers`` and ``instantiate_callbacks`` skip it: that is how one
    entry of a config group is switched off (``trainer.logger.wandb=null``); with every entry ``null``, none.

    Args:
        trainer: The app's ``trainer`` config (the keyword arguments of ``pl.Trainer``).
        default_logger: Builds the app's logger where the config names none.

    Returns:
        ``(kwargs, logger, callbacks)``: the other ``Trainer`` arguments, the logger (``False``, one, or a list) and
        the extra callbacks (a list, maybe empty).

    Raises:
        TypeError: A ``logger`` or ``callbacks`` value of none of these forms (a string, a number, a mapping of
            neither ``_target_`` nor named mappings, ``callbacks: true``), naming it and the forms for that key.

    >>> kwargs, logger, callbacks = trainer_settings({"max_epochs": 1, "logger": False}, lambda: "default")
    >>> kwargs, logger, callbacks
    ({'max_epochs': 1}, False, [])
    >>> trainer_settings({}, lambda: "default")[1]
    'default'
    """
    kwargs = {str(key): value for key, value in trainer.items() if key not in ("logger", "callbacks")}
    given = trainer.get("logger")
    if given is None or given is True:
        logger: Any = default_logger()
    elif given is False:
        logger = False
    else:
        loggers = _instantiated("logger", given)
        logger = False if not loggers else loggers[0] if len(loggers) == 1 and _is_one(given) else loggers
    given = trainer.get("callbacks")
    callbacks = [] if given is None or given is False else _instantiated("callbacks", given)
    return kwargs, logger, callbacks


def _is_one(value: Any) -> bool:
    """Whether a logger config is one logger (a ``_target_`` mapping or an object), not a list or named mapping."""
    return not _is_sequence(value) and not (_is_mapping(value) and "_target_" not in value)


def _is_mapping(value: Any) -> bool:
    from omegaconf import DictConfig

    return isinstance(value, Mapping | DictConfig)


def _is_sequence(value: Any) -> bool:
    from omegaconf import ListConfig

    return isinstance(value, ListConfig) or (isinstance(value, Sequence) and not isinstance(value, str | bytes))


def _instantiated(key: str, value: Any) -> list[Any]:
    """The objects ``trainer.<key>`` names: one ``_target_`` mapping, a list or a named mapping of them, or objects.

    ``null`` entries of a list or a named mapping are skipped; an empty one names none.
    """
    forms = _FORMS[key]
    if _is_sequence(value):
        items = [item for item in value if item is not None]
    elif _is_mapping(value) and "_target_" not in value:
        items = [item for item in value.values() if item is not None]
        if not all(_is_mapping(item) for item in items):
            raise TypeError(
                f"trainer.{key}={value!r}: a mapping without _target_ must map names to configs with _target_ "
                f"(or to null, skipped); expected {forms}."
            )
    else:
        items = [value]
    out = []
    for item in items:
        if _is_mapping(item):
            if "_target_" not in item:
                raise TypeError(f"trainer.{key}: {item!r} has no _target_ (the class to build); expected {forms}.")
            from hydra.utils import instantiate

            out.append(instantiate(item))
        elif isinstance(item, str | bytes | int | float) or _is_sequence(item):  # bool is an int; no nested lists
            raise TypeError(f"trainer.{key}: {item!r} is not a {key.rstrip('s')} config; expected {forms}.")
        else:
            out.append(item)  # an object built already (a Python caller's logger or callback)
    return out


def _wandb_run() -> Any:
    """W&B's run in progress in this process, if wandb is imported and one is open (``wandb.run``), else None."""
    return getattr(sys.modules.get("wandb"), "run", None)


@contextlib.contextmanager
def ending_tracker_runs() -> Iterator[None]:
    """End the W&B run a trial opened, whatever happens inside, so the next trial in this process opens its own.

    Lightning's ``WandbLogger`` never calls ``wandb.finish()`` (its ``finalize`` uploads checkpoints only), and a
    new ``WandbLogger`` reuses the run in progress: under a sweep on the basic launcher, trial 1 logged into trial
    0's run. A run that was open before the trial (the user's own ``wandb.init()``) is left open. Nothing is
    imported: without wandb in ``sys.modules`` there is nothing to end. MLflow needs no such step: Lightning's
    ``MLFlowLogger`` ends its run in ``finalize``, and keeps no active run of MLflow's own.

    Example::

        with ending_tracker_runs():
            metrics = run_one_trial(cfg)
    """
    before = _wandb_run()
    ok = False
    try:
        yield
        ok = True
    finally:
        run = _wandb_run()
        if run is not None and run is not before:
            run.finish(exit_code=0 if ok else 1)
