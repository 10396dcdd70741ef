"""ScaleFreeStandardizeY: Ax's StandardizeY, its floor on a standard deviation relative to the metric's magnitude."""

import numpy as np
import pandas as pd
import pytest
from ax.adapter.data_utils import ExperimentData
from ax.adapter.registry import MBM_X_trans, Y_trans
from ax.adapter.transforms.standardize_y import StandardizeY, compute_standardization_parameters
from ax.core.objective import Objective
from ax.core.optimization_config import MultiObjectiveOptimizationConfig
from ax.core.outcome_constraint import OutcomeConstraint
from ax.core.types import ComparisonOp
from ax.storage.json_store.decoder import object_from_json
from ax.storage.json_store.encoder import object_to_json

from lightning_ecopt.sweeper.standardize import (
    ScaleFreeStandardizeY,
    configure_scale_free,
    models_tiny_outcomes,
    standardization,
)

UNIT = [0.1, 0.4, 0.35, 0.9]


def _data(Ys):
    n = len(next(iter(Ys.values())))
    columns = pd.MultiIndex.from_tuples([(kind, m) for kind in ("mean", "sem") for m in Ys])
    rows = [[Ys[m][i] for m in Ys] + [np.nan] * len(Ys) for i in range(n)]
    index = pd.MultiIndex.from_tuples([(i, f"{i}_0") for i in range(n)], names=["trial_index", "arm_name"])
    return ExperimentData(arm_data=pd.DataFrame(index=index), observation_data=pd.DataFrame(rows, index, columns))


@pytest.mark.parametrize("scale", [1e-6, 1e-9, 1e-12, 1e-30])
def test_a_metric_in_tiny_units_is_standardised_as_in_units_of_one(scale):
    """Ax's absolute floor (1e-8) left it unscaled, so the model saw a flat outcome."""
    means, stds = standardization({"e": [y * scale for y in UNIT]})
    ones_means, ones_stds = standardization({"e": UNIT})
    np.testing.assert_allclose([means["e"], stds["e"]], [ones_means["e"] * scale, ones_stds["e"] * scale])
    if scale < 1e-7:
        assert compute_standardization_parameters({"e": [y * scale for y in UNIT]})[1]["e"] == 1.0  # Ax's: unscaled


def test_a_constant_metric_is_still_left_alone_and_units_of_one_or_more_keep_axs_rule():
    Ys = {
        "zero": [0.0, 0.0, 0.0],
        "one": [1e-12, 1e-12, 1e-12],
        "last_bits": [0.9633, 0.9633 + 1e-16, 0.9633],  # float noise on an accuracy
        "tiny_last_bits": [1e-12, 1e-12 * (1 + 1e-12), 1e-12],
        "single": [5e-10],
        "big": [1e4, 1e4 + 1e-5, 1e4 - 1e-5],  # std 1e-5: Ax scales it
        "big_flat": [10.0, 10.0 + 5e-9, 10.0],  # std 2.9e-9: Ax leaves it
        "units": UNIT,
    }
    means, stds = standardization(Ys)
    ax_means, ax_stds = compute_standardization_parameters(Ys)
    assert means == pytest.approx(ax_means)
    assert stds == ax_stds
    for constant in ("zero", "one", "last_bits", "tiny_last_bits", "single", "big_flat"):
        assert stds[constant] == 1.0


def test_outcome_constraint_bounds_and_objective_thresholds_are_standardised_with_the_metric():
    """StandardizeY moves each bound to the metric's standardised units: with the absolute floor, a bound of 6e-10
    on a metric of mean 5e-10 stayed 1e-10 away from it, where the trials spread over +-1 (the bound did not bind)."""
    e = [y * 1e-9 for y in UNIT]
    f = [y * 1e-12 for y in UNIT]
    transform = ScaleFreeStandardizeY(experiment_data=_data({"e": e, "f": f, "g": UNIT}))
    names = {"e": "e", "f": "f", "g": "g"}
    config = MultiObjectiveOptimizationConfig(
        objective=Objective(expression="-f, -g", metric_name_to_signature=names),
        outcome_constraints=[OutcomeConstraint(expression="e <= 6e-10", metric_name_to_signature=names)],
        objective_thresholds=[OutcomeConstraint(expression="f <= 8e-13", metric_name_to_signature=names)],
    )
    config = transform.transform_optimization_config(config)
    np.testing.assert_allclose(config.outcome_constraints[0].bound, (0.6 - np.mean(UNIT)) / np.std(UNIT, ddof=1))
    np.testing.assert_allclose(config.objective_thresholds[0].bound, (0.8 - np.mean(UNIT)) / np.std(UNIT, ddof=1))
    back = transform.untransform_outcome_constraints(config.outcome_constraints)
    np.testing.assert_allclose(back[0].bound, 6e-10)
    assert back[0].op == ComparisonOp.LEQ


def test_configure_scale_free_replaces_axs_class_once_and_the_choice_is_saved():
    kwargs: dict = {}
    assert configure_scale_free(kwargs) is True
    assert kwargs["transforms"] == [*MBM_X_trans, *Y_trans[:-1], ScaleFreeStandardizeY]
    assert configure_scale_free(kwargs) is False  # once
    without = {"transforms": [t for t in [*MBM_X_trans, *Y_trans] if t is not StandardizeY]}
    assert configure_scale_free(without) is False
    assert ScaleFreeStandardizeY not in without["transforms"]
    # Registered with Ax's JSON transform registry: the class round-trips by name.
    saved = object_to_json(ScaleFreeStandardizeY)
    assert saved["transform_type"] == "ScaleFreeStandardizeY"
    assert object_from_json(saved) is ScaleFreeStandardizeY


def test_models_tiny_outcomes_tells_a_strategy_saved_before_from_one_built_now():
    class Spec:
        def __init__(self, name, kwargs):
            self.generator_enum = type("Enum", (), {"name": name})()
            self.generator_kwargs = kwargs

    def strategy(*specs):
        return type("Strategy", (), {"nodes_by_name": {"n": type("Node", (), {"generator_specs": specs})()}})()

    assert models_tiny_outcomes(None) is True
    assert models_tiny_outcomes(strategy(Spec("SOBOL", {}))) is True
    assert models_tiny_outcomes(strategy(Spec("SOBOL", {}), Spec("BOTORCH_MODULAR", {}))) is False  # Ax's defaults
    built: dict = {}
    configure_scale_free(built)
    assert models_tiny_outcomes(strategy(Spec("BOTORCH_MODULAR", built))) is True
