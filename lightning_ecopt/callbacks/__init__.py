"""Lightning callbacks: :class:`EnergyCallback` and the :func:`trial_metrics` helper for sweep tasks."""

from lightning_ecopt.callbacks.energy import EnergyCallback, trial_metrics

__all__ = ["EnergyCallback", "trial_metrics"]
