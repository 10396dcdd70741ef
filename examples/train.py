"""The main job: train the digits CNN, measure its test-loop energy, return accuracy and samples/J.

A single run prints its figures::

    python examples/train.py

A multi-objective sweep (Ax qNEHVI over the paper's CNN search space, scaled to 8x8 digits)::

    python examples/train.py -m hydra/sweeper=ecopt hydra.sweeper.n_trials=12

Inference-only knobs (``data.eval_batch_size``, ``inference.precision``, ``inference.quantize_int8``,
``inference.compile``) are listed in ``hydra.sweeper.inference_params``: in a multirun, trials that differ only in
them load one cached checkpoint instead of training again (``lightning_ecopt.checkpoints``), and report
``energy/train_j = 0`` with the avoided cost as ``energy/train_reused_j``.
"""

from __future__ import annotations

import logging
import warnings
from typing import TYPE_CHECKING, Any

import hydra
from omegaconf import DictConfig

if TYPE_CHECKING:
    from lightning_ecopt.checkpoints import CheckpointCache

log = logging.getLogger(__name__)


def digits_trial(cfg: DictConfig, cache: CheckpointCache | None = None) -> dict[str, float | str]:
    """Fit (or load the cached checkpoint of) the digits CNN, apply the inference knobs, test, return the figures.

    A ``trainer.logger`` in the config replaces the default TensorBoard logger, and ``trainer.callbacks`` are added
    beside the ``EnergyCallback`` (:func:`~lightning_ecopt.demos.trainer_settings`); a W&B run the trial opened ends
    with it (:func:`~lightning_ecopt.demos.ending_tracker_runs`).

    Args:
        cfg: The job's config (``conf/train.yaml``).
        cache: The checkpoint cache; default the running multirun's (``CheckpointCache.from_hydra()``), none in a
            single run.

    Returns:
        ``trial_metrics`` of the test (accuracy, energy figures and their source) and the training accounting.

    Raises:
        TrialFailure: Anything failed; the energy spent so far is kept with the failure (0 J for a model that
            cannot be built, or a cached checkpoint that cannot be loaded). A ``TrialTimeoutError`` (the sweep's
            ``trial_timeout_s``) stays one, with the figures of what ran before it (the fit, the checkpoint's
            accounting) attached.
    """
    from lightning_ecopt.demos import ending_tracker_runs

    with ending_tracker_runs():
        return _digits_trial(cfg, cache)


def _digits_trial(cfg: DictConfig, cache: CheckpointCache | None) -> dict[str, float | str]:
    # Heavy imports inside the task: Hydra starts fast and joblib workers import only what they run.
    import lightning.pytorch as pl
    from hydra.core.hydra_config import HydraConfig
    from lightning.pytorch.callbacks import EarlyStopping
    from lightning.pytorch.loggers import TensorBoardLogger

    from lightning_ecopt import EnergyCallback, trial_metrics
    from lightning_ecopt.checkpoints import CheckpointCache
    from lightning_ecopt.demos import (
        NO_TRAINING_STEP,
        DigitsCNN,
        DigitsDataModule,
        keep_what_ran,
        nothing_to_measure,
        processes_in_a_sweep,
        trainer_settings,
        what_ran,
    )
    from lightning_ecopt.exceptions import NOTHING_RAN, TrialFailure
    from lightning_ecopt.inference import PRECISIONS, prepare_for_inference

    warnings.filterwarnings("ignore", ".*does not have many workers.*")
    warnings.filterwarnings("ignore", ".*LeafSpec.*", FutureWarning)  # torch 2.13 warns so in Lightning's pytree
    logging.getLogger("lightning.pytorch").setLevel(logging.WARNING)  # no banners: one result line per trial
    # Nothing has run while the model, the data and the trainers are built: a configuration that cannot be (pooling
    # past depth 3, eval_batch_size=0, an unknown Trainer option) fails with 0 J, known, so the ledger counts the
    # trial instead of making the search total a lower bound.
    with keep_what_ran(lambda: NOTHING_RAN):
        pl.seed_everything(cfg.seed, workers=True, verbose=False)
        refusal = nothing_to_measure(cfg.trainer, ("test",))
        if refusal is not None:  # a fit of no step, a test of no batch: nothing to report as this configuration's
            raise TrialFailure(refusal, metrics=NOTHING_RAN)
        try:
            model = DigitsCNN(**cfg.model)
        except ValueError as err:  # its refusal of a configuration, which names the fix: no traceback to log
            raise TrialFailure(f"{type(err).__name__}: {err}", metrics=NOTHING_RAN) from None
        data = DigitsDataModule(**cfg.data)
        energy = EnergyCallback(**cfg.energy)  # one callback for both Trainers: the fit's figures and the test's
        # Each trial's own Lightning logs go to its job dir (Hydra does not chdir); the sweep's frontier views are in
        # <sweep dir>/tensorboard. No hp_metric placeholder: the sweep's HParams view holds the real metrics.
        # Outside a Hydra job: the current folder (inference_batch_size.py measures batch 1 after its sweep under
        # the best job's Hydra config, with <sweep dir>/batch1 as its output dir).
        # A trainer.logger in the config replaces it (false: none); trainer.callbacks join the app's own.
        out_dir = HydraConfig.get().runtime.output_dir if HydraConfig.initialized() else "."
        trainer_kwargs, logger, extra_callbacks = trainer_settings(
            cfg.trainer, lambda: TensorBoardLogger(save_dir=out_dir, name="lightning_logs", default_hp_metric=False)
        )
        early_stopping = EarlyStopping(monitor="val/loss", patience=cfg.patience)
        fit_trainer = pl.Trainer(**trainer_kwargs, callbacks=[energy, early_stopping, *extra_callbacks], logger=logger)
        precision = cfg.inference.precision
        if precision not in PRECISIONS:  # Lightning also takes "16", "bf16", 32...: one name per setting, one label
            raise TrialFailure(
                f"inference.precision={precision!r}: expected one of {', '.join(PRECISIONS)}.", metrics=NOTHING_RAN
            )
        # torch.compile compiles the first batch, in the energy window's warm-up; a batch of a new size (the last,
        # partial one) would compile again inside the measured window: there it runs eagerly instead.
        no_compiling = [_no_compiling_in_window(cfg.energy.warmup_batches)] if cfg.inference.compile else []
        test_trainer = pl.Trainer(
            **{**trainer_kwargs, "precision": precision},
            callbacks=[energy, *no_compiling, *extra_callbacks],
            logger=logger,
        )
        refusal = processes_in_a_sweep(fit_trainer)  # before fit(): Lightning's DDP launcher reruns the command
        if refusal is not None:
            raise TrialFailure(refusal, metrics=NOTHING_RAN)
        test_batches = _test_batches(data, test_trainer) if cfg.inference.compile else None
    refusal = _knobs_refusal(cfg.inference, test_trainer, cfg.energy.warmup_batches, test_batches, cfg.data)
    if refusal is not None:  # before training: a knob the test loop cannot run as named would waste it
        raise TrialFailure(refusal, metrics=NOTHING_RAN)

    def fit() -> dict[str, float | str]:
        fit_trainer.fit(model, datamodule=data)
        if fit_trainer.global_step == 0:  # untrained weights: their test is no result (its energy still counts)
            raise TrialFailure(NO_TRAINING_STEP, metrics=trial_metrics(fit_trainer))
        return trial_metrics(fit_trainer)

    if cache is None:
        cache = CheckpointCache.from_hydra()  # None in a single run: train as usual
    trainer = fit_trainer
    trained = None
    # Whatever fails from here keeps the figures of what ran (the fit, a checkpoint's accounting), or 0 J.
    with keep_what_ran(lambda: what_ran(fit_trainer, trainer, trained)):
        trained = cache.fit_or_load(cfg, model, fit) if cache is not None else None
        if trained is None:
            fit()
        trainer = test_trainer
        # Trained under a "-true" precision (bf16-true, 16-true), Lightning leaves the weights in that dtype, where a
        # trial that loads the cached checkpoint builds the model in float32 and loads them into it: the same model
        # either way, and the test loop's inference.precision decides how it runs.
        model.float()
        if cfg.inference.compile:
            import torch

            # Dynamo keeps its compiled code per code object, up to a limit (8): one process running trial after
            # trial (the basic launcher, a joblib worker) reached it and ran the later "compiled" trials eagerly.
            torch._dynamo.reset()
        runnable = prepare_for_inference(
            model, quantize_int8=cfg.inference.quantize_int8, compile=cfg.inference.compile
        )
        test_trainer.test(runnable, datamodule=data, verbose=False)
    metrics = trial_metrics(test_trainer)
    test = energy.results["test"]
    # Serving latency of one batch: the slowest rank's time over its own batches (``batches`` counts every rank's).
    per_rank = max(test.batches / test_trainer.world_size, 1)
    metrics["test/batch_latency_ms"] = 1e3 * test.time_s / per_rank
    if trained is not None:
        metrics.update(trained.metrics())
    log.info(
        "test/acc %.4f | %.1f samples/J (%s) | %.4g J over %d test samples | train %s%s",
        metrics["test/acc"],
        metrics["energy/test_samples_per_j"],
        metrics["energy/source"],
        metrics["energy/test_j"],
        metrics["energy/test_samples"],
        f"{metrics['energy/train_j']:.3g} J" if "energy/train_j" in metrics else "not measured (energy.train=false)",
        f" (checkpoint reused: {metrics['energy/train_reused_j']:.3g} J not spent)"
        if metrics.get("checkpoint/reused")
        else "",
    )
    return metrics


def _knobs_refusal(
    inference: DictConfig,
    test_trainer: Any,
    warmup_batches: int,
    test_batches: int | None = None,
    data: DictConfig | None = None,
) -> str | None:
    """Why the test loop cannot run the inference knobs as named, or ``None``.

    Args:
        inference: The ``inference`` section of the config.
        test_trainer: The Trainer of the test loop.
        warmup_batches: The energy callback's warm-up batches (``energy.warmup_batches``).
        test_batches: The most batches the test loop can run (:func:`_test_batches`), if known.
        data: The ``data`` section of the config, named in the advice.
    """
    from lightning.pytorch.accelerators import CPUAccelerator

    from lightning_ecopt.inference import PRECISIONS, check_cpp_compiler

    for knob in ("quantize_int8", "compile"):
        if not isinstance(inference[knob], bool):
            return f"inference.{knob}={inference[knob]!r}: expected true or false."
    if inference.compile and warmup_batches < 1:
        # A review measured 317 samples/J compiled against 3,700 eager: the window held ~1.8 s of compilation.
        return (
            f"inference.compile=true with energy.warmup_batches={warmup_batches}: the first test batch would compile "
            f"the model inside the measured window, so the trial would measure the compilation; set "
            f"energy.warmup_batches=1 or more (those batches pay it) or inference.compile=false."
        )
    if inference.compile and test_batches is not None and test_batches <= warmup_batches:
        # A review measured 108 samples/J compiled against 1,040 eager at 2 batches and warmup_batches=3: a loop that
        # ends inside its warm-up is measured whole, the compilation in it.
        knobs = "" if data is None else f" (data.eval_batch_size={data.eval_batch_size}, "
        knobs += "" if data is None else f"data.eval_repeats={data.eval_repeats})"
        return (
            f"inference.compile=true with a test loop of at most {test_batches} batches{knobs}, not more than "
            f"energy.warmup_batches={warmup_batches}: the loop would end inside its warm-up and be measured whole, "
            f"the compilation included; raise data.eval_repeats (or lower data.eval_batch_size) so that the loop "
            f"has more than {warmup_batches} batches, or set inference.compile=false."
        )
    if inference.compile and isinstance(test_trainer.accelerator, CPUAccelerator):
        try:  # before training: prepare_for_inference would find it only after the fit
            check_cpp_compiler()
        except RuntimeError as err:
            return f"inference.compile=true: {err}"
    device = type(test_trainer.accelerator).__name__
    if test_trainer.precision != inference.precision:  # on CPU Lightning runs "16-mixed" as bf16, under its label
        others = ", ".join(p for p in PRECISIONS if p != inference.precision)
        return (
            f"inference.precision={inference.precision!r}: the test loop would run {test_trainer.precision!r} on "
            f"{device} (fp16 autocast needs a GPU); use one of {others} there."
        )
    if inference.quantize_int8 and not isinstance(test_trainer.accelerator, CPUAccelerator):
        # Lightning moves the model back to CPU after fitting, so prepare_for_inference's own check cannot see it:
        # the int8 layers would fail in the first test batch on the GPU, after training.
        return (
            f"inference.quantize_int8=true: dynamic int8 quantisation runs on CPU only, and the test loop runs on "
            f"{device}; set trainer.accelerator=cpu or inference.quantize_int8=false."
        )
    return None


def _test_batches(data: Any, test_trainer: Any) -> int:
    """The most batches the test loop of ``data`` can run on each rank (``eval_repeats`` whole passes, at most).

    ``TimedPasses`` may stop sooner, but never inside the warm-up: only at the end of a pass begun after it.
    """
    data.setup("test")  # the split is seeded by the data module's own generator: the fit's setup then reuses it
    samples = -(-len(data.test_set) * data.eval_repeats // max(test_trainer.world_size, 1))
    batches = -(-samples // data.eval_batch_size)
    limit = test_trainer.limit_test_batches
    if isinstance(limit, int) and not isinstance(limit, bool):
        return min(batches, limit)
    if isinstance(limit, float) and limit < 1.0:
        return int(batches * limit)
    return batches


def _no_compiling_in_window(warmup_batches: int) -> Any:
    """A callback: from test batch ``warmup_batches`` on, code ``torch.compile`` has not compiled yet runs eagerly.

    The energy window's warm-up batches pay the compilation (their joules are ``energy/test_warmup_j``). A batch of a
    size first seen in the measured window (the last, partial one) compiled there: one compilation outlasts a small
    model's whole window, and its samples/J came out tens of times too low. Without warm-up batches
    (``energy.warmup_batches=0``) the compilation would be measured: :func:`_knobs_refusal` refuses that.
    """
    import torch
    from lightning.pytorch import Callback

    class NoCompilingInWindow(Callback):
        def on_test_batch_start(self, trainer: Any, pl_module: Any, batch: Any, batch_idx: int, *args: Any) -> None:
            if batch_idx == warmup_batches > 0:  # this stance compiles nothing new, a first compilation included
                torch.compiler.set_stance("eager_on_recompile")

        def on_test_end(self, trainer: Any, pl_module: Any) -> None:
            torch.compiler.set_stance("default")

        def on_exception(self, trainer: Any, pl_module: Any, exception: BaseException) -> None:
            torch.compiler.set_stance("default")

    return NoCompilingInWindow()


@hydra.main(version_base="1.3", config_path="../conf", config_name="train")
def main(cfg: DictConfig) -> dict[str, float | str]:
    """Train, test and return ``trial_metrics`` (test accuracy, energy figures and their source)."""
    return digits_trial(cfg)


if __name__ == "__main__":
    main()
