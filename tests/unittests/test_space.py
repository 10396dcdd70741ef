"""Hydra sweep grammar -> RangeParameter / ChoiceParameter -> Ax, and back to Hydra overrides."""

from __future__ import annotations

import math
import re
from typing import Any

import pytest
from hydra.core.override_parser.overrides_parser import OverridesParser

from lightning_ecopt.exceptions import EcoptConfigError
from lightning_ecopt.sweeper.space import (
    MAX_LISTED_INTS,
    ChoiceParameter,
    RangeParameter,
    SearchSpace,
    ax_params_to_grammar,
    check_constraint_metrics,
    check_enqueued,
    configure_wide_ints,
    optuna_search_space_to_params,
    parse_search_space,
    render_override_value,
)


def _single(text: str) -> RangeParameter | ChoiceParameter:
    space = parse_search_space({"p": text}, [])
    assert len(space.parameters) == 1
    return space.parameters[0]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("interval(0, 1)", RangeParameter("p", 0.0, 1.0, "float")),
        ("interval(1, 10)", RangeParameter("p", 1.0, 10.0, "float")),  # interval(...) is always float
        ("int(interval(1, 10))", RangeParameter("p", 1, 10, "int")),
        ("tag(log, interval(1e-4, 1e-1))", RangeParameter("p", 1e-4, 1e-1, "float", log_scale=True)),
        ("tag(log, int(interval(1, 1024)))", RangeParameter("p", 1, 1024, "int", log_scale=True)),
        ("choice(adam, sgd, rmsprop)", ChoiceParameter("p", ("adam", "sgd", "rmsprop"), is_ordered=False)),
        ("choice(16, 32, 64)", ChoiceParameter("p", (16, 32, 64), is_ordered=False)),
        ("choice(0.1, 0.5)", ChoiceParameter("p", (0.1, 0.5), is_ordered=False)),
        ("choice(true, false)", ChoiceParameter("p", (True, False), is_ordered=False)),
        ("adam,sgd", ChoiceParameter("p", ("adam", "sgd"), is_ordered=False)),
        ("1,2,3", ChoiceParameter("p", (1, 2, 3), is_ordered=False)),
        ("tag(ordered, choice(16, 32, 64))", ChoiceParameter("p", (16, 32, 64), is_ordered=True)),
        # A range includes its stop where it is on the step's grid, as the Optuna sweeper's does.
        ("range(1, 5)", RangeParameter("p", 1, 5, "int")),
        ("range(0, 1000000000)", RangeParameter("p", 0, 10**9, "int")),  # an Ax range: not listed
        ("int(interval(0, 1000000000))", RangeParameter("p", 0, 10**9, "int")),  # modelled as a float: not listed
        ("int(interval(0, 9007199254740992))", RangeParameter("p", 0, 2**53, "int")),  # exact up to 2^53
        ("range(0, 100, step=25)", ChoiceParameter("p", (0, 25, 50, 75, 100), is_ordered=True)),
        ("range(0, 9, step=2)", ChoiceParameter("p", (0, 2, 4, 6, 8), is_ordered=True)),  # 9 is off the grid
        ("range(10, 0, step=-5)", ChoiceParameter("p", (10, 5, 0), is_ordered=True)),
        ("range(0.1, 0.5, step=0.1)", ChoiceParameter("p", (0.1, 0.2, 0.3, 0.4, 0.5), is_ordered=True)),
        ("range(0.1, 0.45, step=0.1)", ChoiceParameter("p", (0.1, 0.2, 0.3, 0.4), is_ordered=True)),
        ("tag(ordered, range(0, 10, step=5))", ChoiceParameter("p", (0, 5, 10), is_ordered=True)),
        ("shuffle(a, b)", ChoiceParameter("p", ("a", "b"), is_ordered=False)),
        # Quoted items of a bare list (the way to sweep group options with numeric names) are strings, as in choice()
        ("'18','34'", ChoiceParameter("p", ("18", "34"), is_ordered=False)),
        ("'1',relu", ChoiceParameter("p", ("1", "relu"), is_ordered=False)),
        ("'a b',c", ChoiceParameter("p", ("a b", "c"), is_ordered=False)),
        ("'1',1", ChoiceParameter("p", ("1", 1), is_ordered=False)),
    ],
)
def test_grammar_form_maps_to_parameter(text: str, expected: RangeParameter | ChoiceParameter) -> None:
    parameter = _single(text)
    assert parameter == expected
    if isinstance(expected, ChoiceParameter):  # equality of 1 and 1.0 and True: check the types too
        assert isinstance(parameter, ChoiceParameter)
        assert [type(v) for v in parameter.values] == [type(v) for v in expected.values]


def test_float_range_has_no_rounding_noise() -> None:
    parameter = _single("range(0.1, 0.5, step=0.1)")
    assert isinstance(parameter, ChoiceParameter)
    assert 0.3 in parameter.values  # Hydra itself yields 0.30000000000000004


@pytest.mark.parametrize(
    ("text", "ax"),
    [
        ("interval(0, 1)", {"bounds": (0.0, 1.0), "parameter_type": "float", "scaling": "linear", "step_size": None}),
        ("int(interval(2, 9))", {"bounds": (2, 9), "parameter_type": "int", "scaling": "linear"}),
        ("tag(log, interval(1e-5, 1))", {"bounds": (1e-5, 1.0), "parameter_type": "float", "scaling": "log"}),
        ("tag(log, int(interval(8, 512)))", {"bounds": (8, 512), "parameter_type": "int", "scaling": "log"}),
        ("range(1, 5)", {"bounds": (1, 5), "parameter_type": "int", "scaling": "linear"}),
        ("adam,sgd", {"values": ["adam", "sgd"], "parameter_type": "str", "is_ordered": False}),
        ("choice(16, 32)", {"values": [16, 32], "parameter_type": "int", "is_ordered": False}),
        (
            "tag(ordered, choice(0.1, 0.2, 0.4))",
            {"values": [0.1, 0.2, 0.4], "parameter_type": "float", "is_ordered": True},
        ),
        ("choice(true, false)", {"values": [True, False], "parameter_type": "bool", "is_ordered": False}),
        ("range(0, 30, step=10)", {"values": [0, 10, 20, 30], "parameter_type": "int", "is_ordered": True}),
        # mixed types: Ax sees the Hydra text of each value, to_overrides maps it back
        (
            "choice(1, 2.5, x, true)",
            {"values": ["1", "2.5", "x", "true"], "parameter_type": "str", "is_ordered": False},
        ),
    ],
)
def test_to_ax_is_exact(text: str, ax: dict[str, Any]) -> None:
    from ax.api.configs import ChoiceParameterConfig, RangeParameterConfig

    (config,) = parse_search_space({"p": text}, []).to_ax()
    expected_type = ChoiceParameterConfig if "values" in ax else RangeParameterConfig
    assert type(config) is expected_type
    assert config.name == "p"
    for key, value in ax.items():
        got = getattr(config, key)
        assert got == value, key
        if key in ("bounds", "values"):
            assert [type(v) for v in got] == [type(v) for v in value], key


def test_to_ax_configures_an_ax_experiment() -> None:
    from ax.api.client import Client

    space = parse_search_space(
        {
            "model.lr": "tag(log, interval(1e-4, 1e-1))",
            "model.batch_size": "tag(ordered, choice(16, 32, 64))",
            "optimizer": "adam,sgd",
            "mixed": "1,x",
            "+extra@pkg": "range(0, 10, step=5)",
        },
        ["trainer.max_epochs=3"],
    )
    client = Client()
    client.configure_experiment(parameters=space.to_ax())
    names = set(client._experiment.search_space.parameters)
    assert names == {"model.lr", "model.batch_size", "optimizer", "mixed", "extra@pkg"}


@pytest.mark.parametrize(
    ("params", "arguments", "match"),
    [
        # Not Hydra's 'glob_choice_sweep', a name the reader never wrote.
        (
            {"p": "glob(*)"},
            [],
            r"^params\['p'\] = 'glob\(\*\)': glob\(\.\.\.\) selects among the options of a config group, which only "
            r"the Hydra sweeper \(hydra/sweeper=ecopt\) can list; list the values to sweep instead, e\.g\. "
            r"'choice\(adam,sgd\)'\.$",
        ),
        ({"p": "{a:1},{a:2}"}, [], r"cannot sweep over \{'a': 1\} \(type dict\).*int, float, str or bool"),
        ({"p": "[1,2],[3]"}, [], r"cannot sweep over \[1, 2\] \(type list\)"),
        (
            {"p": "null,1"},
            [],
            r"^params\['p'\] = 'null,1': cannot sweep over null: Ax's choices are int, float, str or bool\. Sweep a "
            r"string that stands for it, p=none,1, and map it back in the task: None if cfg\.p == 'none' else "
            r"cfg\.p \(on a typed field, a dataclass's float, the string does not compose: sweep a key of its own "
            r"for it, such as a flag the task reads\)\.$",
        ),
        ({}, ["+m.x=none,null"], r"stands for it, \+m\.x=none,None, .*None if cfg\.m\.x == 'None' else"),
        # null inside choice(...): Hydra's own type error named no fix (and suggested the choice(a,b) it was given).
        (
            {"p": "choice(null, 1)"},
            [],
            r"^params\['p'\]: 'p=choice\(null, 1\)': cannot sweep over null: Ax's choices are int, float, str or "
            r"bool\. Sweep a string that stands for it, p=choice\(none, 1\), and map it back in the task: None if "
            r"cfg\.p == 'none' else cfg\.p \(on a typed field",
        ),
        (
            {},
            ["+m.x=tag(ordered, choice(none, NULL))"],
            r"stands for it, \+m\.x=tag\(ordered, choice\(none, None\)\), .*cfg\.m\.x == 'None'",
        ),
        # quoted text is kept as written; a null that is a tag, not a choice's value, is not said to be one
        ({"p": "choice('a null b', null)"}, [], r"stands for it, p=choice\('a null b', none\), and map"),
        ({"p": "tag(null, choice(1, 2))"}, [], r"cannot parse 'p=tag\(null, choice\(1, 2\)\)' as a Hydra override"),
        ({"p": "choice(none, None, null_value, null)"}, [], r"cannot parse .* as a Hydra override"),
        ({"p": "interval(1, 1)"}, [], r"interval\(1, 1\)'.*interval is empty.*use a plain value \(p=1.0\)"),
        ({"p": "interval(5, 1)"}, [], r"interval is inverted \(low=5.0, high=1.0\).*write interval\(1.0, 5.0\)"),
        ({"p": "int(interval(3, 3))"}, [], r"interval is empty"),
        ({"p": "tag(log, interval(0, 1))"}, [], r"log scale needs a positive lower bound, got 0.0"),
        ({"p": "tag(log, interval(-1, 1))"}, [], r"log scale needs a positive lower bound, got -1.0"),
        ({"p": "tag(log, choice(1, 2))"}, [], r"tag 'log' has no meaning on choice\(...\); allowed tags: 'ordered'"),
        ({"p": "tag(ordered, interval(0, 1))"}, [], r"tag 'ordered' has no meaning on interval\(...\)"),
        ({"p": "tag(foo, choice(1, 2))"}, [], r"tag 'foo' has no meaning"),
        ({"p": "choice(adam)"}, [], r"single value sweeps nothing; use a plain value to fix it \(p=adam\)"),
        ({"p": "choice(1, 1, 2)"}, [], r"the value 1 is listed twice"),
        ({"p": "range(5, 1)"}, [], r"range\(start=5, stop=1, step=1\) yields no value"),
        ({"p": "range(1, 5, step=-1)"}, [], r"yields no value"),
        ({"p": "range(1, 1)"}, [], r"range yields the single value 1.*use a plain value to fix it \(p=1\)"),
        ({"p": "range(1, 2, step=2)"}, [], r"range yields the single value 1"),
        ({"p": "tag(ordered, choice(1, x))"}, [], r"ordered choices must share one type"),
        ({"p": "choice(nan, 1.0)"}, [], r"choice\(nan, 1.0\)'.*the value nan is not a finite number.*list finite"),
        ({"p": "choice(1, inf)"}, [], r"the value inf is not a finite number"),
        ({}, ["p=-inf,x"], r"^command line: 'p=-inf,x': the value -inf is not a finite number"),  # not params['p']
        ({}, ["x=interval(1, 0)"], r"^command line: 'x=interval\(1, 0\)': the interval is inverted"),
        ({"x": "interval(1, 0)"}, [], r"^params\['x'\] = 'interval\(1, 0\)': the interval is inverted"),
        ({"p": "interval(0, 1"}, [], r"cannot parse 'p=interval\(0, 1' as a Hydra override"),
        # A key of no name: Hydra failed the first trial's compose ("Config group override must be a string ...").
        (
            {"": "interval(0, 1)"},
            [],
            r"^params\[''\] = 'interval\(0, 1\)': the key is empty, so it names no config key to set; write the key "
            r"the value is for, e.g. 'model.lr: interval\(0, 1\)'.$",
        ),
        (
            {},
            ["=interval(0,1)"],
            r"^command line: '=interval\(0,1\)': the key is empty, .* 'model.lr=interval\(0,1\)'.$",
        ),
        ({}, ["+=5"], r"^command line: '\+=5': the key is empty"),  # a fixed value too
        # Spaces around a key: Hydra's "token recognition error at: ' '", naming neither the key nor the fix.
        (
            {" x": "interval(0, 1)"},
            [],
            r"^params\[' x'\] = 'interval\(0, 1\)': the key has spaces around it, and a config key has none; write it "
            r"without them: 'x: interval\(0, 1\)'.$",
        ),
        ({"model.lr\t": 0.5}, [], r"^params\['model.lr\\t'\] = '0.5': the key has .* them: 'model.lr: 0.5'.$"),
        ({" ": "interval(0, 1)"}, [], r"^params\[' '\] = 'interval\(0, 1\)': the key is blank, so it names no config"),
        ({}, ["a=1", "a=interval(0, 1)"], r"command line: 'a' is given twice \('a=1' and 'a=interval\(0, 1\)'\)"),
        ({}, ["a=1,2", "+a=3"], r"'\+a' is given twice"),
        ({"x": "interval(0, 1)", "+x": "choice(a, b)"}, [], r"params: 'x' and '\+x' set the same key"),
        ({"x": "interval(0, 1)", "++x": 5}, [], r"params: 'x' and '\+\+x' set the same key"),
        # What Ax would refuse with a traceback, refused first with the fix.
        ({"p": "int(interval(10, 1))"}, [], r"interval is inverted .*write int\(interval\(1, 10\)\)"),
        ({"p": "tag(log, interval(0.1, 1e-4))"}, [], r"write tag\(log, interval\(0.0001, 0.1\)\)"),
        # The hint keeps the log scale (it gave a linear interval, which sweeps the small values rarely).
        (
            {"p": "tag(log, interval(1e-8, 1e-5))"},
            [],
            r"narrower than the 1.5e-05 Ax accepts.*multiplies by 1e-05, swept over tag\(log, interval\(0.001, 1\)\)\)",
        ),
        # high - low overflows to inf: every proposal was nan, and each trial was failed for its "nan" metric.
        ({"p": "interval(-1e308, 1e308)"}, [], r"from -1e\+308 to 1e\+308 \(a span past a float's range: high - low"),
        # Past float32's maximum: Ax scales the model's inputs in float32, and the first model proposal failed with
        # BoTorch's "InputDataError: Input data contains NaN values" (a traceback, after the Sobol trials).
        (
            {"p": "interval(-1e160, 1e160)"},
            [],
            r"^params\['p'\] = 'interval\(-1e160, 1e160\)': the values run from -1e\+160 to 1e\+160 \(a span of "
            r"2e\+160\), past the 3.403e\+38 Ax's model takes \(it scales its inputs in torch's float32: every model "
            r"proposal would be nan, and the sweep stop after the Sobol trials\); sweep the value in larger units "
            r"\(e.g. a key the app multiplies by 1e160, swept from -1 to 1\).$",
        ),
        (
            {"p": "interval(-2e38, 2e38)"},
            [],
            r"a span of 4e\+38\), past the 3.403e\+38",
        ),  # each bound fits, the span not
        (
            {"p": "interval(1e39, 1e40)"},
            [],
            r"\); sweep it on a log scale, tag\(log, interval\(1e39, 1e40\)\), or the value in larger units "
            r"\(e.g. a key the app multiplies by 1e40, swept from 0.1 to 1\).$",
        ),
        (
            {},
            ["p=tag(ordered, choice(0.0, 2.0, 1e39))"],
            r"a span of 1e\+39\).*; drop tag\(ordered, ...\) \(categories",
        ),
        ({"p": "choice(1.0, 1e39)"}, [], r"from 1.0 to 1e\+39 \(a span of 1e\+39\).*; give the value in larger"),
        ({"p": "range(0, 1e39, step=3e38)"}, [], r"from 0.0 to 9e\+38 \(a span of 9e\+38\), past the 3.403e\+38"),
        # Beyond 2^53 a float holds no exact integer (beyond 2^63 Ax failed after the Sobol trials, a pandas cast).
        (
            {"p": "int(interval(0, 10000000000000000000))"},
            [],
            r"^params\['p'\] = 'int\(interval\(0, 10000000000000000000\)\)': the int bound 10000000000000000000 "
            r"is beyond 2\^53 = 9007199254740992, .*; sweep interval\(0, 10000000000000000000\), a float the task "
            r"rounds, or the value in larger units\.$",
        ),
        (
            {"p": "tag(log, int(interval(1, 9007199254740994)))"},
            [],
            r"bound 9007199254740994 is beyond 2\^53.*sweep tag\(log, interval\(1, 9007199254740994\)\), a float",
        ),
        ({"p": "range(0, 10000000000000000000)"}, [], r"beyond 2\^53.*sweep interval\(0, 10000000000000000000\)"),
        ({"p": "range(0, 10000000000000000000, step=1000000000000000000)"}, [], r"beyond 2\^53"),
        ({"p": "choice(1, 10000000000000000000)"}, [], r"10000000000000000000 is beyond a 64-bit integer.*as a string"),
        ({"p": "interval(0, 1e-5)"}, [], r"1e-05 wide, narrower .*multiplies by 1e-05, swept over interval\(0, 1\)"),
        ({"p": "range(0, 2000, 2)"}, [], r"yields 1001 values, more than the 1000 .*int\(interval\(0, 2000\)\)"),
        ({"p": "range(0, 1, 1e-9)"}, [], r"yields 1000000001 values.*sweep interval\(0, 1.0\)"),
        # A count of 617 digits, and an int bound of 301 (int(1e300) in full), read as numbers no one could.
        (
            {"p": "range(0, 1e308, step=1e-308)"},
            [],
            r"^params\['p'\] = 'range\(0, 1e308, step=1e-308\)': the range yields about 1e\+616 values, more than the "
            r"1000 Ax takes in a choice; sweep interval\(0, 1e\+308\) instead, or a larger step\.$",
        ),
        (
            {"p": "int(interval(0, 1e300))"},
            [],
            r"the int bound about 1e\+300 is beyond 2\^53 = 9007199254740992, .{,250}$",
        ),
        ({"p": "choice(" + ",".join(f"a{i}" for i in range(1001)) + ")"}, [], r"1001 values, more than the 1000"),
    ],
)
def test_invalid_space_is_refused(params: dict[str, Any], arguments: list[str], match: str) -> None:
    with pytest.raises(EcoptConfigError, match=match):
        parse_search_space(params, arguments)


@pytest.mark.usefixtures("quiet_warnings")
@pytest.mark.parametrize(
    ("accepted", "refused"),
    [
        ("interval(-1.7e38, 1.7e38)", "interval(-1.71e38, 1.71e38)"),  # a span of 3.4e38 is within float32's max
        ("tag(ordered, choice(-1.7e38, 0.0, 1.7e38))", "tag(ordered, choice(-1.71e38, 0.0, 1.71e38))"),
        ("tag(log, interval(1e-300, 1e300))", "interval(1e-300, 1e300)"),  # a log scale reaches the model as logs
        ("choice(1.0, 1e39, 2e39)", "choice(1.0, 1e39)"),  # categories have no scale, but Ax orders a choice of two
        # Three or more positive values over two orders of magnitude: Ax models them on a log scale it infers (they
        # were refused, though they reached the model; with a 0 among them, or a narrower ratio, they do not).
        ("tag(ordered, choice(1.0, 2.0, 1e39))", "tag(ordered, choice(0.0, 2.0, 1e39))"),
        ("range(1, 1e39, step=3e38)", "range(1e37, 1e39, step=3e38)"),
    ],
)
def test_the_widest_numeric_parameters_accepted_reach_a_model_proposal(accepted: str, refused: str) -> None:
    from ax.utils.testing.mock import mock_botorch_optimize_context_manager

    from lightning_ecopt.sweeper.loop import ParetoSweep
    from lightning_ecopt.sweeper.objectives import parse_objectives
    from lightning_ecopt.sweeper.settings import SweepSettings

    with pytest.raises(EcoptConfigError, match=r"past the 3.403e\+38 Ax's model takes"):
        parse_search_space({"x": refused}, [])
    space = parse_search_space({"x": accepted, "y": "interval(0, 1)"}, [])
    objectives = parse_objectives({"f1": "minimize", "f2": "minimize"}, None)
    settings = SweepSettings(objectives, n_trials=5, n_initial_trials=4, seed=0)

    def task(params: dict[str, Any]) -> dict[str, float]:
        sign = math.copysign(1.0, params["x"])  # a number the model can fit, whatever the scale of x
        return {"f1": params["y"] + sign, "f2": (params["y"] - 1) ** 2 - sign}

    with mock_botorch_optimize_context_manager(force=True):
        result = ParetoSweep.from_function(space, settings, task).run()
    assert [trial.status for trial in result.trials] == ["completed"] * 5  # the fifth is the model's


def test_an_int_interval_too_wide_to_list_is_modelled_as_a_float_ax_rounds() -> None:
    # int(interval(0, 1e9)): Ax listed every integer at the first model proposal (36 bytes each), and the machine ran
    # out of memory. Its own IntToFloat transform goes before Log (which lists a log-scale one as a choice).
    from ax.adapter.registry import MBM_X_trans, Y_trans
    from ax.adapter.transforms.int_to_float import IntToFloat
    from ax.adapter.transforms.log import Log

    wide = parse_search_space({"a": "int(interval(0, 1000000000))", "b": "int(interval(1, 8))"}, []).parameters
    kwargs: dict[str, Any] = {"transform_configs": {"Winsorize": {"x": 1}}}
    assert configure_wide_ints(kwargs, wide) is True
    transforms = kwargs["transforms"]
    assert transforms.index(IntToFloat) == transforms.index(Log) - 1
    assert [t for t in transforms if t is not IntToFloat] == [*MBM_X_trans, *Y_trans]
    # Only the wide one: a narrower int keeps its integers (listed, as Ax does by default).
    assert kwargs["transform_configs"] == {"Winsorize": {"x": 1}, "IntToFloat": {"min_choices": MAX_LISTED_INTS + 1}}
    assert configure_wide_ints(kwargs, wide) is False  # once
    narrow = parse_search_space({"a": f"int(interval(1, {MAX_LISTED_INTS}))", "b": "interval(0, 1)"}, []).parameters
    untouched: dict[str, Any] = {}
    assert configure_wide_ints(untouched, narrow) is False
    assert untouched == {}
    # One integer more than MAX_LISTED_INTS: wide.
    assert configure_wide_ints({}, parse_search_space({"a": f"int(interval(0, {MAX_LISTED_INTS}))"}, []).parameters)
    # A node's own transforms without Log: IntToFloat goes first, before any of them sees the int as listed.
    from ax.adapter.transforms.int_range_to_choice import IntRangeToChoice
    from ax.adapter.transforms.unit_x import UnitX

    own: dict[str, Any] = {"transforms": [IntRangeToChoice, UnitX]}
    assert configure_wide_ints(own, wide) is True
    assert own["transforms"] == [IntToFloat, IntRangeToChoice, UnitX]


def test_command_line_wins_over_config() -> None:
    space = parse_search_space(
        {"a": "interval(0, 1)", "b": "choice(x, y)", "c": "interval(0, 1)"}, ["a=5", "b=choice(u, v, w)"]
    )
    assert space.names == ("c", "b")  # a is fixed on the command line; b takes its command-line place
    assert space.parameters[1] == ChoiceParameter("b", ("u", "v", "w"), is_ordered=False)
    assert space.fixed == {"a": 5}


def test_fixed_parameters_reach_every_job() -> None:
    space = parse_search_space(
        {"x": "interval(0, 1)", "trainer.limit_test_batches": 4},
        ["trainer.max_epochs=3", "+tag='hello, world'", "~logger", "model=resnet"],
    )
    assert space.fixed == {
        "trainer.limit_test_batches": 4,
        "trainer.max_epochs": 3,
        "tag": "hello, world",  # keyed by the key it sets; the override keeps its +
        "~logger": None,
        "model": "resnet",
    }
    overrides = space.to_overrides({"x": 0.25})
    assert overrides == [
        "x=0.25",
        "trainer.limit_test_batches=4",
        "trainer.max_epochs=3",
        "+tag='hello, world'",
        "~logger",
        "model=resnet",
    ]
    assert OverridesParser.create().parse_override(overrides[3]).value() == "hello, world"


@pytest.mark.parametrize(
    ("text", "proposal", "rendered", "parsed"),
    [
        ("interval(0, 1)", 0.1, "p=0.1", 0.1),
        ("interval(0, 1)", 1e-5, "p=1e-05", 1e-5),
        ("interval(1, 10)", 3, "p=3.0", 3.0),  # a float parameter stays a float
        ("int(interval(1, 10))", 7, "p=7", 7),
        ("int(interval(1, 10))", 7.0, "p=7", 7),
        ("choice(adam, sgd)", "sgd", "p=sgd", "sgd"),
        ("choice(true, false)", False, "p=false", False),
        ("choice('1', '2')", "1", "p='1'", "1"),  # a string that looks like a number stays a string
        ("choice('a,b', 'c d')", "a,b", "p='a,b'", "a,b"),
        ("choice('null', x)", "null", "p='null'", "null"),
        ('choice("it\'s", x)', "it's", 'p="it\'s"', "it's"),
        ("choice(1, 2.5, x, true)", "1", "p=1", 1),  # mixed: Ax's string maps back to the int
        ("choice(1, 2.5, x, true)", "true", "p=true", True),
        ("tag(ordered, choice(16, 32))", 32, "p=32", 32),
    ],
)
def test_to_overrides_renders_what_hydra_reads_back(text: str, proposal: Any, rendered: str, parsed: Any) -> None:
    space = parse_search_space({"p": text}, [])
    (override,) = space.to_overrides({"p": proposal})
    assert override == rendered
    value = OverridesParser.create().parse_override(override).value()
    assert value == parsed
    assert type(value) is type(parsed)


def test_to_overrides_accepts_numpy_scalars() -> None:
    np = pytest.importorskip("numpy")
    space = parse_search_space({"a": "int(interval(1, 9))", "b": "interval(0, 1)", "c": "choice(16, 32)"}, [])
    assert space.to_overrides({"a": np.int64(3), "b": np.float64(0.5), "c": np.int64(32)}) == ["a=3", "b=0.5", "c=32"]


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({}, r"missing parameters \['a'\]"),
        ({"a": 1, "zzz": 2}, r"unknown parameters \['zzz'\]"),
        ({"a": 2.5}, r"int parameter; got the non-integral 2.5"),
        ({"a": "x"}, r"expected a finite number, got 'x'"),
    ],
)
def test_to_overrides_refuses_bad_params(params: dict[str, Any], match: str) -> None:
    space = parse_search_space({"a": "int(interval(1, 9))"}, [])
    with pytest.raises(ValueError, match=match):
        space.to_overrides(params)


def test_to_overrides_refuses_a_value_outside_the_choices() -> None:
    space = parse_search_space({"c": "choice(16, 32)"}, [])
    with pytest.raises(ValueError, match=r"64 is not one of the choices \[16, 32\]"):
        space.to_overrides({"c": 64})


def test_a_given_configuration_is_checked_and_typed_as_the_sweep_records_it() -> None:
    space = parse_search_space(
        {"lr": "tag(log, interval(1e-4, 0.1))", "width": "int(interval(8, 64))", "opt": "adam,sgd", "m": "1,a,true"}, []
    )
    checked = space.check_params({"m": True, "opt": "sgd", "width": 16.0, "lr": 0.1})
    assert checked == {"lr": 0.1, "width": 16, "opt": "sgd", "m": True}
    assert list(checked) == ["lr", "width", "opt", "m"]  # the space's order
    assert type(checked["width"]) is int
    # Ax sees mixed-type choices as text; True is not taken for the choice 1.
    assert space.to_ax_params(checked) == {"lr": 0.1, "width": 16, "opt": "sgd", "m": "true"}
    assert space.to_ax_params({**checked, "m": 1})["m"] == "1"


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"lr": 0.5, "width": 16}, r"'lr': 0.5 is outside its range \[0.0001, 0.1\]"),
        ({"lr": 0.01, "width": 65}, r"'width': 65 is outside its range \[8, 64\]"),
        ({"lr": 0.01, "width": 16.5}, r"'width' is an int parameter; got the non-integral 16.5"),
        ({"lr": float("nan"), "width": 16}, r"'lr': expected a finite number, got nan"),
        ({"lr": 0.01}, r"missing parameters \['width'\]; give a value"),
    ],
)
def test_check_params_names_the_bad_value(params: dict[str, Any], match: str) -> None:
    space = parse_search_space({"lr": "tag(log, interval(1e-4, 0.1))", "width": "int(interval(8, 64))"}, [])
    with pytest.raises(ValueError, match=match):
        space.check_params(params)
    # "Widen the search space" is a fix for a value outside it, not for a parameter left out.
    fix = "" if "missing" in match else ".*widen the search space"
    with pytest.raises(EcoptConfigError, match=r"^my\.setting\[1\]=\{.*" + match + fix) as err:
        check_enqueued(space, [{"lr": 0.01, "width": 16}, params], "my.setting")
    assert ("widen" in str(err.value)) == bool(fix)


@pytest.mark.parametrize(
    ("params", "match"),
    [
        (
            {"lr": "0.5", "width": 16},
            r"'lr': expected a finite number, got '0\.5'\. Write it as a number \(without quotes\)\.$",
        ),
        ({"lr": "high", "width": 16}, r"'lr': expected a finite number, got 'high'\. Write it as a number\.$"),
        (
            {"lr": 0.01, "width": 16, "opt": "1"},
            r"'1' is not one of the choices \[1, 2\]\. Write it as 1 \(int\), as the choice is\.$",
        ),
    ],
)
def test_a_value_of_the_wrong_type_is_to_be_written_as_the_right_one(params: dict[str, Any], match: str) -> None:
    # "'0.5'. Change the configuration, or widen the search space": no space takes the text '0.5' for a number.
    space = parse_search_space({"lr": "interval(1e-4, 0.1)", "width": "int(interval(8, 64))", "opt": "1,2"}, [])
    with pytest.raises(EcoptConfigError, match=r"^my\.setting\[0\]=\{.*" + match) as err:
        check_enqueued(space, [{"opt": 2, **params}], "my.setting")
    assert "widen" not in str(err.value)


def test_an_enqueued_configuration_given_twice_is_said_to_run_once(caplog: pytest.LogCaptureFixture) -> None:
    # The sweep runs each configuration once: the repeat (16 and 16.0 alike) was dropped with no word.
    space = parse_search_space({"lr": "interval(1e-4, 0.1)", "width": "int(interval(8, 64))"}, [])
    with caplog.at_level("WARNING", logger="lightning_ecopt"):
        checked = check_enqueued(
            space, [{"lr": 0.01, "width": 16}, {"lr": 0.02, "width": 8}, {"lr": 0.01, "width": 16.0}]
        )
    assert len(checked) == 3
    [message] = [r.getMessage() for r in caplog.records]
    assert message.startswith("ecopt: enqueue_trials[2] repeats enqueue_trials[0] ({'lr': 0.01, 'width': 16}): ")
    assert "runs once and the repeat spends no trial" in message
    caplog.clear()
    with caplog.at_level("WARNING", logger="lightning_ecopt"):
        check_enqueued(space, [{"lr": 0.01, "width": 16}, {"lr": 0.02, "width": 16}])
    assert caplog.records == []


def test_fingerprint_ignores_order_and_sees_changes() -> None:
    one = parse_search_space({"a": "interval(0, 1)", "b": "x,y"}, ["trainer.max_epochs=3", "seed=1"])
    same = parse_search_space({"b": "x,y"}, ["seed=1", "a=interval(0, 1)", "trainer.max_epochs=3"])
    wider = parse_search_space({"a": "interval(0, 2)", "b": "x,y"}, ["trainer.max_epochs=3", "seed=1"])
    other_fixed = parse_search_space({"a": "interval(0, 1)", "b": "x,y"}, ["trainer.max_epochs=4", "seed=1"])
    assert one.fingerprint() == same.fingerprint()
    assert one.fingerprint() != wider.fingerprint()
    assert one.fingerprint() != other_fixed.fingerprint()
    import json

    assert json.loads(json.dumps(one.fingerprint())) == one.fingerprint()


def test_numpy_values_render_as_their_values_and_arguments_must_be_a_list() -> None:
    """np.float64 is a float whose repr is np.float64(0.1): params of numpy values were refused as unparsable."""
    np = pytest.importorskip("numpy")
    assert render_override_value(np.float64(0.1)) == "0.1"
    space = parse_search_space({"x": "interval(0, 1)", "lr": np.float64(0.1)}, [])
    assert space.fixed["lr"] == 0.1
    with pytest.raises(EcoptConfigError, match=r"arguments='epochs=3'\): expected a list of overrides"):
        parse_search_space({"x": "interval(0, 1)"}, "epochs=3")  # type: ignore[arg-type]
    assert parse_search_space({"x": "interval(0, 1)"}, None).parameters  # type: ignore[arg-type]
    # Before: AttributeError: 'list' object has no attribute 'items'.
    with pytest.raises(
        EcoptConfigError, match=r"params=\['x=interval\(0,1\)'\]\): expected a mapping \{key: grammar\}"
    ):
        parse_search_space(["x=interval(0,1)"], [])  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", [3, None, ("epochs", 3)], ids=str)
def test_an_argument_that_is_not_text_is_named(bad: Any) -> None:
    # Before: TypeError: 'int' object is not iterable, from Hydra's lexer.
    with pytest.raises(EcoptConfigError, match=rf"^parse_search_space\(arguments=.*: {re.escape(repr(bad))} is not an"):
        parse_search_space({"x": "interval(0, 1)"}, ["epochs=3", bad])


@pytest.mark.parametrize("value", ["plain", "1", "1.5", "true", "null", "a b", "a,b", "x=y", "'q'", '"d"', "[x]", ""])
def test_render_override_value_round_trips_strings(value: str) -> None:
    rendered = render_override_value(value)
    parsed = OverridesParser.create().parse_override(f"k={rendered}").value()
    assert parsed == value
    assert isinstance(parsed, str)


def test_a_string_ending_in_a_backslash_keeps_it_in_lists_and_choices() -> None:
    r"""``C:\`` reads back alone; bare in a list or choice, its backslash escaped the ``,``, ``]`` or ``)`` after it.

    Before: the Ax sweeper's ``values: ['C:\', 'D:\', 'E:\']`` became ``choice(C:\, D:\, E:\)``, refused as
    unparsable grammar; a YAML list ``['a\', 'b']`` in ``params`` became the fixed value ``['a, b']`` without a word.
    """
    parser = OverridesParser.create()
    drive, items = "C:\\", ["a\\", "b"]
    assert parser.parse_override("k=" + render_override_value(drive)).value() == drive
    assert parser.parse_override("k=" + render_override_value(items)).value() == items
    assert parse_search_space({"p": items}, []).fixed == {"p": items}
    grammar = ax_params_to_grammar({"p": {"type": "choice", "values": ["C:\\", "D:\\", "E:\\"]}})
    (choice,) = parse_search_space(grammar, []).parameters
    assert isinstance(choice, ChoiceParameter)
    assert choice.values == ("C:\\", "D:\\", "E:\\")
    params = optuna_search_space_to_params({"p": {"type": "categorical", "choices": ["a\\", "b", "c"]}})
    (choice,) = parse_search_space(params, []).parameters
    assert isinstance(choice, ChoiceParameter)
    assert choice.values == ("a\\", "b", "c")


def test_optuna_search_space_translation_matches_optuna_semantics() -> None:
    params = optuna_search_space_to_params(
        {
            "i": {"type": "int", "low": 0, "high": 10, "step": 3},
            "j": {"type": "int", "low": 1, "high": 64, "log": True},
            "k": {"type": "int", "low": 1, "high": 4},
            "f": {"type": "float", "low": 0.0, "high": 1.0, "step": 0.25},
            "g": {"type": "float", "low": 0.5, "high": 2.0},
            "c": {"type": "categorical", "choices": ["adam", "sgd", 1]},
        }
    )
    space = parse_search_space(params, [])
    by_name = {p.name: p for p in space.parameters}
    assert by_name["i"] == ChoiceParameter("i", (0, 3, 6, 9), is_ordered=True)  # Optuna: high included if on a step
    assert by_name["j"] == RangeParameter("j", 1, 64, "int", log_scale=True)
    assert by_name["k"] == RangeParameter("k", 1, 4, "int")
    assert by_name["f"] == ChoiceParameter("f", (0.0, 0.25, 0.5, 0.75, 1.0), is_ordered=True)
    assert by_name["g"] == RangeParameter("g", 0.5, 2.0, "float")
    assert by_name["c"] == ChoiceParameter("c", ("adam", "sgd", 1), is_ordered=False)


@pytest.mark.parametrize(
    ("spec", "grammar", "n_values"),
    [
        # Hydra's 1.1 -> 1.2 migration guide writes this Optuna distribution as range(-5.5, 5.5, step=0.5).
        ({"type": "float", "low": -5.5, "high": 5.5, "step": 0.5}, "range(-5.5, 5.5, step=0.5)", 23),
        ({"type": "int", "low": 0, "high": 10, "step": 2}, "range(0, 10, step=2)", 6),
        ({"type": "int", "low": 0, "high": 10, "step": 3}, "range(0, 10, step=3)", 4),  # Optuna too stops at 9
        ({"type": "float", "low": 0.0, "high": 1.0, "step": 0.1}, "range(0.0, 1.0, step=0.1)", 11),
    ],
)
def test_both_forms_of_an_optuna_space_sweep_the_same_values(spec: dict[str, Any], grammar: str, n_values: int) -> None:
    translated = parse_search_space(optuna_search_space_to_params({"p": spec}), []).parameters[0]
    written = _single(grammar)
    assert translated == written
    assert isinstance(written, ChoiceParameter)
    assert len(written.values) == n_values
    assert written.values[-1] == spec["high"] or n_values == 4


def test_each_range_s_domain_is_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("INFO", logger="lightning_ecopt"):
        parse_search_space({"a": "range(0, 10, step=2)", "b": "range(1, 64)", "c": "range(0, 1, step=0.1)"}, [])
    lines = [r.getMessage() for r in caplog.records]
    assert lines == [
        "ecopt: a=range(0, 10, step=2) sweeps 0, 2, 4, 6, 8, 10 (6 values; a range includes its stop when it is on "
        "the step's grid, as the Optuna sweeper's does).",
        "ecopt: b=range(1, 64) sweeps the integers 1 to 64 (64 values; a range includes its stop when it is on the "
        "step's grid, as the Optuna sweeper's does).",
        "ecopt: c=range(0, 1, step=0.1) sweeps 0.0, 0.1, ..., 1.0 (11 values; a range includes its stop when it is "
        "on the step's grid, as the Optuna sweeper's does).",
    ]


@pytest.mark.parametrize(
    ("spec", "match"),
    [
        ({"type": "normal", "low": 0, "high": 1}, r"unknown type 'normal'; choose from 'int', 'float', 'categorical'"),
        ({"type": "float", "low": 0}, r"needs 'low' and 'high'"),
        ({"type": "categorical"}, r"needs a list of 'choices'"),
        ({"type": "categorical", "choices": "adam"}, r"needs a list of 'choices', .*got 'adam'"),
        ({"type": "float", "low": "abc", "high": 1}, r"search_space\['x'\].low = 'abc': expected a finite number"),
        ({"type": "int", "low": [8], "high": 64}, r"search_space\['x'\].low = \[8\]: expected an integer"),
        ({"type": "int", "low": 1.5, "high": 4}, r".low = 1.5: expected an integer for an entry of type 'int'"),
        ({"type": "int", "low": 1, "high": 64, "step": 2, "log": True}, r"'log: true' and 'step: 2' together"),
        ({"type": "float", "low": 0.1, "high": 1, "step": 0.1, "log": True}, r"'log: true' and 'step: 0.1'"),
        (3, r"expected a mapping"),
    ],
)
def test_optuna_search_space_errors(spec: Any, match: str) -> None:
    with pytest.raises(EcoptConfigError, match=match):
        optuna_search_space_to_params({"x": spec})


def test_space_without_parameters_is_empty() -> None:
    assert parse_search_space(None, ["a=1"]) == SearchSpace(parameters=(), fixed={"a": 1}, fixed_overrides=("a=1",))


def test_a_yaml_list_in_params_is_a_fixed_value_and_the_log_says_how_to_sweep_it(caplog):
    from omegaconf import OmegaConf

    params = OmegaConf.create({"model.pooling": [True, False], "model.lr": "interval(0.001, 0.1)"})
    with caplog.at_level("WARNING", logger="lightning_ecopt"):
        space = parse_search_space(params, [])
    assert space.names == ("model.lr",)
    assert space.fixed_overrides == ("model.pooling=[True,False]",)  # Hydra's meaning of a list value
    assert "every trial gets the fixed value [true,false]; to sweep over its items write 'choice(true, false)'" in (
        caplog.text
    )


@pytest.mark.parametrize(
    "text",
    [
        "choice('1', 1)",
        "choice('true', true)",
        "choice('1.5', 1.5)",
        "choice(1, '1', true, 'true', 1.5, '1.5', x)",
        "choice(\"'1'\", '1', 1)",  # the text Ax would see for '1' is itself one of the strings
        "choice('int(1)', '1', 1)",  # ... and so is the cast form of 1
        "choice('a,b', 'c d', 2)",
    ],
)
def test_every_choice_value_round_trips_to_itself(text: str) -> None:
    space = parse_search_space({"k": text}, [])
    (parameter,) = space.parameters
    assert isinstance(parameter, ChoiceParameter)
    ax_values = parameter.ax_values()
    assert len(set(ax_values)) == len(ax_values)
    parser = OverridesParser.create()
    for value, ax_value in zip(parameter.values, ax_values, strict=True):
        for given in (ax_value, value):  # Ax proposes ax_value; a user or the sweep's record gives the value itself
            got = parameter.lookup(given)
            assert (type(got), got) == (type(value), value), given
            (override,) = space.to_overrides({"k": given})
            parsed = parser.parse_override(override).value()
            assert (type(parsed), parsed) == (type(value), value), override
        assert space.to_ax_params(space.check_params({"k": value})) == {"k": ax_value}
        assert type(parser.parse_override(f"k={ax_value}").value()) is type(value)  # Ax's text is Hydra's text too


@pytest.mark.parametrize(
    ("params", "match"),
    [
        (
            {"model": {"lr": "tag(log, interval(1e-4, 1e-1))", "depth": 3}},
            r"^params\['model'\] is a nested mapping.*'model\.lr'.*"  # from Python: the argument's name
            r"dotted keys: 'model\.lr: tag\(log, interval\(1e-4, 1e-1\)\)'",
        ),
        (
            {"model": {"encoder": {"width": "choice(16, 32)"}, "opt": "choice(adam, sgd)", "wd": 0.1}},
            r"the sweeps 'model\.encoder\.width', 'model\.opt'.*"
            r"'model\.encoder\.width: choice\(16, 32\)', 'model\.opt: choice\(adam, sgd\)'\.$",
        ),
        ({"+model": {"n": "range(1, 5)"}}, r"'\+model\.n: range\(1, 5\)'"),
    ],
)
def test_a_sweep_inside_a_nested_mapping_is_refused_with_the_dotted_key(params: dict[str, Any], match: str) -> None:
    from omegaconf import OmegaConf

    with pytest.raises(EcoptConfigError, match=match):
        parse_search_space(OmegaConf.create(params), [])


def test_a_nested_mapping_without_a_sweep_stays_a_fixed_dict_override(caplog: pytest.LogCaptureFixture) -> None:
    from omegaconf import OmegaConf

    params = OmegaConf.create({"model": {"name": "resnet", "depth": 3}, "x": "interval(0, 1)"})
    with caplog.at_level("WARNING", logger="lightning_ecopt"):
        space = parse_search_space(params, [])
    assert space.names == ("x",)
    assert space.fixed_overrides == ("model={name:resnet,depth:3}",)  # Hydra's dict override
    assert not caplog.records
    # A comma inside a mapping may be plain text: kept, with a warning in case a sweep was meant.
    with caplog.at_level("WARNING", logger="lightning_ecopt"):
        space = parse_search_space(OmegaConf.create({"model": {"opt": "adam,sgd"}, "x": "interval(0, 1)"}), [])
    assert space.fixed_overrides == ("model={opt:'adam,sgd'}",)
    assert "every trial gets the fixed text 'adam,sgd' at 'model.opt'; to sweep it write 'model.opt: adam,sgd'" in (
        caplog.text
    )


def test_a_prefixed_sweep_is_named_by_its_key_and_keeps_the_prefix_in_its_override() -> None:
    space = parse_search_space(
        {"+extra@pkg": "range(0, 10, step=5)"},
        ["+extra=interval(0, 1)", "++forced=choice(a, b)", "+tag=x", "++seed=1", "~logger"],
    )
    assert space.names == ("extra@pkg", "extra", "forced")
    assert [c.name for c in space.to_ax()] == ["extra@pkg", "extra", "forced"]
    assert space.fixed == {"tag": "x", "seed": 1, "~logger": None}
    (checked,) = check_enqueued(space, [{"extra": 0.5, "forced": "b", "extra@pkg": 5}])
    assert space.to_overrides(checked) == [
        "+extra@pkg=5",
        "+extra=0.5",
        "++forced=b",
        "+tag=x",
        "++seed=1",
        "~logger",
    ]
    with pytest.raises(EcoptConfigError, match=r"missing parameters \['extra'\]"):
        check_enqueued(space, [{"+extra": 0.5, "forced": "b", "extra@pkg": 5}])
    assert [p["name"] for p in space.fingerprint()["parameters"]] == ["extra", "extra@pkg", "forced"]
    assert [p.get("prefix") for p in space.fingerprint()["parameters"]] == ["+", "+", "++"]  # each its own prefix
    assert space.fingerprint() != parse_search_space({}, ["extra=interval(0, 1)"]).fingerprint()
    # Only a prefixed parameter records one, also where it is not the first by name.
    mixed = parse_search_space({"a": "interval(0, 1)", "+b": "choice(x, y)"}, []).fingerprint()["parameters"]
    assert [p.get("prefix") for p in mixed] == [None, "+"]


@pytest.mark.parametrize(
    ("params", "arguments", "match"),
    [
        # Fixed overrides come last: the trials ran on lr 0.5 while the results recorded Ax's values.
        (
            {},
            ["model.opt={lr: 0.5}", "model.opt.lr=tag(log, interval(0.001, 0.1))"],
            r"^command line: 'model.opt=\{lr: 0.5\}' sets the swept 'model.opt.lr' to 0.5 in every trial .*"
            r"drop lr from the mapping, or stop sweeping 'model.opt.lr' \(from Python, .*"
            r"is_config_group=lambda key: True\) accepts them\)\.$",
        ),
        (
            {"model.opt": {"lr": 0.5}, "model.opt.lr": "interval(0.001, 0.1)"},
            [],
            r"^params\['model.opt'\]: 'model.opt=\{lr:0.5\}' sets the swept 'model.opt.lr' \(swept in "
            r"params\['model.opt.lr'\]\) to 0.5",
        ),
        (
            {"model": {"opt": {"lr": 0.5}}},
            ["model.opt.lr=0.1,0.2"],
            r"'model=\{opt:\{lr:0.5\}\}' sets the swept 'model.opt.lr' \(swept on the command line\).*drop opt.lr",
        ),
        ({}, ["model.opt=0.5", "model.opt.lr=interval(0, 1)"], r"'model.opt=0.5' replaces 'model.opt', the node"),
        ({}, ["~model.opt", "model.opt.lr=interval(0, 1)"], r"'~model.opt' deletes 'model.opt', which holds the swept"),
        ({}, ["model.opt=1,2", "model.opt.lr=0.1"], r"'model.opt' is swept and 'model.opt.lr' is set inside it"),
        ({}, ["model=a,b", "model.lr=interval(0, 1)"], r"'model' is swept and 'model.lr' is set inside it"),
    ],
)
def test_a_key_that_would_overwrite_a_swept_key_inside_it_is_refused(
    params: dict[str, Any], arguments: list[str], match: str
) -> None:
    with pytest.raises(EcoptConfigError, match=match):
        parse_search_space(params, arguments)


def test_keys_inside_a_config_group_or_beside_a_mapping_s_keys_are_accepted() -> None:
    # A mapping without the swept key is merged beside it (Hydra's dict override), so the swept value stays.
    space = parse_search_space({"model.opt": {"wd": 0.1}}, ["model.opt.lr=interval(0, 1)", "model.optx=1,2"])
    assert space.names == ("model.opt.lr", "model.optx")
    # A config group's option selects a config; the keys inside it are set after.
    groups = {"optim"}.__contains__
    for arguments in (["optim=sgd", "optim.lr=interval(0, 1)"], ["optim=adam,sgd", "optim.lr=interval(0, 1)"]):
        assert "optim.lr" in parse_search_space({}, arguments, is_config_group=groups).names
    with pytest.raises(EcoptConfigError, match="replaces 'optim'"):  # from Python, no key is a group
        parse_search_space({}, ["optim=sgd", "optim.lr=interval(0, 1)"])


@pytest.mark.parametrize(
    ("values", "refused"),
    [
        ("choice(-9223372036854775808, 9223372036854775807)", None),  # -2^63 and 2^63 - 1: an int64 holds them
        ("choice(1, 4611686018427387905)", None),  # 2^62 + 1
        ("choice(1, 9223372036854775808)", "9223372036854775808"),  # 2^63
        ("choice(-9223372036854775809, 1)", "-9223372036854775809"),  # -2^63 - 1
    ],
)
def test_a_choice_holds_ints_up_to_64_bits(values: str, refused: str | None) -> None:
    if refused is None:
        parameter = _single(values)
        assert isinstance(parameter, ChoiceParameter)
        assert len(parameter.values) == 2
    else:
        with pytest.raises(EcoptConfigError, match=rf"the int {refused} is beyond a 64-bit integer"):
            _single(values)


def test_a_range_of_seven_values_is_logged_cut_short(caplog: pytest.LogCaptureFixture) -> None:
    # Six values are listed in full (test_each_range_s_domain_is_logged_once); from seven on, the first two and the
    # last.
    with caplog.at_level("INFO", logger="lightning_ecopt"):
        parse_search_space({"a": "range(0, 12, step=2)"}, [])
    assert [r.getMessage() for r in caplog.records] == [
        "ecopt: a=range(0, 12, step=2) sweeps 0, 2, ..., 12 (7 values; a range includes its stop when it is on "
        "the step's grid, as the Optuna sweeper's does)."
    ]


def test_the_ax_sweeper_s_bounds_written_as_strings_keep_their_type() -> None:
    # YAML leaves 1e-4 (no dot) a string; an integer written as a string stays an int, a float one a float.
    assert ax_params_to_grammar(
        {
            "lr": {"type": "range", "bounds": ["1e-4", "0.1"], "log_scale": True},
            "width": {"type": "range", "bounds": ["8", "64"]},
            "big": {"type": "range", "bounds": ["1E3", "2e3"]},
            "x": {"type": "range", "bounds": ["8.0", "64"]},
        }
    ) == {
        "lr": "tag(log, interval(0.0001, 0.1))",
        "width": "int(interval(8, 64))",
        "big": "interval(1000.0, 2000.0)",
        "x": "interval(8.0, 64)",
    }


def test_a_fixed_null_and_a_deletion_of_a_value_reach_every_job_as_written() -> None:
    space = parse_search_space({"x": "interval(0, 1)"}, ["model.head=null", "~trainer.limit=5", "~logger"])
    assert space.fixed == {"model.head": None, "~trainer.limit": 5, "~logger": None}
    assert space.to_overrides({"x": 0.5}) == ["x=0.5", "model.head=null", "~trainer.limit=5", "~logger"]


@pytest.mark.parametrize(
    ("flag", "env"), [(["-O"], {}), (["-OO"], {}), ([], {"PYTHONOPTIMIZE": "1"})], ids=["-O", "-OO", "PYTHONOPTIMIZE"]
)
@pytest.mark.parametrize("text", ["interval(0, 1)", "choice(a, b)", "{a: 1}"], ids=["interval", "choice", "dict"])
def test_under_python_o_a_sweep_function_gets_a_clear_error_not_hydras_attributeerror(
    flag: list[str], env: dict[str, str], text: str
) -> None:
    """Hydra 1.3's override parser reads a token inside an ``assert``, which ``-O`` strips: every function and dict
    crashed with ``AttributeError: 'TerminalNodeImpl' object has no attribute 'function'`` from deep inside Hydra.
    The user gets the cause and the fix instead (the default sweep of examples/train.py fails so under -O)."""
    import os
    import subprocess
    import sys

    code = (
        "from lightning_ecopt.exceptions import EcoptConfigError\n"
        "from lightning_ecopt.sweeper.space import parse_search_space\n"
        "try:\n"
        f"    parse_search_space({{'x': {text!r}}}, [])\n"
        "except EcoptConfigError as err:\n"
        "    print('EcoptConfigError:', err)\n"
    )
    done = subprocess.run(
        [sys.executable, *flag, "-c", code], env={**os.environ, **env}, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith(f"EcoptConfigError: cannot parse {'x=' + text!r}: Python runs with -O"), done.stdout
    assert "run Python without -O/-OO and unset PYTHONOPTIMIZE" in done.stdout


# -- outcome constraints over the parameters ---------------------------------------------------------------------------

_XY = {"x": "interval(0, 1)", "model.depth": "range(1, 4)", "test": "choice(a, b)", "acc": "choice(1, 2)"}


@pytest.mark.parametrize(
    ("text", "swept"),
    [
        ("x + model.depth <= 1", "parameters x, model.depth"),
        ("x+model.depth <= 1", "parameters x, model.depth"),
        ("2 * x >= 0.5", "parameter x"),
        ("x - test/acc <= 0", "parameters x, test, acc"),  # a parameter beside a metric is no metric either
        ("(x + x) / 2 <= 1", "parameter x"),
        ("x / model.depth <= 1", "parameters x, model.depth"),
    ],
)
def test_an_outcome_constraint_over_swept_parameters_is_refused_saying_where_it_goes(text: str, swept: str) -> None:
    """'x + y <= 1' read as a bound on a metric named 'x + y': every trial failed "missing constrained metric 'x + y'"
    until max_failure_rate stopped the sweep."""
    from lightning_ecopt.sweeper.objectives import parse_constraint

    constraint = parse_constraint(text)
    with pytest.raises(EcoptConfigError) as info:
        check_constraint_metrics(parse_search_space(_XY, []), [constraint], "hydra.sweeper.outcome_constraints")
    assert str(info.value) == (
        f"hydra.sweeper.outcome_constraints: {str(constraint)!r} bounds {constraint.metric!r}, an expression of the "
        f"swept {swept}, not a metric the task returns: outcome constraints bound returned metrics, and every trial "
        "would fail for the missing one. A constraint on the parameters goes in the task: raise TrialFailure for the "
        "configurations it excludes, and they are recorded as failed."
    )


@pytest.mark.parametrize(
    "text",
    [
        "test/acc >= 0.9",  # over parameters named test and acc: a metric's name all the same
        "energy/test_j <= 5",
        "x/model.depth <= 1",  # no space around '/': a name a task may log
        "x-model.depth <= 1",
        "recall@k=5 >= 0.5",
        "model.depth <= 3",  # one parameter's name alone: a task may return it
        "f1 + f2 <= 1",  # an expression, but of no swept parameter
        "val loss <= 1",  # a space, but no operator
    ],
)
def test_an_outcome_constraint_on_a_metric_name_is_accepted(text: str) -> None:
    from lightning_ecopt.sweeper.objectives import parse_constraint

    space = parse_search_space({**_XY, "val": "choice(1, 2)"}, [])
    check_constraint_metrics(space, [parse_constraint(text)], "hydra.sweeper.outcome_constraints")


def test_a_sweep_in_python_refuses_an_outcome_constraint_over_its_parameters_before_any_trial() -> None:
    from lightning_ecopt.sweeper.loop import ParetoSweep
    from lightning_ecopt.sweeper.objectives import parse_objectives
    from lightning_ecopt.sweeper.settings import SweepSettings

    objectives = parse_objectives({"f1": "minimize", "f2": "minimize"}, None)
    settings = SweepSettings(objectives, n_trials=3, seed=0, outcome_constraints=["x + model.depth <= 1"])
    calls: list[dict[str, Any]] = []
    with pytest.raises(EcoptConfigError, match=r"^SweepSettings\(outcome_constraints=...\): 'x \+ model.depth <= 1'"):
        ParetoSweep.from_function(parse_search_space(_XY, []), settings, calls.append).run()
    assert calls == []
