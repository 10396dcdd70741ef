"""Perplexity against generated tokens per joule: a tiny decoder-only transformer on Python's documentation text.

The model (``lightning_ecopt.demos.TinyTransformerLM``) trains briefly on ``pydoc_data.topics`` (ships with Python),
then is tested (perplexity) and generates 32 characters for each of 64 prompts in a predict loop that
``EnergyCallback(count_fn=...)`` measures (``energy/predict_tokens_per_j``). The sweep searches width, depth, heads,
sequence length and the generation batch size (inference-only: trials that differ only in it load one cached
checkpoint)::

    python examples/transformer_generation.py                 # one run
    python examples/transformer_generation.py -m              # the sweep (16 trials)
    ecopt report multirun/transformer_generation/<date>
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Mapping
from typing import Any

import hydra
from omegaconf import DictConfig

log = logging.getLogger(__name__)


def generated_tokens(batch: Any, outputs: Any) -> int:
    """``count_fn`` for ``EnergyCallback``: the tokens a generation batch produced (``predict_step``'s output).

    Lightning passes ``outputs=None`` when ``trainer.predict(..., return_predictions=False)``: keep the predictions.
    """
    if outputs is None:
        raise ValueError(
            "generated_tokens: the predict loop returned no outputs; call trainer.predict(..., "
            "return_predictions=True) so that the generated tokens can be counted."
        )
    return int(outputs.numel())


@hydra.main(version_base="1.3", config_path="../conf", config_name="transformer_generation")
def main(cfg: DictConfig) -> dict[str, float | str]:
    """Train (or load), test perplexity, generate under an energy window; return the figures."""
    import lightning.pytorch as pl
    from lightning.pytorch.loggers import TensorBoardLogger

    from lightning_ecopt import EnergyCallback, trial_metrics
    from lightning_ecopt.checkpoints import CheckpointCache
    from lightning_ecopt.demos import CharTextDataModule, TinyTransformerLM
    from lightning_ecopt.exceptions import TrialFailure

    warnings.filterwarnings("ignore", ".*does not have many workers.*")
    warnings.filterwarnings("ignore", ".*LeafSpec.*", FutureWarning)  # torch 2.13 warns so in Lightning's pytree
    warnings.filterwarnings("ignore", ".*enable_nested_tensor.*")
    logging.getLogger("lightning.pytorch").setLevel(logging.WARNING)
    pl.seed_everything(cfg.seed, workers=True, verbose=False)
    data = CharTextDataModule(**cfg.data)
    model = TinyTransformerLM(vocab_size=data.vocab_size, seq_len=cfg.data.seq_len, **cfg.model)
    # Only generation is measured: it is the inference that serves users (the test loop just scores perplexity), so
    # `ecopt report` takes its energy per inference from the predict loop (J per prompt).
    energy = EnergyCallback(stages=("predict",), count_fn=generated_tokens, **cfg.energy)
    logger = TensorBoardLogger(save_dir=os.getcwd(), name="lightning_logs")
    trainer = pl.Trainer(**cfg.trainer, callbacks=[energy], logger=logger)

    def fit() -> dict[str, float | str]:
        trainer.fit(model, datamodule=data)
        return trial_metrics(trainer)

    cache = CheckpointCache.from_hydra()  # None in a single run
    tested: list[Mapping[str, float]] = []
    try:
        trained = cache.fit_or_load(cfg, model, fit) if cache is not None else None
        if trained is None:
            fit()
        tested = trainer.test(model, datamodule=data, verbose=False)
        trainer.predict(model, datamodule=data)  # count_fn reads the outputs: keep them
    except Exception as err:
        raise TrialFailure(f"{type(err).__name__}: {err}", metrics=trial_metrics(trainer)) from err
    metrics = trial_metrics(trainer, *tested)  # predict() resets callback_metrics: the test's come from test()
    if trained is not None:
        metrics.update(trained.metrics())
    sample = data.decode(model.generate(data.encode("def ")[None, :], 40)[0])
    log.info(
        "perplexity %.3g | %.4g generated tokens/J (%s) | %d tokens in %.3g s | train %.3g J | sample %r",
        metrics["test/perplexity"],
        metrics["energy/predict_tokens_per_j"],
        metrics["energy/source"],
        metrics["energy/predict_tokens"],
        metrics["energy/predict_time_s"],
        metrics.get("energy/train_j", float("nan")),
        "def " + sample,
    )
    return metrics


if __name__ == "__main__":
    main()
