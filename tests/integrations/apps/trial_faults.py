"""A Hydra app for the ecopt sweeper tests with a config group (``optim``) and a task that fails on request.

``fail=unpicklable``: trials with ``x > 0.5`` raise an exception that pickles but cannot be unpickled (its
``__init__`` takes two arguments), as a process-based launcher (joblib) must carry it back to the sweep.
The option ``optim=broken`` exists but does not compose (its defaults name a config that does not exist).
"""

from __future__ import annotations

import hydra
from omegaconf import DictConfig


class TwoArgError(Exception):
    """An exception whose ``__init__`` does not take its own ``args`` back: unpickling it raises TypeError."""

    def __init__(self, what: str, detail: str) -> None:
        super().__init__(f"{what}: {detail}")


@hydra.main(version_base="1.3", config_path="trial_faults_conf", config_name="config")
def main(cfg: DictConfig) -> object:
    x, y = float(cfg.x), float(cfg.y)
    if cfg.fail == "unpicklable" and x > 0.5:
        raise TwoArgError("bad", "thing")
    penalty = float(cfg.optim.penalty)
    return {"f1": x**2 + y**2 + penalty, "f2": (x - 1.0) ** 2 + (y - 0.5) ** 2 + penalty}


if __name__ == "__main__":
    main()
