"""Energy measurement: the :class:`Measurement` record, the :class:`EnergyMeter` protocol and its implementations.

``make_meter("auto")`` measures with Zeus where it finds a hardware counter and otherwise falls back to the
clearly labelled CPU-time estimate.
"""

from __future__ import annotations

from lightning_ecopt.energy.estimator import DEFAULT_WATTS_PER_THREAD, CpuTimeEstimator
from lightning_ecopt.energy.figures import LOOP_MIN_PERIODS, PER_BATCH_MIN_PERIODS, LoopEnergy, choose_per_batch_mode
from lightning_ecopt.energy.measurement import CounterReader, EnergyMeter, Measurement, source_kind
from lightning_ecopt.energy.select import METER_CHOICES, CoveredElsewhere, make_meter
from lightning_ecopt.energy.zeus import ZeusMeter, ZeusProbe, probe_zeus

__all__ = [
    "DEFAULT_WATTS_PER_THREAD",
    "LOOP_MIN_PERIODS",
    "METER_CHOICES",
    "PER_BATCH_MIN_PERIODS",
    "CounterReader",
    "CoveredElsewhere",
    "CpuTimeEstimator",
    "EnergyMeter",
    "LoopEnergy",
    "Measurement",
    "ZeusMeter",
    "ZeusProbe",
    "choose_per_batch_mode",
    "make_meter",
    "probe_zeus",
    "source_kind",
]
