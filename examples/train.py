"""The main job: train the digits CNN, measure its test-loop energy, return accuracy and samples/J.

A single run prints its figures::

    python examples/train.py

A multi-objective sweep (Ax qNEHVI over the paper's CNN search space, scaled to 8x8 digits)::

    python examples/train.py -m hydra/sweeper=ecopt hydra.sweeper.n_trials=12
"""

from __future__ import annotations

import logging
import os
import warnings

import hydra
from omegaconf import DictConfig

log = logging.getLogger(__name__)


@hydra.main(version_base="1.3", config_path="../conf", config_name="train")
def main(cfg: DictConfig) -> dict[str, float | str]:
    """Train, test and return ``trial_metrics`` (test accuracy, energy figures and their source)."""
    # Heavy imports inside the task: Hydra starts fast and joblib workers import only what they run.
    import lightning.pytorch as pl
    from lightning.pytorch.callbacks import EarlyStopping
    from lightning.pytorch.loggers import TensorBoardLogger

    from lightning_ecopt import EnergyCallback, trial_metrics
    from lightning_ecopt.demos import DigitsCNN, DigitsDataModule
    from lightning_ecopt.exceptions import TrialFailure

    warnings.filterwarnings("ignore", ".*does not have many workers.*")
    warnings.filterwarnings("ignore", ".*LeafSpec.*", DeprecationWarning)
    logging.getLogger("lightning.pytorch").setLevel(logging.WARNING)  # no banners: one result line per trial
    pl.seed_everything(cfg.seed, workers=True, verbose=False)
    model = DigitsCNN(**cfg.model)
    data = DigitsDataModule(**cfg.data)
    energy = EnergyCallback(**cfg.energy)
    trainer = pl.Trainer(
        **cfg.trainer,
        callbacks=[energy, EarlyStopping(monitor="val/loss", patience=cfg.patience)],
        logger=TensorBoardLogger(save_dir=os.getcwd(), name="lightning_logs"),
    )
    try:
        trainer.fit(model, datamodule=data)
        trainer.test(model, datamodule=data, verbose=False)
    except Exception as err:  # out of memory included: a failed trial whose energy still counts
        raise TrialFailure(f"{type(err).__name__}: {err}", metrics=trial_metrics(trainer)) from err
    metrics = trial_metrics(trainer)
    log.info(
        "test/acc %.4f | %.1f samples/J (%s) | %.4g J over %d test samples | train %.3g J",
        metrics["test/acc"],
        metrics["energy/test_samples_per_j"],
        metrics["energy/source"],
        metrics["energy/test_j"],
        metrics["energy/test_samples"],
        metrics.get("energy/train_j", float("nan")),
    )
    return metrics


if __name__ == "__main__":
    main()
