"""Hydra sweeper plugin ``ecopt``: multi-objective Bayesian optimisation (Ax, qNEHVI) of a Hydra app.

Select it with ``hydra/sweeper=ecopt``. The modules here stay cheap to import (Hydra imports every plugin module at
every app start): Ax, BoTorch and torch load only when a sweep runs.
"""
