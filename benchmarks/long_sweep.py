"""Benchmark: seconds per proposal of a long sweep (200 trials) whose front grows broad, qNEHVI against EHVI.

qNEHVI's cost grows with the trials and with the points on the front: it scores its raw samples against the front's
box decomposition. The issue's figures stop at 100 trials of fronts of a few dozen points; a sweep of quick trials at
the paper's budget (200) with an accuracy/energy trade-off that keeps most trials on the front goes further. The task
is ZDT1 with two parameters, both objectives maximised as an accuracy and an efficiency are (``acc = -x``,
``spj = -g (1 - sqrt(x / g))``, ``g = 1 + 9 y``), no reference point given (inferred, as from Hydra by default),
storage on: the sweeper's defaults, only ``acquisition`` differs, except that the TensorBoard views are off
(``on_batch_end=[]``; they add about 0.2 s a batch at 200 trials). Each trial costs microseconds, so the gaps between
trials are the sweep's own time (the proposal, and the saves of the experiment and results file).

    python benchmarks/long_sweep.py                 # 200 trials, qNEHVI then EHVI (about 12 minutes on 2 cores)
    python benchmarks/long_sweep.py --smoke         # 6 trials each: a check that it runs

Writes benchmarks/results/long_sweep.json (or --out; a --smoke run without --out writes under the temp dir) and
prints, per acquisition, the median and largest gap between trials for every 20 trials, the total time in proposals,
the final front's size and the hypervolume. Summary: docs/bench-optimizer.md, "Long sweeps".
"""

from __future__ import annotations

import argparse
import math
import platform
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any, cast

sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/ is not a package

from benchmark_env import add_out_argument, out_path, package_versions, refuse_with_smoke, revision, write_json

from lightning_ecopt.sweeper.loop import ParetoSweep
from lightning_ecopt.sweeper.objectives import parse_objectives
from lightning_ecopt.sweeper.settings import SweepSettings
from lightning_ecopt.sweeper.space import parse_search_space

DEFAULT_OUT = Path(__file__).resolve().parent / "results" / "long_sweep.json"
ACQUISITIONS = ("qNEHVI", "EHVI")
WINDOW = 20


def zdt1_maximised(params: dict[str, Any]) -> dict[str, float]:
    """ZDT1 (d=2) with both objectives negated: every point with ``y = 0`` is on the front.

    >>> zdt1_maximised({"x": 0.25, "y": 0.0})
    {'acc': -0.25, 'spj': -0.5}
    """
    x, y = params["x"], params["y"]
    g = 1.0 + 9.0 * y
    return {"acc": -x, "spj": -g * (1.0 - math.sqrt(x / g))}


def run_sweep(acquisition: str, n_trials: int, folder: Path, seed: int) -> dict[str, Any]:
    """One sweep of ``n_trials``; the gaps between trials, the proposal time, the front and the hypervolume."""
    space = parse_search_space({"x": "interval(0, 1)", "y": "interval(0, 1)"}, [])
    objectives = parse_objectives({"acc": "maximize", "spj": "maximize"}, None)
    storage = folder / acquisition / "ax_experiment.json"
    settings = SweepSettings(
        objectives, n_trials=n_trials, seed=seed, storage=storage, acquisition=cast(Any, acquisition)
    )
    gaps: list[float] = []
    last = [time.perf_counter()]

    def task(params: dict[str, Any]) -> dict[str, float]:
        now = time.perf_counter()
        gaps.append(now - last[0])
        out = zdt1_maximised(params)
        last[0] = time.perf_counter()
        return out

    start = time.perf_counter()
    result = ParetoSweep.from_function(space, settings, task, on_batch_end=[]).run()
    wall = time.perf_counter() - start
    windows = [
        {
            "trials": [at, min(at + WINDOW, len(gaps)) - 1],
            "median_gap_s": statistics.median(gaps[at : at + WINDOW]),
            "max_gap_s": max(gaps[at : at + WINDOW]),
        }
        for at in range(0, len(gaps), WINDOW)
    ]
    return {
        "acquisition": acquisition,
        "n_trials": n_trials,
        "wall_s": wall,
        "suggest_time_s": result.suggest_time_s,
        "front_size": len(result.pareto_indices),
        "hypervolume": result.hypervolume,
        "reference_point": result.reference_point,
        "gaps_s": gaps,
        "windows": windows,
    }


def main(argv: list[str] | None = None) -> int:
    """Run the sweeps one after the other, print a table and write the JSON results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--acquisitions", nargs="+", choices=ACQUISITIONS, default=list(ACQUISITIONS))
    parser.add_argument("--smoke", action="store_true", help="6 trials each: a check that it runs")
    add_out_argument(parser, DEFAULT_OUT)
    args = parser.parse_args(argv)
    refuse_with_smoke(parser, args, "trials")
    if args.smoke:
        args.trials = 6
    if args.trials < 1:
        parser.error(f"--trials {args.trials}: expected at least 1")
    args.out = out_path(args, DEFAULT_OUT)
    warnings.filterwarnings("ignore")  # BoTorch's numerical warnings at every late proposal: not what is measured
    runs = []
    with tempfile.TemporaryDirectory(prefix="ecopt-long-sweep-") as folder:
        for acquisition in args.acquisitions:
            runs.append(run_sweep(acquisition, args.trials, Path(folder), args.seed))
            run = runs[-1]
            print(
                f"{acquisition:<7} {run['n_trials']} trials in {run['wall_s']:.0f} s, {run['suggest_time_s']:.0f} s "
                f"proposing; front {run['front_size']}, hypervolume {run['hypervolume']}"
            )
            for window in run["windows"]:
                first, last = window["trials"]
                print(
                    f"  trials {first:>3}-{last:<3} median gap {window['median_gap_s']:.2f} s, "
                    f"max {window['max_gap_s']:.2f} s"
                )
    write_json(
        args.out,
        {
            "runs": runs,
            "command": " ".join(["python", "benchmarks/long_sweep.py", *(sys.argv[1:] if argv is None else argv)]),
            "revision": revision(),
            "machine": {
                "python": platform.python_version(),
                "platform": platform.platform(),
                **package_versions(["ax-platform", "botorch", "torch"]),
            },
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
