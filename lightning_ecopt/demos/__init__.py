"""Small models and data that ship offline, used by the examples, tests and benchmarks."""

from lightning_ecopt.demos.digits import DigitsCNN, DigitsDataModule
from lightning_ecopt.demos.runs import NO_TRAINING_STEP, nothing_to_measure, processes_in_a_sweep
from lightning_ecopt.demos.text import CharTextDataModule, TinyTransformerLM

__all__ = [
    "NO_TRAINING_STEP",
    "CharTextDataModule",
    "DigitsCNN",
    "DigitsDataModule",
    "TinyTransformerLM",
    "nothing_to_measure",
    "processes_in_a_sweep",
]
