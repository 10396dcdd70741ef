"""lightning_ecopt: measure and cut what PyTorch Lightning models cost in energy.

Public names are imported lazily (PEP 562), so ``import lightning_ecopt`` stays cheap: Hydra imports our plugin at
every app start. The sweep's Python API (``ParetoSweep``, ``SweepSettings``, ``parse_search_space``, ...) loads Ax
and BoTorch only when a sweep runs.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_LAZY = {
    "CheckpointCache": "lightning_ecopt.checkpoints",
    "CpuTimeEstimator": "lightning_ecopt.energy",
    "EcoptConfigError": "lightning_ecopt.exceptions",
    "EcoptError": "lightning_ecopt.exceptions",
    "EnergyCallback": "lightning_ecopt.callbacks",
    "EnergyMeter": "lightning_ecopt.energy",
    "FrontierBoard": "lightning_ecopt.tensorboard",
    "Measurement": "lightning_ecopt.energy",
    "ParetoSweep": "lightning_ecopt.sweeper.loop",
    "Report": "lightning_ecopt.report",
    "SweepFailureError": "lightning_ecopt.exceptions",
    "SweepResult": "lightning_ecopt.sweeper.results",
    "SweepSettings": "lightning_ecopt.sweeper.settings",
    "TimedPasses": "lightning_ecopt.inference",
    "TrialFailure": "lightning_ecopt.exceptions",
    "TrialRecord": "lightning_ecopt.sweeper.results",
    "ZeusMeter": "lightning_ecopt.energy",
    "build_report": "lightning_ecopt.report",
    "make_meter": "lightning_ecopt.energy",
    "parse_objectives": "lightning_ecopt.sweeper.objectives",
    "parse_search_space": "lightning_ecopt.sweeper.space",
    "prepare_for_inference": "lightning_ecopt.inference",
    "render": "lightning_ecopt.report",
    "trial_metrics": "lightning_ecopt.callbacks",
    "write_files": "lightning_ecopt.report",
}

__all__ = [
    "CheckpointCache",
    "CpuTimeEstimator",
    "EcoptConfigError",
    "EcoptError",
    "EnergyCallback",
    "EnergyMeter",
    "FrontierBoard",
    "Measurement",
    "ParetoSweep",
    "Report",
    "SweepFailureError",
    "SweepResult",
    "SweepSettings",
    "TimedPasses",
    "TrialFailure",
    "TrialRecord",
    "ZeusMeter",
    "__version__",
    "build_report",
    "make_meter",
    "parse_objectives",
    "parse_search_space",
    "prepare_for_inference",
    "render",
    "trial_metrics",
    "write_files",
]

if TYPE_CHECKING:
    from lightning_ecopt.callbacks import EnergyCallback, trial_metrics
    from lightning_ecopt.checkpoints import CheckpointCache
    from lightning_ecopt.energy import CpuTimeEstimator, EnergyMeter, Measurement, ZeusMeter, make_meter
    from lightning_ecopt.exceptions import EcoptConfigError, EcoptError, SweepFailureError, TrialFailure
    from lightning_ecopt.inference import TimedPasses, prepare_for_inference
    from lightning_ecopt.report import Report, build_report, render, write_files
    from lightning_ecopt.sweeper.loop import ParetoSweep
    from lightning_ecopt.sweeper.objectives import parse_objectives
    from lightning_ecopt.sweeper.results import SweepResult, TrialRecord
    from lightning_ecopt.sweeper.settings import SweepSettings
    from lightning_ecopt.sweeper.space import parse_search_space
    from lightning_ecopt.tensorboard import FrontierBoard


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'lightning_ecopt' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
