"""Benchmark: how repeatable EnergyCallback's samples/J is under the CPU-time estimate, by test-loop length.

The question it answers: which ``min_duration_s`` a loop measured by the CPU-time estimate needs. NVML's counter
moves every 100 ms, so there a loop needs 2 s (20 updates) to repeat within 2 % (docs/gpu-validation.md section 2);
process CPU time moves in nanoseconds, so what limits a short loop there is the machine's jitter and each loop's
fixed costs, not a counter step. This measures them.

The digits CNN (``DigitsCNN(width=16, depth=2, kernel=3)``, untrained: inference costs the same) runs test loops over
the demos' 359 test digits in batches of 64, repeated in whole passes (``TimedPasses`` with fixed passes) so that
each loop's measured window lasts about each of ``--lengths`` seconds (passes calibrated once, then fixed: every loop
of a length does the same work). Each round runs one loop of every length, the order rotated each round, each with a
new ``EnergyCallback(meter="estimate")`` (3 warm-up batches, as the default). Per length: the median samples/J, its
relative standard deviation over rounds (what docs/gpu-validation.md reports for NVML), a robust spread (the
interquartile range over the median), and each round's ratio to the same round's longest loop (paired: the machine's
slow phases hit both).

Then the first loop of a process: ``--processes`` fresh Python processes each run ``--process-loops`` loops of the
shortest length; the first loop's samples/J against the median of the later ones, with the callback's 3 warm-up
batches and with none (alternating processes): the one-off costs (first kernel calls, allocator, lazy imports) that
the warm-up batches are there to keep out of the window.

    python benchmarks/callback_window.py                 # 0.2, 0.5, 1, 2 s loops, 30 rounds; 12 processes
    python benchmarks/callback_window.py --threads 2     # two torch threads (default: one)
    python benchmarks/callback_window.py --smoke         # CI: 0.02 and 0.05 s loops, 2 rounds, 2 processes

Writes benchmarks/results/callback_window.json (or --out; a --smoke run without --out writes under the temp dir,
never over the stored results) and prints a table.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import math
import os
import platform
import statistics
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import lightning
import lightning.pytorch as pl
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/ is not a package

from benchmark_env import add_out_argument, out_path, refuse_with_smoke, revision

from lightning_ecopt import EnergyCallback
from lightning_ecopt.demos import DigitsCNN
from lightning_ecopt.energy.contention import CONTENTION_WARN_SHARE
from lightning_ecopt.inference import TimedPasses

DEFAULT_OUT = Path(__file__).resolve().parent / "results" / "callback_window.json"  # --smoke: <tmp>/ecopt_bench/
BATCH_SIZE = 64
TEST_SAMPLES = 359  # DigitsDataModule's test split: one pass is 6 batches, so loop lengths come in fine steps
WARMUP_BATCHES = 3  # EnergyCallback's default


@contextlib.contextmanager
def _quiet_logs() -> Iterator[None]:
    """Lightning's and the callback's per-trainer info lines off while it runs (hundreds of trainers), then put back.

    Put back: a test that calls :func:`main` in-process left ``lightning_ecopt`` at WARNING, and later tests that read
    the sweep's INFO lines through ``caplog`` saw none.
    """
    loggers = [logging.getLogger(name) for name in ("lightning", "lightning.pytorch", "lightning_ecopt")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def digits_set() -> torch.utils.data.TensorDataset:
    """The last 359 scikit-learn digits (the size of the demos' test split) as ``(1x8x8 image, label)`` pairs."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    x = torch.tensor(digits.images, dtype=torch.float32).unsqueeze(1) / 16.0
    y = torch.tensor(digits.target, dtype=torch.long)
    return torch.utils.data.TensorDataset(x[-TEST_SAMPLES:], y[-TEST_SAMPLES:])


def model() -> DigitsCNN:
    """The benchmark's model, the same in every process (seeded)."""
    torch.manual_seed(0)
    return DigitsCNN(width=16, depth=2, kernel=3)


def one_loop(
    net: pl.LightningModule, dataset: Any, passes: int, warmup_batches: int = WARMUP_BATCHES
) -> dict[str, Any]:
    """One ``trainer.test()`` over ``passes`` whole passes, measured by a new callback on the CPU-time estimate.

    Returns:
        The loop's samples/J, measured seconds, samples, joules, warm-up joules and contention (None off Linux).
    """
    energy = EnergyCallback(
        meter="estimate", warmup_batches=warmup_batches, min_duration_s=0.0, per_batch="split", log_model_stats=False
    )
    trainer = pl.Trainer(
        callbacks=[energy],
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        enable_checkpointing=False,
        accelerator="cpu",
        devices=1,
    )
    loader = TimedPasses(dataset, batch_size=BATCH_SIZE, max_passes=passes, warmup_batches=warmup_batches)
    trainer.test(net, dataloaders=loader, verbose=False)
    r = energy.results["test"]
    return {
        "samples_per_j": r.samples_per_j,
        "time_s": r.time_s,
        "samples": r.samples,
        "j": r.energy_j,
        "warmup_j": r.warmup_j,
        "cpu_contention": r.cpu_contention,
        "source": r.source,
    }


def calibrate(net: pl.LightningModule, dataset: Any, lengths_s: list[float]) -> dict[float, int]:
    """Passes per loop for each target length: the median of three 10-pass loops after a warm one (at least 1)."""
    one_loop(net, dataset, 2)
    pass_s = statistics.median(one_loop(net, dataset, 10)["time_s"] / 10 for _ in range(3))
    return {length: max(1, round(length / pass_s)) for length in lengths_s}


def cpu_clock_step_s(n: int = 200_000) -> dict[str, float]:
    """The steps the CPU-time estimate's clock moves in: ``time.process_time()`` read ``n`` times in a tight loop.

    Returns:
        The clock's stated resolution, and the smallest and the median non-zero step seen (seconds): what a
        "counter step" is for the estimate (NVML's is 0.1 s).
    """
    steps = []
    last = time.process_time()
    for _ in range(n):
        now = time.process_time()
        if now != last:
            steps.append(now - last)
            last = now
    return {
        "resolution_s": time.get_clock_info("process_time").resolution,
        "min_step_s": min(steps) if steps else math.nan,
        "median_step_s": statistics.median(steps) if steps else math.nan,
    }


def spread(values: list[float]) -> dict[str, float]:
    """Median, relative standard deviation and interquartile range over the median (both in %), min and max.

    >>> s = spread([1.0, 2.0, 3.0, 4.0, 5.0])
    >>> s["median"], round(s["rsd_pct"], 1), s["iqr_pct"]
    (3.0, 52.7, 66.66666666666666)
    """
    med = statistics.median(values)
    rsd = 100 * statistics.stdev(values) / statistics.fmean(values) if len(values) > 1 else 0.0
    q1, _, q3 = statistics.quantiles(values, n=4, method="inclusive") if len(values) > 1 else (med, med, med)
    return {"median": med, "rsd_pct": rsd, "iqr_pct": 100 * (q3 - q1) / med, "min": min(values), "max": max(values)}


def interleaved(net: pl.LightningModule, dataset: Any, passes: dict[float, int], rounds: int) -> dict[str, Any]:
    """``rounds`` rounds of one loop per length, the order rotated each round; the statistics per length."""
    lengths = list(passes)
    raw: dict[float, list[dict[str, Any]]] = {length: [] for length in lengths}
    for r in range(rounds):
        for length in lengths[r % len(lengths) :] + lengths[: r % len(lengths)]:
            raw[length].append(one_loop(net, dataset, passes[length]))
    longest = max(lengths)
    out: dict[str, Any] = {}
    for length in lengths:
        spj = [row["samples_per_j"] for row in raw[length]]
        paired = [a / b for a, b in zip(spj, (row["samples_per_j"] for row in raw[longest]), strict=True)]
        contention = [row["cpu_contention"] for row in raw[length] if row["cpu_contention"] is not None]
        # The loops the callback would not warn of (other processes' share <= 25 %): the jitter on a quiet machine.
        # Unknown (None) under 0.2 s or off Linux: not counted as quiet.
        quiet = [
            row["samples_per_j"]
            for row in raw[length]
            if row["cpu_contention"] is not None and row["cpu_contention"] <= CONTENTION_WARN_SHARE
        ]
        out[f"{length:g}"] = {
            "passes": passes[length],
            "samples": raw[length][0]["samples"],
            "time_s": spread([row["time_s"] for row in raw[length]]),
            "samples_per_j": spread(spj),
            "ratio_to_longest": spread(paired),
            "cpu_contention_median": statistics.median(contention) if contention else None,
            "quiet_loops": len(quiet),
            "samples_per_j_quiet": spread(quiet) if quiet else None,
            "raw": raw[length],
        }
    return out


def first_loops(passes: int, processes: int, loops: int, threads: int | None) -> dict[str, Any]:
    """``processes`` fresh processes, each ``loops`` loops of ``passes`` passes; warm-up 3 and 0, alternating.

    Returns:
        Per warm-up setting: each process's first loop's samples/J over the median of its later loops, and the raw
        samples/J of every loop.
    """
    by_warmup: dict[int, list[list[float]]] = {WARMUP_BATCHES: [], 0: []}
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    for p in range(processes):
        warmup = WARMUP_BATCHES if p % 2 == 0 else 0
        command = [sys.executable, __file__, "--child", str(passes), str(loops), str(warmup)]
        if threads is not None:
            command += ["--threads", str(threads)]
        proc = subprocess.run(command, capture_output=True, text=True, env=env, check=True, timeout=600)
        by_warmup[warmup].append(json.loads(proc.stdout.strip().splitlines()[-1]))
    out: dict[str, Any] = {}
    for warmup, runs in by_warmup.items():
        ratios = [run[0] / statistics.median(run[1:]) for run in runs]
        out[f"warmup_batches={warmup}"] = {
            "first_over_later": spread(ratios) if ratios else None,
            "later_rsd_pct": [spread(run[1:])["rsd_pct"] for run in runs],
            "raw_samples_per_j": runs,
        }
    return out


def child(passes: int, loops: int, warmup: int) -> None:
    """A fresh process's loops (``--child``): prints their samples/J as one JSON list."""
    warnings.filterwarnings("ignore")
    with _quiet_logs():
        net, dataset = model(), digits_set()
        print(json.dumps([one_loop(net, dataset, passes, warmup)["samples_per_j"] for _ in range(loops)]))


def run(lengths_s: list[float], rounds: int, processes: int, process_loops: int, threads: int | None) -> dict[str, Any]:
    """The whole benchmark: calibration, interleaved loops by length, then the first loops of fresh processes."""
    clock = cpu_clock_step_s()
    net, dataset = model(), digits_set()
    load_before = os.getloadavg() if hasattr(os, "getloadavg") else None
    passes = calibrate(net, dataset, lengths_s)
    t0 = time.perf_counter()
    lengths = interleaved(net, dataset, passes, rounds)
    first = first_loops(passes[min(lengths_s)], processes, process_loops, threads) if processes else {}
    return {
        "source": next(iter(lengths.values()))["raw"][0]["source"],
        "cpu_clock": clock,
        "lengths": lengths,
        "first_loop": first,
        "wall_s": time.perf_counter() - t0,
        "loadavg_before": load_before,
        "loadavg_after": os.getloadavg() if hasattr(os, "getloadavg") else None,
    }


def _print_table(result: dict[str, Any]) -> None:
    print(f"energy source {result['source']!r}; load average before {result['loadavg_before']}")
    if "cpu_clock" in result:
        clock = result["cpu_clock"]
        print(
            f"CPU clock: resolution {clock['resolution_s']:g} s, steps seen {1e6 * clock['min_step_s']:.3f} us "
            f"(smallest), {1e6 * clock['median_step_s']:.3f} us (median)"
        )
    print(
        f"{'target s':>9}{'passes':>7}{'time s':>8}{'samples/J':>11}{'RSD %':>7}{'IQR %':>7}{'min-max %':>12}"
        f"{'vs longest (paired)':>22}{'contention':>11}"
    )
    for length, row in result["lengths"].items():
        s, p = row["samples_per_j"], row["ratio_to_longest"]
        span = 100 * (s["max"] - s["min"]) / s["median"]
        contention = row["cpu_contention_median"]
        print(
            f"{length:>9}{row['passes']:>7}{row['time_s']['median']:>8.3f}{s['median']:>11.0f}{s['rsd_pct']:>7.2f}"
            f"{s['iqr_pct']:>7.2f}{span:>12.1f}{p['median']:>10.3f} (IQR {p['iqr_pct']:.1f} %)"
            f"{'' if contention is None else f'{contention:>11.0%}'}"
        )
        if row["samples_per_j_quiet"] is not None:
            q = row["samples_per_j_quiet"]
            said = f"RSD {q['rsd_pct']:.2f} %, IQR {q['iqr_pct']:.2f} %"
            print(f"{'':>9}  {row['quiet_loops']} loops under 25 % contention: {said}")
    for setting, row in result["first_loop"].items():
        if row["first_over_later"] is not None:
            f = row["first_over_later"]
            span = f"{f['min']:.3f}-{f['max']:.3f}"
            print(f"first loop of a process, {setting}: {f['median']:.3f} x the later ones ({span})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lengths", type=float, nargs="+", default=[0.2, 0.5, 1.0, 2.0], help="target loop seconds")
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument(
        "--processes", type=int, default=12, help="fresh processes for the first-loop figures (0: none)"
    )
    parser.add_argument("--process-loops", type=int, default=4, help="loops per fresh process (the first and later)")
    parser.add_argument(
        "--threads", type=int, default=1, help="torch threads (default 1: two spin-wait beside a busy neighbour)"
    )
    parser.add_argument("--smoke", action="store_true", help="tiny run for CI: 0.02 and 0.05 s, 2 rounds, 2 processes")
    parser.add_argument("--child", type=int, nargs=3, default=None, help=argparse.SUPPRESS)
    add_out_argument(parser, DEFAULT_OUT)
    args = parser.parse_args(argv)
    if args.threads is not None and args.threads <= 0:
        parser.error(f"--threads {args.threads}: expected a number > 0")
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    if args.child is not None:
        child(*args.child)
        return 0
    if args.rounds < 2 or any(not length > 0 for length in args.lengths):
        parser.error(f"--rounds {args.rounds} --lengths {args.lengths}: expected >= 2 rounds and lengths > 0")
    if args.processes < 0 or args.process_loops < 2:
        parser.error(f"--processes {args.processes} --process-loops {args.process_loops}: expected >= 0 and >= 2")
    refuse_with_smoke(parser, args, "lengths", "rounds", "processes", "process_loops")
    if args.smoke:
        args.lengths, args.rounds, args.processes, args.process_loops = [0.02, 0.05], 2, 2, 2
    args.out = out_path(args, DEFAULT_OUT)
    with warnings.catch_warnings(), _quiet_logs():
        warnings.filterwarnings("ignore")
        result = run(args.lengths, args.rounds, args.processes, args.process_loops, args.threads)
    result["config"] = {
        "lengths_s": args.lengths,
        "rounds": args.rounds,
        "processes": args.processes,
        "process_loops": args.process_loops,
        "batch_size": BATCH_SIZE,
        "warmup_batches": WARMUP_BATCHES,
        "model": "DigitsCNN(width=16, depth=2, kernel=3)",
        "threads": torch.get_num_threads(),
    }
    command = ["python", "benchmarks/callback_window.py", *(sys.argv[1:] if argv is None else argv)]
    result["command"] = " ".join(command)
    result["revision"] = revision()
    result["machine"] = {
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "lightning": lightning.__version__,
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    _print_table(result)
    print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
