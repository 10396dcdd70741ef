"""Benchmark: what the inference-only knobs do to the digits CNN's samples/J (bf16, int8 Linear, torch.compile).

The model is trained once; each set-up then runs the same test loop, round after round with the order rotated, in
one process, measured by ``EnergyCallback`` (the labelled source: estimated on machines without counters). Reported
per set-up: the median samples/J over rounds, the median of each round's paired ratio to fp32, and the first round
alone (``torch.compile`` pays its compilation there).

    python benchmarks/inference_knobs.py              # 7 rounds
    python benchmarks/inference_knobs.py --smoke      # 2 rounds, small model

Writes benchmarks/results/inference_knobs.json (or --out; a --smoke run without --out writes under the temp dir, never
over the stored results) and prints a table.
"""

from __future__ import annotations

import argparse
import copy
import platform
import statistics
import sys
import warnings
from pathlib import Path
from typing import Any

import lightning
import lightning.pytorch as pl
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/ is not a package

from benchmark_env import add_out_argument, cpu_identity, out_path, revision, write_json

from lightning_ecopt import EnergyCallback
from lightning_ecopt.demos import DigitsCNN, DigitsDataModule
from lightning_ecopt.inference import prepare_for_inference

DEFAULT_OUT = Path(__file__).resolve().parent / "results" / "inference_knobs.json"  # --smoke: <tmp>/ecopt_bench/

SETUPS: dict[str, dict[str, Any]] = {
    "fp32": {"precision": "32-true", "quantize_int8": False, "compile": False},
    "bf16 autocast": {"precision": "bf16-mixed", "quantize_int8": False, "compile": False},
    "int8 Linear": {"precision": "32-true", "quantize_int8": True, "compile": False},
    "bf16 + int8": {"precision": "bf16-mixed", "quantize_int8": True, "compile": False},
    "torch.compile": {"precision": "32-true", "quantize_int8": False, "compile": True},
}


def _trainer(**kwargs: Any) -> pl.Trainer:
    return pl.Trainer(
        accelerator="cpu",
        devices=1,
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        enable_checkpointing=False,
        **kwargs,
    )


def run(rounds: int, width: int, depth: int, eval_repeats: int, epochs: int) -> dict[str, Any]:
    """Train once, then measure every set-up ``rounds`` times; returns the raw figures and the summary."""
    pl.seed_everything(0, verbose=False)
    data = DigitsDataModule(eval_batch_size=64, eval_repeats=eval_repeats)
    trained = DigitsCNN(width=width, depth=depth, kernel=3, lr=3e-3)
    _trainer(max_epochs=epochs).fit(trained, datamodule=data)
    models = {}
    for name, setup in SETUPS.items():
        model = copy.deepcopy(trained)
        models[name] = prepare_for_inference(model, quantize_int8=setup["quantize_int8"], compile=setup["compile"])
    raw: dict[str, list[float]] = {name: [] for name in SETUPS}
    acc: dict[str, float] = {}
    source = ""
    names = list(SETUPS)
    for r in range(rounds):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            energy = EnergyCallback(min_duration_s=0.0, log_model_stats=False)
            trainer = _trainer(precision=SETUPS[name]["precision"], callbacks=[energy])
            out = trainer.test(models[name], datamodule=data, verbose=False)[0]
            raw[name].append(float(out["energy/test_samples_per_j"]))
            acc[name] = float(out["test/acc"])
            source = energy.results["test"].source
    summary = {}
    for name in SETUPS:
        warm = raw[name][1:] if rounds > 1 else raw[name]
        ratios = [x / b for x, b in zip(raw[name][1:], raw["fp32"][1:], strict=True)] if rounds > 1 else []
        summary[name] = {
            "median_samples_per_j": statistics.median(warm),
            "first_round_samples_per_j": raw[name][0],
            "median_ratio_to_fp32": statistics.median(ratios) if ratios else None,
            "test_acc": acc[name],
        }
    return {"raw": raw, "summary": summary, "source": source}


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, print a table and write the JSON results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--smoke", action="store_true", help="2 rounds, a small model: a quick check that it runs")
    add_out_argument(parser, DEFAULT_OUT)
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error(f"--rounds {args.rounds}: expected at least 1")
    args.out = out_path(args, DEFAULT_OUT)
    warnings.filterwarnings("ignore")
    config = {"rounds": 2, "width": 8, "depth": 1, "eval_repeats": 2, "epochs": 1} if args.smoke else {
        "rounds": args.rounds, "width": 32, "depth": 3, "eval_repeats": 10, "epochs": 5,
    }  # fmt: skip
    result = run(**config)
    result["config"] = config
    result["command"] = " ".join(["python", "benchmarks/inference_knobs.py", *(sys.argv[1:] if argv is None else argv)])
    result["revision"] = revision()
    result["machine"] = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "lightning": lightning.__version__,
        "cpu_threads": torch.get_num_threads(),
        "platform": platform.platform(),
        "cpu": cpu_identity(),  # native bf16 or not decides what bf16 autocast does to samples/J
    }
    print(f"digits CNN width {config['width']} depth {config['depth']}, {config['rounds']} rounds, {result['source']}")
    print(f"{'set-up':<15} {'samples/J (median)':>19} {'ratio to fp32':>14} {'first round':>12} {'test acc':>9}")
    for name, row in result["summary"].items():
        ratio = "-" if row["median_ratio_to_fp32"] is None else f"{row['median_ratio_to_fp32']:.2f}x"
        print(
            f"{name:<15} {row['median_samples_per_j']:>19.1f} {ratio:>14} {row['first_round_samples_per_j']:>12.1f} "
            f"{row['test_acc']:>9.4f}"
        )
    write_json(args.out, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
