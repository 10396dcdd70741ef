"""Exceptions raised by lightning_ecopt.

Each exception also inherits from the builtin that best describes it, so callers that catch ``ValueError`` or
``RuntimeError`` keep working.
"""

from __future__ import annotations

__all__ = [
    "EcoptConfigError",
    "EcoptError",
    "EnergyMeterError",
    "SweepFailureError",
    "TrialFailure",
]


class EcoptError(Exception):
    """Base class of every error raised by lightning_ecopt."""


class EcoptConfigError(EcoptError, ValueError):
    """A configuration value is invalid; the message names the value and the fix."""


class EnergyMeterError(EcoptError, RuntimeError):
    """An energy meter cannot measure on this machine (no counters, no permissions)."""


class TrialFailure(EcoptError, RuntimeError):
    """A trial's result cannot be used; the message is the reason stored with the failed trial."""


class SweepFailureError(EcoptError, RuntimeError):
    """A sweep stopped because too many of its trials failed."""
