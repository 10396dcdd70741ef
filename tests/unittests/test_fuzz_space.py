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


@pytest.mark.parametrize(
    ("grammar", "match"),
    [
        (
            "int(interval(0.5, 3.7))",
            r"int\(\.\.\.\) truncates the bound 0\.5 to 0 \(Hydra casts each bound with int\(\)\), outside "
            r"interval\(0\.5, 3\.7\) as written; write int\(interval\(1, 3\)\) for the integers inside it, or "
            r"interval\(0\.5, 3\.7\) to sweep floats\.$",
        ),
        ("int(interval(-3.5, -0.5))", r"truncates the bound -0\.5 to 0 .* write int\(interval\(-3, -1\)\) for the"),
        ("tag(log, int(interval(0.5, 10)))", r"truncates the bound 0\.5 to 0 .* write int\(interval\(1, 10\)\)"),
        (
            "int(interval(0.5, 1.5))",
            r"write a plain value, 1, for the one integer inside it, or interval\(0\.5, 1\.5\)",
        ),
        ("int(interval(0.2, 0.8))", r"write a wider interval \(this one holds no integer\)"),
        (
            "int(range(0.5, 3.5))",
            r"int\(\.\.\.\) truncates 0\.5 to 0 .* write the integers meant, or drop int\(\.\.\.\)",
        ),
        ("int(range(0, 6, step=1.5))", r"truncates 1\.5 to 1"),
        ("int(choice(1.5, 2.5))", r"truncates 1\.5 to 1"),
    ],
)
def test_an_int_cast_that_would_truncate_a_swept_float_is_refused(grammar: str, match: str) -> None:
    # Before: int(interval(0.5, 3.7)) swept 0 to 3 (0 is outside what was written), int(range(0.5, 3.5)) 0 to 3 and
    # int(choice(1.5, 2.5)) 1 and 2: Hydra's int() truncates each number, and the sweep ran on the result silently.
    with pytest.raises(EcoptConfigError, match=rf"^params\['p'\]: {re.escape(repr('p=' + grammar))}: .*{match}"):
        parse_search_space({"p": grammar}, [])


@pytest.mark.parametrize(
    ("grammar", "expected"),
    [
        ("int(interval(1.0, 3.0))", RangeParameter("p", 1, 3, "int")),  # integral floats: nothing truncated
        ("int(interval(-1.5, 2.7))", RangeParameter("p", -1, 2, "int")),  # truncated inward: the integers written
        ("int(choice(1.0, 2.0))", ChoiceParameter("p", (1, 2), is_ordered=False)),
    ],
)
def test_an_int_cast_that_keeps_the_integers_written_is_accepted(
    grammar: str, expected: RangeParameter | ChoiceParameter
) -> None:
    assert parse_search_space({"p": grammar}, []).parameters == (expected,)


@pytest.mark.parametrize(
    ("grammar", "written"),
    [("interval(true, 3)", "true"), ("range(false, 5)", "false"), ("range(0, 5, step=true)", "true")],
)
def test_a_bool_as_a_bound_is_refused(grammar: str, written: str) -> None:
    # Before: interval(true, 3) swept 1.0 to 3.0 (Hydra reads true as 1), and range(false, 5) failed with a
    # decimal.InvalidOperation traceback.
    function = grammar.partition("(")[0]
    number = int(written == "true")
    with pytest.raises(
        EcoptConfigError,
        match=rf"^command line: 'p={re.escape(grammar)}': {function}\(\.\.\.\) takes numbers, and {written} is a bool "
        rf"\(Hydra would read it as {number}\); write {number} if that is the number meant\.$",
    ):
        parse_search_space({}, [f"p={grammar}"])


@pytest.mark.parametrize(
    "grammar", ["range(0, inf)", "range(nan, 3)", "range(0, 5, step=nan)", "range(0, -inf, step=-1)"]
)
def test_a_range_with_a_bound_or_step_that_is_not_finite_is_refused(grammar: str) -> None:
    # Before: OverflowError ("cannot convert Infinity to integer") or decimal.InvalidOperation, a bare traceback.
    with pytest.raises(
        EcoptConfigError, match=rf"^params\['p'\] = {re.escape(repr(grammar))}: range\(start=.*\) needs finite numbers"
    ):
        parse_search_space({"p": grammar}, [])


@pytest.mark.parametrize(
    ("grammar", "expected"),
    [
        ("sort(range(3, 1, step=-1))", RangeParameter("p", 1, 3, "int")),
        ("sort(range(1, 4), reverse=true)", ChoiceParameter("p", (4, 3, 2, 1), is_ordered=True)),
        ("sort(range(0, 10, step=3), reverse=true)", ChoiceParameter("p", (9, 6, 3, 0), is_ordered=True)),
        ("sort(range(0.5, 0.1, step=-0.2))", ChoiceParameter("p", (0.1, 0.3, 0.5), is_ordered=True)),
        ("sort(range(1, 3))", RangeParameter("p", 1, 3, "int")),  # already ascending: unchanged
    ],
)
def test_a_sorted_range_sweeps_the_range_s_own_values(grammar: str, expected: RangeParameter | ChoiceParameter) -> None:
    # Before: Hydra's sort() rewrites a range for a stop it excludes, so with the stop included here
    # sort(range(3, 1, step=-1)) swept 2 to 4 (not 1 to 3), and sort(range(0, 10, step=3), reverse=true) 7, 4, 1, -2.
    assert parse_search_space({"p": grammar}, []).parameters == (expected,)
