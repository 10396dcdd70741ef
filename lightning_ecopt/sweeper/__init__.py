"""The multi-objective sweep: search space (Hydra grammar -> Ax), objectives, settings, the Ax loop, results files.

Importing this package imports nothing heavy: Ax, BoTorch and torch load only when
:meth:`lightning_ecopt.sweeper.loop.ParetoSweep.run` runs (Hydra imports the plugin that uses it at every app start).
"""
