"""A Hydra app for the ecopt sweeper tests with a config group (``optim``) and a task that fails on request.

``fail=unpicklable``: trials with ``x > 0.5`` raise an exception that pickles but cannot be unpickled (its
``__init__`` takes two arguments), as a process-based launcher (joblib) must carry it back to the sweep.
``fail=chdir``: the task works in its job dir (``os.chdir(HydraConfig.get().runtime.output_dir)``, a habit from
before Hydra 1.2, when Hydra changed it; under ``hydra.job.chdir=false`` Hydra does not change it back).
The option ``optim=broken`` exists but does not compose (its defaults name a config that does not exist).
With ``ECOPT_TEST_SIGINT_AT_CALL=N`` in the environment, the task's ``N``-th call in its process sends that process
SIGINT (a Ctrl-C mid-batch under the basic launcher, which runs every job in the sweep's process).
"""

from __future__ import annotations

import os
import signal
import time

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

_calls: list[float] = []


class TwoArgError(Exception):
    """An exception whose ``__init__`` does not take its own ``args`` back: unpickling it raises TypeError."""

    def __init__(self, what: str, detail: str) -> None:
        super().__init__(f"{what}: {detail}")


@hydra.main(version_base="1.3", config_path="trial_faults_conf", config_name="config")
def main(cfg: DictConfig) -> object:
    x, y = float(cfg.x), float(cfg.y)
    _calls.append(x)
    if len(_calls) == int(os.environ.get("ECOPT_TEST_SIGINT_AT_CALL", "0")):
        signal.signal(signal.SIGINT, signal.default_int_handler)  # a shell without job control may ignore it
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(5)  # the KeyboardInterrupt lands here
    if cfg.fail == "chdir":
        os.chdir(HydraConfig.get().runtime.output_dir)
    if cfg.fail == "unpicklable" and x > 0.5:
        raise TwoArgError("bad", "thing")
    penalty = float(cfg.optim.penalty)
    return {"f1": x**2 + y**2 + penalty, "f2": (x - 1.0) ** 2 + (y - 0.5) ** 2 + penalty}


if __name__ == "__main__":
    main()
