"""Run a test and a predict loop under DDP on 2 CPU processes and print rank 0's energy figures as JSON (used by the
tests)."""

import json
import sys

from lightning.pytorch import Trainer
from lightning.pytorch.demos.boring_classes import BoringModel, RandomDataset
from torch.utils.data import DataLoader

from lightning_ecopt import EnergyCallback


class Model(BoringModel):
    def test_dataloader(self) -> DataLoader:
        return DataLoader(RandomDataset(32, 64), batch_size=4)  # 16 batches, 8 per rank

    def predict_dataloader(self) -> DataLoader:
        return DataLoader([f"prompt {i}" for i in range(22)], batch_size=4)  # texts: 11 a rank, in 4, 4, 3

    def predict_step(self, batch: list[str], batch_idx: int) -> int:
        return len(batch)


if __name__ == "__main__":
    cb = EnergyCallback(stages=("test", "predict"), meter="estimate", warmup_batches=2, log_model_stats=False)
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
    logged_samples = trainer.callback_metrics["energy/test_samples"].item()
    trainer.predict(Model(), return_predictions=False)
    p = cb.results["predict"]
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
                    "logged_samples": logged_samples,
                    "warmup_batches": r.warmup_batches,
                    "predict_samples": p.samples,
                    "predict_batches": p.batches,
                    "predict_warmup_batches": p.warmup_batches,
                }
            )
        )
    sys.stdout.flush()
    # Tear the process group down before the interpreter does: left to exit, gloo's threads were once destroyed while
    # joinable ("terminate called without an active exception", SIGABRT, a red CI run with every figure right).
    import torch.distributed as dist

    if dist.is_initialized():
        dist.destroy_process_group()
