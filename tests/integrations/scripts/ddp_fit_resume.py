"""Fit under DDP on 2 CPU processes saving checkpoints, or resume such a fit (``first|resume <dir>``), and print rank
0's training figures and the last checkpoint's EnergyCallback state as JSON (used by the tests).

Each rank's training step costs 1 s and (rank + 1) J on a fake meter, so every figure is exact: 3 J a step, summed
over the ranks.
"""

import json
import sys

import torch
from lightning.pytorch import Trainer
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.demos.boring_classes import BoringModel

from lightning_ecopt import EnergyCallback
from lightning_ecopt.energy import Measurement


class RankMeter:
    """An EnergyMeter reading a clock that the rank's training steps advance."""

    source = "measured: fake/counters"
    update_period_s = 1e-6

    def __init__(self) -> None:
        self.time_s, self.gpu_j = 0.0, 0.0
        self.open: dict[str, tuple[float, float]] = {}

    def begin(self, name: str) -> None:
        self.open[name] = (self.time_s, self.gpu_j)

    def end(self, name: str) -> Measurement:
        t0, j0 = self.open.pop(name)
        return Measurement(time_s=self.time_s - t0, gpu_j={0: self.gpu_j - j0}, source=self.source)


class Model(BoringModel):
    def __init__(self, meter: RankMeter) -> None:
        super().__init__()
        self.meter = meter

    def training_step(self, batch: torch.Tensor, batch_idx: int) -> object:
        self.meter.time_s += 1.0
        self.meter.gpu_j += self.global_rank + 1.0
        return super().training_step(batch, batch_idx)


if __name__ == "__main__":
    phase, folder = sys.argv[1], sys.argv[2]
    meter = RankMeter()
    cb = EnergyCallback(stages=(), train=True, meter=meter, log_model_stats=False)
    trainer = Trainer(
        strategy="ddp",
        devices=2,
        accelerator="cpu",
        callbacks=[cb, ModelCheckpoint(dirpath=folder, save_last=True)],
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        max_epochs=2 if phase == "first" else 3,
        limit_train_batches=4,
        limit_val_batches=0,
    )
    trainer.fit(Model(meter), ckpt_path=None if phase == "first" else f"{folder}/last.ckpt")
    if trainer.global_rank == 0:
        state = torch.load(f"{folder}/last.ckpt", weights_only=True)["callbacks"]["EnergyCallback"]
        logged = {k: v.item() for k, v in trainer.callback_metrics.items() if k.startswith("energy/train")}
        print("RESULT " + json.dumps({"logged": logged, "state": state, "world_size": trainer.world_size}))
    sys.stdout.flush()
    import torch.distributed as dist

    if dist.is_initialized():
        dist.destroy_process_group()
