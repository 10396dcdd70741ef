"""A tiny Hydra app for the ecopt sweeper tests: two quadratic objectives, no training, no GPU."""

from __future__ import annotations

import hydra
from omegaconf import DictConfig


@hydra.main(version_base="1.3", config_path="conf", config_name="config")
def main(cfg: DictConfig) -> object:
    x, y = float(cfg.x), float(cfg.y)
    f1 = x**2 + y**2
    f2 = (x - 1.0) ** 2 + (y - 0.5) ** 2
    if cfg.get("tuple_result", False):
        return (f1, f2)  # the Optuna sweeper's multi-objective contract
    return {"f1": f1, "f2": f2, "energy/train_j": 10.0 * (1.0 + x), "energy/source": "estimated: test"}


if __name__ == "__main__":
    main()
