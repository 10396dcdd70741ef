"""lightning_ecopt: measure and cut what PyTorch Lightning models cost in energy.

Public names are imported lazily (PEP 562), so ``import lightning_ecopt`` stays cheap: Hydra imports our plugin at
every app start.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_LAZY = {
    "CheckpointCache": "lightning_ecopt.checkpoints",
    "CpuTimeEstimator": "lightning_ecopt.energy",
    "EnergyCallback": "lightning_ecopt.callbacks",
    "EnergyMeter": "lightning_ecopt.energy",
    "Measurement": "lightning_ecopt.energy",
    "ZeusMeter": "lightning_ecopt.energy",
    "make_meter": "lightning_ecopt.energy",
    "prepare_for_inference": "lightning_ecopt.inference",
    "trial_metrics": "lightning_ecopt.callbacks",
}

__all__ = [
    "CheckpointCache",
    "CpuTimeEstimator",
    "EnergyCallback",
    "EnergyMeter",
    "Measurement",
    "ZeusMeter",
    "__version__",
    "make_meter",
    "prepare_for_inference",
    "trial_metrics",
]

if TYPE_CHECKING:
    from lightning_ecopt.callbacks import EnergyCallback, trial_metrics
    from lightning_ecopt.checkpoints import CheckpointCache
    from lightning_ecopt.energy import CpuTimeEstimator, EnergyMeter, Measurement, ZeusMeter, make_meter
    from lightning_ecopt.inference import prepare_for_inference


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'lightning_ecopt' has no attribute {name!r}")
