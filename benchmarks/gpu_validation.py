"""GPU validation of the measured path (issue 8): Zeus/NVML figures, their stability, per-batch windows, batch size.

Needs an NVIDIA GPU that Zeus can read. One command runs every section (or ``--only`` some) and writes what it
measured to ``benchmarks/results/gpu_validation.json`` (or ``--out``), section by section as each one ends, so a run
cut short keeps what it finished; ``docs/gpu-validation.md`` summarises it.

    python benchmarks/gpu_validation.py                                  # every section, ~6 min on an H100
    python benchmarks/gpu_validation.py --only counter stability

Sections:

- ``counter``: how often NVML's energy counter moves, idle and under load, and what one reading costs.
- ``measured``: ``EnergyCallback(meter="zeus")`` on the digits CNN (test loop) and the tiny transformer (generation,
  tokens/J): the figures and their source label, loop and per-batch modes.
- ``stability``: the same test loop 10 times at loop lengths from 0.1 s to 4 s: relative standard deviation of
  joules and samples/J (the paper's first check; target < 2 %), from which the default ``min_duration_s`` follows.
- ``per_batch``: batches of known GPU time from 2 ms to 2 s, measured with per-batch windows: below the counter's
  update period the windows read 0 J or a whole step, above it they agree with each other and with the loop; and
  the mode ``per_batch="auto"`` picks for each.
- ``batch_size``: samples/J of the digits CNN and tokens/J of the tiny transformer from batch 1 upwards, doubling
  until the GPU runs out of memory or one batch takes longer than ``--max-batch-s``; the best-to-batch-1 ratio and
  the memory in use at the optimum.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import statistics
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, cast

import lightning
import lightning.pytorch as pl
import torch
from torch.utils.data import DataLoader, Dataset

sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/ is not a package

from callback_overhead import MatmulBatches, matmul_iters, matmul_s

from lightning_ecopt import EnergyCallback
from lightning_ecopt.demos import DigitsCNN, TinyTransformerLM
from lightning_ecopt.energy import LoopEnergy, ZeusMeter

SECTIONS = ("counter", "measured", "stability", "per_batch", "batch_size")


def _trainer(callback: EnergyCallback) -> pl.Trainer:
    return pl.Trainer(
        accelerator="gpu",
        devices=1,
        callbacks=[callback],
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )


def _figures(r: LoopEnergy) -> dict[str, Any]:
    out: dict[str, Any] = {
        "source": r.source,
        "time_s": r.time_s,
        "gpu_j": r.gpu_j,
        "cpu_j": r.cpu_j,
        "dram_j": r.dram_j,
        "samples": r.samples,
        "batches": r.batches,
        "samples_per_j": r.samples_per_j,
        "j_per_batch": r.j_per_batch,
        "power_w": r.power_w,
        "warmup_j": r.warmup_j,
        "per_batch_mode": r.per_batch_mode,
        "short": r.short,
    }
    if r.tokens is not None:
        out["tokens"], out["tokens_per_j"] = r.tokens, r.tokens_per_j
    if r.batch_j:
        out["batch_j_sum"] = sum(r.batch_j)
        out["batch_j_cv"] = statistics.pstdev(r.batch_j) / statistics.fmean(r.batch_j) if any(r.batch_j) else None
    return out


def _repeated(batch: Any, batches: int) -> DataLoader[Any]:
    """``batches`` copies of one CPU batch (one batch in host memory however many are run), pinned as usual."""
    data = cast("Dataset[Any]", [batch] * batches)  # a list indexes like a map-style dataset
    return DataLoader(data, batch_size=None, pin_memory=True)


def _rows(n: int) -> Dataset[Any]:
    """``n`` one-value rows: a tensor indexes like a map-style dataset (batches of them are ``(b, 1)`` tensors)."""
    return cast("Dataset[Any]", torch.zeros(n, 1))


def _digits_loader(batch_size: int, batches: int) -> DataLoader[Any]:
    g = torch.Generator().manual_seed(0)
    return _repeated((torch.rand(batch_size, 1, 8, 8, generator=g), torch.randint(0, 10, (batch_size,))), batches)


def _prompt_loader(batch_size: int, batches: int, vocab: int = 96, prompt_len: int = 16) -> DataLoader[Any]:
    return _repeated(
        torch.randint(0, vocab, (batch_size, prompt_len), generator=torch.Generator().manual_seed(0)), batches
    )


def _generated_tokens(batch: Any, outputs: Any) -> int:
    return int(outputs.numel())


def _test(model: pl.LightningModule, loader: DataLoader[Any], **kwargs: Any) -> LoopEnergy:
    cb = EnergyCallback(meter="zeus", log_model_stats=False, **{"min_duration_s": 0.0, **kwargs})
    _trainer(cb).test(model, loader, verbose=False)
    return cb.results["test"]


def _predict(model: pl.LightningModule, loader: DataLoader[Any], **kwargs: Any) -> LoopEnergy:
    cb = EnergyCallback(
        stages="predict", meter="zeus", count_fn=_generated_tokens, log_model_stats=False,
        **{"min_duration_s": 0.0, **kwargs},
    )  # fmt: skip
    _trainer(cb).predict(model, loader, return_predictions=True)
    return cb.results["predict"]


# ---------------------------------------------------------------------------------------------------- counter
def counter_section() -> dict[str, Any]:
    """NVML's total-energy counter: the time between changes (idle and busy) and the cost of a read."""
    import pynvml

    pynvml.nvmlInit()
    handle = pynvml.nvmlDeviceGetHandleByIndex(torch.cuda.current_device())

    def changes(seconds: float) -> dict[str, Any]:
        read = pynvml.nvmlDeviceGetTotalEnergyConsumption
        last, t_last, gaps, steps_mj, reads = read(handle), time.perf_counter(), [], [], 0
        end = t_last + seconds
        while (now := time.perf_counter()) < end:
            value = read(handle)
            reads += 1
            if value != last:
                gaps.append(now - t_last)
                steps_mj.append(value - last)
                last, t_last = value, now
        gaps = gaps[1:]  # the first change came at a random phase
        return {
            "reads": reads,
            "read_us": 1e6 * seconds / max(reads, 1),
            "changes": len(gaps),
            "period_ms_median": 1e3 * statistics.median(gaps) if gaps else None,
            "period_ms_p10_p90": [1e3 * q for q in _quantiles(gaps, (0.1, 0.9))] if gaps else None,
            "step_mj_median": statistics.median(steps_mj) if steps_mj else None,
        }

    idle = changes(2.0)
    x = torch.randn(8192, 8192, device="cuda")
    torch.cuda.synchronize()
    for _ in range(400):  # ~3 s of queued matrix products: the host polls while the GPU works
        x = torch.tanh(x @ x)
    busy = changes(2.0)
    torch.cuda.synchronize()
    return {"idle": idle, "busy": busy}


def _quantiles(xs: list[float], qs: tuple[float, ...]) -> list[float]:
    s = sorted(xs)
    return [s[min(len(s) - 1, int(q * len(s)))] for q in qs]


# ---------------------------------------------------------------------------------------------------- measured
def measured_section() -> dict[str, Any]:
    """The callback's figures on the digits CNN and the tiny transformer, per-batch mode forced each way."""
    out: dict[str, Any] = {}
    cnn = DigitsCNN(width=64, depth=3, kernel=5)
    for mode in ("auto", "split", "window"):
        r = _test(cnn, _digits_loader(64, 1500), per_batch=mode, warmup_batches=3)
        out[f"digits_cnn/{mode}"] = _figures(r) | {"samples_expected": 64 * (1500 - 3)}
    lm = TinyTransformerLM(vocab_size=96, width=128, depth=4, heads=4, seq_len=64, gen_tokens=32)
    for mode in ("auto", "window"):
        r = _predict(lm, _prompt_loader(64, 40), per_batch=mode, warmup_batches=2)
        out[f"transformer/{mode}"] = _figures(r) | {"tokens_expected": 64 * 38 * 32}
    return out


# ---------------------------------------------------------------------------------------------------- stability
def stability_section(lengths_s: tuple[float, ...], repeats: int, workloads: tuple[str, ...]) -> dict[str, Any]:
    """RSD of joules, samples/J, time and power over ``repeats`` identical test loops, at each loop length.

    Two workloads separate the meter's noise from the workload's: the digits CNN at batch 256 (host-bound: Python
    and kernel launches set its pace, so its time varies with the host) and matrix products (GPU-bound).
    """
    out: dict[str, Any] = {}
    for workload in workloads:
        if workload == "digits_cnn":
            batch, model = 256, DigitsCNN(width=64, depth=3, kernel=5)

            def loader(n: int, batch: int = batch) -> DataLoader[Any]:
                return _digits_loader(batch, n)
        else:
            model = MatmulBatches(matmul_iters(20))

            def loader(n: int, batch: int = 1) -> DataLoader[Any]:
                return DataLoader(_rows(n), batch_size=batch)

        probe = _test(model, loader(60), warmup_batches=3)
        batch_s = probe.time_s / probe.batches
        rows: dict[str, Any] = {}
        for length in lengths_s:
            batches = max(4, round(length / batch_s))
            data = loader(batches + 3)
            runs = [_test(model, data, warmup_batches=3) for _ in range(repeats)]
            row: dict[str, Any] = {
                "batches": batches,
                "time_s": [r.time_s for r in runs],
                "j": [r.energy_j for r in runs],
                "samples_per_j": [r.samples_per_j for r in runs],
                "power_w": [r.power_w for r in runs],
            }
            rows[str(length)] = row
            for key in ("time_s", "j", "samples_per_j", "power_w"):
                row[f"{key}_median"] = statistics.median(row[key])
                row[f"{key}_rsd_pct"] = _rsd(row[key])
            print(
                f"  stability {workload} {length:>5} s: time {row['time_s_median']:.2f} s (rsd "
                f"{row['time_s_rsd_pct']:.1f} %), J rsd {row['j_rsd_pct']:.2f} %, samples/J rsd "
                f"{row['samples_per_j_rsd_pct']:.2f} %, power rsd {row['power_w_rsd_pct']:.2f} %",
                flush=True,
            )
        out[workload] = {"batch_s": batch_s, "lengths": rows}
    return out


def _rsd(xs: list[float]) -> float:
    finite = [x for x in xs if math.isfinite(x)]
    if len(finite) < 2 or statistics.fmean(finite) == 0:
        return math.nan
    return 100.0 * statistics.stdev(finite) / statistics.fmean(finite)


# ---------------------------------------------------------------------------------------------------- per_batch
def per_batch_section(batch_ms: tuple[float, ...], loop_s: float) -> dict[str, Any]:
    """Per-batch windows on batches of known GPU time, against the loop window and the ``auto`` choice."""
    step_s = matmul_s()
    out: dict[str, Any] = {"matmul_ms": 1e3 * step_s, "batches": {}}
    for ms in batch_ms:
        iters = matmul_iters(ms, step_s)
        n = max(5, round(loop_s / (ms / 1e3)))
        loader: DataLoader[Any] = DataLoader(_rows(n + 3), batch_size=1)
        model = MatmulBatches(iters)
        window = _test(model, loader, per_batch="window", warmup_batches=3)
        auto = _test(model, loader, per_batch="auto", warmup_batches=3)
        row = _figures(window)
        row.update(
            {
                "batch_ms": ms,
                "measured_batch_ms": 1e3 * window.time_s / window.batches,
                "zero_j_batches": sum(j == 0 for j in window.batch_j),
                "batch_j_min_max": [min(window.batch_j), max(window.batch_j)],
                "loop_j_per_batch": window.energy_j / window.batches,
                "auto_mode": auto.per_batch_mode,
            }
        )
        row.pop("samples_per_j", None)
        out["batches"][str(ms)] = row
        print(
            f"  per-batch {ms:>6} ms: mode auto={auto.per_batch_mode}, zero windows {row['zero_j_batches']}/"
            f"{window.batches}, cv {row.get('batch_j_cv')}, sum {row.get('batch_j_sum'):.3f} J vs loop "
            f"{window.energy_j:.3f} J",
            flush=True,
        )
    return out


# ---------------------------------------------------------------------------------------------------- batch_size
def _doubling(limit: int) -> Iterator[int]:
    b = 1
    while b <= limit:
        yield b
        b *= 2


def _sweep(
    name: str,
    run: Callable[[int, int], LoopEnergy],
    per_j: Callable[[LoopEnergy], float],
    loop_s: float,
    max_batch_s: float,
    limit: int,
) -> dict[str, Any]:
    rows: dict[str, Any] = {}
    stop = f"reached batch {limit}"
    for b in _doubling(limit):
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
        try:
            t0 = time.perf_counter()
            probe = run(b, 3)  # 1 warm-up + 2 measured: times a batch
            batch_s = probe.time_s / probe.batches
            if batch_s > max_batch_s:
                stop = f"one batch of {b} took {batch_s:.2f} s > --max-batch-s"
                break
            batches = max(4, math.ceil(loop_s / batch_s))
            torch.cuda.reset_peak_memory_stats()
            r = run(b, batches + 2)
        except torch.cuda.OutOfMemoryError:
            stop = f"out of GPU memory at batch {b}"
            torch.cuda.empty_cache()
            break
        rows[str(b)] = _figures(r) | {
            "per_j": per_j(r),
            "peak_memory_gib": torch.cuda.max_memory_allocated() / 2**30,
            "wall_s": time.perf_counter() - t0,
        }
        print(f"  {name} batch {b:>7}: {per_j(r):.4g} per J, {rows[str(b)]['peak_memory_gib']:.2f} GiB", flush=True)
    best = max(rows, key=lambda k: rows[k]["per_j"])
    return {
        "rows": rows,
        "stopped": stop,
        "best_batch": int(best),
        "best_per_j": rows[best]["per_j"],
        "batch1_per_j": rows["1"]["per_j"],
        "best_to_batch1": rows[best]["per_j"] / rows["1"]["per_j"],
        "peak_memory_gib_at_best": rows[best]["peak_memory_gib"],
    }


def batch_size_section(loop_s: float, max_batch_s: float) -> dict[str, Any]:
    """samples/J (digits CNN) and tokens/J (tiny transformer) against the inference batch size."""
    cnn = DigitsCNN(width=32, depth=3, kernel=3)  # conf/inference_batch_size.yaml's model
    lm = TinyTransformerLM(vocab_size=96, width=128, depth=4, heads=4, seq_len=64, gen_tokens=32)

    def digits(b: int, batches: int) -> LoopEnergy:
        return _test(cnn, _digits_loader(b, batches), warmup_batches=1, per_batch="split")

    def generate(b: int, batches: int) -> LoopEnergy:
        return _predict(lm, _prompt_loader(b, batches), warmup_batches=1)

    return {
        "digits_cnn": _sweep("digits", digits, lambda r: r.samples_per_j, loop_s, max_batch_s, 2**20),
        "transformer": _sweep(
            "transformer", generate, lambda r: r.tokens_per_j or math.nan, loop_s, max_batch_s, 2**16
        ),
    }


# ---------------------------------------------------------------------------------------------------- main
def machine() -> dict[str, Any]:
    """Hardware and software versions."""
    import zeus

    props = torch.cuda.get_device_properties(0)
    info: dict[str, Any] = {
        "gpu": props.name,
        "gpu_memory_gib": props.total_memory / 2**30,
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "lightning": lightning.__version__,
        "zeus": zeus.__version__,
        "platform": platform.platform(),
        "cpu": platform.processor() or platform.machine(),
    }
    try:
        import pynvml

        pynvml.nvmlInit()
        h = pynvml.nvmlDeviceGetHandleByIndex(0)
        info["driver"] = pynvml.nvmlSystemGetDriverVersion()
        info["power_limit_w"] = pynvml.nvmlDeviceGetPowerManagementLimit(h) / 1e3
        info["idle_power_w"] = pynvml.nvmlDeviceGetPowerUsage(h) / 1e3
    except Exception as err:
        info["nvml_error"] = repr(err)
    meter = ZeusMeter()
    info["zeus_source"] = meter.source
    info["zeus_problems"] = list(meter.probe.problems)
    return info


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=SECTIONS, default=list(SECTIONS))
    parser.add_argument("--repeats", type=int, default=10, help="stability: identical loops per length")
    parser.add_argument("--lengths", type=float, nargs="+", default=[0.1, 0.25, 0.5, 1.0, 2.0, 4.0])
    parser.add_argument("--workloads", nargs="+", choices=["digits_cnn", "matmul"], default=["digits_cnn", "matmul"])
    parser.add_argument("--batch-ms", type=float, nargs="+", default=[2, 10, 30, 100, 300, 1000, 2000])
    parser.add_argument("--loop-s", type=float, default=2.0, help="per_batch and batch_size: seconds per loop")
    parser.add_argument("--max-batch-s", type=float, default=2.0, help="batch_size: stop when one batch takes longer")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "gpu_validation.json")
    args = parser.parse_args(argv)
    if not torch.cuda.is_available():
        parser.error("needs a CUDA GPU (this benchmark validates the measured path)")
    warnings.filterwarnings("ignore")
    torch.backends.cuda.matmul.allow_tf32 = False  # full fp32: the matrix products time what their size says
    result: dict[str, Any] = {"machine": machine(), "config": vars(args) | {"out": str(args.out)}}
    print(json.dumps(result["machine"], indent=1), flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    run = {
        "counter": counter_section,
        "measured": measured_section,
        "stability": lambda: stability_section(tuple(args.lengths), args.repeats, tuple(args.workloads)),
        "per_batch": lambda: per_batch_section(tuple(args.batch_ms), args.loop_s),
        "batch_size": lambda: batch_size_section(args.loop_s, args.max_batch_s),
    }
    for name in args.only:
        t0 = time.perf_counter()
        print(f"== {name}", flush=True)
        try:
            result[name] = run[name]()
        except Exception as err:
            import traceback

            traceback.print_exc()
            result[name] = {"error": repr(err)}
        result[name]["section_s"] = time.perf_counter() - t0
        args.out.write_text(json.dumps(result, indent=1, default=str) + "\n")
        print(f"== {name} done in {result[name]['section_s']:.0f} s", flush=True)
    print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
