"""The offline demo data: what a sweep over inference-only parameters may and may not change."""

from __future__ import annotations

from lightning_ecopt.demos import DigitsDataModule


def test_validation_runs_at_the_training_batch_size_not_the_swept_inference_one() -> None:
    # Validation is part of training: were it run at eval_batch_size, a batch-size sweep would pay a different
    # training cost per trial (batch 1 validated 3-5x dearer) and a reused checkpoint would carry the wrong one.
    dm = DigitsDataModule(batch_size=32, eval_batch_size=1, eval_repeats=2)
    dm.setup()
    assert dm.val_dataloader().batch_size == 32
    assert dm.train_dataloader().batch_size == 32
    assert dm.test_dataloader().batch_size == dm.predict_dataloader().batch_size == 1
    assert len(dm.test_dataloader().dataset) == 2 * len(dm.test_set)
