"""Objectives, outcome constraints, Ax metric names and the task-result contract."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
import pytest
import torch

from lightning_ecopt.exceptions import EcoptConfigError, TrialFailure
from lightning_ecopt.sweeper.objectives import (
    ContractFailure,
    MissingMetric,
    Objective,
    OutcomeConstraint,
    TrialMetrics,
    ax_metric_name,
    ax_metric_names,
    parse_constraint,
    parse_objectives,
    parse_task_result,
)

TWO = (Objective("test/acc", minimize=False), Objective("energy/test_j", minimize=True))


# -- objectives ------------------------------------------------------------------------------------------------------


def test_objectives_mapping_form_keeps_order_and_directions() -> None:
    parsed = parse_objectives({"test/acc": "maximize", "energy/test_j": "MINIMIZE"}, None)
    assert parsed == TWO
    assert [o.direction for o in parsed] == ["maximize", "minimize"]


@pytest.mark.parametrize(
    ("direction", "expected"),
    [
        (["minimize", "maximize"], (Objective("objective_0", True), Objective("objective_1", False))),
        (("maximize",), (Objective("objective_0", False),)),
        ("minimize", (Objective("objective_0", True),)),
    ],
)
def test_objectives_optuna_form(direction: Any, expected: tuple[Objective, ...]) -> None:
    assert parse_objectives(None, direction) == expected


def test_objectives_optuna_direction_enum() -> None:
    class Direction:  # Optuna's config enum has .name
        name = "maximize"

    assert parse_objectives(None, [Direction(), "minimize"])[0] == Objective("objective_0", minimize=False)


@pytest.mark.parametrize(
    ("objectives", "direction", "match"),
    [
        ({"a": "maximize"}, ["minimize"], r"objectives=\{'a': 'maximize'\} and direction=\['minimize'\] are both set"),
        (None, None, r"parse_objectives\(None, None\): no objectives; give \{metric: 'maximize' \| 'minimize'\}"),
        ({}, [], r"no objectives"),
        ({"a": "max"}, None, r"objectives\['a'\]: unknown direction 'max'; choose from 'maximize', 'minimize'"),
        (
            {"a": "minimise"},  # the British spelling, as this project's prose writes it
            None,
            r"objectives\['a'\]: unknown direction 'minimise'; did you mean 'minimize'\? choose from 'maximize'",
        ),
        (None, ["minimize", "up"], r"direction\[1\]: unknown direction 'up'; choose from 'maximize', 'minimize'"),
        ({"": "maximize"}, None, r"metric name '' must be a non-empty string"),
        # Accepted as two objectives: the task returns one of them, and every trial failed "missing objective 'a '".
        (
            {"a": "maximize", "a ": "minimize"},
            None,
            r"^objectives: the metric names 'a' and 'a ' differ only in the spaces around them; the task's keys are "
            r"matched exactly, so keep the one the task returns and remove the other\.$",
        ),
        ({" test/acc": "maximize", "test/acc\t": "maximize"}, None, r"names ' test/acc' and 'test/acc\\t' differ only"),
        # a number for a direction: TypeError: object of type 'int' has no len()
        (None, 1, r"^direction\[0\]: unknown direction 1; choose from 'maximize', 'minimize'"),
        (None, (), r"parse_objectives\(None, \(\)\): no objectives"),
    ],
)
def test_objectives_errors(objectives: Any, direction: Any, match: str) -> None:
    with pytest.raises(EcoptConfigError, match=match):
        parse_objectives(objectives, direction)


@pytest.mark.parametrize(
    ("objectives", "direction", "match"),
    [
        ({"a": "up"}, None, r"^hydra\.sweeper\.objectives\['a'\]: unknown direction 'up'; choose from"),
        (None, ["minimize", "up"], r"^hydra\.sweeper\.direction\[1\]: unknown direction 'up'; choose from"),
        (
            {"a": "maximize"},
            "minimize",
            r"^hydra\.sweeper\.objectives=\{'a': 'maximize'\} and hydra\.sweeper\.direction='minimize' are both set",
        ),
        (None, {"a": "maximize"}, r"^hydra\.sweeper\.direction=\{'a': 'maximize'\}: direction takes directions only"),
        ({" ": "maximize"}, None, r"^hydra\.sweeper\.objectives: the metric name ' ' must be a non-empty string"),
        ({"a": "maximize", "a ": "maximize"}, None, r"^hydra\.sweeper\.objectives: the metric names 'a' and 'a ' diff"),
    ],
)
def test_objectives_errors_under_hydra_name_the_sweeper_s_keys(objectives: Any, direction: Any, match: str) -> None:
    """Under the Hydra sweeper, not Python's 'objectives['a']' or 'direction[1]': the keys the user set."""
    from lightning_ecopt.sweeper.spelling import hydra_spelling

    with hydra_spelling(), pytest.raises(EcoptConfigError, match=match):
        parse_objectives(objectives, direction)


# -- constraints -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("energy/train_j <= 5000", OutcomeConstraint("energy/train_j", "<=", 5000.0)),
        ("test/acc>=0.9", OutcomeConstraint("test/acc", ">=", 0.9)),
        ("  loss  <=  -1e-3 ", OutcomeConstraint("loss", "<=", -1e-3)),
        ("top-1 acc >= 50", OutcomeConstraint("top-1 acc", ">=", 50.0)),
        # A name holding '=', '<' or '>': the comparison is the last one (before: "the comparison '=' is not ...").
        ("recall@k=5 >= 0.5", OutcomeConstraint("recall@k=5", ">=", 0.5)),
        ("len<512/acc>=0.8", OutcomeConstraint("len<512/acc", ">=", 0.8)),
    ],
)
def test_parse_constraint(text: str, expected: OutcomeConstraint) -> None:
    assert parse_constraint(text) == expected


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("energy/train_j < 5000", r"the comparison '<' is not supported; write '<metric> <= <number>'"),
        ("energy/train_j == 5000", r"the comparison '==' is not supported"),
        ("test/acc >== 0.9", r"the comparison '>==' is not supported"),
        ("test/acc => 0.9", r"the comparison '=>' is not supported"),
        ("a <= b <= 5", r"the bound 'b <= 5' is not a number"),
        ("0 <= loss <= 5", r"the bound 'loss <= 5' is not a number"),
        ("recall@k=5 = 0.5", r"the comparison '=' is not supported"),
        ("recall@k=5 < 0.5", r"the comparison '<' is not supported"),
        ("energy/train_j 5000", r"no comparison found"),
        ("<= 5", r"the metric name is missing"),
        ("acc >= high", r"the bound 'high' is not a number"),
        ("acc >= inf", r"the bound must be finite"),
        (5, r"expected a string"),
    ],
)
def test_parse_constraint_errors(text: Any, match: str) -> None:
    with pytest.raises(EcoptConfigError, match=match):
        parse_constraint(text)


# -- Ax metric names -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "ax_name"),
    [
        ("test/acc", "test__acc"),
        ("energy/test_samples_per_j", "energy__test_samples_per_j"),
        ("val_loss", "m__val_loss"),
        ("objective_0", "m__objective_0"),
        ("test", "m__test"),  # a SymPy name: Ax would refuse it as is
        ("E", "m__E"),
        ("0acc", "m__0acc"),
        ("top-1 acc", "top__1__acc"),
        ("acc@1", "acc__1"),
        ("/acc", "m____acc"),
    ],
)
def test_ax_metric_name(name: str, ax_name: str) -> None:
    assert ax_metric_name(name) == ax_name
    assert ax_name.isidentifier()


def test_ax_metric_names_refuses_collisions() -> None:
    with pytest.raises(
        EcoptConfigError, match=r"'test/acc' and 'test\.acc' both map to the Ax metric name 'test__acc'"
    ):
        ax_metric_names(["test/acc", "test.acc"])
    assert ax_metric_names(["a/b", "a/b"]) == {"a/b": "a__b"}


def test_ax_metric_names_collision_names_the_characters_that_cannot_be_told_apart() -> None:
    # Before: "(names that differ only in '/', '.', '-' or spaces ...)", wrong for two names that differ in letters.
    with pytest.raises(EcoptConfigError, match="both map to the Ax metric name 'loss___'") as error:
        ax_metric_names(["loss_α", "loss_β"])
    assert "characters outside A-Z, a-z, 0-9 and _ cannot be told apart" in str(error.value)


def test_ax_parses_every_mapped_name() -> None:
    from ax.api.client import Client
    from ax.api.configs import RangeParameterConfig

    names = ["test/acc", "test", "E", "gamma", "0acc", "top-1 acc", "a,b", "val_loss", "x;y"]
    objectives = ", ".join(Objective(n, minimize=i % 2 == 1).to_ax() for i, n in enumerate(names))
    client = Client()
    client.configure_experiment(parameters=[RangeParameterConfig(name="x", bounds=(0.0, 1.0), parameter_type="float")])
    client.configure_optimization(
        objective=objectives, outcome_constraints=[OutcomeConstraint("energy/j", "<=", 5.0).to_ax()]
    )
    config = client._experiment.optimization_config
    assert config is not None
    assert sorted(config.objective.metric_names) == sorted(ax_metric_name(n) for n in names)


# -- task results ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("extra", "kept"),
    [
        (float("nan"), "nan"),
        (float("inf"), "inf"),
        (-float("inf"), "-inf"),
        ((float("nan"), 0.1), "nan"),  # a (mean, sem) pair: its mean
        (10**400, "inf"),  # an int past a float's range
    ],
    ids=["nan", "inf", "-inf", "nan-pair", "huge-int"],
)
def test_a_non_finite_extra_is_kept_apart_from_what_ax_is_given(extra: Any, kept: str) -> None:
    """A tracked metric that was NaN or infinite was dropped without a word (honest-numbers review)."""
    metrics = parse_task_result({"test/acc": 0.9, "energy/test_j": 12.0, "val/loss": extra}, TWO)
    assert {name: str(value) for name, value in metrics.not_finite.items()} == {"val/loss": kept}
    assert "m__val_loss" not in metrics.to_ax_raw_data()


@pytest.mark.parametrize("figure", ["energy/train_j", "energy/test_warmup_j"])
def test_an_energy_figure_of_minus_infinity_fails_its_trial_as_any_figure_below_zero(figure: str) -> None:
    with pytest.raises(TrialFailure, match=rf"energy figure '{figure}' is -inf, below 0: no energy is negative"):
        parse_task_result({"test/acc": 0.9, "energy/test_j": 12.0, figure: -math.inf}, TWO)
    nan = parse_task_result({"test/acc": 0.9, "energy/test_j": 12.0, figure: math.nan}, TWO)
    assert list(nan.not_finite) == [figure]  # a NaN energy figure is a documented reading: kept


class _Scalar:
    """Duck-types a numpy / torch 0-d scalar."""

    ndim = 0

    def __init__(self, value: float) -> None:
        self.value = value

    def item(self) -> float:
        return self.value


def test_dict_result_with_sem_tracking_and_energy_source() -> None:
    metrics = parse_task_result(
        {
            "energy/test_j": (12.0, 0.5),
            "test/acc": 0.9,
            "energy/train_j": 100,
            "energy/source": "estimated: cpu-time",
            "note": "text is dropped",
            "nan_extra": float("nan"),
            "nested": {"a": 1},
        },
        TWO,
    )
    assert dataclasses.replace(metrics, not_finite={}) == TrialMetrics(
        values={"test/acc": (0.9, None), "energy/test_j": (12.0, 0.5), "energy/train_j": (100.0, None)},
        energy_source="estimated: cpu-time",
    )
    assert list(metrics.values) == ["test/acc", "energy/test_j", "energy/train_j"]  # objectives first
    assert metrics.to_ax_raw_data() == {"test__acc": 0.9, "energy__test_j": (12.0, 0.5), "energy__train_j": 100.0}
    assert list(metrics.not_finite) == ["nan_extra"]  # kept for the record, never given to Ax
    assert math.isnan(metrics.not_finite["nan_extra"])


@pytest.mark.parametrize("sem", [-0.1, float("nan"), float("inf"), "big"])
def test_an_extra_pair_whose_sem_is_not_one_is_untracked_with_why(sem: object) -> None:
    metrics = parse_task_result({"test/acc": 0.9, "energy/test_j": 1.0, "val/acc": (0.8, sem), "ids": [1, 2]}, TWO)
    assert "val/acc" not in metrics.values
    assert metrics.untracked == {"val/acc": f"metric 'val/acc': the sem must be a finite number >= 0, got {sem!r}"}


def test_numpy_and_torch_like_scalars_are_numbers() -> None:
    np = pytest.importorskip("numpy")
    metrics = parse_task_result({"test/acc": np.float32(0.5), "energy/test_j": _Scalar(3.0)}, TWO)
    assert metrics.values == {"test/acc": (0.5, None), "energy/test_j": (3.0, None)}
    assert type(metrics.values["test/acc"][0]) is float


def test_tuple_and_array_results_follow_objective_order() -> None:
    np = pytest.importorskip("numpy")
    optuna = parse_objectives(None, ["minimize", "maximize"])
    assert parse_task_result((1.0, 2), optuna).values == {"objective_0": (1.0, None), "objective_1": (2.0, None)}
    assert parse_task_result([1.0, (2.0, 0.1)], optuna).values["objective_1"] == (2.0, 0.1)
    assert parse_task_result(np.array([3.0, 4.0]), optuna).values["objective_0"] == (3.0, None)
    single = parse_objectives(None, "minimize")
    assert parse_task_result(0.25, single).values == {"objective_0": (0.25, None)}


class _Row:
    """Duck-types a pandas Series without ``to_dict``: keys, item access and a 1-d ``tolist``."""

    ndim = 1

    def __init__(self, values: dict[str, Any]) -> None:
        self._values = values

    def keys(self) -> list[str]:
        return list(self._values)

    def __getitem__(self, key: str) -> Any:
        return self._values[key]

    def tolist(self) -> list[Any]:
        return list(self._values.values())


def test_a_series_is_read_by_name_not_by_position() -> None:
    """``return df.iloc[-1]``: a Series in another order than the objectives gave each one the other's value."""
    pd = pytest.importorskip("pandas")
    objectives = parse_objectives({"acc": "maximize", "energy_j": "minimize"}, None)
    reordered = pd.Series({"energy_j": 120.0, "acc": 0.9, "time_s": 3.0})
    expected = {"acc": (0.9, None), "energy_j": (120.0, None), "time_s": (3.0, None)}
    assert parse_task_result(reordered, objectives).values == expected
    frame = pd.DataFrame({"energy_j": [100.0, 120.0], "acc": [0.5, 0.9]})
    assert parse_task_result(frame.iloc[-1], objectives).values == {"acc": (0.9, None), "energy_j": (120.0, None)}
    assert parse_task_result(frame.mean(), objectives).values == {"acc": (0.7, None), "energy_j": (110.0, None)}
    with pytest.raises(TrialFailure, match=r"missing objective 'acc': the task returned the keys \['energy_j'\]"):
        parse_task_result(pd.Series({"energy_j": 1.0}), objectives)
    # Any keyed 1-d object, pandas or not.
    row = _Row({"energy_j": 120.0, "acc": 0.9})
    assert parse_task_result(row, objectives).values == {"acc": (0.9, None), "energy_j": (120.0, None)}


def test_a_series_of_numbered_values_is_read_in_order_and_a_frame_is_refused_as_one() -> None:
    """Review of the fix above: ``pd.Series([0.9, 120.0])`` (no names) failed every trial ("did you mean '1'?"), and
    a one-row DataFrame's refusal lost its type."""
    pd = pytest.importorskip("pandas")
    objectives = parse_objectives({"acc": "maximize", "energy_j": "minimize"}, None)
    assert parse_task_result(pd.Series([0.9, 120.0]), objectives).values == {
        "acc": (0.9, None),
        "energy_j": (120.0, None),
    }
    single = parse_objectives({"acc": "maximize"}, None)
    assert parse_task_result(pd.Series([0.9]), single).values == {"acc": (0.9, None)}
    with pytest.raises(TrialFailure, match=r"\(DataFrame\); return a dict \{metric: value\}"):
        parse_task_result(pd.DataFrame({"acc": [0.9], "energy_j": [120.0]}), objectives)


def test_a_mean_and_sem_pair_for_one_objective_says_how_to_return_it() -> None:
    single = parse_objectives({"test/acc": "maximize"}, None)
    with pytest.raises(
        TrialFailure, match=r"returned 2 values for 1 objectives .*return \{'test/acc': \(mean, sem\)\}"
    ):
        parse_task_result((0.9, 0.01), single)
    assert parse_task_result({"test/acc": (0.9, 0.01)}, single).values == {"test/acc": (0.9, 0.01)}


@pytest.mark.parametrize("objectives", [TWO, parse_objectives({"test/acc": "maximize"}, None)])
def test_what_trainer_test_returns_gets_the_fix_not_a_tuple_hint(objectives: Any) -> None:
    """``return trainer.test(...)``: a list of one dict. The hints said to return a tuple, or one number."""
    returned = [{"test/acc": 0.9, "energy/test_j": 1.0}]
    with pytest.raises(
        TrialFailure,
        match=r"a list of 1 dict .*trainer\.test\(\) returns: return lightning_ecopt\.trial_metrics\(trainer\)",
    ):
        parse_task_result(returned, objectives)
    # Several test dataloaders: a dict each, which were paired with the objectives ("expected a number, got {...}").
    with pytest.raises(TrialFailure, match=r"a list of 2 dicts .*trial_metrics\(trainer\).*dataloader_idx_<n>"):
        parse_task_result([returned[0], returned[0]], objectives)
    assert parse_task_result(returned[0], objectives).values["test/acc"] == (0.9, None)


def test_a_dict_for_directions_says_how_to_name_the_objectives() -> None:
    unnamed = parse_objectives(None, ["maximize", "minimize"])
    with pytest.raises(TrialFailure, match=r"returns its values in order \(a tuple\), or name the metrics with"):
        parse_task_result({"test/acc": 0.9, "energy/test_j": 1.0}, unnamed)


def test_constrained_metric_is_required() -> None:
    metrics = parse_task_result({"test/acc": 1, "energy/test_j": 2, "energy/train_j": 3}, TWO, ["energy/train_j"])
    assert metrics.values["energy/train_j"] == (3.0, None)
    with pytest.raises(TrialFailure, match=r"missing constrained metric 'energy/train_j'"):
        parse_task_result({"test/acc": 1, "energy/test_j": 2}, TWO, ["energy/train_j"])


@pytest.mark.parametrize(
    ("value", "match"),
    [
        (
            {"test/acc": 0.9},
            r"missing objective 'energy/test_j' \(EnergyCallback logs it in trainer\.test\(\): return "
            r"lightning_ecopt\.trial_metrics\(trainer\)\): the task returned the keys \['test/acc'\]; return",
        ),
        (
            {"test/accuracy": 0.9, "energy/test_j": 1},  # a typo in the config, or in the task: say which is close
            r"missing objective 'test/acc': .* \(did you mean 'test/accuracy'\?\); return a dict",
        ),
        (
            {"acc": 0.9, "energy/test_j": 1},  # the name without trial_metrics' prefix: no spelling is close
            r"missing objective 'test/acc': .* \(did you mean 'acc'\?\); return a dict",
        ),
        (
            # A trainer that only fits: the reason named the missing key, not the cause (the test loop never ran).
            {"train/loss": 0.3, "val/acc": 0.9},
            r"missing objective 'test/acc': the task returned the keys \['train/loss', 'val/acc'\]; return a dict "
            r"with \['test/acc', 'energy/test_j'\] \(it returned no test-loop figure: does the task call "
            r"trainer\.test\(\.\.\.\) before it returns\?\)$",
        ),
        ({"test/acc": float("nan"), "energy/test_j": 1}, r"metric 'test/acc' is nan \(not finite\)"),
        ({"test/acc": math.inf, "energy/test_j": 1}, r"metric 'test/acc' is inf"),
        ({"test/acc": "0.9", "energy/test_j": 1}, r"metric 'test/acc': expected a number, got '0.9' \(str\)"),
        ({"test/acc": None, "energy/test_j": 1}, r"expected a number, got None"),
        ({"test/acc": True, "energy/test_j": 1}, r"expected a number, got the bool True \(bool\); return the number"),
        # Past 1e150 the spread of the values overflows Ax's standardisation (a traceback at the first model proposal).
        (
            {"test/acc": 1e160, "energy/test_j": 1},
            r"^metric 'test/acc' is 1e\+160, past the 1e\+150 \(in magnitude\) Ax's model takes in an objective \(the "
            r"spread of such values overflows a float\); return it in larger units \(e.g. divided by 1e160\), or fail",
        ),
        ((0.9, -1e200), r"^metric 'energy/test_j' is -1e\+200, past the 1e\+150"),
        # A sem past it is a noise variance of inf: BoTorch's "Input data contains NaN values" at the first proposal.
        (
            {"test/acc": (0.9, 1e200), "energy/test_j": 1},
            r"^metric 'test/acc': the sem 1e\+200 is past the 1e\+150 Ax's model takes \(its square, the noise "
            r"variance, overflows a float\); return the metric in larger units \(its mean and sem divided by 1e200\)",
        ),
        ((0.9, (1.0, 2e160)), r"^metric 'energy/test_j': the sem 2e\+160 is past the 1e\+150"),
        ({"test/acc": (1, 2, 3), "energy/test_j": 1}, r"a \(mean, sem\) pair, got a sequence of 3"),
        ({"test/acc": (1, -1), "energy/test_j": 1}, r"the sem must be a finite number >= 0, got -1"),
        ((0.9,), r"returned 1 values for 2 objectives"),
        ([0.9, 1, 2], r"returned 3 values for 2 objectives"),
        (0.9, r"returned 0.9 \(float\); return a dict \{metric: value\} or a tuple of 2 numbers"),
        (None, r"returned None \(NoneType\)"),
        ("0.9", r"returned '0.9' \(str\)"),
        ((0.9, "x"), r"metric 'energy/test_j': expected a number, got 'x'"),
        (RuntimeError("CUDA out of memory"), r"the job raised RuntimeError: CUDA out of memory"),
    ],
)
def test_bad_results_fail_the_trial_with_a_reason(value: Any, match: str) -> None:
    with pytest.raises(TrialFailure, match=match):
        parse_task_result(value, TWO)


def test_a_constrained_metric_s_sem_past_1e150_fails_the_trial() -> None:
    # Ax models a constrained metric as it does an objective: its sem's square overflowed to inf all the same.
    value = {"test/acc": 0.9, "energy/test_j": 1, "model/params": (1e6, 1e160)}
    with pytest.raises(TrialFailure, match=r"^metric 'model/params': the sem 1e\+160 is past the 1e\+150"):
        parse_task_result(value, TWO, ["model/params"])
    # A tracking metric's is not modelled: kept.
    assert parse_task_result(value, TWO).values["model/params"] == (1e6, 1e160)


def test_a_tensor_or_array_of_one_element_is_its_number() -> None:
    """``torch.tensor([0.9])`` (a ``mean(dim=0)``): refused as "expected a number", where EnergyCallback reads it."""
    torch = pytest.importorskip("torch")
    np = pytest.importorskip("numpy")
    metrics = parse_task_result({"test/acc": torch.tensor([0.5]), "energy/test_j": np.array([[3.0]])}, TWO)
    assert metrics.values == {"test/acc": (0.5, None), "energy/test_j": (3.0, None)}
    assert type(metrics.values["test/acc"][0]) is float
    with pytest.raises(TrialFailure, match=r"metric 'test/acc': expected a number, got tensor\(\[0\.5000, 0\.6000\]\)"):
        parse_task_result({"test/acc": torch.tensor([0.5, 0.6]), "energy/test_j": 3.0}, TWO)


def test_one_objective_is_returned_as_a_number_not_a_tuple_of_one() -> None:
    single = parse_objectives({"test/acc": "maximize"}, None)
    with pytest.raises(TrialFailure, match=r"returned 'high' \(str\); return a dict \{metric: value\} or a number$"):
        parse_task_result("high", single)


@pytest.mark.parametrize(
    "value",
    [
        0.9,  # a number for two objectives
        (0.9, 1.0, 2.0),
        None,
        [{"test/acc": 0.9, "energy/test_j": 1.0}],  # what trainer.test() returns
        {"test/acc": 0.9, "energy/test_j": 1.0, "energy/source": "zeus"},  # a label that names no kind
        # A bool where a number belongs (acc > 0.9): Python's, numpy's, a tensor's; in the tuple form too.
        {"test/acc": True, "energy/test_j": 1.0},
        {"test/acc": np.bool_(False), "energy/test_j": 1.0},
        {"test/acc": 0.9, "energy/test_j": torch.tensor([True])},
        (0.9, False),
    ],
)
def test_what_every_trial_would_return_alike_is_a_contract_failure(value: Any) -> None:
    """The sweep stops at the first ContractFailure: the task's code, not the configuration, fails it."""
    with pytest.raises(ContractFailure):
        parse_task_result(value, TWO)


@pytest.mark.parametrize(
    "value",
    [
        {"test/acc": math.nan, "energy/test_j": 1.0},  # training diverged for this configuration
        {"test/acc": None, "energy/test_j": 1.0},
        {"test/acc": 0.9, "energy/test_j": -1.0},  # a counter that went backwards
        RuntimeError("CUDA out of memory"),
    ],
)
def test_what_one_configuration_may_return_is_no_contract_failure(value: Any) -> None:
    with pytest.raises(TrialFailure) as info:
        parse_task_result(value, TWO)
    assert not isinstance(info.value, ContractFailure)


@pytest.mark.parametrize(
    ("metric", "logged_by"),
    [
        ("energy/train_j", "EnergyCallback(train=True) logs it"),
        ("energy/predict_samples_per_j", "EnergyCallback(stages=(..., 'predict')) logs it"),
        ("energy/test_tokens_per_j", "EnergyCallback(count_fn=...) logs it"),
        ("energy/predict_tokens", "EnergyCallback(stages=(..., 'predict'), count_fn=...) logs it"),
        ("energy/test_gpu_j", "EnergyCallback logs it only where a counter covers that part of the machine"),
    ],
)
def test_a_missing_energy_figure_names_the_setting_that_logs_it(metric: str, logged_by: str) -> None:
    # energy/test_j, returned, is another figure of the callback's, not the missing one misspelt.
    with pytest.raises(MissingMetric) as info:
        parse_task_result({"test/acc": 0.9, "energy/test_j": 1.0}, TWO, [metric])
    assert f"missing constrained metric {metric!r} ({logged_by}): the task returned" in str(info.value)
    assert info.value.close is None


def test_a_missing_flops_figure_names_the_setting_that_logs_it_and_offers_the_other() -> None:
    """The FLOPs of a predict loop's predict_step and of one forward pass have names of their own."""
    with pytest.raises(MissingMetric) as info:
        parse_task_result(
            {"test/acc": 0.9, "energy/test_j": 1.0, "model/predict_step_flops_per_sample": 9.0},
            TWO,
            ["model/flops_per_sample"],
        )
    assert (
        "missing constrained metric 'model/flops_per_sample' (EnergyCallback logs it after an evaluation loop where "
        "the model's forward takes one sample, unless log_model_stats=False; a predict loop with "
        "predict_flops='predict_step' logs model/predict_step_flops_per_sample instead)"
    ) in str(info.value)
    assert info.value.close == "model/predict_step_flops_per_sample"
    with pytest.raises(
        MissingMetric, match=r"\(EnergyCallback\(stages=\(\.\.\., 'predict'\), predict_flops='predict_step'\)"
    ):
        parse_task_result({"test/acc": 0.9, "energy/test_j": 1.0}, TWO, ["model/predict_step_flops_per_sample"])


def test_tuple_cannot_carry_constrained_metrics() -> None:
    with pytest.raises(TrialFailure, match=r"constrained metrics \['energy/train_j'\] need a dict"):
        parse_task_result((1.0, 2.0), TWO, ["energy/train_j"])


def test_raw_data_keeps_objectives_over_colliding_tracking_metric() -> None:
    metrics = parse_task_result({"test/acc": 0.9, "energy/test_j": 1.0, "test.acc": 0.1}, TWO)
    assert metrics.to_ax_raw_data()["test__acc"] == 0.9


@pytest.mark.parametrize(
    ("objectives", "match"),
    [
        (
            ["a", "b"],
            r"parse_objectives\(objectives=\['a', 'b'\]\): expected a mapping .*"
            r"\{'a': 'maximize', 'b': 'minimize'\}\.$",
        ),
        (
            "test/acc",
            r"objectives='test/acc'\): expected a mapping .*\{'test/acc': 'maximize', 'energy/test_j': 'minimize'\}",
        ),
        (("a", 1), r"objectives=\('a', 1\)\): expected a mapping"),
    ],
)
def test_objectives_that_are_not_a_mapping_are_refused(objectives: Any, match: str) -> None:
    with pytest.raises(EcoptConfigError, match=match):
        parse_objectives(objectives, None)


def test_a_missing_objective_is_not_offered_another_objective_as_its_spelling() -> None:
    """Tokens/J without a count_fn is missing; samples/J, the other objective, is no misspelling of it."""
    from lightning_ecopt.sweeper.objectives import MissingMetric

    objectives = parse_objectives(
        {"energy/test_tokens_per_j": "maximize", "energy/test_samples_per_j": "maximize"}, None
    )
    with pytest.raises(MissingMetric) as info:
        parse_task_result({"energy/test_samples_per_j": 5.0, "test/acc": 0.9}, objectives)
    assert "did you mean" not in str(info.value)
    assert info.value.close is None


def test_objectives_messages_spell_the_front_end_s_form() -> None:
    """Python callers got the YAML form and Hydra keys; Hydra users got ``parse_objectives(...)`` (before)."""
    from lightning_ecopt.sweeper.spelling import hydra_spelling

    with pytest.raises(EcoptConfigError) as from_python:
        parse_objectives(["acc", "energy/test_j"], None)
    assert str(from_python.value) == (
        "parse_objectives(objectives=['acc', 'energy/test_j']): expected a mapping {metric: 'maximize' | 'minimize'} "
        "giving each metric its direction, in order, e.g. {'acc': 'maximize', 'energy/test_j': 'minimize'}."
    )
    with hydra_spelling(), pytest.raises(EcoptConfigError) as from_hydra:
        parse_objectives(["acc", "energy/test_j"], None)
    assert str(from_hydra.value) == (
        "hydra.sweeper.objectives=['acc', 'energy/test_j']: expected a mapping {metric: maximize|minimize} giving "
        "each metric its direction, in order, e.g. {acc: maximize, energy/test_j: minimize}."
    )
    with hydra_spelling(), pytest.raises(EcoptConfigError, match=r"^no objectives: set 'objectives: \{metric:"):
        parse_objectives(None, None)


def test_a_missing_metric_of_the_direction_form_is_explained_in_the_front_end_s_terms() -> None:
    from lightning_ecopt.sweeper.spelling import hydra_spelling

    objectives = parse_objectives(None, ["minimize", "minimize"])
    with pytest.raises(TrialFailure) as from_python:
        parse_task_result({"a": 1.0, "b": 2.0}, objectives)
    assert "with parse_objectives(None, direction) the task returns its values in order" in str(from_python.value)
    assert "hydra" not in str(from_python.value)
    with hydra_spelling(), pytest.raises(TrialFailure) as from_hydra:
        parse_task_result({"a": 1.0, "b": 2.0}, objectives)
    assert "with hydra.sweeper.direction the task returns its values in order" in str(from_hydra.value)


class _KeyedRecord:
    """A keyed record with no ``ndim`` nor ``to_dict`` (``sqlite3.Row``'s duck type): ``keys()`` and ``[key]``."""

    def __init__(self, values: dict[str, float]) -> None:
        self._values = values

    def keys(self) -> list[str]:
        return list(self._values)

    def __getitem__(self, key: str) -> float:
        return self._values[key]


def test_a_keyed_object_without_ndim_is_read_by_name() -> None:
    """Mutation survivor: only objects that say ``ndim == 1`` were tested; one that has no ``ndim`` is keyed too."""
    objectives = parse_objectives({"acc": "maximize", "energy_j": "minimize"}, None)
    record = _KeyedRecord({"energy_j": 120.0, "acc": 0.9})
    assert parse_task_result(record, objectives).values == {"acc": (0.9, None), "energy_j": (120.0, None)}


def test_a_missing_metric_is_offered_neither_a_needed_metric_nor_another_energy_figure() -> None:
    """Mutation survivor: the hint's two exclusions (a metric the sweep takes already; for a missing energy figure,
    another of the callback's figures) were each tested only where the other one also held."""
    objectives = parse_objectives({"test/acc1": "maximize", "test/acc2": "maximize"}, None)
    with pytest.raises(MissingMetric) as info:  # test/acc2, the other objective, is no misspelling of test/acc1
        parse_task_result({"test/acc2": 0.9}, objectives)
    assert (info.value.metric, info.value.close) == ("test/acc1", None)
    assert "did you mean" not in str(info.value)
    with pytest.raises(MissingMetric) as info:  # energy/train_time_s, returned but not needed, is another figure
        parse_task_result({"test/acc": 0.9, "energy/test_j": 1.0, "energy/train_time_s": 3.0}, TWO, ["energy/train_j"])
    assert (info.value.metric, info.value.close) == ("energy/train_j", None)
    assert "did you mean" not in str(info.value)
    with pytest.raises(MissingMetric) as info:  # a close spelling outside both is still offered
        parse_task_result({"test/acc2": 0.9, "test/acc_1": 0.8}, objectives)
    assert info.value.close == "test/acc_1"


@pytest.mark.parametrize(("n_objectives", "returned"), [(1, (0.9, 0.01, 0.2)), (3, (0.9, 0.01))])
def test_the_mean_and_sem_hint_is_only_for_a_pair_returned_for_one_objective(
    n_objectives: int, returned: tuple[float, ...]
) -> None:
    """Mutation survivor: the hint's condition was tested only where both of its parts held."""
    objectives = parse_objectives({f"m{i}": "maximize" for i in range(n_objectives)}, None)
    with pytest.raises(
        ContractFailure, match=rf"returned {len(returned)} values for {n_objectives} objectives"
    ) as info:
        parse_task_result(returned, objectives)
    assert "(mean, sem)" not in str(info.value)


def test_energy_figures_below_one_joule_are_readings_not_failures() -> None:
    """Mutation survivor: only negative figures (refused) and figures of 1 J or more were returned. A short test loop
    on a small model reads well under 1 J, and every per-sample figure is a fraction of a joule."""
    returned = {"test/acc": 0.9, "energy/test_j": 0.4, "energy/test_j_per_sample": 0.003, "energy/train_j": 0.5}
    metrics = parse_task_result(returned, TWO, ["energy/train_j"])
    assert metrics.values == {
        "test/acc": (0.9, None),
        "energy/test_j": (0.4, None),
        "energy/train_j": (0.5, None),
        "energy/test_j_per_sample": (0.003, None),
    }


def test_an_array_of_more_than_one_dimension_is_refused_as_the_contract_not_read_row_by_row() -> None:
    """Mutation survivor: no 2-d array was returned. Read row by row, rows of two became (mean, sem) pairs (the
    trial completed with the wrong values) and rows of one failed each trial as a bad metric, not the task's code."""
    np = pytest.importorskip("numpy")
    for returned in (np.array([[0.9, 0.01], [120.0, 1.0]]), np.array([[0.9], [120.0]])):
        with pytest.raises(ContractFailure, match=r"\(ndarray\); return a dict \{metric: value\} or a tuple of 2"):
            parse_task_result(returned, TWO)


def test_a_list_of_one_dict_says_nothing_of_several_dataloaders() -> None:
    """Mutation survivor: the note on several test dataloaders was checked where it belongs (two dicts), not where
    it does not: ``trainer.test()`` with one dataloader returns a list of one dict."""
    with pytest.raises(ContractFailure, match=r"a list of 1 dict ") as info:
        parse_task_result([{"test/acc": 0.9, "energy/test_j": 1.0}], TWO)
    assert "dataloader" not in str(info.value)


def test_a_missing_energy_figure_is_offered_the_task_s_own_close_spelling() -> None:
    """Mutation survivor: the hint leaves out the callback's other figures for a missing energy figure; a key of the
    task's own that is not one of them (``energy/test_joules``) is still the likely misspelling."""
    with pytest.raises(MissingMetric) as info:
        parse_task_result({"test/acc": 0.9, "energy/test_joules": 1.0}, TWO)
    assert (info.value.metric, info.value.close) == ("energy/test_j", "energy/test_joules")
    assert "(did you mean 'energy/test_joules'?)" in str(info.value)


def test_a_key_that_is_not_a_string_is_dropped_not_tracked() -> None:
    """Mutation survivor: every extra key returned was a string. A number as a key (``{**metrics, epoch: loss}``) is
    no metric name: kept, it would reach Ax's raw data, whose names are strings."""
    metrics = parse_task_result({"test/acc": 0.9, "energy/test_j": 1.0, 3: 0.25}, TWO)
    assert metrics.values == {"test/acc": (0.9, None), "energy/test_j": (1.0, None)}
    assert metrics.to_ax_raw_data() == {"test__acc": 0.9, "energy__test_j": 1.0}
