"""Small models and data that ship offline, used by the examples, tests and benchmarks."""

from lightning_ecopt.demos.digits import DigitsCNN, DigitsDataModule
from lightning_ecopt.demos.text import CharTextDataModule, TinyTransformerLM

__all__ = ["CharTextDataModule", "DigitsCNN", "DigitsDataModule", "TinyTransformerLM"]
