"""Measured energy on a real NVIDIA GPU (marker ``gpu``: skipped where Zeus finds no GPU counter)."""

from __future__ import annotations

import pytest
import torch
from lightning.pytorch import Trainer

from lightning_ecopt import EnergyCallback
from lightning_ecopt.demos import DigitsCNN, DigitsDataModule

pytestmark = pytest.mark.gpu


def test_test_loop_is_measured_by_nvml() -> None:
    cb = EnergyCallback(meter="zeus", warmup_batches=3, min_duration_s=0.0)
    dm = DigitsDataModule(eval_batch_size=64, eval_repeats=50)
    trainer = Trainer(accelerator="gpu", devices=1, callbacks=[cb], logger=False, enable_progress_bar=False)
    trainer.test(DigitsCNN(width=64, depth=3, kernel=5), dm, verbose=False)
    r = cb.results["test"]
    assert r.source.startswith("measured: zeus/nvml")
    assert r.gpu_j > 0
    assert r.samples_per_j > 0
    assert r.samples == 50 * len(dm.test_set) - 3 * 64


def test_zeus_meter_reads_the_gpu_this_process_uses() -> None:
    from lightning_ecopt.energy import ZeusMeter

    meter = ZeusMeter(gpu_indices=[torch.cuda.current_device()], read_cpu=False)
    meter.begin("w")
    x = torch.rand(4096, 4096, device="cuda")
    for _ in range(200):
        x = x @ x
        x = x / x.norm()
    m = meter.end("w")
    assert list(m.gpu_j) == [torch.cuda.current_device()]
    assert m.gpu_total_j > 0
