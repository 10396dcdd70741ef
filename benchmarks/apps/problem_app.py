"""A Hydra app that evaluates one problem of ``benchmarks/problems.py``, for the frontier-quality benchmark.

What the ``ecopt`` sweeper sweeps there: the sweeper's real code path (plugin, launcher, Ax loop, results file).

    python benchmarks/apps/problem_app.py -m hydra/sweeper=ecopt problem=branin_currin \
        +hydra.sweeper.objectives.f0=minimize +hydra.sweeper.objectives.f1=minimize \
        +hydra.sweeper.reference_point.f0=18.0 +hydra.sweeper.reference_point.f1=6.0 \
        'x0=interval(0.0, 1.0)' 'x1=interval(0.0, 1.0)' hydra.sweeper.n_trials=40 hydra.sweeper.seed=0

``benchmarks/frontier_quality.py --methods ecopt`` builds this command for every problem.
"""

from __future__ import annotations

import sys
from pathlib import Path

import hydra
from omegaconf import DictConfig

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/ is not a package

import problems


@hydra.main(version_base="1.3", config_path="conf", config_name="problem")
def main(cfg: DictConfig) -> dict[str, float]:
    problem = problems.get(str(cfg.problem))
    params = {p.name: (float(cfg[p.name]) if p.bounds is not None else str(cfg[p.name])) for p in problem.params}
    return problem.evaluate(params)


if __name__ == "__main__":
    main()
