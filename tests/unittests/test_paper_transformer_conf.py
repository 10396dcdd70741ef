"""The transformer example's config: every trial's perplexity is scored on the same text, whatever its context."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from lightning_ecopt.demos import CharTextDataModule, TinyTransformerLM

CONF = Path(__file__).resolve().parents[2] / "conf" / "transformer_generation.yaml"


def _swept_seq_lens() -> list[int]:
    space = OmegaConf.load(CONF).hydra.sweeper.params["data.seq_len"]
    (values,) = re.findall(r"choice\(([^)]*)\)", space)
    return [int(v) for v in values.split(",")]


@pytest.mark.parametrize("seq_len", _swept_seq_lens())
def test_perplexity_is_over_the_whole_test_split_at_every_swept_seq_len(seq_len: int) -> None:
    # limit_test_batches: 16 scored data.seq_len=16 on 16 of its 24 test batches (8,192 of 11,984 characters) and
    # every longer context on all of its text: perplexities of different text, compared on one frontier.
    from lightning.pytorch import Trainer

    cfg = OmegaConf.load(CONF)
    data = CharTextDataModule(**{**OmegaConf.to_container(cfg.data, resolve=True), "seq_len": seq_len})
    data.setup()
    model = TinyTransformerLM(vocab_size=data.vocab_size, width=16, depth=1, heads=1, seq_len=seq_len)
    trainer = Trainer(
        limit_test_batches=cfg.trainer.limit_test_batches,
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        enable_checkpointing=False,
    )
    trainer.test(model, dataloaders=data.test_dataloader(), verbose=False)
    assert trainer.num_test_batches == [len(data.test_dataloader())]
    assert model._test_tokens == len(data.test_dataloader().dataset) * seq_len
