"""Small models and data that ship offline, used by the examples, tests and benchmarks."""

from lightning_ecopt.demos.digits import DigitsCNN, DigitsDataModule
from lightning_ecopt.demos.runs import (
    NO_TRAINING_STEP,
    ending_tracker_runs,
    keep_what_ran,
    nothing_to_measure,
    processes_in_a_sweep,
    trainer_settings,
    what_ran,
)
from lightning_ecopt.demos.text import CharTextDataModule, TinyTransformerLM

__all__ = [
    "NO_TRAINING_STEP",
    "CharTextDataModule",
    "DigitsCNN",
    "DigitsDataModule",
    "TinyTransformerLM",
    "ending_tracker_runs",
    "keep_what_ran",
    "nothing_to_measure",
    "processes_in_a_sweep",
    "trainer_settings",
    "what_ran",
]
