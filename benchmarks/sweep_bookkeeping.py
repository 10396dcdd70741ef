"""Benchmark: what a sweep spends outside its trials as they accumulate, and Ax's save against ours.

A sweep of a trivial task (two floats, every trial a Sobol trial, so the optimiser's own cost, item 2 of issue 6,
is left out), one trial a batch, with storage and the TensorBoard views on, as `hydra/sweeper=ecopt` runs: the same
sweep twice in one process, once saving the experiment through Ax's ``Client.save_to_json_file`` and once through
:class:`~lightning_ecopt.sweeper.snapshot.ExperimentSnapshot` (the loop's writer, which keeps each trial's encoded
data). Every ``--every`` trials of the second run, Ax's save of the same client is timed beside ours and their bytes
compared.

    python benchmarks/sweep_bookkeeping.py                 # 200 trials, both writers (about 8 minutes)
    python benchmarks/sweep_bookkeeping.py --smoke         # 6 trials

Writes benchmarks/results/sweep_bookkeeping.json (or --out; a --smoke run without --out writes under the temp dir)
and prints a table; the summary is in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/ is not a package

from benchmark_env import add_out_argument, out_path, package_versions, refuse_with_smoke, revision, write_json

from lightning_ecopt.sweeper import loop
from lightning_ecopt.sweeper.loop import ParetoSweep
from lightning_ecopt.sweeper.objectives import parse_objectives
from lightning_ecopt.sweeper.settings import SweepSettings
from lightning_ecopt.sweeper.snapshot import ExperimentSnapshot
from lightning_ecopt.sweeper.space import RangeParameter, SearchSpace

DEFAULT_OUT = Path(__file__).resolve().parent / "results" / "sweep_bookkeeping.json"
WRITERS = ("ax", "ours")


def _task(params: dict[str, Any]) -> dict[str, float]:
    return {"f0": params["a"], "f1": 1.0 - params["a"] + params["b"] ** 2}


@contextmanager
def _patched(owner: Any, name: str, replacement: Callable[..., Any]) -> Iterator[Callable[..., Any]]:
    """Replace ``owner.name`` for the block; yields the original."""
    original = getattr(owner, name)
    setattr(owner, name, replacement)
    try:
        yield original
    finally:
        setattr(owner, name, original)


def _ax_save_s(client: Any, folder: Path) -> tuple[float, bytes]:
    """Seconds Ax's own save of ``client`` takes, and what it wrote."""
    path = folder / "ax_side.json"
    start = time.perf_counter()
    client.save_to_json_file(str(path))
    return time.perf_counter() - start, path.read_bytes()


def run_sweep(writer: str, n_trials: int, every: int, folder: Path) -> dict[str, Any]:
    """One sweep of ``n_trials`` saving with ``writer``; the per-save times and, for ``ours``, the side-by-side rows."""
    saves: list[tuple[int, float]] = []  # (trials in the experiment, seconds)
    results_s: list[float] = []
    hooks_s: list[float] = []
    side_by_side: list[dict[str, Any]] = []
    aside_s: list[float] = []  # Ax's side-by-side saves: inside the run, not part of it
    real_write = ExperimentSnapshot.write
    real_results = loop.write_results
    real_batch_end = ParetoSweep._batch_end

    def write(self: ExperimentSnapshot, client: Any, path: str) -> None:
        start = time.perf_counter()
        if writer == "ax":
            client.save_to_json_file(path)
        else:
            real_write(self, client, path)
        seconds = time.perf_counter() - start
        n = len(client._experiment.trials)
        saves.append((n, seconds))
        finished = sum(t.status.is_terminal for t in client._experiment.trials.values())
        timed = {row["trials"] for row in side_by_side}
        if writer == "ours" and finished % every == 0 and n == finished and finished not in timed:  # a batch's end
            aside = time.perf_counter()
            ax_s, ax_bytes = _ax_save_s(client, folder)
            identical = Path(path).read_bytes() == ax_bytes
            aside_s.append(time.perf_counter() - aside)
            side_by_side.append(
                {
                    "trials": finished,
                    "ours_s": round(seconds, 4),
                    "ax_s": round(ax_s, 4),
                    "ratio": round(ax_s / seconds, 2),
                    "identical_bytes": identical,
                }
            )

    def timed_results(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return real_results(*args, **kwargs)
        finally:
            results_s.append(time.perf_counter() - start)

    def timed_batch_end(self: ParetoSweep, result: Any) -> None:
        start = time.perf_counter()
        try:
            real_batch_end(self, result)
        finally:
            hooks_s.append(time.perf_counter() - start)

    space = SearchSpace((RangeParameter("a", 0.0, 1.0, "float"), RangeParameter("b", 0.0, 1.0, "float")))
    settings = SweepSettings(
        parse_objectives({"f0": "minimize", "f1": "minimize"}, None),
        n_trials=n_trials,
        n_initial_trials=n_trials,
        seed=0,
        storage=str(folder / writer / "ax_experiment.json"),
        reference_point={"f0": 2.0, "f1": 3.0},
    )
    with (
        _patched(ExperimentSnapshot, "write", write),
        _patched(loop, "write_results", timed_results),
        _patched(ParetoSweep, "_batch_end", timed_batch_end),
    ):
        start = time.perf_counter()
        result = ParetoSweep.from_function(space, settings, _task).run()
        wall_s = time.perf_counter() - start
    assert result.n_completed == n_trials, result.stop_reason
    return {
        "wall_s": round(wall_s - sum(aside_s), 2),  # without the side-by-side saves of Ax
        "side_by_side_s": round(sum(aside_s), 2),
        "saves": len(saves),
        "saves_s": round(sum(s for _, s in saves), 2),
        "last_save_s": round(saves[-1][1], 4),
        "results_file_s": round(sum(results_s), 2),
        "tensorboard_s": round(sum(hooks_s), 2),
        "save_s_by_trials": [[n, round(s, 4)] for n, s in saves],
        "side_by_side": side_by_side,
    }


def main(argv: list[str] | None = None) -> int:
    """Run both sweeps, print a table and write the JSON results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--every", type=int, default=25, help="time Ax's save beside ours every this many trials")
    parser.add_argument("--smoke", action="store_true", help="6 trials, side by side every 2: a check that it runs")
    add_out_argument(parser, DEFAULT_OUT)
    args = parser.parse_args(argv)
    refuse_with_smoke(parser, args, "trials", "every")
    if args.smoke:
        args.trials, args.every = 6, 2
    if args.trials < 1 or args.every < 1:
        parser.error(f"--trials {args.trials} --every {args.every}: expected at least 1 each")
    args.out = out_path(args, DEFAULT_OUT)
    warnings.filterwarnings("ignore")
    runs: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="ecopt-bookkeeping-") as folder:
        run_sweep("ours", 2, args.every, Path(folder) / "warm-up")  # imports and Ax's first calls, in neither run
        for writer in WRITERS:
            runs[writer] = run_sweep(writer, args.trials, args.every, Path(folder))
    rows = runs["ours"]["side_by_side"]
    result = {
        "trials": args.trials,
        "runs": runs,
        "median_ratio": statistics.median(r["ratio"] for r in rows) if rows else None,
        "all_identical": all(r["identical_bytes"] for r in rows),
        "command": " ".join(["python", "benchmarks/sweep_bookkeeping.py", *(sys.argv[1:] if argv is None else argv)]),
        "revision": revision(),
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            **package_versions(["ax-platform", "botorch", "pandas", "tensorboard", "matplotlib"]),
        },
    }
    print(f"{args.trials} trials, one a batch, storage and TensorBoard on")
    print(
        f"{'writer':<6} {'wall s':>8} {'saves s':>8} {'last save s':>12} {'results file s':>15} {'tensorboard s':>14}"
    )
    for writer, run in runs.items():
        print(
            f"{writer:<6} {run['wall_s']:>8.1f} {run['saves_s']:>8.1f} {run['last_save_s']:>12.3f} "
            f"{run['results_file_s']:>15.1f} {run['tensorboard_s']:>14.1f}"
        )
    print("side by side (same client, same moment):")
    for row in rows:
        print(f"  {row['trials']:>4} trials: ax {row['ax_s']:.3f} s, ours {row['ours_s']:.3f} s ({row['ratio']:.1f}x)")
    write_json(args.out, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
