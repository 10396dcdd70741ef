"""Run a test loop under DDP on 2 CPU processes and print rank 0's energy figures as JSON (used by the tests)."""

import json
import sys

from lightning.pytorch import Trainer
from lightning.pytorch.demos.boring_classes import BoringModel, RandomDataset
from torch.utils.data import DataLoader

from lightning_ecopt import EnergyCallback


class Model(BoringModel):
    def test_dataloader(self) -> DataLoader:
        return DataLoader(RandomDataset(32, 64), batch_size=4)  # 16 batches, 8 per rank


if __name__ == "__main__":
    cb = EnergyCallback(meter="estimate", warmup_batches=2)
    trainer = Trainer(
        strategy="ddp",
        devices=2,
        accelerator="cpu",
        callbacks=[cb],
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    trainer.test(Model(), verbose=False)
    r = cb.results["test"]
    if trainer.global_rank == 0:
        print(
            "RESULT "
            + json.dumps(
                {
                    "samples": r.samples,
                    "batches": r.batches,
                    "source": r.source,
                    "energy_j": r.energy_j,
                    "world_size": trainer.world_size,
                    "logged_samples": trainer.callback_metrics["energy/test_samples"].item(),
                }
            )
        )
    sys.stdout.flush()
    # Tear the process group down before the interpreter does: left to exit, gloo's threads were once destroyed while
    # joinable ("terminate called without an active exception", SIGABRT, a red CI run with every figure right).
    import torch.distributed as dist

    if dist.is_initialized():
        dist.destroy_process_group()
