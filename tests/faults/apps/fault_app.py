"""A cheap Hydra app for the fault suite: two quadratic objectives, and faults injected on demand.

Environment variables (read by the sweep process and, under joblib, by each worker):

- ``ECOPT_FAULTS``: comma-separated faults by Hydra job number, e.g. ``none,raise,nan``; jobs past the list run
  normally. Faults: ``none``, ``raise``, ``nan``, ``inf``, ``missing``, ``wrongtype``, ``oom``
  (``torch.OutOfMemoryError``), ``oom_energy`` (``TrialFailure`` carrying the energy spent), ``hang`` (sleeps for an
  hour), ``kill`` (SIGKILL of the process running the trial), ``kill_late`` (the same after 2 s, once the other jobs
  of its batch finished), ``slow`` (completes after 4 s: still running when a ``kill`` beside it loses the batch),
  ``swallow`` (hangs, catches ``trial_timeout_s``'s interrupt with ``except Exception`` and returns its figures),
  ``deaf`` (writes ``in_step`` into its job's dir, sleeps there, swallows what interrupts that sleep with ``except
  BaseException``, a stop signal's stop included, then hangs for an hour).
- ``ECOPT_FAULT_KILL``: ``<point>:<n>``: SIGKILL the sweep process the n-th time it reaches ``point``; see
  :mod:`injection`.
"""

from __future__ import annotations

import math
import os
import signal
import time
from pathlib import Path
from typing import Any

import hydra
import injection
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

FAULTS_ENV = "ECOPT_FAULTS"


def _fault(job_num: int) -> str:
    faults = [f.strip() for f in os.environ.get(FAULTS_ENV, "").split(",")]
    return faults[job_num] if job_num < len(faults) and faults[job_num] else "none"


def objectives(x: float, y: float) -> tuple[float, float]:
    """The two quadratics: what every completed trial must have stored for its parameters."""
    return x**2 + y**2, (x - 1.0) ** 2 + (y - 0.5) ** 2


def run_trial(x: float, y: float, fault: str, energy_source: str) -> Any:
    """One trial: the objectives and an energy figure, or the requested fault."""
    f1, f2 = objectives(x, y)
    energy: dict[str, float | str] = {"energy/train_j": 10.0 * (1.0 + x), "energy/source": energy_source}
    if fault == "raise":
        raise RuntimeError("injected fault")
    if fault == "nan":
        return {"f1": math.nan, "f2": f2, **energy}
    if fault == "inf":
        return {"f1": f1, "f2": math.inf, **energy}
    if fault == "missing":
        return {"f1": f1, **energy}
    if fault == "wrongtype":
        return {"f1": "0.5", "f2": [f2], **energy}
    if fault == "oom":
        import torch

        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB (injected)")
    if fault == "oom_energy":
        from lightning_ecopt.exceptions import TrialFailure

        raise TrialFailure("out of memory in fit (injected)", metrics=energy)
    if fault == "hang":
        time.sleep(3600)
    if fault == "swallow":  # a task's broad except around its test loop: figures of a loop the limit cut short
        try:  # noqa: SIM105 - the broad except-and-go-on is the point
            time.sleep(3600)
        except Exception:
            pass
        fault = "none"
    if fault == "deaf":  # a library's catch-all around one step, then a step that runs for an hour
        (Path(HydraConfig.get().runtime.output_dir) / "in_step").touch()
        try:  # noqa: SIM105 - the catch-all is the point
            time.sleep(3600)
        except BaseException:
            pass
        time.sleep(3600)
    if fault == "kill_late":
        time.sleep(2.0)
    if fault == "slow":
        time.sleep(4.0)
        fault = "none"
    if fault in ("kill", "kill_late"):
        os.kill(os.getpid(), signal.SIGKILL)
    if fault != "none":
        raise ValueError(f"{FAULTS_ENV}: unknown fault {fault!r}")
    return {"f1": f1, "f2": f2, **energy}


@hydra.main(version_base="1.3", config_path="conf", config_name="config")
def main(cfg: DictConfig) -> Any:
    injection.reached("launch")
    return run_trial(float(cfg.x), float(cfg.y), _fault(HydraConfig.get().job.num), str(cfg.energy_source))


if __name__ == "__main__":
    injection.install()
    main()
