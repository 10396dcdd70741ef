"""Search-space mistakes of users coming from the Ax and Optuna sweepers: refused, with the grammar to write."""

from __future__ import annotations

import re
from typing import Any

import pytest
from omegaconf import OmegaConf

from lightning_ecopt.exceptions import EcoptConfigError
from lightning_ecopt.sweeper.space import ChoiceParameter, RangeParameter, parse_search_space


@pytest.mark.parametrize(
    ("spec", "grammar", "expected"),
    [
        # hydra-ax-sweeper's parameter mappings
        (
            {"type": "range", "bounds": [1e-4, 0.1], "log_scale": True},
            "tag(log, interval(0.0001, 0.1))",
            RangeParameter("model.lr", 1e-4, 0.1, "float", log_scale=True),
        ),
        ({"type": "range", "bounds": [8, 64]}, "int(interval(8, 64))", RangeParameter("model.lr", 8, 64, "int")),
        (
            {"type": "range", "bounds": [8, 64], "value_type": "float"},
            "interval(8, 64)",
            RangeParameter("model.lr", 8.0, 64.0, "float"),
        ),
        (
            {"type": "choice", "values": [16, 32], "is_ordered": True},
            "tag(ordered, choice(16, 32))",
            ChoiceParameter("model.lr", (16, 32), is_ordered=True),
        ),
        (
            {"type": "choice", "values": ["relu", "gelu"]},
            "choice(relu, gelu)",
            ChoiceParameter("model.lr", ("relu", "gelu"), is_ordered=False),
        ),
        # hydra-optuna-sweeper's search_space mappings, written under params
        (
            {"type": "float", "low": 1e-4, "high": 0.1, "log": True},
            "tag(log,interval(0.0001,0.1))",
            RangeParameter("model.lr", 1e-4, 0.1, "float", log_scale=True),
        ),
        (
            {"type": "categorical", "choices": ["adam", "sgd"]},
            "choice(adam,sgd)",
            ChoiceParameter("model.lr", ("adam", "sgd"), is_ordered=False),
        ),
    ],
)
def test_an_ax_or_optuna_parameter_mapping_in_params_is_refused_with_the_grammar_to_write(
    spec: dict[str, Any], grammar: str, expected: RangeParameter | ChoiceParameter
) -> None:
    # Before: the mapping was one fixed dict value, so every trial got {type: range, ...} where a number belonged.
    params = OmegaConf.create({"model.lr": spec, "x": "interval(0, 1)"})
    with pytest.raises(EcoptConfigError, match=r"hydra\.sweeper\.params\['model\.lr'\] = \{'type': ") as error:
        parse_search_space(params, [], where="hydra.sweeper.params")  # as the Hydra sweeper names it
    message = str(error.value)
    assert "Hydra would pass this mapping to every trial as one fixed dict value" in message
    assert message.endswith(f"write 'model.lr: {grammar}'.")
    # The suggestion is valid grammar for the parameter that was meant.
    assert parse_search_space({"model.lr": grammar}, []).parameters == (expected,)


def test_an_ax_fixed_mapping_suggests_the_plain_value() -> None:
    with pytest.raises(EcoptConfigError, match=r"write 'trainer\.max_epochs: 3'\.$"):
        parse_search_space({"trainer.max_epochs": {"type": "fixed", "value": 3}, "x": "interval(0, 1)"}, [])


def test_a_malformed_parameter_mapping_is_refused_with_the_grammar_forms() -> None:
    with pytest.raises(EcoptConfigError, match=re.escape("is the Ax sweeper's parameter form")) as error:
        parse_search_space({"x": {"type": "range", "bounds": [1]}}, [])
    assert str(error.value).endswith(
        "write interval(a, b), int(interval(a, b)), tag(log, interval(a, b)) or choice(x, y, ...)."
    )


@pytest.mark.parametrize(
    "value",
    [
        {"type": "adam", "lr": 0.1},  # an optimiser config that happens to have a `type`
        {"type": "range", "bounds": [0, 1], "name": "window"},  # a key neither sweeper's mapping has
        {"type": "float"},  # no bounds and no choices
    ],
)
def test_other_mappings_stay_fixed_dict_values(value: dict[str, Any]) -> None:
    space = parse_search_space({"opt": value, "x": "interval(0, 1)"}, [])
    assert space.names == ("x",)
    (fixed,) = space.fixed_overrides
    assert fixed.startswith("opt={type:")


@pytest.mark.parametrize(
    ("params", "arguments", "label"),
    [
        ({}, ["~model.act=relu,gelu"], r"^command line: '~model\.act=relu,gelu'"),
        ({"~model.act": "choice(relu, gelu)"}, [], r"^params\['~model\.act'\] = 'choice\(relu, gelu\)'"),
    ],
)
def test_a_swept_deletion_is_refused(params: dict[str, Any], arguments: list[str], label: str) -> None:
    # Before: swept, and every trial but those of the key's current value failed to compose.
    with pytest.raises(EcoptConfigError, match=label + r": a deletion cannot be swept") as error:
        parse_search_space(params, arguments)
    assert "write '~model.act' to delete it in every trial, or sweep 'model.act=" in str(error.value)
