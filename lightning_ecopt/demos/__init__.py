"""Small models and data that ship offline, used by the examples, tests and benchmarks."""

from lightning_ecopt.demos.digits import DigitsCNN, DigitsDataModule

__all__ = ["DigitsCNN", "DigitsDataModule"]
