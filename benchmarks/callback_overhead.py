"""Benchmark: test-loop wall time with and without EnergyCallback, loop mode and per-batch mode, side by side.

Targets (issue 2): overhead <= 0.5 % in loop mode (per_batch="split") and <= 2 % in per-batch mode
(per_batch="window") on a 1,000-batch test loop. The three set-ups run interleaved, round after round, in one
process, so machine noise hits them alike; the figure is the median over rounds.

    python benchmarks/callback_overhead.py                 # 1,000 batches, 7 rounds
    python benchmarks/callback_overhead.py --smoke         # CI smoke run: 50 batches, 2 rounds

Writes benchmarks/results/callback_overhead.json (or --out) and prints a table.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import lightning
import lightning.pytorch as pl
import torch
from torch.utils.data import DataLoader, TensorDataset

from lightning_ecopt import EnergyCallback
from lightning_ecopt.demos import DigitsCNN


class LoopTimer(pl.Callback):
    """Wall time of the test loop: placed last, so it includes every other callback's loop-end work."""

    def __init__(self) -> None:
        self.times_s: list[float] = []
        self._t0 = 0.0

    def on_test_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:  # noqa: D102
        self._t0 = time.perf_counter()

    def on_test_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:  # noqa: D102
        self.times_s.append(time.perf_counter() - self._t0)


def run(batches: int, batch_size: int, rounds: int, meter: str) -> dict[str, Any]:
    torch.manual_seed(0)
    model = DigitsCNN(width=32, depth=3, kernel=3)
    n = batches * batch_size
    data = DataLoader(TensorDataset(torch.rand(n, 1, 8, 8), torch.randint(0, 10, (n,))), batch_size=batch_size)
    setups: dict[str, list[pl.Callback]] = {
        "no callback": [],
        "loop mode": [EnergyCallback(meter=meter, per_batch="split", log_model_stats=False)],
        "per-batch mode": [EnergyCallback(meter=meter, per_batch="window", log_model_stats=False)],
    }
    timers = {name: LoopTimer() for name in setups}
    trainers = {
        name: pl.Trainer(
            callbacks=[*cbs, timers[name]],
            logger=False,
            enable_progress_bar=False,
            enable_model_summary=False,
            accelerator="auto",
            devices=1,
        )
        for name, cbs in setups.items()
    }
    for name, trainer in trainers.items():  # warm-up round, not counted
        trainer.test(model, data, verbose=False)
        timers[name].times_s.clear()
    for _ in range(rounds):
        for trainer in trainers.values():
            trainer.test(model, data, verbose=False)
    base = statistics.median(timers["no callback"].times_s)
    rows = {}
    for name, timer in timers.items():
        med = statistics.median(timer.times_s)
        rows[name] = {
            "median_s": med,
            "min_s": min(timer.times_s),
            "times_s": timer.times_s,
            "overhead_pct": 100.0 * (med / base - 1.0),
        }
    source = setups["loop mode"][0].source  # type: ignore[attr-defined]
    return {"setups": rows, "source": source}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=1000)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--meter", default="auto", choices=["auto", "zeus", "estimate"])
    parser.add_argument("--smoke", action="store_true", help="tiny run for CI: 50 batches, 2 rounds")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "callback_overhead.json")
    args = parser.parse_args(argv)
    if args.smoke:
        args.batches, args.rounds = 50, 2
    warnings.filterwarnings("ignore")
    result = run(args.batches, args.batch_size, args.rounds, args.meter)
    result["config"] = {
        "batches": args.batches,
        "batch_size": args.batch_size,
        "rounds": args.rounds,
        "model": "DigitsCNN(width=32, depth=3, kernel=3)",
        "meter": args.meter,
    }
    result["machine"] = {
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "lightning": lightning.__version__,
        "platform": platform.platform(),
        "cpu_threads": torch.get_num_threads(),
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"{args.batches} batches of {args.batch_size}, {args.rounds} rounds, energy source {result['source']!r}")
    print(f"{'setup':<16}{'median s':>10}{'min s':>10}{'overhead':>10}")
    for name, row in result["setups"].items():
        print(f"{name:<16}{row['median_s']:>10.3f}{row['min_s']:>10.3f}{row['overhead_pct']:>9.2f}%")
    print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
