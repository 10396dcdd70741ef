"""Benchmark: a 400-trial sweep (40 Sobol + 360 model trials) over the ECOpt paper's CNN space, per-trial costs.

docs/from-ecopt.md tells a user of the paper's reference code to set ``n_trials: 400, n_initial_trials: 40`` (its
CIFAR-10 search); the other benchmarks time proposals to 100-200 trials. This one runs the optimiser itself to 400 on
the paper's space (``width: int(interval(1, 128))``, ``depth: int(interval(1, 6))``, ``kernel: tag(ordered, choice(1,
3, 5, 7, 9))``, ``pooling: tag(ordered, choice(true, false))``: 7,680 configurations) with a synthetic task of
microseconds: an accuracy that saturates in width and depth (noise of 0.5 points) and samples per joule that fall with
``width * depth * kernel**2`` (pooling helps). Storage on, the TensorBoard views on (the sweep's defaults), seed 0.

Recorded after every batch: the seconds of the proposal (the sweep's own ``suggest_time_s``, per batch; Ax's fit and
gen times per trial), the seconds of the batch's saves (``ax_experiment.json`` and ``optimization_results.yaml``) and
of the TensorBoard update, the two files' sizes, the process's RSS, the Pareto set's size, the hypervolume, the
distinct configurations tried, and the warnings and log records the sweep let through.

    python benchmarks/long_sweep_cnn.py                        # 400 trials, batches of 1 (about 25 minutes, 2 cores)
    python benchmarks/long_sweep_cnn.py --batch-size 4 --out /tmp/b4.json
    python benchmarks/long_sweep_cnn.py --smoke                # 12 trials (8 Sobol): a check that it runs
    python benchmarks/long_sweep_cnn.py --screen all           # qNEHVI scores every configuration, as Ax does
    python benchmarks/long_sweep_cnn.py --front-history /tmp/h.yaml   # a sweep-like history for --probe, no sweep
    python benchmarks/long_sweep_cnn.py --probe /tmp/h.yaml --probe-at 400 [--botorch-pruning] --out /tmp/p.json

Writes benchmarks/results/long_sweep_cnn.json (or --out) and prints a table at 50, 100, 200, 300 and 400 trials.
Summary: docs/bench-optimizer.md, "A 400-trial sweep".
"""

from __future__ import annotations

import argparse
import collections
import cProfile
import io
import logging
import math
import platform
import pstats
import resource
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any, cast

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/ is not a package

from benchmark_env import (
    add_out_argument,
    botorch_pruning_mask,
    cpu_identity,
    out_path,
    package_versions,
    refuse_with_smoke,
    revision,
    write_json,
)

from lightning_ecopt.exceptions import SweepTerminated
from lightning_ecopt.sweeper import loop
from lightning_ecopt.sweeper.loop import ParetoSweep, _default_batch_hooks
from lightning_ecopt.sweeper.objectives import parse_objectives
from lightning_ecopt.sweeper.results import SweepResult
from lightning_ecopt.sweeper.settings import SweepSettings
from lightning_ecopt.sweeper.space import parse_search_space

DEFAULT_OUT = Path(__file__).resolve().parent / "results" / "long_sweep_cnn.json"
CHECKPOINTS = (50, 100, 200, 300, 400)
SPACE = {
    "width": "int(interval(1, 128))",
    "depth": "int(interval(1, 6))",
    "kernel": "tag(ordered, choice(1, 3, 5, 7, 9))",
    "pooling": "tag(ordered, choice(true, false))",
}
KERNEL_ACC = {1: 0.0, 3: 0.03, 5: 0.04, 7: 0.035, 9: 0.025}


def cnn_task(params: dict[str, Any], rng: np.random.Generator) -> dict[str, Any]:
    """A CNN-shaped trade-off: accuracy saturates in width and depth, samples per joule fall with the FLOPs.

    >>> out = cnn_task({"width": 64, "depth": 3, "kernel": 3, "pooling": True}, np.random.default_rng(0))
    >>> round(out["test/acc"], 3), round(out["energy/test_samples_per_j"], 1)
    (0.798, 662.1)
    """
    width, depth, kernel, pooling = params["width"], params["depth"], params["kernel"], params["pooling"]
    capacity = (1.0 - math.exp(-width / 24.0)) * (1.0 - math.exp(-depth / 1.5))
    acc = 0.5 + 0.32 * capacity + KERNEL_ACC[kernel] + (0.01 if pooling else 0.0) + rng.normal(0.0, 0.005)
    flops = width * depth * kernel**2
    spj = 4000.0 / (1.0 + flops / 200.0) * (1.6 if pooling else 1.0) * math.exp(rng.normal(0.0, 0.02))
    return {"test/acc": min(acc, 1.0), "energy/test_samples_per_j": spj, "energy/source": "estimated: cpu-time"}


def front_history(path: Path, n: int = 400, n_random: int = 40, seed: int = 0) -> None:
    """Write a sweep-like results file for ``--probe`` without running a sweep.

    ``n_random`` random configurations, then the rest from the lowest non-dominated ranks of the trade-off (each
    configuration ranked by one fixed draw of :func:`cnn_task`; a converged sweep's trials crowd its front), each
    measured once more by :func:`cnn_task`.

    >>> import tempfile, yaml
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     front_history(Path(tmp) / "h.yaml", n=12, n_random=4)
    ...     trials = yaml.safe_load((Path(tmp) / "h.yaml").read_text())["trials"]
    >>> len(trials), len({tuple(sorted(t["params"].items())) for t in trials}), trials[0]["status"]
    (12, 12, 'completed')
    """
    import yaml

    rng = np.random.default_rng(seed)
    configs = [
        {"width": w, "depth": d, "kernel": k, "pooling": p}
        for w in range(1, 129)
        for d in range(1, 7)
        for k in (1, 3, 5, 7, 9)
        for p in (True, False)
    ]
    values = np.array([list(cnn_task(c, np.random.default_rng(seed)).values())[:2] for c in configs], dtype=float)
    rank = np.full(len(configs), -1)
    left, depth = np.arange(len(configs)), 0
    while len(left):
        F = values[left]
        dominated = ((F[None] >= F[:, None]).all(-1) & (F[None] > F[:, None]).any(-1)).any(-1)
        rank[left[~dominated]] = depth
        left, depth = left[dominated], depth + 1
    order = [int(i) for i in rng.permutation(len(configs))[:n_random]]
    chosen = set(order)
    order += [int(i) for i in np.argsort(rank + 3 * rng.random(len(configs))) if int(i) not in chosen][: n - n_random]
    trials = []
    for index, c in enumerate(order):
        metrics = cnn_task(configs[c], rng)
        metrics.pop("energy/source")
        trials.append({"trial_index": index, "status": "completed", "params": configs[c], "metrics": metrics})
    path.write_text(yaml.safe_dump({"trials": trials}), encoding="utf-8")


def rss_mb() -> float:
    """The process's resident set now, in MB (Linux ``/proc``)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class _Counter(logging.Handler):
    """Counts the log records at INFO and above that reach the root logger, by logger and first words."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.counts: collections.Counter[str] = collections.Counter()

    def emit(self, record: logging.LogRecord) -> None:
        self.counts[f"{record.levelname} {record.name}: {record.getMessage()[:70]}"] += 1


class TimedSweep(ParetoSweep):
    """The sweep, timing its saves, and profiling one proposal."""

    profile_at: int | None = None
    profile_text: str = ""
    save_s: float = 0.0
    experiment_save_s: float = 0.0
    ask_s: float = 0.0

    def _save_experiment(self, client: Any) -> None:
        start = time.perf_counter()
        try:
            super()._save_experiment(client)
        finally:
            self.experiment_save_s += time.perf_counter() - start

    def _save(self, client: Any) -> SweepResult:
        start = time.perf_counter()
        try:
            return super()._save(client)
        finally:
            self.save_s += time.perf_counter() - start

    def _ask(self, client: Any, k: int) -> dict[int, dict[str, Any]]:
        start = time.perf_counter()
        try:
            if self.profile_at is not None and self._n_finished() == self.profile_at:
                profiler = cProfile.Profile()
                got = profiler.runcall(super()._ask, client, k)
                text = io.StringIO()
                pstats.Stats(profiler, stream=text).sort_stats("cumulative").print_stats(45)
                self.profile_text = text.getvalue()
                return got
            return super()._ask(client, k)
        finally:
            self.ask_s += time.perf_counter() - start


def run_sweep(args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    """One sweep; a row per batch and a summary."""
    space = parse_search_space(dict(SPACE), [])
    objectives = parse_objectives({"test/acc": "maximize", "energy/test_samples_per_j": "maximize"}, None)
    storage = folder / "ax_experiment.json"
    settings = SweepSettings(
        objectives,
        n_trials=args.trials,
        n_initial_trials=args.initial,
        seed=args.seed,
        storage=storage,
        max_batch_size=args.batch_size,
        acquisition=args.acquisition,
    )
    rng = np.random.default_rng(args.seed)
    board_hooks = _default_batch_hooks(settings, space)
    rows: list[dict[str, Any]] = []
    state = {"suggest": 0.0, "save": 0.0, "xsave": 0.0, "ask": 0.0, "t": time.perf_counter(), "board": 0.0}
    tried: set[tuple[Any, ...]] = set()
    counter = _Counter()
    logging.getLogger().addHandler(counter)
    shown: collections.Counter[str] = collections.Counter()
    show = warnings.showwarning

    def count_warning(message: Any, category: type[Warning], *rest: Any, **kwargs: Any) -> None:
        shown[f"{category.__name__}: {str(message)[:80]}"] += 1

    warnings.showwarning = count_warning

    def task(params: dict[str, Any]) -> dict[str, Any]:
        tried.add((params["width"], params["depth"], params["kernel"], params["pooling"]))
        return cnn_task(params, rng)

    def board(result: SweepResult) -> None:
        start = time.perf_counter()
        for hook in board_hooks:
            hook(result)
        state["board"] = time.perf_counter() - start

    def record(result: SweepResult) -> None:
        now = time.perf_counter()
        results_path = result.results_path
        rows.append(
            {
                "trials": result.n_finished,
                "suggest_s": result.suggest_time_s - state["suggest"],
                "ask_s": sweep.ask_s - state["ask"],
                "save_s": sweep.save_s - state["save"],
                "experiment_saves_s": sweep.experiment_save_s - state["xsave"],
                "board_s": state["board"],
                "batch_wall_s": now - state["t"],
                "experiment_bytes": storage.stat().st_size if storage.exists() else 0,
                "results_bytes": results_path.stat().st_size if results_path and results_path.exists() else 0,
                "rss_mb": round(rss_mb(), 1),
                "front": len(result.pareto_indices),
                "hypervolume": result.hypervolume,
                "distinct": len(tried),
                "log_records": sum(counter.counts.values()),
                "warnings_shown": sum(shown.values()),
            }
        )
        state.update(
            suggest=result.suggest_time_s,
            ask=sweep.ask_s,
            save=sweep.save_s,
            xsave=sweep.experiment_save_s,
            t=time.perf_counter(),
        )

    sweep = cast(TimedSweep, TimedSweep.from_function(space, settings, task, on_batch_end=[board, record]))
    sweep.profile_at = args.profile_at
    start = time.perf_counter()
    try:
        result = sweep.run()
    except (KeyboardInterrupt, SweepTerminated):  # Ctrl-C, or SIGTERM (a background job ignores SIGINT)
        saved = sweep.result  # as of the last saved batch: the rows so far are written, marked interrupted
        if saved is None:
            raise
        result = saved
        print(f"interrupted after {saved.n_finished} trials")
    finally:
        warnings.showwarning = show
        logging.getLogger().removeHandler(counter)
    wall = time.perf_counter() - start
    fit_gen = _fit_gen_times(storage)
    return {
        "batch_size": args.batch_size,
        "acquisition": args.acquisition,
        "screen": args.screen,
        "n_trials": args.trials,
        "n_finished": result.n_finished,
        "n_initial_trials": args.initial,
        "seed": args.seed,
        "wall_s": wall,
        "suggest_time_s": result.suggest_time_s,
        "front_size": len(result.pareto_indices),
        "hypervolume": result.hypervolume,
        "reference_point": result.reference_point,
        "distinct_configurations": len(tried),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "rows": columns(rows),
        "fit_gen_s": [[i, *(None if t is None else float(f"{t:.4g}") for t in times)] for i, *times in fit_gen],
        "log_records": dict(counter.counts.most_common(30)),
        "warnings_shown": dict(shown.most_common(30)),
        "profile_at": args.profile_at,
        "profile": sweep.profile_text,
    }


def probe(args: argparse.Namespace, at: int) -> dict[str, Any]:
    """One model proposal after the first ``at`` trials of a finished sweep (their recorded values replayed).

    The trials are enqueued (attached as given, in their order) in batches of 10 without storage, so that only the
    last proposal is the model's; its seconds, Ax's fit and gen times, the seconds of its baseline pruning (wall and
    CPU), the pruned baseline's size and the peak RSS of the process are returned (run one ``at`` per process for a
    peak of its own).
    """
    import yaml

    from lightning_ecopt.sweeper.loop import _client_from_json

    history = yaml.safe_load(args.probe.read_text())
    trials = sorted(
        (t for t in history["trials"] if t.get("status", "completed") == "completed"), key=lambda t: t["trial_index"]
    )[:at]
    if len(trials) < at:
        raise SystemExit(f"--probe-at {at}: {args.probe} has only {len(trials)} completed trials")
    values = {tuple(sorted(t["params"].items())): t["metrics"] for t in trials}
    space = parse_search_space(dict(SPACE), [])
    objectives = parse_objectives({"test/acc": "maximize", "energy/test_samples_per_j": "maximize"}, None)
    settings = SweepSettings(
        objectives,
        n_trials=at + 1,
        n_initial_trials=args.initial,
        seed=args.seed,
        max_batch_size=10,
        acquisition=args.acquisition,
        enqueue_trials=[t["params"] for t in trials],
    )
    baseline: list[int] = []
    from botorch.acquisition.multi_objective import monte_carlo
    from botorch.utils.multi_objective import hypervolume

    init = monte_carlo.qNoisyExpectedHypervolumeImprovement.__init__
    prune = hypervolume.prune_inferior_points_multi_objective

    def spy(self: Any, *a: Any, **kw: Any) -> None:
        init(self, *a, **kw)
        baseline.append(int(self.X_baseline.shape[-2]))

    prune_s: list[tuple[float, float]] = []

    def pruned(*a: Any, **kw: Any) -> Any:
        if args.prune_max_frac is not None:
            kw["max_frac"] = args.prune_max_frac
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            return prune(*a, **kw)
        finally:
            prune_s.append((time.perf_counter() - wall, time.process_time() - cpu))

    monte_carlo.qNoisyExpectedHypervolumeImprovement.__init__ = spy  # type: ignore[method-assign]
    hypervolume.prune_inferior_points_multi_objective = pruned

    def task(params: dict[str, Any]) -> dict[str, Any]:
        key = tuple(sorted(params.items()))
        return (
            {**values[key], "energy/source": "estimated: cpu-time"}
            if key in values
            else {"test/acc": 0.5, "energy/test_samples_per_j": 1.0, "energy/source": "estimated: cpu-time"}
        )

    sweep = cast(TimedSweep, TimedSweep.from_function(space, settings, task, on_batch_end=[]))
    sweep.profile_at = at if args.profile_at == at else None
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result = sweep.run()
    client = _client_from_json(sweep._memory or "")
    fit_gen = _fit_gen_of(client._experiment)[-1]
    return {
        "at": at,
        "acquisition": args.acquisition,
        "screen": args.screen,
        "prune_max_frac": args.prune_max_frac,
        "pruning_mask": "botorch" if args.botorch_pruning else "sorted",
        "suggest_s": result.suggest_time_s,
        "fit_s": fit_gen[1],
        "gen_s": fit_gen[2],
        "baseline_points": baseline,
        "prune_s": [round(w, 4) for w, _ in prune_s],
        "prune_cpu_s": [round(c, 4) for _, c in prune_s],
        "front": len(result.pareto_indices),
        "peak_rss_mb_before": before,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "profile": sweep.profile_text,
    }


def columns(rows: list[dict[str, Any]]) -> dict[str, list[Any]]:
    """The per-batch rows as one list per field, floats to 4 significant digits (a small JSON file).

    >>> columns([{"trials": 1, "suggest_s": 0.123456}, {"trials": 2, "suggest_s": 1.5}])
    {'trials': [1, 2], 'suggest_s': [0.1235, 1.5]}
    """
    return {
        key: [float(f"{row[key]:.4g}") if isinstance(row[key], float) else row[key] for row in rows]
        for key in (rows[0] if rows else {})
    }


def _fit_gen_of(experiment: Any) -> list[list[float | None]]:
    """Ax's fit and gen seconds of each trial's generator run (``None`` for attached trials)."""
    out = []
    for index in sorted(experiment.trials):
        runs = experiment.trials[index].generator_runs
        run = runs[0] if runs else None
        out.append([index, getattr(run, "fit_time", None), getattr(run, "gen_time", None)])
    return out


def _fit_gen_times(storage: Path) -> list[list[float | None]]:
    """:func:`_fit_gen_of` of the experiment saved at ``storage``."""
    from ax.api.client import Client

    return _fit_gen_of(Client.load_from_json_file(str(storage))._experiment)


def summary(run: dict[str, Any]) -> list[str]:
    """A line per checkpoint: medians over the 10 batches up to it."""
    lines = [
        f"{'trials':>6} {'s/proposal':>10} {'max':>6} {'save s':>7} {'board s':>7} {'exp MB':>7} {'yaml KB':>7} "
        f"{'RSS MB':>7} {'front':>5} {'distinct':>8} {'HV':>10}"
    ]
    rows = [dict(zip(run["rows"], values, strict=True)) for values in zip(*run["rows"].values(), strict=True)]
    for at in CHECKPOINTS:
        upto = [r for r in rows if r["trials"] <= at]
        if not upto or upto[-1]["trials"] < at - run["batch_size"] + 1:
            continue
        window = [r for r in upto if r["trials"] > upto[-1]["trials"] - 10 * run["batch_size"]]
        per = [r["suggest_s"] / run["batch_size"] for r in window]
        last = upto[-1]
        lines.append(
            f"{last['trials']:>6} {statistics.median(per):>10.2f} {max(per):>6.2f} "
            f"{statistics.median(r['save_s'] for r in window):>7.2f} "
            f"{statistics.median(r['board_s'] for r in window):>7.2f} {last['experiment_bytes'] / 1e6:>7.2f} "
            f"{last['results_bytes'] / 1e3:>7.0f} {last['rss_mb']:>7.0f} {last['front']:>5} {last['distinct']:>8} "
            f"{last['hypervolume'] if last['hypervolume'] is None else round(last['hypervolume'], 3):>10}"
        )
    return lines


def _screen_count(text: str) -> int | None:
    """``--screen``: a positive count, or ``all`` (``None``: Ax scores every configuration)."""
    if text == "all":
        return None
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a positive count, or 'all'")
    return int(text)


def main(argv: list[str] | None = None) -> int:
    """Run the sweep, print the table and write the JSON results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=400)
    parser.add_argument("--initial", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch-size", type=int, default=1)
    parser.add_argument("--acquisition", default="qNEHVI", choices=("qNEHVI", "qLogNEHVI", "EHVI"))
    parser.add_argument("--profile-at", type=int, default=None, help="cProfile the proposal after this many trials")
    parser.add_argument("--prune-max-frac", type=float, default=None, help="qNEHVI's prune_baseline max_frac")
    parser.add_argument(
        "--botorch-pruning",
        action="store_true",
        help="q(Log)NEHVI's baseline pruning with BoTorch's own mask (lightning_ecopt.sweeper.pareto's sorted one off)",
    )
    parser.add_argument(
        "--screen",
        type=_screen_count,
        default=loop._SCREEN_ENUMERATED,
        metavar="N|all",
        help=f"configurations q(Log)NEHVI scores per proposal (loop._SCREEN_ENUMERATED, default "
        f"{loop._SCREEN_ENUMERATED}); 'all': every one, as Ax does",
    )
    parser.add_argument(
        "--probe",
        type=Path,
        default=None,
        metavar="RESULTS_YAML",
        help="instead of a sweep: time one proposal after the first --probe-at trials of this sweep's results file",
    )
    parser.add_argument("--probe-at", type=int, nargs="+", default=[400])
    parser.add_argument(
        "--front-history",
        type=Path,
        default=None,
        metavar="RESULTS_YAML",
        help="instead of a sweep: write a sweep-like history for --probe (40 random configurations, then 360 near the "
        "front) and exit",
    )
    parser.add_argument("--keep", type=Path, default=None, help="sweep folder to keep (default: a temporary one)")
    parser.add_argument("--smoke", action="store_true", help="12 trials (8 Sobol): a check that it runs")
    add_out_argument(parser, DEFAULT_OUT)
    args = parser.parse_args(argv)
    refuse_with_smoke(parser, args, "trials", "initial")
    if args.smoke:
        args.trials, args.initial = 12, 8
    args.out = out_path(args, DEFAULT_OUT)
    loop._SCREEN_ENUMERATED = args.screen
    with botorch_pruning_mask(args.botorch_pruning):
        if args.front_history is not None:
            front_history(args.front_history)
            print(f"wrote {args.front_history}")
            return 0
        if args.probe is not None:
            probes = [probe(args, at) for at in args.probe_at]
            write_json(args.out, {"probes": probes, "command": " ".join(sys.argv), "revision": revision()})
            return 0
        logging.getLogger().setLevel(logging.INFO)  # what a user's INFO logging shows: counted (run_sweep), not printed
        with tempfile.TemporaryDirectory(prefix="ecopt-long-cnn-") as tmp:
            folder = args.keep if args.keep is not None else Path(tmp)
            run = run_sweep(args, folder)
        print(
            f"{run['n_trials']} trials, batches of {run['batch_size']}: {run['wall_s']:.0f} s, "
            f"{run['suggest_time_s']:.0f} s proposing; front {run['front_size']}, hypervolume {run['hypervolume']}, "
            f"{run['distinct_configurations']} distinct, peak RSS {run['peak_rss_mb']:.0f} MB"
        )
        print("\n".join(summary(run)))
        write_json(
            args.out,
            {
                "run": run,
                "command": " ".join(
                    ["python", "benchmarks/long_sweep_cnn.py", *(sys.argv[1:] if argv is None else argv)]
                ),
                "revision": revision(),
                "machine": {
                    "python": platform.python_version(),
                    "platform": platform.platform(),
                    "cpu": cpu_identity(),
                    **package_versions(["ax-platform", "botorch", "torch"]),
                },
            },
        )
        return 0


if __name__ == "__main__":
    sys.exit(main())
