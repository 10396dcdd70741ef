"""Perplexity against generated tokens per joule: a tiny decoder-only transformer on Python's documentation text.

The model (``lightning_ecopt.demos.TinyTransformerLM``) trains briefly on ``pydoc_data.topics`` (ships with Python),
then is tested (perplexity) and generates 32 characters per prompt in a predict loop that
``EnergyCallback(count_fn=...)`` measures (``energy/predict_tokens_per_j``). Generation runs in whole batches of the
swept ``data.gen_batch_size``: a warm-up batch, then enough batches for all 64 prompts, repeated in whole passes
until the measured window lasts ``energy.min_duration_s`` (``CharTextDataModule``'s ``gen_*`` settings). The test
loop is measured too, for the search's energy ledger. The sweep searches width, depth, heads, sequence length and the
generation batch size (inference-only: trials that differ only in it load one cached checkpoint)::

    python examples/transformer_generation.py                 # one run
    python examples/transformer_generation.py -m              # the sweep (16 trials)
    ecopt report multirun/transformer_generation/<date>

Each run's Lightning logs go to its Hydra output dir (a sweep: the trial's job dir).
"""

from __future__ import annotations

import logging
import warnings
from typing import Any

import hydra
from omegaconf import DictConfig

log = logging.getLogger(__name__)


def generated_tokens(batch: Any, outputs: Any) -> int:
    """``count_fn`` for the predict loop's ``EnergyCallback``: the tokens a generation batch produced.

    ``outputs`` is what ``predict_step`` returned: Lightning passes it to ``on_predict_batch_end`` whether or not
    ``trainer.predict`` keeps the predictions (``return_predictions=False`` only stops it from collecting them).
    ``EnergyCallback`` calls ``count_fn`` in every loop it measures, so this one goes to a callback that measures the
    predict loop only: the test loop's ``test_step`` returns ``None``, which is no generation.

    Raises:
        TypeError: ``outputs`` is not a tensor of generated tokens.
    """
    import torch

    if not isinstance(outputs, torch.Tensor):
        raise TypeError(
            f"generated_tokens: expected the generated tokens (a tensor) from predict_step, got "
            f"{type(outputs).__name__}; use it as count_fn of an EnergyCallback(stages=('predict',)) on a model whose "
            "predict_step returns the tokens it generated."
        )
    return int(outputs.numel())


@hydra.main(version_base="1.3", config_path="../conf", config_name="transformer_generation")
def main(cfg: DictConfig) -> dict[str, float | str]:
    """Train (or load), test perplexity, generate under an energy window; return the figures.

    A ``trainer.logger`` in the config replaces the default TensorBoard logger, and ``trainer.callbacks`` are added
    beside the two ``EnergyCallback`` (:func:`~lightning_ecopt.demos.trainer_settings`); a W&B run the trial opened
    ends with it (:func:`~lightning_ecopt.demos.ending_tracker_runs`).
    """
    from lightning_ecopt.demos import ending_tracker_runs

    with ending_tracker_runs():
        return generation_trial(cfg)


def generation_trial(cfg: DictConfig) -> dict[str, float | str]:
    """One trial of :func:`main`: the figures it returns."""
    import lightning.pytorch as pl
    from hydra.core.hydra_config import HydraConfig
    from lightning.pytorch.loggers import TensorBoardLogger

    from lightning_ecopt import EnergyCallback, trial_metrics
    from lightning_ecopt.checkpoints import CheckpointCache
    from lightning_ecopt.demos import (
        NO_TRAINING_STEP,
        CharTextDataModule,
        TinyTransformerLM,
        keep_what_ran,
        nothing_to_measure,
        processes_in_a_sweep,
        trainer_settings,
        what_ran,
    )
    from lightning_ecopt.exceptions import NOTHING_RAN, TrialFailure

    warnings.filterwarnings("ignore", ".*does not have many workers.*")
    warnings.filterwarnings("ignore", ".*LeafSpec.*", FutureWarning)  # torch 2.13 warns so in Lightning's pytree
    warnings.filterwarnings("ignore", ".*enable_nested_tensor.*")
    logging.getLogger("lightning.pytorch").setLevel(logging.WARNING)
    # Nothing ran yet: a configuration that cannot be built (width not a multiple of heads, an unknown Trainer option)
    # fails with 0 J, known, so the ledger counts the trial instead of making the search total a lower bound.
    with keep_what_ran(lambda: NOTHING_RAN):
        pl.seed_everything(cfg.seed, workers=True, verbose=False)
        refusal = nothing_to_measure(cfg.trainer, ("test", "predict"))
        if refusal is not None:  # a fit of no step, a loop of no batch: nothing to report as this configuration's
            raise TrialFailure(refusal, metrics=NOTHING_RAN)
        data = CharTextDataModule(**cfg.data)
        model = TinyTransformerLM(vocab_size=data.vocab_size, seq_len=cfg.data.seq_len, **cfg.model)
        # Generation is the inference that serves users: its callback counts the generated tokens and accounts the
        # training. The test loop (perplexity) has its own, without count_fn (count_fn runs in every loop a callback
        # measures): only its joules are wanted, for the search cost, so no window length is required of it.
        # One inference of the predict loop is a whole generation (predict_step, counted on a meta copy: it has no side
        # effects), logged as model/predict_step_flops_per_sample, which the proxy audit pairs with the J per prompt;
        # the test loop logs one forward pass over a test sequence as model/flops_per_sample.
        energy = EnergyCallback(
            stages=("predict",), count_fn=generated_tokens, predict_flops="predict_step", **cfg.energy
        )
        test_energy = EnergyCallback(
            stages=("test",), **{**cfg.energy, "train": False, "warmup_batches": 0, "min_duration_s": 0.0}
        )
        # Each run's Lightning logs go to its own output dir (a sweep's job dir; Hydra does not chdir), as in train.py;
        # no hp_metric placeholder: the sweep's HParams view holds the real metrics.
        # A trainer.logger in the config replaces it (false: none); trainer.callbacks join the app's own.
        out_dir = HydraConfig.get().runtime.output_dir if HydraConfig.initialized() else "."
        trainer_kwargs, logger, extra_callbacks = trainer_settings(
            cfg.trainer, lambda: TensorBoardLogger(save_dir=out_dir, name="lightning_logs", default_hp_metric=False)
        )
        trainer = pl.Trainer(**trainer_kwargs, callbacks=[test_energy, energy, *extra_callbacks], logger=logger)
        refusal = processes_in_a_sweep(trainer)  # before fit(): Lightning's DDP launcher reruns the command
        if refusal is not None:
            raise TrialFailure(refusal, metrics=NOTHING_RAN)

    def fit() -> dict[str, float | str]:
        trainer.fit(model, datamodule=data)
        if trainer.global_step == 0:  # untrained weights: their perplexity is no result (its energy still counts)
            raise TrialFailure(NO_TRAINING_STEP, metrics=trial_metrics(trainer))
        return trial_metrics(trainer)

    cache = CheckpointCache.from_hydra()  # None in a single run
    trained = None
    # Whatever fails from here keeps the figures of what ran (the fit, a checkpoint's accounting), or 0 J.
    with keep_what_ran(lambda: what_ran(trainer, trainer, trained)):
        trained = cache.fit_or_load(cfg, model, fit) if cache is not None else None
        if trained is None:
            fit()
        trainer.test(model, datamodule=data, verbose=False)
        trainer.predict(model, datamodule=data, return_predictions=False)  # count_fn sees each batch's outputs
    # `ecopt report` takes its energy per inference from the loop the energy objective names: the predict loop's J
    # per prompt; the test loop's joules count in the search energy.
    metrics = trial_metrics(trainer)  # test/perplexity too: the EnergyCallbacks keep what each loop logged
    if trained is not None:
        metrics.update(trained.metrics())
    sample = data.decode(model.generate(data.encode("def ")[None, :], 40)[0])
    log.info(
        "perplexity %.3g | %.4g generated tokens/J (%s) | %d tokens (%d prompts at batch %d) in %.3g s | test %.3g J"
        " with warm-up | train %s | sample %r",
        metrics["test/perplexity"],
        metrics["energy/predict_tokens_per_j"],
        metrics["energy/source"],
        metrics["energy/predict_tokens"],
        metrics["energy/predict_samples"],
        cfg.data.gen_batch_size,
        metrics["energy/predict_time_s"],
        test_energy.results["test"].energy_j + test_energy.results["test"].warmup_j,
        f"{metrics['energy/train_j']:.3g} J" if "energy/train_j" in metrics else "not measured (energy.train=false)",
        "def " + sample,
    )
    return metrics


if __name__ == "__main__":
    main()
