"""Benchmark: the energy of a digits sweep over inference-only parameters, with and without checkpoint reuse.

The same sweep runs twice through the real code path users run, the Hydra app ``examples/inference_batch_size.py -m``
with the ecopt sweeper (Sobol, then qNEHVI), with the same seed, budget and search space:

- **reuse**: the example as shipped: ``hydra.sweeper.inference_params`` lists the inference-only keys, so the first
  trial trains the digits CNN and caches it, and every later trial loads it (``lightning_ecopt.checkpoints``);
- **no reuse**: ``hydra.sweeper.inference_params=[]``: the swept keys are then part of the training key, and since
  the sweeper never evaluates one configuration twice, every trial trains its own model, as without the cache.

Every swept parameter is inference-only (evaluation batch size 1-256 log scale, precision, int8 Linear layers); the
training configuration is the example's (width 32, depth 3, Adam 3e-3, early stopping with patience 3 on val/loss,
at most 10 epochs), without its 30 s time cap, so that the machine's load cannot cut a training short. Each trial
evaluates as the example does: the 359 test digits in whole passes, only until its energy window has lasted the
EnergyCallback's ``min_duration_s`` (``lightning_ecopt.inference.TimedPasses``), at most 4 passes; ``--fixed-passes``
always runs the 4 (1,436 samples), as the example did before. Both sweeps run with one torch thread (``--threads``).
The search energy of a run is, per trial that ran, ``energy/train_j`` plus the test loop with its warm-up
(``lightning_ecopt.ledger.trial_energy``, the rules of ``ecopt report``), read back from the sweep's
``optimization_results.yaml``; the reuse run's total includes the training of its shared checkpoint. The energy
source is the trials' own label (``estimated: cpu-time`` without GPU or RAPL). Apart from it, and never added to it,
the sweep process's whole CPU time (Python start-up, Ax's proposals, data loading) is given as the same CPU-time
estimate (x 5 W per busy thread).

    python benchmarks/search_energy.py            # 20 trials each, about 2-5 min on 2 cores
    python benchmarks/search_energy.py --smoke    # 2 trials each, one training epoch: a CI check (< 30 s)
    python benchmarks/search_energy.py --test-batches 100   # each trial measures at most 100 test batches
    python benchmarks/search_energy.py --fixed-passes       # every trial evaluates all 4 passes (the old default)

Writes benchmarks/results/search_energy.json (or --out; a --smoke run without --out writes under the temp dir, never
over the stored results) and prints the table.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/ is not a package

from benchmark_env import add_out_argument, out_path, refuse_with_smoke, write_json

from lightning_ecopt.checkpoints import CACHE_DIRNAME
from lightning_ecopt.energy.estimator import DEFAULT_WATTS_PER_THREAD
from lightning_ecopt.ledger import trial_energy
from lightning_ecopt.results_file import load_sweep

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "inference_batch_size.py"
DEFAULT_OUT = ROOT / "benchmarks" / "results" / "search_energy.json"  # --smoke: <tmp>/ecopt_bench/ instead
SEED = 0

# The search space: every swept key is in the example's hydra.sweeper.inference_params. torch.compile (the fourth
# inference-only knob) is left out: it is in no default sweep, and on this CPU it only adds compilation time.
SPACE = [
    "data.eval_batch_size=tag(log, int(interval(1, 256)))",
    "inference.precision=choice(32-true, bf16-mixed)",
    "inference.quantize_int8=choice(false, true)",
]

# Common to both runs: the seeds, the budget, and no post-sweep extras (the example's batch-1 measurement after the
# sweep, the TensorBoard frontier views), which are not part of the search.
FULL: dict[str, Any] = {"n_trials": 20, "n_initial_trials": 6, "extra": []}
SMOKE: dict[str, Any] = {
    "n_trials": 2,
    "n_initial_trials": 2,
    "extra": [
        "trainer.max_epochs=1",
        "+trainer.limit_train_batches=4",
        "+trainer.limit_val_batches=2",
        "model.width=8",
        "model.depth=1",
        "data.eval_repeats=1",
    ],
}

RUNS = {"reuse": [], "no_reuse": ["hydra.sweeper.inference_params=[]"]}


def overrides(n_trials: int, n_initial_trials: int, extra: list[str], run: str) -> list[str]:
    """The command-line overrides of one run (``run`` is ``"reuse"`` or ``"no_reuse"``)."""
    return [
        *SPACE,
        f"seed={SEED}",
        f"data.seed={SEED}",
        f"hydra.sweeper.seed={SEED}",
        f"hydra.sweeper.n_trials={n_trials}",
        f"hydra.sweeper.n_initial_trials={n_initial_trials}",
        "trainer.max_time=null",  # no wall-clock cap: training ends at early stopping, whatever the machine's load
        "hydra.sweeper.tensorboard=false",
        "~hydra.callbacks.batch_size_ratio",
        *extra,
        *RUNS[run],
    ]


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _trial_row(trial: Any) -> dict[str, Any]:
    """One trial's figures: what it swept, whether it trained, and its joules (``trial_energy``'s rules)."""
    energy = trial_energy(trial)
    m = trial.metrics
    ran = trial.reused_from is None and trial.status in ("completed", "failed")
    return {
        "trial_index": trial.trial_index,
        "status": trial.status,
        "duplicate_of": trial.reused_from,  # the sweeper answered it from an earlier, identical trial: not run
        "params": trial.params,
        "trained": bool(ran and m.get("checkpoint/reused", 0.0) == 0.0 and (energy.train_j or 0.0) > 0.0),
        "train_j": energy.train_j,
        "inference_j": energy.eval_j,
        "total_j": energy.total_j,
        "train_reused_j": m.get("energy/train_reused_j"),
        "test_samples": m.get("energy/test_samples"),
        "test_samples_per_j": m.get("energy/test_samples_per_j"),
        "batch_latency_ms": m.get("test/batch_latency_ms"),
        "test_time_s": m.get("energy/test_time_s"),
        "short_window": bool(m.get("energy/test_short_window")),  # under EnergyCallback's min_duration_s
        "test_acc": m.get("test/acc"),
        "energy_source": trial.energy_source,
    }


def run_sweep(name: str, sweep_dir: Path, config: dict[str, Any], threads: int) -> dict[str, Any]:
    """Run one sweep as a subprocess (as a user runs it) and read its figures back from its results file."""
    command = [sys.executable, str(EXAMPLE), "-m", f"hydra.sweep.dir={sweep_dir}", *overrides(**config, run=name)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)}
    env["OMP_NUM_THREADS"] = env["MKL_NUM_THREADS"] = str(threads)
    env.pop("HYDRA_FULL_ERROR", None)
    cpu_before = _children_cpu_s()
    start = time.perf_counter()
    done = subprocess.run(command, cwd=sweep_dir.parent, env=env, capture_output=True, text=True, check=False)
    wall_s = time.perf_counter() - start
    process_cpu_s = _children_cpu_s() - cpu_before
    if done.returncode != 0:
        raise RuntimeError(f"search_energy: the {name} sweep failed (exit {done.returncode}):\n{done.stderr[-3000:]}")
    loaded = load_sweep(sweep_dir)
    rows = [_trial_row(t) for t in loaded.result.trials]
    ran = [r for r in rows if r["duplicate_of"] is None and r["status"] in ("completed", "failed")]
    sources = sorted({r["energy_source"] for r in ran if r["energy_source"]})
    train_j = sum(r["train_j"] or 0.0 for r in ran)
    inference_j = sum(r["inference_j"] or 0.0 for r in ran)
    return {
        "command": shlex.join(["python", str(EXAMPLE.relative_to(ROOT)), *command[2:]]),
        "trials": len(rows),
        "trials_run": len(ran),
        "trials_duplicate": sum(r["duplicate_of"] is not None for r in rows),
        "trials_failed": sum(r["status"] == "failed" for r in rows),
        "trainings": sum(r["trained"] for r in ran),
        "short_windows": sum(r["short_window"] for r in ran),  # trials flagged under EnergyCallback's min_duration_s
        "test_samples": sum(r["test_samples"] or 0.0 for r in ran),
        "checkpoint_files": len(list((sweep_dir / CACHE_DIRNAME).glob("*.pt"))),
        "train_j": train_j,
        "inference_j": inference_j,
        "total_j": train_j + inference_j,
        "energy_source": sources[0] if len(sources) == 1 else sources,
        "wall_s": wall_s,
        "process_cpu_s": process_cpu_s,
        "process_estimated_j": process_cpu_s * DEFAULT_WATTS_PER_THREAD,
        "per_trial": rows,
    }


def summarize(runs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The ratios of the no-reuse run to the reuse run, and what bounds them (see docs/bench-search-energy.md)."""
    reuse, plain = runs["reuse"], runs["no_reuse"]
    sources = {str(r["energy_source"]) for r in runs.values()}
    if len(sources) != 1 or any(isinstance(r["energy_source"], list) for r in runs.values()):
        raise RuntimeError(f"search_energy: the runs' energy sources differ ({sorted(sources)}); not comparable.")
    trained = [t["train_j"] for t in reuse["per_trial"] if t["trained"]]
    mean_train_j = sum(trained) / len(trained) if trained else 0.0
    mean_inference_j = reuse["inference_j"] / reuse["trials_run"] if reuse["trials_run"] else 0.0
    ratio = plain["total_j"] / reuse["total_j"] if reuse["total_j"] > 0 else None
    # Ax proposes the same Sobol trials in both runs (same seed); qNEHVI's later proposals depend on the measured
    # figures, so the runs may then evaluate different configurations, and spend different inference energy.
    same = [(a, b) for a, b in zip(reuse["per_trial"], plain["per_trial"], strict=False) if a["params"] == b["params"]]
    # Like for like, from the reuse run alone (the ledger of `ecopt report`): the same configurations, each trial
    # training as the shared checkpoint trained. The no-reuse run differs from it in its configurations (qNEHVI), in
    # the machine's load while it ran, and so in the test passes its trials needed to reach min_duration_s.
    avoided_j = sum(t["train_reused_j"] or 0.0 for t in reuse["per_trial"] if t["duplicate_of"] is None)
    ledger_ratio = (reuse["total_j"] + avoided_j) / reuse["total_j"] if reuse["total_j"] > 0 else None
    return {
        "energy_source": sources.pop(),
        "ratio_total_j": ratio,
        "ledger_ratio_total_j": ledger_ratio,
        "ratio_train_j": plain["train_j"] / reuse["train_j"] if reuse["train_j"] > 0 else None,
        "ratio_wall_s": plain["wall_s"] / reuse["wall_s"] if reuse["wall_s"] > 0 else None,
        "ratio_process_estimated_j": plain["process_estimated_j"] / reuse["process_estimated_j"]
        if reuse["process_estimated_j"] > 0
        else None,
        "training_j_avoided_fraction": 1.0 - reuse["train_j"] / plain["train_j"] if plain["train_j"] > 0 else None,
        "mean_train_j_per_training_reuse_run": mean_train_j,
        "mean_inference_j_per_trial_reuse_run": mean_inference_j,
        # n trainings against one, with the same inference: the ratio can never exceed (T + I) / I, however many
        # trials the sweep runs (T: the reuse run's training, I: its mean inference per trial).
        "ratio_ceiling": (mean_train_j + mean_inference_j) / mean_inference_j if mean_inference_j > 0 else None,
        "same_config_trials": len(same),
        "same_config_inference_j": {
            "reuse": sum(a["inference_j"] or 0.0 for a, _ in same),
            "no_reuse": sum(b["inference_j"] or 0.0 for _, b in same),
        },
        "target_ratio": 5.0,
        "target_met": ratio is not None and ratio >= 5.0,
        "target_met_like_for_like": ledger_ratio is not None and ledger_ratio >= 5.0,
    }


def _git() -> dict[str, Any]:
    """The commit the benchmark ran at, and whether the working tree had uncommitted changes."""
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True)
        status = subprocess.run(["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return {"commit": None, "dirty": None}
    return {"commit": commit.stdout.strip(), "dirty": bool(status.stdout.strip())}


def _machine() -> dict[str, Any]:
    from importlib.metadata import version

    return {
        "git": _git(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "load_average_before": os.getloadavg(),
        **{pkg: version(pkg) for pkg in ("torch", "lightning", "hydra-core", "ax-platform", "scikit-learn")},
    }


def _print_table(result: dict[str, Any]) -> None:
    summary = result["summary"]
    print(f"digits sweep over inference-only parameters, {result['config']['n_trials']} trials, seed {SEED}")
    print(f"energy: {summary['energy_source']}")
    print(
        f"{'run':<9} {'trials run':>10} {'trainings':>9} {'training J':>11} {'inference J':>12} {'total J':>9} "
        f"{'wall s':>7} {'process J (est.)':>16}"
    )
    for name, r in result["runs"].items():
        print(
            f"{name:<9} {r['trials_run']:>10} {r['trainings']:>9} {r['train_j']:>11.1f} {r['inference_j']:>12.1f} "
            f"{r['total_j']:>9.1f} {r['wall_s']:>7.1f} {r['process_estimated_j']:>16.1f}"
        )
    print(
        "short energy windows (flagged under min_duration_s): "
        + ", ".join(f"{name} {r['short_windows']}/{r['trials_run']}" for name, r in result["runs"].items())
    )
    ratio = summary["ratio_total_j"]
    print(
        f"search energy without reuse / with reuse: {ratio:.2f}x (target >= 5x: "
        f"{'met' if summary['target_met'] else 'NOT met'}); like for like (the reuse run's ledger): "
        f"{summary['ledger_ratio_total_j']:.2f}x; ceiling at this inference cost: {summary['ratio_ceiling']:.2f}x; "
        f"wall time {summary['ratio_wall_s']:.2f}x"
    )


def main(argv: list[str] | None = None) -> int:
    """Run both sweeps, print the table and write the JSON results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="2 trials, one epoch, a small model: a CI check")
    parser.add_argument("--n-trials", type=int, default=FULL["n_trials"], help="trials per sweep (default 20)")
    add_out_argument(parser, DEFAULT_OUT)
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch threads of the sweeps (OMP_NUM_THREADS; default 1: on a shared machine, OpenMP threads waiting "
        "for a core spin, and the CPU-time estimate would count the spinning)",
    )
    parser.add_argument(
        "--test-batches",
        type=int,
        default=None,
        help="measure at most this many test batches per trial (trainer.limit_test_batches; default: the example's "
        "own, whole passes until the energy window lasts min_duration_s, at most 4)",
    )
    parser.add_argument(
        "--fixed-passes",
        action="store_true",
        help="every trial evaluates all 4 passes over the test set (1,436 samples, data.eval_min_s=0), as the "
        "example did before it stopped once the energy window is long enough",
    )
    parser.add_argument("--keep", type=Path, default=None, help="keep both sweep dirs under this folder")
    args = parser.parse_args(argv)
    refuse_with_smoke(parser, args, "n_trials")
    if args.threads < 1:
        parser.error(f"--threads {args.threads}: expected at least 1.")
    if args.n_trials < 2:
        parser.error(f"--n-trials {args.n_trials}: expected at least 2 (one training, one reuse).")
    args.out = out_path(args, DEFAULT_OUT)
    config = dict(SMOKE) if args.smoke else {**FULL, "n_trials": args.n_trials}
    config["n_initial_trials"] = min(config["n_initial_trials"], config["n_trials"])
    if args.test_batches is not None:
        if args.test_batches < 3:
            parser.error(f"--test-batches {args.test_batches}: expected at least 3 (2 warm-up batches, then some).")
        config["extra"] = [*config["extra"], f"+trainer.limit_test_batches={args.test_batches}"]
    if args.fixed_passes:
        config["extra"] = [*config["extra"], "data.eval_min_s=0"]
    machine = _machine()
    runs = {}
    with tempfile.TemporaryDirectory(prefix="search_energy_") as tmp:
        base = args.keep if args.keep is not None else Path(tmp)
        for name in RUNS:
            sweep_dir = (base / name).resolve()
            # A kept dir of an earlier run would be resumed (its finished sweep runs nothing) and reported as new.
            shutil.rmtree(sweep_dir, ignore_errors=True)
            sweep_dir.parent.mkdir(parents=True, exist_ok=True)
            runs[name] = run_sweep(name, sweep_dir, config, args.threads)
    result = {
        "benchmark": "search_energy",
        "command": shlex.join(["python", "benchmarks/search_energy.py", *(sys.argv[1:] if argv is None else argv)]),
        "seed": SEED,
        "config": {
            **config,
            "space": SPACE,
            "smoke": args.smoke,
            "threads": args.threads,
            "fixed_passes": args.fixed_passes,
        },
        "machine": machine,
        "runs": runs,
        "summary": summarize(runs),
    }
    _print_table(result)
    write_json(args.out, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
