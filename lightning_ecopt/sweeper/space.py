"""Search space: Hydra's sweep grammar parsed into plain parameter dataclasses, and mapped onto Ax.

The sweeper config's ``params`` mapping and the command-line overrides are parsed with Hydra's own
``OverridesParser`` (as the Optuna sweeper does). Each form maps onto exactly one parameter:

=====================================  ==========================================================
Hydra grammar                          Parameter
=====================================  ==========================================================
``interval(a, b)``                     ``RangeParameter(float)``
``int(interval(a, b))``                ``RangeParameter(int)``
``tag(log, interval(a, b))``           ``RangeParameter(float, log_scale=True)`` (also with ``int``)
``choice(x, y, z)`` / ``x,y,z``        ``ChoiceParameter(is_ordered=False)`` (categorical)
``tag(ordered, choice(x, y, z))``      ``ChoiceParameter(is_ordered=True)``
``range(a, b)`` (ints, step 1)         ``RangeParameter(int, low=a, high=b)``
``range(a, b, step=s)`` (otherwise)    ``ChoiceParameter(is_ordered=True)`` with the exact values
a plain value ``x``                    fixed: passed unchanged to every job
=====================================  ==========================================================

An int interval of more than :data:`MAX_LISTED_INTS` integers reaches Ax's model as a float interval whose proposals
Ax rounds (:func:`configure_wide_ints`): the experiment, and each trial, still hold ints.

A range includes its stop ``b`` when it lies on the step's grid (``a + k * s == b``), as the Optuna sweeper's
``range`` does (and its ``{low, high, step}`` distributions, which Hydra's 1.2 migration writes as ``range``): so
``range(0, 10, step=2)`` is 0, 2, ..., 10, and ``range(0, 9, step=2)`` stops at 8. Hydra's basic sweeper, like
Python, excludes the stop.

A parameter is named by the key it sets: ``+extra=interval(0, 1)`` sweeps ``extra`` (in results, logs and
``enqueue_trials``), and its overrides keep the ``+``. A mapping in ``params`` is one fixed dict value to Hydra; a
sweep function inside it (``interval(...)``, ``choice(...)``) is refused, with the dotted keys to write instead, and a
bare comma list (``a,b``), which can be a plain string there, is warned about.

Nothing here imports Ax at module level: :meth:`SearchSpace.to_ax` imports it when called.
"""

from __future__ import annotations

import copy
import dataclasses
import logging
import math
import re
import sys
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Literal

from lightning_ecopt._numbers import format_count
from lightning_ecopt.exceptions import EcoptConfigError

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from ax.api.configs import ChoiceParameterConfig, RangeParameterConfig
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.core.override_parser.types import Override

    from lightning_ecopt.sweeper.objectives import OutcomeConstraint

__all__ = [
    "ChoiceParameter",
    "Parameter",
    "RangeParameter",
    "SearchSpace",
    "ax_params_to_grammar",
    "check_constraint_metrics",
    "check_enqueued",
    "configure_wide_ints",
    "optuna_search_space_to_params",
    "parse_search_space",
    "render_override_value",
]

_CHOICE_TYPES: tuple[type, ...] = (bool, int, float, str)

MAX_CHOICES = 1000
"""Ax's limit on a choice parameter's values (``ax.core.parameter.MAX_VALUES_CHOICE_PARAM``): refused before Ax is."""

MIN_RANGE_WIDTH = 1.5e-5
"""Ax's narrowest range (``100 * ax.core.parameter.EPS``), measured on the raw values even on a log scale."""

MAX_LISTED_INTS = 10_000
"""The most integers an int interval may hold for Ax's model to list them: a wider one reaches the model as a float
interval whose proposals are rounded (:func:`configure_wide_ints`). Listed, every proposal holds each integer (10^6 of
them added 0.3 s and 250 MB to each proposal, 10^7 3 s and 3 GB; on a log scale 10^5 added 0.7 s, 10^6 6 s); BoTorch
relaxes an integer of more than 20 values to a float it rounds anyway."""

MAX_MODEL_SPAN = 3.4028234663852886e38
"""The largest bound, and span between bounds, of a linear numeric parameter (a float or int interval, an ordered choice
of numbers, or a choice of two, which Ax orders): torch's float32 maximum. Ax scales the model's inputs with bounds it
builds in torch's default dtype (float32), so past it the scale is inf and every input nan: the first model proposal
failed with BoTorch's ``InputDataError: Input data contains NaN values``. A log scale's bounds reach the model as
logarithms, as do an ordered choice's values where Ax infers a log scale for them (three or more positive values over
two orders of magnitude: :func:`_ax_infers_log_scale`)."""

MAX_EXACT_INT = 2**53
"""The largest bound of an int interval (in magnitude): Ax's model and its Sobol points hold the integers as floats,
exact up to 2^53."""

_AX_TYPE_NAMES: dict[type, Literal["bool", "int", "float", "str"]] = {
    bool: "bool",
    int: "int",
    float: "float",
    str: "str",
}


class _WrongType(ValueError):
    """A configured value of the wrong type (``'0.5'`` for a number): its fix is to write it as the right one.

    Args:
        message: What is wrong, naming the parameter and the value.
        fix: How to write the value (a sentence), for messages that add a fix.
    """

    def __init__(self, message: str, fix: str) -> None:
        super().__init__(message)
        self.fix = fix


@dataclass(frozen=True)
class RangeParameter:
    """A continuous (``float``) or integer (``int``) interval, both bounds included.

    Args:
        name: The config key it sets, e.g. ``model.lr`` (without a ``+``/``++`` prefix).
        low: Lower bound, included.
        high: Upper bound, included; strictly greater than ``low``.
        parameter_type: ``"float"`` or ``"int"``.
        log_scale: Search on a log scale (needs ``low > 0``).
        prefix: Hydra's override prefix (``+``, ``++`` or ``~``): kept in the override, not in the name.

    Example::

        >>> RangeParameter("model.lr", 1e-4, 1e-1, "float", log_scale=True).to_ax().scaling
        'log'
    """

    name: str
    low: float
    high: float
    parameter_type: Literal["int", "float"]
    log_scale: bool = False
    prefix: str = ""

    def to_ax(self) -> RangeParameterConfig:
        """Return the equivalent ``ax.api.configs.RangeParameterConfig`` (imports Ax).

        Returns:
            The Ax parameter config with the same bounds, type and scaling.
        """
        from ax.api.configs import RangeParameterConfig

        if self.parameter_type == "int":
            bounds: tuple[float, float] = (int(self.low), int(self.high))
        else:
            bounds = (float(self.low), float(self.high))
        return RangeParameterConfig(
            name=self.name,
            bounds=bounds,
            parameter_type=self.parameter_type,
            scaling="log" if self.log_scale else "linear",
        )

    def check(self, value: Any) -> int | float:
        """Check a value given for this parameter (e.g. a configuration to evaluate first).

        Args:
            value: A number inside the bounds; integral for an ``int`` parameter.

        Returns:
            The value as an ``int`` or a ``float``, as Ax proposes this parameter's values.

        Raises:
            ValueError: The value is not a finite number, not integral for an ``int`` parameter, or out of bounds.
        """
        number = self._number(value)
        if not self.low <= number <= self.high:
            raise ValueError(f"parameter {self.name!r}: {value!r} is outside its range [{self.low}, {self.high}].")
        return round(number) if self.parameter_type == "int" else number

    def render(self, value: Any) -> str:
        """Render one value of this parameter as Hydra override text.

        Args:
            value: The value proposed for this parameter (a Python or numpy number).

        Returns:
            The value as Hydra parses it back: an int for ``int`` parameters, a float otherwise.

        Raises:
            ValueError: The value is not a finite number, or not integral for an ``int`` parameter.
        """
        number = self._number(value)
        return str(round(number)) if self.parameter_type == "int" else repr(number)

    def _number(self, value: Any) -> float:
        """``value`` as a finite float, integral for an ``int`` parameter, else a ``ValueError`` naming it."""
        number = _as_real(value)
        if number is None:
            quoted = " (without quotes)" if isinstance(value, str) and _is_number_text(value) else ""
            raise _WrongType(
                f"parameter {self.name!r}: expected a finite number, got {value!r}.", f"Write it as a number{quoted}."
            )
        if not math.isfinite(number):
            raise ValueError(f"parameter {self.name!r}: expected a finite number, got {value!r}.")
        if self.parameter_type == "int" and number != round(number):
            raise ValueError(f"parameter {self.name!r} is an int parameter; got the non-integral {value!r}.")
        return number


@dataclass(frozen=True)
class ChoiceParameter:
    """A finite set of values: categorical (``is_ordered=False``) or ordered.

    Values keep their Python types (``int``, ``float``, ``str``, ``bool``). When the values mix types, Ax sees them
    as strings and :meth:`SearchSpace.to_overrides` maps them back to the original values.

    Args:
        name: The config key it sets, e.g. ``model.batch_size`` (without a ``+``/``++`` prefix).
        values: At least two distinct values.
        is_ordered: Whether the values have a meaningful order (``tag(ordered, ...)`` and ``range(...)``).
        prefix: Hydra's override prefix (``+``, ``++`` or ``~``): kept in the override, not in the name.

    Example::

        >>> ChoiceParameter("opt", ("adam", "sgd"), is_ordered=False).parameter_type
        'str'
    """

    name: str
    values: tuple[Any, ...]
    is_ordered: bool
    prefix: str = ""

    @property
    def parameter_type(self) -> Literal["bool", "int", "float", "str"]:
        """The Ax parameter type: the values' common type, or ``"str"`` when they mix types."""
        types = {type(value) for value in self.values}
        if len(types) == 1:
            return _AX_TYPE_NAMES[types.pop()]
        return "str"

    def ax_values(self) -> list[Any]:
        """The values as Ax sees them: unchanged when they share one type, else as Hydra text.

        Mixed types reach Ax as strings, each value's :func:`render_override_value`. Where that text spells another
        choice's string (``1`` beside ``'1'``), Hydra's cast form stands in (``int(1)``), so that each value Ax
        proposes, and each original value, maps back to one choice only (:meth:`lookup`).

        Returns:
            One value per choice, in order.
        """
        if len({type(value) for value in self.values}) == 1:
            return list(self.values)
        strings = {value for value in self.values if isinstance(value, str)}
        texts: list[str] = []
        for value in self.values:
            text = render_override_value(value)
            while (text in strings and text != value) or text in texts:
                text = f"{type(value).__name__}({text})"  # Hydra reads int(1), str('1'), bool(true) back as well
            texts.append(text)
        return texts

    def to_ax(self) -> ChoiceParameterConfig:
        """Return the equivalent ``ax.api.configs.ChoiceParameterConfig`` (imports Ax).

        Returns:
            The Ax parameter config with the same values, type and order flag.
        """
        from ax.api.configs import ChoiceParameterConfig

        return ChoiceParameterConfig(
            name=self.name,
            values=self.ax_values(),
            parameter_type=self.parameter_type,
            is_ordered=self.is_ordered,
        )

    def lookup(self, value: Any) -> Any:
        """Map a value proposed by Ax (or given by a user) back to one of :attr:`values`.

        Args:
            value: A value of this parameter, as Ax returns it (numpy scalars and mixed-type strings included).

        Returns:
            The original value, with its original Python type.

        Raises:
            ValueError: The value is not one of the choices.
        """
        for original, seen_by_ax in zip(self.values, self.ax_values(), strict=True):
            if _same_value(value, original) or _same_value(value, seen_by_ax):
                return original
        message = f"parameter {self.name!r}: {value!r} is not one of the choices {list(self.values)!r}."
        meant = [original for original in self.values if str(original) == str(value)]  # '0.5' for 0.5, 1 for '1'
        if meant:
            raise _WrongType(message, f"Write it as {meant[0]!r} ({type(meant[0]).__name__}), as the choice is.")
        raise ValueError(message)


Parameter = RangeParameter | ChoiceParameter


@dataclass(frozen=True)
class SearchSpace:
    """The swept parameters and the fixed overrides of a sweep.

    Build it with :func:`parse_search_space`.

    Args:
        parameters: The swept parameters, in order of appearance (config ``params`` first, then the command line).
        fixed: Parameters fixed by a plain value, ``{key: value}`` (keyed without a ``+``/``++`` prefix; a deletion
            as ``~key``); passed unchanged to every job.
        fixed_overrides: The fixed parameters as Hydra override strings, in order of appearance.

    Example::

        >>> space = parse_search_space({"lr": "tag(log, interval(1e-4, 1e-1))"}, ["trainer.max_epochs=3"])
        >>> space.to_overrides({"lr": 0.01})
        ['lr=0.01', 'trainer.max_epochs=3']
    """

    parameters: tuple[Parameter, ...]
    fixed: dict[str, Any] = field(default_factory=dict, hash=False)
    fixed_overrides: tuple[str, ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        """The names of the swept parameters, in order."""
        return tuple(parameter.name for parameter in self.parameters)

    @property
    def n_configurations(self) -> int | None:
        """How many configurations the space holds (choices and integer ranges); ``None`` with a ``float`` range.

        Example::

            >>> space = parse_search_space({"a": "choice(1, 2, 3)", "b": "range(1, 5)", "c": "int(interval(0, 9))"}, [])
            >>> space.n_configurations  # 3 x 5 x 10: ranges include both ends
            150
            >>> parse_search_space({"a": "choice(1, 2)", "lr": "interval(0.1, 1)"}, []).n_configurations is None
            True
        """
        sizes = []
        for parameter in self.parameters:
            if isinstance(parameter, ChoiceParameter):
                sizes.append(len(parameter.values))
            elif parameter.parameter_type == "int":
                sizes.append(int(parameter.high) - int(parameter.low) + 1)
            else:
                return None
        return math.prod(sizes)

    def to_ax(self) -> list[RangeParameterConfig | ChoiceParameterConfig]:
        """Return the parameters as Ax ``RangeParameterConfig`` / ``ChoiceParameterConfig`` (imports Ax).

        Returns:
            One Ax config per swept parameter, in order; pass it to ``Client.configure_experiment(parameters=...)``.
        """
        return [parameter.to_ax() for parameter in self.parameters]

    def to_overrides(self, params: Mapping[str, Any]) -> list[str]:
        """Render the Hydra overrides of one trial: the swept values, then the fixed parameters.

        Args:
            params: One value per swept parameter, as Ax proposes them.

        Returns:
            Override strings such as ``["model.lr=0.01", "optimizer=adam", "trainer.max_epochs=3"]``; strings are
            quoted where Hydra would otherwise misread them.

        Raises:
            ValueError: A swept parameter is missing, an unknown one is given, or a value is out of its domain.
        """
        mismatch = self._name_mismatch(params)
        if mismatch:
            raise ValueError(f"to_overrides({dict(params)!r}): {mismatch}; expected exactly {list(self.names)!r}.")
        overrides = []
        for parameter in self.parameters:
            value = params[parameter.name]
            if isinstance(parameter, ChoiceParameter):
                text = render_override_value(parameter.lookup(value))
            else:
                text = parameter.render(value)
            overrides.append(f"{parameter.prefix}{parameter.name}={text}")
        return [*overrides, *self.fixed_overrides]

    def _name_mismatch(self, params: Mapping[str, Any]) -> str | None:
        """``"missing parameters [...], unknown parameters [...]"`` (each when not empty), else ``None``."""
        import difflib

        missing = [name for name in self.names if name not in params]
        unknown = [name for name in params if name not in self.names]
        parts = [f"missing parameters {missing!r}"] if missing else []
        if unknown:
            close = {name: difflib.get_close_matches(str(name), self.names, n=1) for name in unknown}
            hints = "; ".join(f"did you mean {c[0]!r} for {n!r}?" for n, c in close.items() if c)
            parts.append(f"unknown parameters {unknown!r}" + (f" ({hints})" if hints else ""))
        return ", ".join(parts) or None

    def check_params(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """Check a configuration given by the user: one value per swept parameter, each inside its domain.

        Args:
            params: ``{name: value}`` for every swept parameter, e.g. ``{"model.lr": 0.01, "optimizer": "adam"}``.

        Returns:
            The configuration with the values as the sweep records them (the choices' original values; ``int`` or
            ``float`` for intervals), in the space's order.

        Raises:
            ValueError: A swept parameter is missing, an unknown one is given, or a value is out of its domain; the
                message names the parameter.
        """
        mismatch = self._name_mismatch(params)
        if mismatch:
            raise ValueError(f"{mismatch}; give a value for exactly the swept parameters {list(self.names)!r}.")
        return {
            parameter.name: (
                parameter.lookup(params[parameter.name])
                if isinstance(parameter, ChoiceParameter)
                else parameter.check(params[parameter.name])
            )
            for parameter in self.parameters
        }

    def to_ax_params(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """The values of a checked configuration (:meth:`check_params`) as Ax sees them (mixed-type choices as text).

        Args:
            params: A configuration returned by :meth:`check_params`.

        Returns:
            ``{name: value}`` for Ax's ``Client.attach_trial``.
        """
        out: dict[str, Any] = {}
        for parameter in self.parameters:
            value = params[parameter.name]
            if isinstance(parameter, ChoiceParameter):
                original = parameter.lookup(value)
                # By identity: lookup returns the element itself, and == would take True for 1.
                value = parameter.ax_values()[next(i for i, v in enumerate(parameter.values) if v is original)]
            out[parameter.name] = value
        return out

    def fingerprint(self) -> dict[str, Any]:
        """A JSON-able description of the space, independent of the order the parameters were given in.

        Two spaces with equal fingerprints propose the same configurations; a sweep refuses to resume a storage
        file recorded with a different fingerprint.

        Returns:
            ``{"parameters": [...], "fixed": [...]}``, both sorted by name; a parameter swept as ``+key`` or
            ``++key`` also records its ``"prefix"``.
        """
        described: list[dict[str, Any]] = []
        for parameter in sorted(self.parameters, key=lambda p: p.name):
            if isinstance(parameter, RangeParameter):
                described.append(
                    {
                        "name": parameter.name,
                        "kind": "range",
                        "parameter_type": parameter.parameter_type,
                        "low": parameter.low,
                        "high": parameter.high,
                        "log_scale": parameter.log_scale,
                    }
                )
            else:
                described.append(
                    {
                        "name": parameter.name,
                        "kind": "choice",
                        "parameter_type": parameter.parameter_type,
                        "values": list(parameter.values),
                        "is_ordered": parameter.is_ordered,
                    }
                )
            if parameter.prefix:  # only then, so that fingerprints saved before prefixes were recorded still match
                described[-1]["prefix"] = parameter.prefix
        return {"parameters": described, "fixed": sorted(self.fixed_overrides)}


def check_enqueued(
    space: SearchSpace, trials: Sequence[Mapping[str, Any]], where: str = "enqueue_trials", warn_repeats: bool = True
) -> tuple[dict[str, Any], ...]:
    """Check configurations to evaluate first against the search space (:meth:`SearchSpace.check_params`).

    Args:
        space: The sweep's search space.
        trials: The configurations, ``{name: value}`` for every swept parameter.
        where: The setting's name in messages (``hydra.sweeper.enqueue_trials`` from Hydra).
        warn_repeats: Warn of a configuration given twice (it runs once); ``False`` for a check before the sweep's
            own, which warns.

    Returns:
        The checked configurations, in order.

    Raises:
        EcoptConfigError: A configuration misses a swept parameter, names an unknown one, or has a value out of its
            domain; the message gives its position and the value.
    """
    checked = []
    for i, trial in enumerate(trials):
        try:
            checked.append(space.check_params(trial))
        except ValueError as error:
            # A name the space lacks is a typo to fix; a value of the wrong type is written otherwise; a value outside
            # a domain, a configuration or a space to change.
            if space._name_mismatch(trial):
                fix = ""
            elif isinstance(error, _WrongType):
                fix = f" {error.fix}"
            else:
                fix = " Change the configuration, or widen the search space."
            raise EcoptConfigError(f"{where}[{i}]={dict(trial)!r}: {error}{fix}") from None
    from lightning_ecopt.sweeper.results import config_key

    first: dict[str, int] = {}
    for i, params in enumerate(checked):
        j = first.setdefault(config_key(params), i)
        if (
            warn_repeats and j != i
        ):  # each configuration runs once: the repeat was dropped, unsaid (no second measurement of it)
            log.warning(
                "ecopt: %s[%d] repeats %s[%d] (%s): the sweep evaluates a configuration once, so it runs once and "
                "the repeat spends no trial; to measure a configuration again, give it in another sweep.",
                where,
                i,
                where,
                j,
                params,
            )
    return tuple(checked)


_PLAIN_METRIC_NAME_RE = re.compile(r"[\w./@:=<>\[\]-]+")
"""A metric name as tasks return them: ``test/acc``, ``energy/test_j``, ``val-loss``, ``recall@k=5``; no space, no
``+`` or ``*`` (``x/y`` and ``x-y`` are such names, even over parameters ``x`` and ``y``)."""

_OPERATOR_RE = re.compile(r"[+*()]|\s[-/]|[-/]\s")
"""An arithmetic operator as an expression writes it: ``+``, ``*``, brackets, or ``-`` or ``/`` beside a space."""

_EXPRESSION_SPLIT_RE = re.compile(r"[-+*/()\s]+")


def check_constraint_metrics(space: SearchSpace, constraints: Sequence[OutcomeConstraint], where: str) -> None:
    """Refuse an outcome constraint whose metric is an expression of swept parameters (``x + y <= 1``).

    Such a constraint reads as a bound on a metric named ``x + y``, which no task returns: every trial failed for the
    missing constrained metric until ``max_failure_rate`` stopped the sweep.

    Args:
        space: The sweep's search space.
        constraints: The parsed outcome constraints.
        where: The setting's name in messages (``hydra.sweeper.outcome_constraints`` from Hydra).

    Raises:
        EcoptConfigError: A constraint's metric is an arithmetic expression (``+``, ``*``, brackets, or ``-`` or ``/``
            beside a space) over names of which one is a swept parameter; the message says where a constraint on
            parameters goes.

    Example::

        >>> space = parse_search_space({"x": "interval(0, 1)", "y": "interval(0, 1)"}, [])
        >>> from lightning_ecopt.sweeper.objectives import parse_constraint
        >>> check_constraint_metrics(space, [parse_constraint("test/acc >= 0.9"), parse_constraint("x/y <= 1")], "c")
        >>> check_constraint_metrics(space, [parse_constraint("x + y <= 1")], "c")
        Traceback (most recent call last):
        ...
        lightning_ecopt.exceptions.EcoptConfigError: c: 'x + y <= 1' bounds 'x + y', an expression of the swept ...
    """
    names = set(space.names)
    for constraint in constraints:
        metric = constraint.metric
        if _PLAIN_METRIC_NAME_RE.fullmatch(metric) or not _OPERATOR_RE.search(metric):
            continue
        swept = [token for token in _EXPRESSION_SPLIT_RE.split(metric) if token in names]
        if not swept:
            continue
        listed = ", ".join(dict.fromkeys(swept))
        raise EcoptConfigError(
            f"{where}: {str(constraint)!r} bounds {metric!r}, an expression of the swept parameter"
            f"{'s' if len(set(swept)) > 1 else ''} {listed}, not a metric the task returns: outcome constraints bound "
            f"returned metrics, and every trial would fail for the missing one. A constraint on the parameters goes "
            f"in the task: raise TrialFailure for the configurations it excludes, and they are recorded as failed."
        )


def configure_wide_ints(generator_kwargs: dict[str, Any], parameters: Sequence[Parameter]) -> bool:
    """Set a BoTorch node to model an int interval of more than :data:`MAX_LISTED_INTS` integers as a float one.

    Ax's default transforms list every integer of an int interval at every proposal (in its search space digest, and
    on a log scale as a choice of each one): ``int(interval(0, 10**9))`` ran the machine out of memory at the first
    proposal. Ax's own ``IntToFloat`` transform (its Sobol generator's), put before ``Log``, gives the model a float
    interval instead and rounds each proposal to the nearest integer. The experiment keeps the int parameter: the
    trials, ``enqueue_trials`` and a resumed sweep see integers as before. In such a space it relaxes every log-scale
    int interval too (``IntToFloat`` always does), and no narrower linear one. The options are plain data and a class
    Ax's JSON storage knows, so they are saved with the generation strategy.

    Args:
        generator_kwargs: The ``GeneratorSpec.generator_kwargs`` of a ``BOTORCH_MODULAR`` node, changed in place.
        parameters: The swept parameters.

    Returns:
        Whether the node was changed: an int interval is wider than :data:`MAX_LISTED_INTS`, and the node's
        transforms did not relax it yet.
    """
    from ax.adapter.registry import MBM_X_trans, Y_trans
    from ax.adapter.transforms.int_to_float import IntToFloat
    from ax.adapter.transforms.log import Log

    wide = any(
        isinstance(p, RangeParameter) and p.parameter_type == "int" and p.high - p.low + 1 > MAX_LISTED_INTS
        for p in parameters
    )
    transforms = list(generator_kwargs.get("transforms") or [*MBM_X_trans, *Y_trans])
    if not wide or IntToFloat in transforms:
        return False
    transforms.insert(transforms.index(Log) if Log in transforms else 0, IntToFloat)
    configs = dict(generator_kwargs.get("transform_configs") or {})
    configs["IntToFloat"] = {**configs.get("IntToFloat", {}), "min_choices": MAX_LISTED_INTS + 1}
    generator_kwargs["transforms"] = transforms
    generator_kwargs["transform_configs"] = configs
    return True


@lru_cache(maxsize=1)
def _parser() -> OverridesParser:
    """Hydra's override parser, its ``int``, ``interval``, ``range`` and ``sort`` checked for what they would change.

    Hydra evaluates these functions as it parses, and what comes out no longer shows what was written: ``int(...)``
    truncates a bound (``int(interval(0.5, 3.7))`` is 0 to 3), ``interval(true, 3)`` is 1.0 to 3.0, and ``sort``
    rewrites a range for a stop that is excluded (here it is included when on the step's grid, so
    ``sort(range(3, 1, step=-1))`` would sweep 2 to 4). Each wrapper refuses (an :class:`EcoptConfigError`, which
    Hydra wraps, and :func:`_parse` reports) or, for ``sort``, orders the range as this module reads it. Only the
    function table changes: the signatures Hydra checks the arguments against are its own.
    """
    from hydra.core.override_parser.overrides_parser import OverridesParser, create_functions

    functions = create_functions()
    table = functions.functions
    table["int"] = _checked_int(table["int"])
    table["interval"] = _without_bools("interval", table["interval"])
    table["range"] = _without_bools("range", table["range"])
    table["sort"] = _sorted_range(table["sort"])
    return OverridesParser(functions=functions)


def _written(value: Any) -> str:
    """A number as the sweep grammar writes it (``true``, ``1.5``)."""
    return render_override_value(value)


def _checked_int(cast: Callable[..., Any]) -> Callable[..., Any]:
    """Hydra's ``int(...)``, refusing a sweep whose non-integral float bounds or values it would truncate."""
    from hydra.core.override_parser.types import ChoiceSweep, IntervalSweep, RangeSweep

    def checked(*args: Any, value: Any = None) -> Any:
        sweep = value if value is not None else args[0] if len(args) == 1 else None
        numbers: list[Any]
        if isinstance(sweep, IntervalSweep):
            # Truncated toward 0, a bound moves out of the interval where it is a positive lower bound (0.5 -> 0) or
            # a negative upper one (-0.5 -> 0); inward (-1.5 -> -1, 3.7 -> 3) it keeps the integers written.
            numbers = [x for x, sign in ((sweep.start, 1), (sweep.end, -1)) if isinstance(x, float) and sign * x > 0]
        elif isinstance(sweep, RangeSweep):
            numbers = [sweep.start, sweep.stop, sweep.step]
        elif isinstance(sweep, ChoiceSweep):
            numbers = list(sweep.list)
        elif len(args) > 1:  # int(1.5, 2.5): a choice
            numbers = list(args)
        else:  # one plain value: Hydra's cast of a fixed value, as the task would get it from Hydra's own sweeper
            return cast(*args, value=value)
        cut = [x for x in numbers if isinstance(x, float) and math.isfinite(x) and not x.is_integer()]
        if not cut:
            return cast(*args, value=value)
        if isinstance(sweep, IntervalSweep) and sweep.start is not None and sweep.end is not None:
            low, high = math.ceil(sweep.start), math.floor(sweep.end)
            floats = f"interval({_written(sweep.start)}, {_written(sweep.end)})"
            inside = (
                f"int(interval({low}, {high})) for the integers inside it"
                if low < high
                else f"a plain value, {low}, for the one integer inside it"
                if low == high
                else "a wider interval (this one holds no integer)"
            )
            raise EcoptConfigError(
                f"int(...) truncates the bound {_written(cut[0])} to {int(cut[0])} (Hydra casts each bound with "
                f"int()), outside {floats} as written; write {inside}, or {floats} to sweep floats."
            )
        raise EcoptConfigError(
            f"int(...) truncates {_written(cut[0])} to {int(cut[0])} (Hydra casts each number in it with int()), which "
            f"changes what is swept; write the integers meant, or drop int(...) to sweep the floats."
        )

    return checked


def _without_bools(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    """Hydra's ``interval`` or ``range``, refusing ``true``/``false`` as a number (Hydra reads them as 1 and 0)."""

    def checked(*args: Any, **kwargs: Any) -> Any:
        for given in (*args, *kwargs.values()):
            if isinstance(given, bool):
                raise EcoptConfigError(
                    f"{name}(...) takes numbers, and {_written(given)} is a bool (Hydra would read it as "
                    f"{int(given)}); write {int(given)} if that is the number meant."
                )
        return function(*args, **kwargs)

    return checked


def _sorted_range(sort: Callable[..., Any]) -> Callable[..., Any]:
    """Hydra's ``sort``, ordering a range by this module's values (its stop included when on the step's grid).

    Hydra turns ``range(3, 1, step=-1)`` (3, 2: Hydra excludes the stop) into ``range(2, 4)``; read with the stop
    included, that would sweep 2, 3, 4 instead of 3, 2, 1.
    """
    from hydra.core.override_parser.types import RangeSweep

    def ordered(*args: Any, sweep: Any = None, list: Any = None, reverse: bool = False) -> Any:
        given = sweep if sweep is not None else args[0] if len(args) == 1 and list is None else None
        if not isinstance(given, RangeSweep) or given.start is None or given.stop is None:
            return sort(*args, sweep=sweep, list=list, reverse=reverse)
        start, stop, step = given.start, given.stop, given.step
        numbers = (start, stop, step)
        if any(isinstance(x, bool) or not math.isfinite(x) for x in numbers) or step == 0:
            return copy.copy(given)  # refused as it is by the range's own checks
        size = _range_size(start, stop, step)
        if size < 2 or (step > 0) != reverse:  # already in the order asked for (or nothing to order)
            return copy.copy(given)
        last: int | float
        if all(isinstance(x, int) for x in numbers):
            last = start + (size - 1) * step
        else:
            last = float(Decimal(repr(start)) + (size - 1) * Decimal(repr(step)))
        flipped = copy.copy(given)
        flipped.start, flipped.stop, flipped.step = last, start, -step
        return flipped

    return ordered


def _parse_override(text: str) -> Override:
    """Hydra's parse of one override, with a clear error where Hydra's parser cannot work: under ``python -O``.

    Hydra 1.3's parser takes a token inside an ``assert`` (``assert ...(next(children), POPEN)``); ``-O`` strips
    it, so every function (``interval(...)``, ``choice(...)``, ``tag(...)``) and every dict fails with an
    ``AttributeError`` from deep inside it (Hydra issue 2570). A Hydra that parses under ``-O`` passes through.

    Raises:
        EcoptConfigError: Python runs with ``-O``/``-OO`` (or ``PYTHONOPTIMIZE``) and Hydra's parser crashed.
        HydraException: The text is no override Hydra's grammar allows.
    """
    from hydra.errors import HydraException

    try:
        return _parser().parse_override(text)
    except HydraException:
        raise
    except Exception as err:
        if not sys.flags.optimize:
            raise
        raise EcoptConfigError(
            f"cannot parse {text!r}: Python runs with -O (sys.flags.optimize={sys.flags.optimize}, from -O, -OO or "
            f"PYTHONOPTIMIZE), and Hydra's override parser needs the assert statements -O strips (Hydra issue 2570: "
            f"every function such as interval(), choice() or tag(), and every dict, fails with "
            f"{type(err).__name__}: {err}); run Python without -O/-OO and unset PYTHONOPTIMIZE."
        ) from err


def _parse(text: str, source: str) -> Override:
    from hydra.errors import HydraException

    try:
        return _parse_override(text)
    except HydraException as err:
        if isinstance(err.__cause__, EcoptConfigError):  # a check of _parser()'s functions: its own message
            raise EcoptConfigError(f"{source}: {text!r}: {err.__cause__}") from None
        first_line = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        if "NoneType is incompatible" in first_line and (written := _null_in_choice(text)) is not None:
            raise _null_choice_error(f"{source}: {text!r}", *written) from None  # Hydra's choice() takes no null
        raise EcoptConfigError(
            f"{source}: cannot parse {text!r} as a Hydra override ({first_line}); use Hydra's sweep grammar, e.g. "
            f"'key=interval(0,1)', 'key=choice(a,b)', 'key=range(1,10)' or 'key=value'."
        ) from err


def _value_to_text(value: Any) -> str:
    """Text of a ``params`` value from the sweeper config (a grammar string, or a plain YAML value)."""
    if isinstance(value, str):
        return value
    return render_override_value(value)


def render_override_value(value: Any) -> str:
    """Render a Python value as Hydra override text that Hydra parses back to the same value.

    Strings are left bare when Hydra reads them back unchanged (``b c``: Hydra keeps inner spaces), and quoted
    otherwise (strings that look like numbers, booleans or ``null``, or that hold commas, quotes, brackets, or spaces
    at either end).

    Args:
        value: ``None``, a bool, int, float or str (numpy scalars included), or a list/dict of those.

    Returns:
        The override text.

    Example::

        >>> [render_override_value(v) for v in (True, 3, 0.1, "adam", "1", "a,b", None)]
        ['true', '3', '0.1', 'adam', "'1'", "'a,b'", 'null']
    """
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(float(value))  # np.float64 is a float whose repr is np.float64(0.1)
    if isinstance(value, str):
        return _render_string(value)
    if isinstance(value, Mapping):
        items = ",".join(f"{_render_string(str(k))}:{render_override_value(v)}" for k, v in value.items())
        return "{" + items + "}"
    if isinstance(value, Sequence):
        return "[" + ",".join(render_override_value(v) for v in value) + "]"
    item = getattr(value, "item", None)
    if callable(item):  # numpy / torch scalars
        return render_override_value(item())
    raise EcoptConfigError(
        f"cannot render {value!r} (type {type(value).__name__}) as a Hydra override value; "
        f"use None, a bool, int, float, str, or a list or dict of those."
    )


def _render_string(text: str) -> str:
    from hydra.core.override_parser.types import Quote, QuotedString

    if text and _reads_back(text, text):
        return text
    for quote in (Quote.double, Quote.single) if "'" in text else (Quote.single, Quote.double):
        quoted = QuotedString(text=text, quote=quote).with_quotes()
        if _reads_back(quoted, text):
            return quoted
    raise EcoptConfigError(f"cannot quote the string {text!r} so that Hydra reads it back unchanged.")


def _reads_back(rendered: str, expected: str) -> bool:
    r"""Whether Hydra reads ``rendered`` back as the string ``expected``: alone, as a list item and as a choice.

    The text goes into lists, dicts and ``choice(...)`` as well (a YAML list in ``params``, the Ax and Optuna
    sweepers' choices), where a trailing backslash escapes the ``,``, ``]`` or ``)`` after it: ``C:\`` alone, but
    ``['C:\\']`` in a list.
    """
    from hydra.core.override_parser.types import ChoiceSweep
    from hydra.errors import HydraException

    try:
        alone = _parse_override(f"k={rendered}")
        in_list = _parse_override(f"k=[{rendered}]")
        in_choice = _parse_override(f"k=choice({rendered})")
    except HydraException:
        return False
    choice = in_choice.value()
    return (
        not alone.is_sweep_override()
        and isinstance(alone.value(), str)
        and alone.value() == expected
        and in_list.value() == [expected]
        and isinstance(choice, ChoiceSweep)
        and [getattr(item, "text", item) for item in choice.list] == [expected]
    )


def _as_real(value: Any) -> float | None:
    """``value`` as a float if it is a real number (numpy/torch scalars included, bool excluded)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    item = getattr(value, "item", None)
    if callable(item) and getattr(value, "ndim", None) == 0:
        return _as_real(item())
    return None


def _is_number_text(text: str) -> bool:
    """Whether ``text`` reads as a number (``'0.5'``, ``'1e-3'``): a number written in quotes."""
    try:
        float(text)
    except ValueError:
        return False
    return True


def _same_value(a: Any, b: Any) -> bool:
    """Equality that keeps ``True`` apart from ``1`` and ``"1"`` apart from ``1``."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, str) or isinstance(b, str):
        return isinstance(a, str) and isinstance(b, str) and a == b
    real_a, real_b = _as_real(a), _as_real(b)
    return real_a is not None and real_b is not None and real_a == real_b


def _range_size(start: float, stop: float, step: float) -> int:
    """How many values ``range(start, stop, step)`` yields, its stop included on the grid (floats counted exactly).

    Counted, not listed: ``range(0, 1, 1e-9)`` is refused at once.
    """
    d_start, d_stop, d_step = (Decimal(repr(x)) for x in (start, stop, step))
    steps = (d_stop - d_start) / d_step
    return 0 if steps < 0 else math.floor(steps) + 1


def _range_values(start: float, stop: float, step: float) -> list[Any]:
    """The values of ``range(start, stop, step)``: the stop included when it is on the step's grid, as in Optuna.

    Ints stay ints; floats are stepped in decimal, without accumulated rounding (0.1 + 0.2 -> 0.3).
    """
    if all(isinstance(x, int) for x in (start, stop, step)):
        return list(range(int(start), int(stop) + (1 if step > 0 else -1), int(step)))
    d_start, d_step = Decimal(repr(start)), Decimal(repr(step))
    return [float(d_start + i * d_step) for i in range(_range_size(start, stop, step))]


def _check_tags(label: str, tags: set[str], allowed: set[str], form: str) -> None:
    unknown = sorted(set(tags) - allowed)
    if unknown:
        allowed_text = ", ".join(repr(t) for t in sorted(allowed)) if allowed else "none"
        raise EcoptConfigError(
            f"{label}: tag {unknown[0]!r} has no meaning on {form}; allowed tags: {allowed_text} "
            f"(use tag(log, interval(a,b)) for a log scale and tag(ordered, choice(...)) for ordered choices)."
        )


def _interval_parameter(name: str, text: str, override: Override, label: str) -> RangeParameter:
    from hydra.core.override_parser.types import IntervalSweep

    sweep = override.value()
    if not isinstance(sweep, IntervalSweep) or sweep.start is None or sweep.end is None:
        raise EcoptConfigError(f"{label}: an interval needs two bounds, e.g. interval(0, 1).")
    _check_tags(label, sweep.tags, {"log"}, "interval(...)")
    low, high = sweep.start, sweep.end
    is_int = isinstance(low, int) and isinstance(high, int)
    if is_int:
        floats = re.sub(r"int\s*\(\s*(interval\s*\([^()]*\))\s*\)", r"\1", text, count=1)
        _check_exact_ints(label, low, high, f"{floats}, a float the task rounds")
    if not (math.isfinite(low) and math.isfinite(high)):
        raise EcoptConfigError(f"{label}: interval bounds must be finite numbers.")
    if low >= high:
        problem = "is empty" if low == high else "is inverted"
        swapped = re.sub(r"interval\s*\([^()]*\)", f"interval({high}, {low})", text, count=1)
        fix = f"use a plain value ({name}={low}) to fix it" if low == high else f"write {swapped}"
        raise EcoptConfigError(
            f"{label}: the interval {problem} (low={low!r}, high={high!r}); "
            f"the lower bound must be below the upper bound: {fix}."
        )
    log_scale = "log" in sweep.tags
    if log_scale and low <= 0:
        raise EcoptConfigError(
            f"{label}: a log scale needs a positive lower bound, got {low!r}; "
            f"raise the lower bound above 0 or drop tag(log, ...)."
        )
    if not log_scale:
        log_form = f"tag(log, {text})" if low > 0 and "tag(" not in text else None
        _check_model_span(label, low, high, f"sweep it on a log scale, {log_form}, or" if log_form else "sweep")
    if high - low < MIN_RANGE_WIDTH:
        scale = 10.0 ** math.ceil(-math.log10(max(abs(low), abs(high))))
        scaled = f"interval({low * scale:g}, {high * scale:g})"
        hint = (
            f" (e.g. a key the app multiplies by {1 / scale:g}, swept over "
            f"{f'tag(log, {scaled})' if log_scale else scaled})"
            if (high - low) * scale >= MIN_RANGE_WIDTH
            else ""
        )
        raise EcoptConfigError(
            f"{label}: the interval is {high - low:.3g} wide, narrower than the "
            f"{MIN_RANGE_WIDTH:g} Ax accepts (on a log scale too: it checks the raw values); sweep the value in larger "
            f"units{hint}."
        )
    return RangeParameter(
        name=name,
        low=int(low) if is_int else float(low),
        high=int(high) if is_int else float(high),
        parameter_type="int" if is_int else "float",
        log_scale=log_scale,
    )


def _check_model_span(
    label: str, low: float, high: float, fix: str, *, ordered: Sequence[float | int] | None = None
) -> None:
    """Refuse linear numeric bounds past :data:`MAX_MODEL_SPAN`; ``fix`` leads the message's advice (``"sweep"``).

    ``ordered``: the values of an ordered choice (a ``range``, a choice of two), which pass where Ax models them on a
    log scale (:func:`_ax_infers_log_scale`).
    """
    span = high - low
    if max(abs(low), abs(high), span) <= MAX_MODEL_SPAN:
        return
    if ordered is not None and _ax_infers_log_scale(ordered):
        return
    spans = f"a span of {span:.3g}" if math.isfinite(span) else "a span past a float's range: high - low overflows"
    exponent = math.floor(math.log10(max(abs(low), abs(high))))
    scale = 10.0**exponent
    scaled = f" (e.g. a key the app multiplies by 1e{exponent}, swept from {low / scale:g} to {high / scale:g})"
    raise EcoptConfigError(
        f"{label}: the values run from {low!r} to {high!r} ({spans}), past the {MAX_MODEL_SPAN:.4g} Ax's model takes "
        f"(it scales its inputs in torch's float32: every model proposal would be nan, and the sweep stop after the "
        f"Sobol trials); {fix} the value in larger units{scaled}."
    )


def _ax_infers_log_scale(values: Sequence[float | int]) -> bool:
    """Whether Ax models an ordered choice of these numbers on a log scale, which it infers where none is given.

    Ax's ``ChoiceParameter`` takes three or more positive values that span two orders of magnitude, or that are
    spaced as powers of one base, on a log scale: its model then sees their logarithms, whatever their span
    (``tag(ordered, choice(1.0, 2.0, 1e39))`` reached model proposals). Asked of Ax itself (imported here only).

    >>> _ax_infers_log_scale([1.0, 2.0, 1e39]), _ax_infers_log_scale([0.0, 5e38, 1e39])
    (True, False)
    >>> _ax_infers_log_scale([1.0, 1e39])  # two values: no pattern, linear
    False
    """
    if len(values) < 3 or min(values) <= 0:
        return False
    from ax.core.parameter import ChoiceParameter as AxChoiceParameter
    from ax.core.parameter import ParameterType

    kind = ParameterType.INT if all(isinstance(v, int) for v in values) else ParameterType.FLOAT
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return bool(AxChoiceParameter("x", kind, list(values), is_ordered=True).log_scale)


def _check_exact_ints(label: str, low: float, high: float, instead: str) -> None:
    """Refuse int bounds beyond :data:`MAX_EXACT_INT`, naming the sweep to write ``instead``."""
    beyond = [bound for bound in (low, high) if abs(bound) > MAX_EXACT_INT]
    if beyond:
        raise EcoptConfigError(
            f"{label}: the int bound {format_count(int(beyond[0]))} is beyond 2^53 = {MAX_EXACT_INT}, the largest "
            f"integer Ax's model and its Sobol points hold exactly (as floats); sweep {instead}, or the value in "
            f"larger units."
        )


#: The strings offered to sweep in place of a null, the first one a sweep does not use already.
_NULL_STAND_INS = ("none", "None", "null_value")


def _null_in_choice(text: str) -> tuple[str, str, str] | None:
    """The override with a string standing for a null among its ``choice(...)``'s values, that string and the key.

    ``None`` where no choice holds a null. Hydra's null (any case) is replaced outside quoted strings only, by the
    first of ``none``, ``None`` and ``null_value`` that the override does not use already.

    >>> _null_in_choice("model.width=choice(NULL, 16)")
    ('model.width=choice(none, 16)', 'none', 'model.width')
    >>> _null_in_choice("p=choice('a null b', null, none)")
    ("p=choice('a null b', None, none)", 'None', 'p')
    >>> _null_in_choice("p=tag(null, choice(1, 2))") is None  # a tag named null: no null among the choices
    True
    """
    key, _, value = text.partition("=")
    parts = re.split(r"""('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")""", value)  # even indices: outside quotes
    null = r"(?<![\w.])null(?![\w.])"
    unquoted = "".join(part if i % 2 == 0 else "''" for i, part in enumerate(parts))
    if not re.search(rf"choice\([^()]*{null}", unquoted, flags=re.IGNORECASE):
        return None
    stand_in = next((t for t in _NULL_STAND_INS if not re.search(rf"\b{t}\b", text)), None)
    if stand_in is None:
        return None
    value = "".join(
        re.sub(null, stand_in, part, flags=re.IGNORECASE) if i % 2 == 0 else part for i, part in enumerate(parts)
    )
    return f"{key}={value}", stand_in, key


def _null_choice_error(label: str, written: str, stand_in: str, name: str) -> EcoptConfigError:
    """The refusal of a null among a choice's values, naming the string sweep to write instead (``written``)."""
    key = name.lstrip("+~").partition("@")[0]
    return EcoptConfigError(
        f"{label}: cannot sweep over null: Ax's choices are int, float, str or bool. Sweep a string that "
        f"stands for it, {written}, and map it back in the task: "
        f"None if cfg.{key} == {stand_in!r} else cfg.{key} (on a typed field, a dataclass's float, the "
        f"string does not compose: sweep a key of its own for it, such as a flag the task reads)."
    )


def _checked_choices(name: str, label: str, values: Sequence[Any]) -> tuple[Any, ...]:
    checked: list[Any] = []
    for value in values:
        if value is None:
            stand_in = next(t for t in _NULL_STAND_INS if t not in values)
            written = ",".join(render_override_value(stand_in if v is None else v) for v in values)
            raise _null_choice_error(label, f"{name}={written}", stand_in, name)
        if not isinstance(value, _CHOICE_TYPES):
            raise EcoptConfigError(
                f"{label}: cannot sweep over {value!r} (type {type(value).__name__}); choice "
                f"values must be int, float, str or bool; sweep a config group, or a key inside the dict or list, "
                f"instead."
            )
        if isinstance(value, float) and not math.isfinite(value):
            stand_in = "-1e9" if value < 0 else "1e9"
            fix = "remove nan" if math.isnan(value) else f"write a large finite number such as {stand_in} in its place"
            raise EcoptConfigError(
                f"{label}: the value {value!r} is not a finite number, and Ax cannot propose "
                f"it; list finite values only ({fix})."
            )
        if isinstance(value, int) and not isinstance(value, bool) and not -(2**63) <= value < 2**63:
            raise EcoptConfigError(
                f"{label}: the int {value} is beyond a 64-bit integer, which Ax's data table cannot hold; list it as a "
                f"string the task converts ('{value}'), or the value in larger units."
            )
        if any(_same_value(value, seen) for seen in checked):
            raise EcoptConfigError(f"{label}: the value {value!r} is listed twice; list it once.")
        checked.append(value)
    if len(checked) > MAX_CHOICES:
        raise EcoptConfigError(
            f"{label}: {len(checked)} values, more than the {MAX_CHOICES} Ax takes in a choice; "
            f"sweep a range of numbers as interval(a, b) or int(interval(a, b)) instead."
        )
    if len(checked) < 2:
        raise EcoptConfigError(
            f"{label}: a choice of a single value sweeps nothing; use a plain value to fix it "
            f"({name}={render_override_value(checked[0]) if checked else '...'})."
        )
    return tuple(checked)


def _choice_parameter(name: str, text: str, override: Override, label: str) -> ChoiceParameter:
    from hydra.core.override_parser.types import ChoiceSweep, QuotedString

    sweep = override.value()
    if not isinstance(sweep, ChoiceSweep):  # pragma: no cover - guarded by _to_parameter
        raise TypeError(f"{label}: not a choice sweep.")
    _check_tags(label, sweep.tags, {"ordered"}, "choice(...)")
    # Hydra leaves the quoted items of a bare list ('18','34') as QuotedString; choice('18','34') gives strings.
    items = [v.text if isinstance(v, QuotedString) else v for v in sweep.list]
    values = _checked_choices(name, label, items)
    is_ordered = "ordered" in sweep.tags
    parameter = ChoiceParameter(name=name, values=values, is_ordered=is_ordered)
    mixed = len({type(v) for v in values}) > 1
    if is_ordered and mixed:
        raise EcoptConfigError(
            f"{label}: ordered choices must share one type, got "
            f"{sorted({type(v).__name__ for v in values})}; make the values the same type or drop tag(ordered, ...)."
        )
    if (is_ordered or len(values) == 2) and parameter.parameter_type in ("int", "float"):
        # The model takes them as numbers, not categories: Ax orders a choice of two values too.
        fix = "drop tag(ordered, ...) (categories have no scale), or give" if len(values) > 2 else "give"
        _check_model_span(label, min(values), max(values), fix, ordered=values)
    return parameter


def _range_parameter(name: str, text: str, override: Override, label: str) -> Parameter:
    from hydra.core.override_parser.types import RangeSweep

    sweep = override.value()
    if not isinstance(sweep, RangeSweep) or sweep.start is None or sweep.stop is None:
        raise EcoptConfigError(f"{label}: a range needs a start and a stop, e.g. range(1, 10).")
    _check_tags(label, sweep.tags, {"ordered"}, "range(...)")
    start, stop, step = sweep.start, sweep.stop, sweep.step
    is_int = all(isinstance(x, int) for x in (start, stop, step))
    if not all(math.isfinite(x) for x in (start, stop, step)):
        raise EcoptConfigError(
            f"{label}: range(start={start!r}, stop={stop!r}, step={step!r}) needs finite numbers; write finite ones, "
            f"e.g. range(1, 10), or interval(a, b) for a wide span of floats."
        )
    if step == 0:
        raise EcoptConfigError(f"{label}: the step must not be 0.")
    size = _range_size(start, stop, step)
    if is_int:
        _check_exact_ints(
            label, start, stop, f"interval({min(start, stop)}, {max(start, stop)}), a float the task rounds"
        )
    if size > MAX_CHOICES and not (is_int and step == 1):  # an int range of step 1 is an Ax range, of any size
        exact = is_int and max(abs(start), abs(stop)) <= MAX_EXACT_INT
        wrapper = "int(interval({}, {}))" if exact else "interval({}, {})"
        last = float(Decimal(repr(start)) + (size - 1) * Decimal(repr(step)))  # the stop, where it is on the grid
        bounds = sorted((start, int(last) if is_int else last))
        raise EcoptConfigError(
            f"{label}: the range yields {format_count(size)} values, more than the {MAX_CHOICES} Ax takes in a "
            f"choice; sweep {wrapper.format(*bounds)} instead, or a larger step."
        )
    if size == 0:
        raise EcoptConfigError(
            f"{label}: range(start={start!r}, stop={stop!r}, step={step!r}) yields no value; "
            f"use a stop beyond the start in the direction of the step."
        )
    if size == 1:
        raise EcoptConfigError(
            f"{label}: the range yields the single value {start!r} and sweeps nothing; "
            f"use a plain value to fix it ({name}={start!r})."
        )
    note = "a range includes its stop when it is on the step's grid, as the Optuna sweeper's does"
    if is_int and step == 1:  # an Ax int range, of any size (a wide one reaches the model as floats: MAX_LISTED_INTS)
        log.info("ecopt: %s=%s sweeps the integers %d to %d (%d values; %s).", name, text, start, stop, size, note)
        return RangeParameter(name=name, low=start, high=stop, parameter_type="int")
    values = _range_values(start, stop, step)
    _check_model_span(label, min(values), max(values), "sweep", ordered=values)
    shown = ", ".join(map(repr, values)) if len(values) <= 6 else f"{values[0]!r}, {values[1]!r}, ..., {values[-1]!r}"
    log.info("ecopt: %s=%s sweeps %s (%d values; %s).", name, text, shown, len(values), note)
    return ChoiceParameter(name=name, values=tuple(values), is_ordered=True)


def _to_parameter(name: str, text: str, override: Override, label: str) -> Parameter:
    from hydra.core.override_parser.types import ChoiceSweep, Glob, IntervalSweep, RangeSweep

    sweep = override.value()
    if isinstance(sweep, IntervalSweep):
        return _interval_parameter(name, text, override, label)
    if isinstance(sweep, RangeSweep):
        return _range_parameter(name, text, override, label)
    if isinstance(sweep, ChoiceSweep):
        return _choice_parameter(name, text, override, label)
    if isinstance(sweep, Glob):  # Hydra's own name for it ('glob_choice_sweep') is no word the reader wrote
        raise EcoptConfigError(
            f"{label}: glob(...) selects among the options of a config group, which only the Hydra sweeper "
            f"(hydra/sweeper=ecopt) can list; list the values to sweep instead, e.g. 'choice(adam,sgd)'."
        )
    kind = override.value_type.name.lower() if override.value_type is not None else "unknown"
    raise EcoptConfigError(
        f"{label}: the sweep form {kind!r} cannot map onto an Ax parameter; use interval(a,b), "
        f"int(interval(a,b)), tag(log, interval(a,b)), choice(...), a,b,c, range(start,stop,step=s) or "
        f"tag(ordered, choice(...))."
    )


def _identity(override: Override) -> tuple[str, str | None]:
    """What an override sets, ignoring ``+``/``++``/``~`` prefixes: its key or group, and its package."""
    return override.key_or_group, override.package


def _prefix_and_name(override: Override) -> tuple[str, str]:
    """An override's prefix (``+``, ``++``, ``~`` or none) and the key it sets, ``key`` or ``key@package``."""
    element = override.get_key_element()
    name = override.key_or_group if override.package is None else f"{override.key_or_group}@{override.package}"
    return element[: len(element) - len(name)], name


def _nested_sweeps(mapping: Mapping[Any, Any], path: str) -> Iterator[tuple[str, str, bool]]:
    """Each string inside a nested ``params`` mapping that Hydra reads as a sweep: ``(dotted key, text, is_list)``.

    ``is_list`` tells a bare comma list (``a,b``, also a plain string with a comma) from a sweep function.
    """
    from hydra.errors import HydraException

    for key, value in mapping.items():
        dotted = f"{path}.{key}"
        if isinstance(value, Mapping):
            yield from _nested_sweeps(value, dotted)
        elif isinstance(value, str):
            try:
                override = _parse_override(f"k={value}")
            except HydraException:
                continue
            if override.is_sweep_override():
                yield dotted, value, bool(getattr(override.value(), "simple_form", False))


def _check_nested_mapping(key: str, mapping: Mapping[Any, Any], where: str = "params") -> None:
    """Refuse a sweep function inside a ``params`` mapping, and warn of a comma list there (it may be plain text).

    Hydra passes a mapping as one fixed dict value (``key={a:1}``): a sweep inside it would reach every trial as
    plain text, and fail each one.
    """
    sweeps = list(_nested_sweeps(mapping, key))
    functions = [(dotted, text) for dotted, text, is_list in sweeps if not is_list]
    if functions:
        raise EcoptConfigError(
            f"{where}[{key!r}] is a nested mapping holding the sweep{'s' if len(functions) > 1 else ''} "
            f"{', '.join(repr(dotted) for dotted, _ in functions)}; Hydra would pass the whole mapping to every "
            f"trial as one fixed value, with the sweep as plain text. Sweep with dotted keys: "
            f"{', '.join(repr(f'{dotted}: {text}') for dotted, text in functions)}."
        )
    for dotted, text, _ in sweeps:
        log.warning(
            "ecopt: %s[%r] is a mapping, so every trial gets the fixed text %r at %r; to sweep it "
            "write '%s: %s' (a dotted key) instead.",
            where,
            key,
            text,
            dotted,
            dotted,
            text,
        )


_AX_SPEC_KEYS = frozenset(
    {"type", "bounds", "values", "value", "value_type", "log_scale", "is_ordered", "is_task", "is_fidelity"}
    | {"target_value", "digits", "sort_values", "dependents"}
)
_OPTUNA_SPEC_KEYS = frozenset({"type", "low", "high", "log", "step", "choices"})


def _spec_number(value: Any) -> int | float:
    """A bound of a parameter spec as a number (YAML may leave ``1e-4`` a string); ``ValueError`` if it is none."""
    if isinstance(value, str):
        number = float(value)
        return int(number) if number.is_integer() and "." not in value and "e" not in value.lower() else number
    real = _as_real(value)
    if real is None:
        raise ValueError(f"not a number: {value!r}")
    return value if isinstance(value, int) else real


def _ax_spec_to_grammar(spec: Mapping[str, Any]) -> str:
    """The Ax sweeper's ``{type: range|choice|fixed, ...}`` as sweep grammar; ``ValueError`` if it is malformed."""
    kind = spec["type"]
    if kind == "fixed":
        return render_override_value(spec["value"])
    if kind == "choice":
        values = spec["values"]
        if isinstance(values, str) or not isinstance(values, Sequence):
            raise ValueError("values is not a list")
        text = f"choice({', '.join(render_override_value(v) for v in values)})"
        return f"tag(ordered, {text})" if spec.get("is_ordered") else text
    bounds = spec["bounds"]
    if isinstance(bounds, str) or not isinstance(bounds, Sequence) or len(bounds) != 2:
        raise ValueError("bounds is not [low, high]")
    low, high = (_spec_number(b) for b in bounds)
    value_type = spec.get("value_type")
    is_int = value_type == "int" or (value_type is None and isinstance(low, int) and isinstance(high, int))
    interval = f"interval({render_override_value(low)}, {render_override_value(high)})"
    interval = f"int({interval})" if is_int else interval
    return f"tag(log, {interval})" if spec.get("log_scale") else interval


def _check_spec_mapping(key: str, mapping: Mapping[Any, Any], where: str = "params") -> None:
    """Refuse a ``params`` value written as the Ax or Optuna sweeper's parameter mapping, giving the grammar to use.

    Hydra passes a mapping as one fixed dict value: ``model.lr: {type: range, bounds: [1e-4, 0.1]}`` would reach
    every trial as that dict (failing each, or running them all on one configuration) instead of being swept.
    """
    kind = mapping.get("type")
    if not isinstance(kind, str):
        return
    keys = {str(k) for k in mapping}
    if kind in ("range", "choice", "fixed") and keys <= _AX_SPEC_KEYS and keys & {"bounds", "values", "value"}:
        form = "the Ax sweeper's parameter form"
        try:
            grammar: str | None = _ax_spec_to_grammar(mapping)
        except (KeyError, TypeError, ValueError, EcoptConfigError):
            grammar = None
    elif kind in ("int", "float", "categorical") and keys <= _OPTUNA_SPEC_KEYS and keys & {"low", "high", "choices"}:
        form = "the Optuna sweeper's search_space form"
        try:
            grammar = optuna_search_space_to_params({key: mapping})[key]
        except (TypeError, ValueError):  # EcoptConfigError is a ValueError
            grammar = None
    else:
        return
    fix = (
        f"write '{key}: {grammar}'"
        if grammar is not None
        else "write interval(a, b), int(interval(a, b)), tag(log, interval(a, b)) or choice(x, y, ...)"
    )
    raise EcoptConfigError(
        f"{where}[{key!r}] = {dict(mapping)!r} is {form}; ecopt's params take Hydra's sweep grammar, "
        f"and Hydra would pass this mapping to every trial as one fixed dict value: {fix}."
    )


def parse_search_space(
    params: Mapping[str, Any] | None,
    arguments: Sequence[str],
    *,
    where: str = "params",
    is_config_group: Callable[[str], bool] | None = None,
) -> SearchSpace:
    """Parse the sweeper config's ``params`` and the command-line overrides into a :class:`SearchSpace`.

    Args:
        params: The sweeper config's ``params``: key -> grammar string (``"interval(0,1)"``) or plain value (a
            mapping is a fixed dict value, as in Hydra's ``key={a:1}``).
        arguments: The command-line overrides Hydra passes to ``Sweeper.sweep``. For a key in both, the command
            line wins.
        where: What messages call ``params`` (the Hydra sweeper gives ``"hydra.sweeper.params"``).
        is_config_group: Whether a key is a config group of the app (the Hydra sweeper asks Hydra); ``None``: no key
            is. A group's option does not replace the keys set inside it (``optim=sgd`` beside ``optim.lr=...``).

    Returns:
        The search space: the swept parameters and the fixed overrides.

    Raises:
        EcoptConfigError: A value cannot be parsed or mapped, an interval is empty or inverted, a log scale covers
            values <= 0, a choice or range has fewer than two values, a choice lists nan or inf, a mapping in
            ``params`` holds a sweep (the message gives the dotted keys to use) or is the Ax or Optuna sweeper's
            parameter mapping (``{type: range, bounds: [a, b]}``: the message gives the grammar to write), a key
            appears twice on the command line or in ``params`` (``x`` and ``+x`` are one key), a range or choice has
            more values than Ax takes (:data:`MAX_CHOICES`), or an interval is narrower than Ax takes
            (:data:`MIN_RANGE_WIDTH`), or a key is set inside another one where either is swept and the outer one
            would replace the inner one's value in every trial (``model.opt={lr: 0.5}`` beside a swept
            ``model.opt.lr``: Hydra applies the fixed overrides last), or a ``params`` key is blank or has spaces
            around it (``' x'``).

    Example::

        >>> space = parse_search_space({"model.lr": "interval(0.001, 0.1)"}, ["model.batch_size=16,32,64"])
        >>> [type(p).__name__ for p in space.parameters]
        ['RangeParameter', 'ChoiceParameter']
    """
    if isinstance(arguments, str) or not isinstance(arguments, Sequence | type(None)):
        raise EcoptConfigError(
            f"parse_search_space(arguments={arguments!r:.80}): expected a list of overrides such as ['epochs=3'] "
            "(a string would be read letter by letter)."
        )
    if params is not None and not isinstance(params, Mapping):
        raise EcoptConfigError(
            f"parse_search_space(params={params!r:.80}): expected a mapping {{key: grammar}}, e.g. "
            "{'x': 'interval(0, 1)'}; overrides written 'key=value' go in arguments, the second argument."
        )
    arguments = arguments or []
    for argument in arguments:
        if not isinstance(argument, str):  # parsed, it failed with a TypeError of Hydra's lexer
            raise EcoptConfigError(
                f"parse_search_space(arguments={list(arguments)!r:.80}): {argument!r} is not an override; give each "
                "as text, 'key=value', e.g. ['epochs=3', 'model.lr=interval(0.001, 0.1)']."
            )
    entries: dict[tuple[str, str | None], tuple[Override, str]] = {}
    sources: dict[tuple[str, str | None], str] = {}  # where each entry was given, for messages
    labels: dict[tuple[str, str | None], str] = {}  # how messages quote each entry: where, and as it was written
    params_keys: dict[tuple[str, str | None], str] = {}
    for key, value in (params or {}).items():
        if isinstance(key, str) and key != key.strip():
            # Hydra's parser failed it with "token recognition error at: ' '", naming neither the key nor the fix
            text = _value_to_text(value)
            if not key.strip():
                raise EcoptConfigError(
                    f"{where}[{key!r}] = {text!r}: the key is blank, so it names no config key to set; write the key "
                    f"the value is for, e.g. 'model.lr: {text}'."
                )
            raise EcoptConfigError(
                f"{where}[{key!r}] = {text!r}: the key has spaces around it, and a config key has none; write it "
                f"without them: '{key.strip()}: {text}'."
            )
        if isinstance(value, Mapping):
            _check_spec_mapping(str(key), value, where)
            _check_nested_mapping(str(key), value, where)
        if isinstance(value, Sequence) and not isinstance(value, str):
            # A YAML list is a fixed list value to Hydra, not a choice: say so, since a sweep was likelier meant.
            choices = ", ".join(render_override_value(v) for v in value)
            log.warning(
                "ecopt: %s[%r] is a list, so every trial gets the fixed value %s; to sweep over its items write "
                "'choice(%s)'.",
                where,
                key,
                render_override_value(list(value)),
                choices,
            )
        value_text = _value_to_text(value)
        override = _parse(f"{key}={value_text}", source=f"{where}[{key!r}]")
        identity = _identity(override)
        if identity in params_keys:
            raise EcoptConfigError(
                f"{where}: {params_keys[identity]!r} and {key!r} set the same key (a +, ++ or ~ prefix "
                f"does not make it another); give it once."
            )
        params_keys[identity] = str(key)
        entries[identity] = (override, value_text)
        sources[identity] = f"{where}[{key!r}]"
        labels[identity] = f"{where}[{key!r}] = {value_text!r}"

    seen_on_command_line: dict[tuple[str, str | None], str] = {}
    for argument in arguments:
        override = _parse(argument, source="command line")
        identity = _identity(override)
        if identity in seen_on_command_line:
            raise EcoptConfigError(
                f"command line: {override.get_key_element()!r} is given twice ({seen_on_command_line[identity]!r} "
                f"and {argument!r}); give each parameter once."
            )
        seen_on_command_line[identity] = argument
        entries.pop(identity, None)  # the command line wins, and takes its place in order
        entries[identity] = (override, argument.partition("=")[2])
        sources[identity] = "command line"
        labels[identity] = f"command line: {argument!r}"
    _check_nested_keys(
        [(override, text, sources[identity]) for identity, (override, text) in entries.items()],
        is_config_group or (lambda key: False),
    )

    parameters: list[Parameter] = []
    fixed: dict[str, Any] = {}
    fixed_overrides: list[str] = []
    for identity, (override, value_text) in entries.items():
        prefix, name = _prefix_and_name(override)
        if not override.key_or_group:
            # Hydra's parser takes '=interval(0,1)' (and a params key '') as a key of no name: Hydra then failed the
            # first trial's compose with "Config group override must be a string or a list. Got float".
            written = f"model.lr={value_text}" if sources[identity] == "command line" else f"model.lr: {value_text}"
            raise EcoptConfigError(
                f"{labels[identity]}: the key is empty, so it names no config key to set; write the key the value "
                f"is for, e.g. '{written}'."
            )
        if override.is_sweep_override():
            if override.is_delete():
                # Hydra deletes the key only where its value is the one given: all values but one fail to compose.
                raise EcoptConfigError(
                    f"{labels[identity]}: a deletion cannot be swept (Hydra deletes the key only "
                    f"where its value is the one given, so the other values' trials would not compose); write "
                    f"'~{name}' to delete it in every trial, or sweep '{name}={value_text}'."
                )
            # Named by the key it sets (results, logs, enqueue_trials); the override keeps the +/++ prefix.
            parameter = _to_parameter(prefix + name, value_text, override, labels[identity])
            parameters.append(dataclasses.replace(parameter, name=name, prefix=prefix))
            continue
        key = f"~{name}" if override.is_delete() else name
        if override.is_delete() and override.value() is None:
            fixed[key] = None
            fixed_overrides.append(key)
        else:
            fixed[key] = override.value()
            fixed_overrides.append(f"{prefix}{name}={override.get_value_element_as_str()}")
    return SearchSpace(parameters=tuple(parameters), fixed=fixed, fixed_overrides=tuple(fixed_overrides))


def _check_nested_keys(entries: Sequence[tuple[Override, str, str]], is_config_group: Callable[[str], bool]) -> None:
    """Refuse a key set inside another key where the outer one would replace a swept value in every trial.

    :meth:`SearchSpace.to_overrides` puts the fixed overrides last, and Hydra applies them in order: a fixed
    ``model.opt={lr: 0.5}`` (merged into the node) or ``model.opt=0.5`` (replacing it) overwrites the swept
    ``model.opt.lr`` of every trial, which would run on 0.5 while the results record Ax's values. A mapping without
    the inner key is merged beside it and kept; a config group's option selects a config, inside which keys are set.

    Args:
        entries: ``(override, value text, where it was given)`` per key.
        is_config_group: Whether a key is a config group.

    Raises:
        EcoptConfigError: One key holds another, one of the two is swept, and the outer one overwrites the inner one.
    """
    for outer, outer_text, outer_source in entries:
        outer_key = outer.key_or_group
        if outer.package is not None:  # a config group's option, placed elsewhere (``optim@model.opt=sgd``)
            continue
        inner = [
            (override, text, source)
            for override, text, source in entries
            if override.key_or_group.startswith(f"{outer_key}.")
            and override.package is None
            and (outer.is_sweep_override() or override.is_sweep_override())
        ]
        if not inner or is_config_group(outer_key):
            continue
        written = outer.get_key_element() if outer.is_delete() else f"{outer.get_key_element()}={outer_text}"
        where = f"{outer_source}: {written!r}"
        for override, text, source in inner:
            inner_key = override.key_or_group
            swept_in = (
                "" if source == outer_source else f" (swept {'on the' if source == 'command line' else 'in'} {source})"
            )
            if outer.is_sweep_override():
                raise EcoptConfigError(
                    f"{where}: '{outer_key}' is swept and '{inner_key}' is set inside it ({source}: "
                    f"{inner_key}={text}); each trial's value of '{outer_key}' would replace the whole node, and "
                    f"'{inner_key}' with it. Sweep or set only one of them{_FLAT_TASK}."
                )
            if outer.is_delete():
                raise EcoptConfigError(
                    f"{where} deletes '{outer_key}', which holds the swept '{inner_key}'{swept_in}, in every trial "
                    f"(the fixed overrides come last): drop the deletion, or stop sweeping '{inner_key}'{_FLAT_TASK}."
                )
            value = outer.value()
            if not isinstance(value, Mapping):
                raise EcoptConfigError(
                    f"{where} replaces '{outer_key}', the node that holds the swept '{inner_key}'{swept_in}, in every "
                    f"trial (the fixed overrides come last): drop it, or stop sweeping '{inner_key}'{_FLAT_TASK}."
                )
            relative = inner_key[len(outer_key) + 1 :].split(".")
            node: Any = value
            for part in relative:
                if not isinstance(node, Mapping) or part not in node:
                    break  # merged beside the swept key: it stays
                node = node[part]
            else:
                raise EcoptConfigError(
                    f"{where} sets the swept '{inner_key}'{swept_in} to {render_override_value(node)} in every trial "
                    f"(the fixed overrides come last, so the trials would run on it while the results record the swept "
                    f"values): drop {'.'.join(relative)} from the mapping, or stop sweeping '{inner_key}'{_FLAT_TASK}."
                )


_FLAT_TASK = (
    " (from Python, where a task gets the keys as they are and no config is composed, "
    "parse_search_space(..., is_config_group=lambda key: True) accepts them)"
)
"""Appended to the nested-key refusals: they protect Hydra's composition, which a ``from_function`` task has not."""


def ax_params_to_grammar(params: Mapping[str, Any]) -> dict[str, str]:
    """Translate the Ax sweeper's parameter mappings (``ax_config.params``) into sweep-grammar ``params``.

    Each entry is hydra-ax-sweeper's ``{type: range, bounds: [a, b], value_type, log_scale}``,
    ``{type: choice, values: [...], is_ordered}`` or ``{type: fixed, value: x}``; a string (that sweeper's command-line
    grammar) is kept. Integer bounds make an integer range, as Ax infers them.

    Args:
        params: ``{key: mapping or grammar string}``.

    Returns:
        ``{key: grammar string}``, ready for :func:`parse_search_space`.

    Raises:
        EcoptConfigError: An entry is neither a grammar string nor a well-formed Ax parameter mapping.

    Example::

        >>> ax_params_to_grammar({"lr": {"type": "range", "bounds": [1e-4, 0.1], "log_scale": True},
        ...                       "width": {"type": "range", "bounds": [8, 64]}, "act": "relu,gelu"})
        {'lr': 'tag(log, interval(0.0001, 0.1))', 'width': 'int(interval(8, 64))', 'act': 'relu,gelu'}
    """
    grammar: dict[str, str] = {}
    for key, spec in params.items():
        if isinstance(spec, str):
            grammar[str(key)] = spec
            continue
        try:
            if not isinstance(spec, Mapping) or spec.get("type") not in ("range", "choice", "fixed"):
                raise ValueError("no type range, choice or fixed")
            grammar[str(key)] = _ax_spec_to_grammar(spec)
        except (KeyError, TypeError, ValueError) as error:
            raise EcoptConfigError(
                f"ax_config.params[{key!r}] = {spec!r}: not an Ax parameter ({error}); write it in Hydra's sweep "
                f"grammar: interval(a, b), int(interval(a, b)), tag(log, interval(a, b)) or choice(x, y, ...)."
            ) from None
    return grammar


def _spec_bound(where: str, field: str, value: Any, kind: str) -> int | float:
    """An Optuna ``search_space`` entry's ``low``, ``high`` or ``step`` as a number of its ``type``, or the error."""
    number = _as_real(value)
    if isinstance(value, str):  # a quoted number ('1e-4'), as the Optuna sweeper's float() accepted it
        try:
            number = float(value)
        except ValueError:
            number = None
    if number is None or not math.isfinite(number) or (kind == "int" and number != int(number)):
        raise EcoptConfigError(
            f"{where}.{field} = {value!r}: expected {'an integer' if kind == 'int' else 'a finite number'} for an "
            f"entry of type {kind!r}."
        )
    return int(number) if kind == "int" else float(number)


def optuna_search_space_to_params(search_space: Mapping[str, Mapping[str, Any]]) -> dict[str, str]:
    """Translate the Optuna sweeper's deprecated ``search_space`` form into sweep-grammar ``params``.

    Each entry is Optuna's ``DistributionConfig``: ``type`` (``int``, ``float`` or ``categorical``), ``low``,
    ``high``, ``log``, ``step`` and ``choices``. Optuna includes ``high`` where it is on the step's grid; so does
    ``range``, which a stepped entry becomes, so both forms of one space sweep the same values.

    Args:
        search_space: ``{key: {"type": ..., "low": ..., ...}}``.

    Returns:
        ``{key: grammar string}``, ready for :func:`parse_search_space`.

    Raises:
        EcoptConfigError: An entry has an unknown type or misses its bounds or choices.

    Example::

        >>> optuna_search_space_to_params({"x": {"type": "int", "low": 0, "high": 10, "step": 3},
        ...                                "lr": {"type": "float", "low": 1e-4, "high": 0.1, "log": True}})
        {'x': 'range(0,10,step=3)', 'lr': 'tag(log,interval(0.0001,0.1))'}
    """
    params: dict[str, str] = {}
    for key, spec in search_space.items():
        where = f"hydra.sweeper.search_space[{key!r}]"
        if not isinstance(spec, Mapping):
            raise EcoptConfigError(f"{where} = {spec!r}: expected a mapping with 'type', 'low', 'high' or 'choices'.")
        kind = str(getattr(spec.get("type"), "name", spec.get("type")))
        if kind == "categorical":
            choices = spec.get("choices")
            if not choices or isinstance(choices, str | bytes) or not isinstance(choices, Sequence):
                raise EcoptConfigError(
                    f"{where}: a categorical entry needs a list of 'choices', e.g. choices: [adam, sgd]; got "
                    f"{choices!r}."
                )
            params[str(key)] = "choice(" + ",".join(render_override_value(c) for c in choices) + ")"
            continue
        if kind not in ("int", "float"):
            raise EcoptConfigError(f"{where}: unknown type {kind!r}; choose from 'int', 'float', 'categorical'.")
        low, high, step, log = spec.get("low"), spec.get("high"), spec.get("step"), bool(spec.get("log", False))
        if low is None or high is None:
            raise EcoptConfigError(f"{where}: an {kind} entry needs 'low' and 'high'.")
        low, high = _spec_bound(where, "low", low, kind), _spec_bound(where, "high", high, kind)
        step = None if step is None else _spec_bound(where, "step", step, kind)
        if log and step is not None and (kind == "float" or step != 1):  # Optuna refuses the pair too
            raise EcoptConfigError(
                f"{where}: 'log: true' and 'step: {step}' together are not a distribution (Optuna refuses them too); "
                f"drop one of them."
            )
        if kind == "int":
            if step is not None and int(step) != 1 and not log:
                params[str(key)] = f"range({low},{high},step={int(step)})"
                continue
            interval = f"int(interval({low},{high}))"
        else:
            low, high = float(low), float(high)
            if step is not None and not log:
                params[str(key)] = f"range({low!r},{high!r},step={float(step)!r})"
                continue
            interval = f"interval({low!r},{high!r})"
        params[str(key)] = f"tag(log,{interval})" if log else interval
    return params
