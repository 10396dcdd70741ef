"""Standardise outcomes in any units: Ax's ``StandardizeY`` with a floor relative to each metric's own magnitude.

Ax's ``StandardizeY`` leaves a metric whose standard deviation is below an absolute 1e-8 unscaled, taking it for
constant (``compute_standardization_parameters``), and BoTorch's ``Standardize`` after it does the same (its
``min_stdv``). Energy in kWh per inference is ~1e-11: the GP then saw a flat outcome, and a sweep whose objectives
were that small proposed as well as Sobol did (a two-objective quadratic scaled by 1e-12, 20 trials, seed 0: 90 % of
the hypervolume of the same task at scale 1; standardised here, the same hypervolume, the model proposals within 0.08
of those at scale 1), while a bound on such a metric (``e <= 6e-10``) no longer steered the proposals (16 of 16 model
proposals broke it; 1 standardised here, as in units of 1).

:class:`ScaleFreeStandardizeY` is ``StandardizeY`` but for that floor: a metric counts as constant where its standard
deviation is below ``1e-8 * min(1, max |y|)`` (or 0), so one of magnitude 1 or more is treated exactly as Ax treats
it, and one of magnitude 1e-12 that varies by 1e-13 is standardised like any other; one that varies only in its
last bits (``0.9633`` give or take 1e-17) is still left alone. Everything else (the observations, the outcome
constraints' bounds and the objective thresholds it transforms, and their untransform) is Ax's code reading the
means and standard deviations computed here; once standardised, the outcome reaches BoTorch's ``Standardize`` with a
standard deviation of 1, far above its floor.

:func:`configure_scale_free` puts it in a BoTorch node's transforms in place of ``StandardizeY``; the class is
registered with Ax's JSON transform registry when this module is imported, so a saved strategy that names it loads
(the sweeper imports it before loading). A strategy saved before keeps Ax's class (:func:`models_tiny_outcomes` says
which a client's strategy holds).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from ax.adapter.transforms.base import Transform
from ax.adapter.transforms.standardize_y import StandardizeY
from ax.adapter.transforms.standardize_y import logger as _ax_logger
from ax.storage.transform_registry import register_transform

if TYPE_CHECKING:
    from ax.adapter.base import Adapter
    from ax.adapter.data_utils import ExperimentData
    from ax.core.search_space import SearchSpace
    from ax.generators.types import TConfig

__all__ = ["CONSTANT_STD", "ScaleFreeStandardizeY", "configure_scale_free", "models_tiny_outcomes", "standardization"]

CONSTANT_STD = 1e-8
"""Ax's floor (``StandardizeY``, and BoTorch's ``Standardize`` ``min_stdv``): here relative to ``min(1, max |y|)``."""


def standardization(Ys: Mapping[str, Sequence[float]]) -> tuple[dict[str, float], dict[str, float]]:
    """Each metric's mean and standard deviation (Bessel-corrected, as Ax's), 1.0 where the metric is constant.

    A metric is constant where its standard deviation is 0, or below :data:`CONSTANT_STD` times the smaller of 1
    and its largest absolute value: for values of magnitude 1 or more, Ax's own rule.

    Args:
        Ys: ``{metric signature: observed means}``.

    Returns:
        ``(means, standard deviations)``, keyed as ``Ys``.
    """
    means: dict[str, float] = {}
    stds: dict[str, float] = {}
    for key, values in Ys.items():
        y = np.asarray(values, dtype=float)
        means[key] = float(np.mean(y))
        std = float(np.std(y, ddof=1)) if len(y) > 1 else 0.0
        scale = min(1.0, float(np.max(np.abs(y)))) if len(y) else 1.0
        if std == 0.0 or std < CONSTANT_STD * scale:
            std = 1.0
            _ax_logger.warning(f"Outcome {key} is constant, within tolerance.")  # Ax's words, on Ax's logger
        stds[key] = std
    return means, stds


class ScaleFreeStandardizeY(StandardizeY):
    """Ax's ``StandardizeY``, its floor on a standard deviation relative to the metric's magnitude (see the module)."""

    def __init__(
        self,
        search_space: SearchSpace | None = None,
        experiment_data: ExperimentData | None = None,
        adapter: Adapter | None = None,
        config: TConfig | None = None,
    ) -> None:
        """As ``StandardizeY``'s; the means and standard deviations come from :func:`standardization`."""
        # StandardizeY's own __init__ computes them with the absolute floor (and logs each tiny metric as constant):
        # only the base Transform's checks are wanted.
        Transform.__init__(
            self, search_space=search_space, experiment_data=experiment_data, adapter=adapter, config=config
        )
        if experiment_data is None:  # as StandardizeY: there is nothing to standardise without observations
            raise ValueError("ScaleFreeStandardizeY needs experiment_data, the observations it standardises.")
        means = experiment_data.observation_data["mean"]
        self.Ymean, self.Ystd = standardization(
            {signature: column.dropna().values for signature, column in means.items()}
        )


register_transform(ScaleFreeStandardizeY)


def configure_scale_free(generator_kwargs: dict[str, Any]) -> bool:
    """Have a BoTorch node standardise its outcomes with :class:`ScaleFreeStandardizeY` instead of ``StandardizeY``.

    Args:
        generator_kwargs: The ``GeneratorSpec.generator_kwargs`` of a ``BOTORCH_MODULAR`` node, changed in place;
            without ``transforms``, Ax's defaults (``MBM_X_trans + Y_trans``) are written out.

    Returns:
        Whether the node was changed: its transforms held Ax's ``StandardizeY``.
    """
    from ax.adapter.registry import MBM_X_trans, Y_trans

    transforms = list(generator_kwargs.get("transforms") or [*MBM_X_trans, *Y_trans])
    if StandardizeY not in transforms:
        return False
    transforms[transforms.index(StandardizeY)] = ScaleFreeStandardizeY
    generator_kwargs["transforms"] = transforms
    return True


def models_tiny_outcomes(strategy: Any) -> bool:
    """Whether every BoTorch node of a generation strategy standardises outcomes in any units.

    ``False`` for a strategy saved before :func:`configure_scale_free` (Ax's ``StandardizeY``): its model takes a metric
    whose standard deviation is below :data:`CONSTANT_STD` for constant.

    Args:
        strategy: An Ax ``GenerationStrategy`` (``None``: no strategy, nothing to say: ``True``).
    """
    from ax.adapter.registry import MBM_X_trans, Y_trans

    for node in getattr(strategy, "nodes_by_name", {}).values():
        for spec in node.generator_specs:
            if spec.generator_enum.name != "BOTORCH_MODULAR":
                continue
            transforms = spec.generator_kwargs.get("transforms") or [*MBM_X_trans, *Y_trans]
            if StandardizeY in transforms:
                return False
    return True
