"""Objectives, outcome constraints, the task's return value, and the metric names Ax sees.

Objectives are data: ``{metric: "maximize" | "minimize"}``, or the Optuna sweeper's ``direction`` list (then the
task returns a tuple in that order and the objectives are named ``objective_0``, ``objective_1``, ...).

Metric names and Ax
-------------------
``ax.api.Client.configure_optimization`` parses objective and constraint strings with SymPy. Ax 1.3 substitutes
``/``, ``.``, ``:`` and a few other characters before parsing, so ``test/acc`` itself works, but other names break
it: a name that is also a SymPy name (``test``, ``E``, ``gamma``, ``beta``, ``N``, ...) raises ``ValueError``, a name
starting with a digit raises ``SympifyError``, and ``,`` ``;`` ``[`` ``'`` cannot appear at all. So Ax never sees our
metric names: it sees :func:`ax_metric_name` of each, a valid Python identifier that contains ``__`` (no SymPy name
does), e.g. ``test/acc`` -> ``test__acc`` and ``val_loss`` -> ``m__val_loss``. The map is computed in one place
(:func:`ax_metric_names`), checked for collisions, and reversed when reading Ax's results.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from lightning_ecopt.energy.figures import (
    ENERGY_METRICS,
    FLOPS_PER_SAMPLE,
    PREDICT_STEP_FLOPS_PER_SAMPLE,
    energy_stage,
)
from lightning_ecopt.energy.measurement import source_problem
from lightning_ecopt.exceptions import EcoptConfigError, TrialFailure
from lightning_ecopt.sweeper.spelling import in_hydra

__all__ = [
    "DIRECTIONS",
    "ENERGY_SOURCE_KEY",
    "ContractFailure",
    "Objective",
    "OutcomeConstraint",
    "TrialMetrics",
    "ax_metric_name",
    "ax_metric_names",
    "parse_constraint",
    "parse_objectives",
    "parse_task_result",
]

DIRECTIONS: tuple[str, str] = ("maximize", "minimize")
"""The allowed directions of an objective."""

ENERGY_SOURCE_KEY = "energy/source"
"""The task-result key whose string labels where the energy figures came from."""

_BOOL_METRIC_REASON = ": expected a number, got the bool "
"""What the reason of a trial that returned a bool objective or constrained metric holds, after the metric's name (the
sweep's failure-rate stop matches it in its records to advise returning numbers)."""

MAX_OBJECTIVE_MAGNITUDE = 1e150
"""The largest objective value (in magnitude) a trial may return: the spread of values past about 1.3e154 (the square
root of a float's largest) overflows Ax's standardisation, and the first model proposal failed with a traceback
(``ValueError: cannot convert float NaN to integer``, Ax's thresholds made NaN). Well below, so that the spread of
many trials stays finite."""

# The energy of a whole evaluation loop or of one of its domains (GPU, CPU, DRAM), per sample, per batch, or per
# second: 0 is no reading (a window shorter than the counter's update period: NVML ticks every 20-100 ms) and would
# win any objective that minimises it.
_LOOP_ENERGY_RE = re.compile(
    r"energy/(test|predict|validate)_(j|gpu_j|cpu_j|dram_j|other_j|j_per_sample|j_per_batch|power_w)"
)
# The comparison is every ``<``, ``>`` or ``=`` in a row, so ``>==`` is reported as written (not as ``==``). It is
# the last such run, so a metric name may hold one of them (``recall@k=5 >= 0.5``); the first run is the comparison
# when the metric part holds one standing alone between spaces, a chained comparison such as ``0 <= loss <= 5``.
_CONSTRAINT_RE = re.compile(r"^\s*(?P<metric>.*?)\s*(?P<op>[<>=]+)\s*(?P<bound>[^<>=]*?)\s*$")
_FIRST_COMPARISON_RE = re.compile(r"^\s*(?P<metric>[^<>=]*?)\s*(?P<op>[<>=]+)\s*(?P<bound>.*?)\s*$")
_CHAINED_RE = re.compile(r"(?:^|\s)[<>=]+(?:\s|$)")
_UNSAFE_CHAR_RE = re.compile(r"[^A-Za-z0-9_]")


@dataclass(frozen=True)
class Objective:
    """One objective: a metric the task returns, and whether to minimise it.

    Args:
        name: The metric's name, as the task returns it (e.g. ``"energy/test_samples_per_j"``).
        minimize: ``True`` to minimise, ``False`` to maximise.
    """

    name: str
    minimize: bool

    @property
    def direction(self) -> Literal["maximize", "minimize"]:
        """``"minimize"`` or ``"maximize"``."""
        return "minimize" if self.minimize else "maximize"

    @property
    def ax_name(self) -> str:
        """The metric's name as Ax sees it (:func:`ax_metric_name`)."""
        return ax_metric_name(self.name)

    def to_ax(self) -> str:
        """This objective in Ax's objective syntax: the Ax name, with ``-`` in front when minimised.

        Example::

            >>> Objective("energy/train_j", minimize=True).to_ax()
            '-energy__train_j'
        """
        return f"-{self.ax_name}" if self.minimize else self.ax_name


@dataclass(frozen=True)
class OutcomeConstraint:
    """A bound on a returned metric, e.g. ``energy/train_j <= 5000``.

    Feasible trials meet every bound; a trial that breaks one is on no frontier. On an objective metric the bound is
    also that objective's threshold (Ax's reference point).

    Args:
        metric: The metric's name as the task returns it.
        op: ``"<="`` or ``">="``.
        bound: A finite number.
    """

    metric: str
    op: Literal[">=", "<="]
    bound: float

    def to_ax(self) -> str:
        """The constraint in Ax's syntax, on the Ax name of the metric.

        Example::

            >>> parse_constraint("energy/train_j <= 5000").to_ax()
            'energy__train_j <= 5000.0'
        """
        return f"{ax_metric_name(self.metric)} {self.op} {float(self.bound)!r}"

    def met_by(self, metrics: Mapping[str, float]) -> bool:
        """Whether a trial's metrics meet the constraint (a missing or non-finite value does not).

        Example::

            >>> c = parse_constraint("energy/train_j <= 5000")
            >>> c.met_by({"energy/train_j": 4000.0}), c.met_by({"energy/train_j": 6000.0}), c.met_by({})
            (True, False, False)
        """
        value = metrics.get(self.metric)
        if value is None or not math.isfinite(value):
            return False
        return value <= self.bound if self.op == "<=" else value >= self.bound

    def __str__(self) -> str:
        bound = repr(float(self.bound))  # the shortest text that reads back: 1234567 stays 1234567, not 1.23457e+06
        return f"{self.metric} {self.op} {bound.removesuffix('.0')}"

    def exact(self) -> str:
        """``metric op bound`` with the bound as a float's ``repr`` (``1234567.0``): the form results files keep."""
        return f"{self.metric} {self.op} {float(self.bound)!r}"


@dataclass(frozen=True)
class TrialMetrics:
    """What one trial returned, checked.

    Args:
        values: ``{metric: (mean, sem)}`` with ``sem`` ``None`` when unknown; objectives first (in order), then
            constrained metrics, then the task's other numeric keys (tracking metrics).
        energy_source: The string the task returned under ``"energy/source"``, if any.
        not_finite: The task's other keys whose value is NaN or infinite (``{metric: value}``): kept in the trial's
            record (a NaN energy figure is a documented reading: the ledger counts it as unknown), never given to
            Ax, which takes finite numbers only.
        untracked: The task's other keys whose value is a pair of a number and a standard error that is not one
            (``{metric: why}``: ``(0.9, -0.1)``): not tracked, and said, where other extras that are not numbers
            (labels, lists) are left out without a word.
    """

    values: dict[str, tuple[float, float | None]]
    energy_source: str | None = None
    not_finite: dict[str, float] = field(default_factory=dict)
    untracked: dict[str, str] = field(default_factory=dict)

    def to_ax_raw_data(self) -> dict[str, float | tuple[float, float]]:
        """``raw_data`` for ``Client.complete_trial``, keyed by Ax metric names (:func:`ax_metric_name`).

        When two returned metrics share an Ax name, the first one wins: objectives and constrained metrics come
        first, so only a tracking metric can be dropped.

        Returns:
            ``{ax_name: mean}`` or ``{ax_name: (mean, sem)}`` when the sem is known.
        """
        raw: dict[str, float | tuple[float, float]] = {}
        for name, (mean, sem) in self.values.items():
            key = ax_metric_name(name)
            if key not in raw:
                raw[key] = mean if sem is None else (mean, sem)
        return raw


def ax_metric_name(name: str) -> str:
    """The name Ax sees for one of our metric names: a valid identifier with ``__`` in it.

    Every character other than ``[A-Za-z0-9_]`` becomes ``__``; a name that then has no ``__`` in it, or starts
    with a digit or ``_``, gets the prefix ``m__``. No SymPy name contains ``__`` except dunders (which start with
    ``_``), so Ax can always parse the result.

    Args:
        name: A metric name, e.g. ``"test/acc"``.

    Returns:
        The Ax-safe name, e.g. ``"test__acc"``.

    Example::

        >>> [ax_metric_name(n) for n in ("test/acc", "energy/test_samples_per_j", "val_loss", "E", "objective_0")]
        ['test__acc', 'energy__test_samples_per_j', 'm__val_loss', 'm__E', 'm__objective_0']
    """
    safe = _UNSAFE_CHAR_RE.sub("__", name)
    if "__" not in safe or not safe[0].isalpha():
        safe = f"m__{safe}"
    return safe


def ax_metric_names(names: Iterable[str]) -> dict[str, str]:
    """Map each metric name to its Ax name, refusing two names that Ax would confuse.

    Args:
        names: Metric names (objectives and constrained metrics).

    Returns:
        ``{name: ax_name}`` in the order given.

    Raises:
        EcoptConfigError: Two different names map to the same Ax name (e.g. ``test/acc`` and ``test.acc``).

    Example::

        >>> ax_metric_names(["test/acc", "energy/train_j"])
        {'test/acc': 'test__acc', 'energy/train_j': 'energy__train_j'}
    """
    mapping: dict[str, str] = {}
    owner: dict[str, str] = {}
    for name in names:
        ax_name = ax_metric_name(name)
        if ax_name in owner and owner[ax_name] != name:
            raise EcoptConfigError(
                f"metrics {owner[ax_name]!r} and {name!r} both map to the Ax metric name {ax_name!r}; rename one of "
                f"them (names that differ only in characters outside A-Z, a-z, 0-9 and _ cannot be told apart)."
            )
        owner[ax_name] = name
        mapping[name] = ax_name
    return mapping


def _parse_direction(value: Any, where: str) -> bool:
    """``True`` for minimise, from ``"minimize"`` / ``"maximize"`` (or an enum whose name is one of them)."""
    text = getattr(value, "name", value)
    if isinstance(text, str) and text.strip().lower() in DIRECTIONS:
        return text.strip().lower() == "minimize"
    close = difflib.get_close_matches(str(text).strip().lower(), sorted(DIRECTIONS), n=1, cutoff=0.6)
    meant = f"did you mean {close[0]!r}? " if close else ""  # 'minimise', the British spelling, most often
    raise EcoptConfigError(f"{where}: unknown direction {value!r}; {meant}choose from 'maximize', 'minimize'.")


def parse_objectives(
    objectives: Mapping[str, str] | None, direction: str | Sequence[str] | None
) -> tuple[Objective, ...]:
    """Build the objectives from either ``objectives: {metric: direction}`` or Optuna's ``direction``.

    Args:
        objectives: ``{metric: "maximize" | "minimize"}``, in order.
        direction: The Optuna sweeper's form: one direction, or a list of them; the objectives are then named
            ``objective_0``, ``objective_1``, ... and the task returns a tuple (or a float for one objective).

    Returns:
        The objectives, in order.

    Raises:
        EcoptConfigError: ``objectives`` is not a mapping, both or neither form is given, a direction is unknown, or
            a metric name is empty or differs from another in the spaces around it only (``'a'`` and ``'a '``).

    Example::

        >>> parse_objectives({"test/acc": "maximize", "energy/test_j": "minimize"}, None)[1]
        Objective(name='energy/test_j', minimize=True)
        >>> [o.name for o in parse_objectives(None, ["minimize", "maximize"])]
        ['objective_0', 'objective_1']
    """
    if objectives and not isinstance(objectives, Mapping):
        raise EcoptConfigError(_not_a_mapping(objectives))
    # Named as the reader set them: hydra.sweeper.objectives under the Hydra sweeper, the arguments in Python.
    prefix = "hydra.sweeper." if in_hydra() else ""
    objectives_key, direction_key = f"{prefix}objectives", f"{prefix}direction"
    if isinstance(direction, Mapping) and not objectives:
        # Not "direction[0]: unknown direction 'test/acc'": named metrics are the other form.
        instead = f"objectives: {dict(direction)!r}" if in_hydra() else f"objectives={dict(direction)!r}"
        raise EcoptConfigError(
            f"{direction_key}={dict(direction)!r}: direction takes directions only (Optuna's form: 'maximize' or a "
            f"list of them, for a task that returns a tuple); for named metrics write '{instead}' instead of "
            f"direction."
        )
    if objectives and direction is not None:
        raise EcoptConfigError(
            f"{objectives_key}={dict(objectives)!r} and {direction_key}={direction!r} are both set; give one of "
            f"them: 'objectives: {{metric: maximize|minimize}}' (a task that returns a dict) or the Optuna form "
            f"'direction: [minimize, maximize]' (a task that returns a tuple)."
        )
    if objectives:
        parsed = []
        stripped: dict[str, str] = {}
        for name, value in objectives.items():
            if not isinstance(name, str) or not name.strip():
                raise EcoptConfigError(f"{objectives_key}: the metric name {name!r} must be a non-empty string.")
            # The task's keys are matched exactly: 'a' and 'a ' are two metrics, and a task returns one of them only
            twin = stripped.setdefault(name.strip(), name)
            if twin != name:
                raise EcoptConfigError(
                    f"{objectives_key}: the metric names {twin!r} and {name!r} differ only in the spaces around them; "
                    f"the task's keys are matched exactly, so keep the one the task returns and remove the other."
                )
            parsed.append(Objective(name=name, minimize=_parse_direction(value, f"{objectives_key}[{name!r}]")))
        return tuple(parsed)
    # One direction (a number too: named in the message below, not a TypeError of len()), or a list of them.
    one = isinstance(direction, str) or hasattr(direction, "name") or not isinstance(direction, Iterable)
    directions = [] if direction is None else [direction] if one else list(direction)
    if not directions:
        if in_hydra():
            raise EcoptConfigError(
                "no objectives: set 'objectives: {metric: maximize|minimize}', e.g. "
                "{test/acc: maximize, energy/test_samples_per_j: maximize}, or the Optuna form "
                "'direction: [minimize, maximize]'."
            )
        raise EcoptConfigError(
            f"parse_objectives({objectives!r}, {direction!r}): no objectives; give {{metric: 'maximize' | "
            f"'minimize'}}, e.g. parse_objectives({{'test/acc': 'maximize', 'energy/test_samples_per_j': 'maximize'}}, "
            f"None), or the Optuna form parse_objectives(None, ['minimize', 'maximize'])."
        )
    return tuple(
        Objective(name=f"objective_{i}", minimize=_parse_direction(value, f"{direction_key}[{i}]"))
        for i, value in enumerate(directions)
    )


def _not_a_mapping(objectives: Any) -> str:
    """The message for ``objectives`` given as a list or a string: each metric needs its direction."""
    names: list[Any] = []
    if isinstance(objectives, str):
        names = [objectives]
    elif isinstance(objectives, Sequence):
        names = list(objectives)
    if names and all(isinstance(n, str) and n.strip() for n in names):
        names = [*names, "energy/test_j"] if len(names) == 1 else names
        directions = ["maximize" if i % 2 == 0 else "minimize" for i in range(len(names))]
    else:
        names, directions = ["test/acc", "energy/test_samples_per_j"], ["maximize", "maximize"]
    if in_hydra():  # YAML: bare words
        example = ", ".join(f"{name}: {way}" for name, way in zip(names, directions, strict=True))
        return (
            f"hydra.sweeper.objectives={objectives!r}: expected a mapping {{metric: maximize|minimize}} giving each "
            f"metric its direction, in order, e.g. {{{example}}}."
        )
    example = ", ".join(f"{name!r}: {way!r}" for name, way in zip(names, directions, strict=True))
    return (
        f"parse_objectives(objectives={objectives!r}): expected a mapping {{metric: 'maximize' | 'minimize'}} giving "
        f"each metric its direction, in order, e.g. {{{example}}}."
    )


def parse_constraint(text: str) -> OutcomeConstraint:
    """Parse ``"metric <= bound"`` or ``"metric >= bound"``.

    Args:
        text: The constraint, e.g. ``"energy/train_j <= 5000"``.

    Returns:
        The parsed constraint.

    Raises:
        EcoptConfigError: The text is not ``<metric> <= <number>`` or ``<metric> >= <number>``.

    Example::

        >>> parse_constraint("test/acc >= 0.9")
        OutcomeConstraint(metric='test/acc', op='>=', bound=0.9)
    """
    fix = "write '<metric> <= <number>' or '<metric> >= <number>', e.g. 'energy/train_j <= 5000'"
    if not isinstance(text, str):
        raise EcoptConfigError(f"outcome constraint {text!r}: expected a string; {fix}.")
    match = _CONSTRAINT_RE.match(text)
    if match is not None and _CHAINED_RE.search(match.group("metric")):
        match = _FIRST_COMPARISON_RE.match(text)
    if match is None:
        raise EcoptConfigError(f"outcome constraint {text!r}: no comparison found; {fix}.")
    metric, op, bound_text = match.group("metric"), match.group("op"), match.group("bound")
    if op not in ("<=", ">="):
        raise EcoptConfigError(f"outcome constraint {text!r}: the comparison {op!r} is not supported; {fix}.")
    if not metric:
        raise EcoptConfigError(f"outcome constraint {text!r}: the metric name is missing; {fix}.")
    try:
        bound = float(bound_text)
    except ValueError:
        if _is_number(metric):  # written the other way round: "0.9 <= test/acc"
            flipped = ">=" if op == "<=" else "<="
            fix = f"put the metric first: '{bound_text} {flipped} {metric}'"
        elif bound_text.endswith("%") or "baseline" in bound_text:
            fix = (
                "a bound relative to a baseline is not supported (the sweep has no status-quo trial): give the "
                f"absolute value: '{metric} {op} <number>'"
            )
        raise EcoptConfigError(
            f"outcome constraint {text!r}: the bound {bound_text!r} is not a number; {fix}."
        ) from None
    if not math.isfinite(bound):
        raise EcoptConfigError(f"outcome constraint {text!r}: the bound must be finite; {fix}.")
    return OutcomeConstraint(metric=metric, op="<=" if op == "<=" else ">=", bound=bound)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _real(value: Any) -> float | None:
    """``value`` as a float if it is a real number: Python, numpy or torch, of one element; never a bool or a string.

    A tensor or array of one element (``torch.tensor([0.9])``, what a ``mean(dim=0)`` leaves) is its number, as
    EnergyCallback reads logged tensors (``numel() == 1``).

    >>> import numpy as np
    >>> _real(np.float32(0.5)), _real(np.array([0.5])), _real(np.array([0.5, 0.6])), _real("0.5")
    (0.5, 0.5, None, None)
    """
    if isinstance(value, bool | str | bytes):
        return None
    if isinstance(value, int | float):
        try:
            return float(value)
        except OverflowError:  # an int past a float's range: as good as infinite
            return math.inf if value > 0 else -math.inf
    item = getattr(value, "item", None)
    if callable(item) and _one_element(value) and not isinstance(value, Mapping | Sequence):
        try:
            return _real(item())
        except (TypeError, ValueError, RuntimeError):
            return None
    return None


def _is_bool(value: Any) -> bool:
    """Whether ``value`` is a bool: Python's, numpy's, or a one-element array or tensor of bools.

    >>> import numpy as np, torch
    >>> _is_bool(True), _is_bool(np.True_), _is_bool(torch.tensor([False])), _is_bool(1), _is_bool(np.array([1.0]))
    (True, True, True, False, False)
    """
    if isinstance(value, bool):
        return True
    return str(getattr(value, "dtype", "")) in ("bool", "torch.bool") and _one_element(value)


def _one_element(value: Any) -> bool:
    """Whether an array-like value holds one element: 0-d, or of size 1 (torch's ``numel()``, numpy's ``size``)."""
    if getattr(value, "ndim", 0) == 0:
        return True
    numel = getattr(value, "numel", None)
    size = numel() if callable(numel) else getattr(value, "size", None)
    return isinstance(size, int) and size == 1


def _measurement(name: str, value: Any) -> tuple[float, float | None]:
    """A returned metric as ``(mean, sem)``; raises TrialFailure for a non-number, NaN or inf."""
    mean_value, sem_value = value, None
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        if len(value) != 2:
            raise TrialFailure(
                f"metric {name!r}: expected a number or a (mean, sem) pair, got a sequence of {len(value)}: {value!r}"
            )
        mean_value, sem_value = value
    mean = _real(mean_value)
    if mean is None and _is_bool(mean_value):
        # A comparison where its number belongs (acc > 0.9): the task's code, so every trial would return one.
        raise ContractFailure(
            f"metric {name!r}{_BOOL_METRIC_REASON}{mean_value!r} ({type(mean_value).__name__}); return "
            f"the number itself (the accuracy, not whether it passes a bar), or float(...) of the bool to optimise it "
            f"as 0 or 1"
        )
    if mean is None:
        raise TrialFailure(f"metric {name!r}: expected a number, got {mean_value!r} ({type(mean_value).__name__})")
    if not math.isfinite(mean):
        raise TrialFailure(f"metric {name!r} is {mean} (not finite)")
    if sem_value is None:
        return mean, None
    sem = _real(sem_value)
    if sem is None or not math.isfinite(sem) or sem < 0:
        raise TrialFailure(f"metric {name!r}: the sem must be a finite number >= 0, got {sem_value!r}")
    return mean, sem


def _untracked_pair(name: str, value: Any) -> str | None:
    """Why ``value`` is not tracked though its mean is a finite number: a ``(mean, sem)`` pair whose sem is not one.

    ``None`` for any other value. Such a pair is left out of its trial's record whichever way the trial ended (the
    sweep says so); a pair whose mean is NaN or infinite is kept as that mean, as such a number is.

    >>> _untracked_pair("acc", (0.9, -0.1))
    "metric 'acc': the sem must be a finite number >= 0, got -0.1"
    >>> _untracked_pair("acc", (0.9, 0.1)), _untracked_pair("acc", (float("nan"), -1)), _untracked_pair("acc", 0.9)
    (None, None, None)
    """
    mean = _real(_mean_of(value))
    if mean is None or not math.isfinite(mean) or _mean_of(value) is value:
        return None
    try:
        _measurement(name, value)
    except TrialFailure as err:
        return str(err)
    return None


def _mean_of(value: Any) -> Any:
    """The mean of a ``(mean, sem)`` pair; any other value as it is.

    >>> _mean_of((0.5, 0.1)), _mean_of(0.5), _mean_of("ab")
    (0.5, 0.5, 'ab')
    """
    if isinstance(value, Sequence) and not isinstance(value, str | bytes) and len(value) == 2:
        return value[0]
    return value


def _energy_source(value: Any) -> str | None:
    """The task's ``energy/source`` label; raises TrialFailure for one that is not ``"measured..."``/``"estimated..."``.

    ``None`` means no label. Anything else that does not name the kind would be its own kind to the sweeper (the
    first trial's ``"zeus/nvml"`` would refuse every honest ``"estimated: cpu-time"`` after it) and to the report.
    """
    if value is None:
        return None
    problem = source_problem(value)
    if problem is not None:
        raise ContractFailure(
            f"{ENERGY_SOURCE_KEY!r}: {problem}; label the figures 'measured: <counters>' (e.g. 'measured: zeus/nvml') "
            f"or 'estimated: <model>' (e.g. 'estimated: cpu-time'), as EnergyCallback and trial_metrics do"
        )
    return str(value)


def _check_magnitude(name: str, mean: float) -> None:
    """Fail a trial whose objective is past :data:`MAX_OBJECTIVE_MAGNITUDE`, naming the units to give it in instead.

    >>> _check_magnitude("loss", -1e149)
    >>> _check_magnitude("loss", 3e160)
    Traceback (most recent call last):
    ...
    lightning_ecopt.exceptions.TrialFailure: metric 'loss' is 3e+160, past the 1e+150 (in magnitude) Ax's model ...
    """
    if abs(mean) <= MAX_OBJECTIVE_MAGNITUDE:
        return
    exponent = math.floor(math.log10(abs(mean)))
    raise TrialFailure(
        f"metric {name!r} is {mean:.3g}, past the {MAX_OBJECTIVE_MAGNITUDE:.0e} (in magnitude) Ax's model takes in an "
        f"objective (the spread of such values overflows a float); return it in larger units (e.g. divided by "
        f"1e{exponent}), or fail the trial (None, NaN) where such a value means the configuration failed"
    )


def _check_sem_magnitude(name: str, sem: float | None) -> None:
    """Fail a trial whose objective or constrained metric has a sem past :data:`MAX_OBJECTIVE_MAGNITUDE`.

    Ax's model takes the sem's square as the noise variance: past about 1.3e154 it is inf, and the first model
    proposal failed with BoTorch's ``InputDataError: Input data contains NaN values`` (a traceback, the sweep ended).

    >>> _check_sem_magnitude("loss", 1e149), _check_sem_magnitude("loss", None)
    (None, None)
    >>> _check_sem_magnitude("loss", 1e200)
    Traceback (most recent call last):
    ...
    lightning_ecopt.exceptions.TrialFailure: metric 'loss': the sem 1e+200 is past the 1e+150 Ax's model takes ...
    """
    if sem is None or sem <= MAX_OBJECTIVE_MAGNITUDE:
        return
    exponent = math.floor(math.log10(sem))
    raise TrialFailure(
        f"metric {name!r}: the sem {sem:.3g} is past the {MAX_OBJECTIVE_MAGNITUDE:.0e} Ax's model takes (its square, "
        f"the noise variance, overflows a float); return the metric in larger units (its mean and sem divided by "
        f"1e{exponent}), or its mean alone where such a sem cannot be right"
    )


def _check_energy(name: str, mean: float, optimised: bool) -> None:
    """Raise TrialFailure for an energy figure of ours that cannot be true.

    No energy figure is negative (a counter that went backwards, or a meter's error), wherever it is returned; an
    objective or constrained metric that is an evaluation loop's joules (total, per sample, per batch) or power and
    reads 0 is no reading either, and would win any objective that minimises it.
    """
    if name not in ENERGY_METRICS:
        return
    if mean < 0:
        raise TrialFailure(
            f"energy figure {name!r} is {mean:g}, below 0: no energy is negative (a counter went backwards, wrapped "
            f"around unnoticed or was reset, or the meter is wrong); fix the meter, or measure again"
        )
    if optimised and mean == 0 and _LOOP_ENERGY_RE.fullmatch(name):
        raise TrialFailure(
            f"energy figure {name!r} is 0: the loop read no energy (a window shorter than the counter's update "
            f"period, or a counter that is not advancing), so it would win any objective that minimises it; evaluate "
            f"more batches for a figure that can be trusted"
        )


def _as_list(value: Any) -> list[Any] | None:
    """A tuple, list or 1-d array as a list; ``None`` for anything else.

    A Series with named values never gets here (:func:`_as_mapping` reads it by name); one of numbered values (a
    default index, ``pd.Series([0.9, 120.0])``) is read in order, as a list.
    """
    if isinstance(value, list | tuple):
        return list(value)
    tolist = getattr(value, "tolist", None)
    if callable(tolist) and getattr(value, "ndim", None) == 1:
        result = tolist()
        return list(result) if isinstance(result, list) else None
    return None


def _as_mapping(value: Any) -> Mapping[Any, Any] | None:
    """A mapping, or a keyed 1-d object (a pandas Series: ``df.iloc[-1]``, ``metrics.mean()``) as a dict.

    ``None`` for anything else. A Series is no ``Mapping``, yet holds its values by name: read by position, a Series
    whose index is in another order than the objectives gave each objective another one's value. Not a Series whose
    index names nothing (only numbers: ``pd.Series([0.9, 120.0])``), which is a sequence (:func:`_as_list`), nor
    anything of more than one dimension (a DataFrame: refused as such).

    >>> class Row:  # duck-types a pandas Series
    ...     ndim = 1
    ...     def __init__(self, values): self.values = values
    ...     def keys(self): return list(self.values)
    ...     def to_dict(self): return dict(self.values)
    >>> _as_mapping(Row({"energy_j": 120.0, "acc": 0.9})), _as_mapping(Row({0: 0.9, 1: 120.0})), _as_mapping([1.0])
    ({'energy_j': 120.0, 'acc': 0.9}, None, None)
    """
    if isinstance(value, Mapping):
        return value
    keys = getattr(value, "keys", None)
    if not callable(keys) or isinstance(value, type) or getattr(value, "ndim", 1) != 1:
        return None
    to_dict = getattr(value, "to_dict", None)
    try:
        result = to_dict() if callable(to_dict) else {key: value[key] for key in keys()}
    except Exception:  # not a keyed container after all: judged as any other value
        return None
    if not isinstance(result, Mapping) or not any(isinstance(key, str) for key in result):
        return None
    return result


class MissingMetric(TrialFailure):
    """A trial's result dict lacks an objective or a constrained metric (raised and caught in the sweep process).

    Args:
        reason: The trial's failure reason.
        metric: The metric it lacks.
        close: The returned key closest to it (a likely misspelling of one another), or ``None``.
    """

    def __init__(self, reason: str, *, metric: str, close: str | None) -> None:
        super().__init__(reason)
        self.metric = metric
        self.close = close

    def __reduce__(self) -> Any:
        return (_missing_metric, (str(self), self.metric, self.close))


class ContractFailure(TrialFailure):
    """A trial's result breaks the task's contract as every trial's would (raised and caught in the sweep process).

    What the task returns is of the wrong type or holds the wrong number of values, an objective or constrained
    metric is a bool (a comparison where its number belongs), or its ``energy/source`` label names no kind: the task's
    code, not the trial's configuration, so the sweep stops at the first such trial instead
    of failing more trials the same way.
    """


_MODEL_METRICS = {
    "model/params": " (EnergyCallback logs it after an evaluation loop, unless log_model_stats=False)",
    FLOPS_PER_SAMPLE: (
        " (EnergyCallback logs it after an evaluation loop where the model's forward takes one sample, unless "
        "log_model_stats=False; a predict loop with predict_flops='predict_step' logs "
        f"{PREDICT_STEP_FLOPS_PER_SAMPLE} instead)"
    ),
    PREDICT_STEP_FLOPS_PER_SAMPLE: (
        " (EnergyCallback(stages=(..., 'predict'), predict_flops='predict_step') logs it, in the predict loop)"
    ),
}
"""Where ``EnergyCallback`` logs its model counts, for the reason of a trial that lacks one: the FLOPs of a predict
loop's ``predict_step`` and of one forward pass have names of their own, so a sweep on one may miss the other."""

_SOMETIMES_TRAIN_METRICS = {
    **dict.fromkeys(
        ("energy/train_carried_j", "energy/train_carried_time_s"),
        " (EnergyCallback(train=True) logs it only for a fit resumed from a checkpoint that holds its training energy: "
        "most trials have none; the whole fit's figure is energy/train_j)",
    ),
    "energy/train_resumed_from_step": (
        " (EnergyCallback(train=True) logs it only for a fit that did not start at step 0: resumed from a checkpoint, "
        "or a second fit() of one trainer)"
    ),
    **dict.fromkeys(
        ("energy/train_reused_j", "energy/train_reused_time_s"),
        " (logged only for a trial that reused a stored training: hydra.sweeper.inference_params; the search energy "
        "it saved, which ecopt report sums)",
    ),
}
"""Training figures logged for some trials only, for the reason of a trial that lacks one: "EnergyCallback(train=True)
logs it" sent a user whose callback has it to look for a setting that was not missing."""


def _logged_by(name: str) -> str:
    """Which EnergyCallback setting logs an energy figure a trial lacks, as a note for its reason; ``""`` if none.

    >>> _logged_by("energy/train_j"), _logged_by("acc")
    (' (EnergyCallback(train=True) logs it)', '')
    >>> _logged_by("energy/predict_tokens_per_j")
    " (EnergyCallback(stages=(..., 'predict'), count_fn=...) logs it)"
    >>> _logged_by("energy/train_carried_j")[:77]
    ' (EnergyCallback(train=True) logs it only for a fit resumed from a checkpoint'
    >>> _logged_by("model/predict_step_flops_per_sample")
    " (EnergyCallback(stages=(..., 'predict'), predict_flops='predict_step') logs it, in the predict loop)"
    """
    if name in _MODEL_METRICS:
        return _MODEL_METRICS[name]
    if name in _SOMETIMES_TRAIN_METRICS:
        return _SOMETIMES_TRAIN_METRICS[name]
    if name not in ENERGY_METRICS:
        return ""
    stage = energy_stage(name)
    settings = ["train=True"] if stage == "train" else [] if stage == "test" else [f"stages=(..., {stage!r})"]
    if "_tokens" in name:
        settings.append("count_fn=...")
    if settings:
        return f" (EnergyCallback({', '.join(settings)}) logs it)"
    if name.endswith(("_gpu_j", "_cpu_j", "_dram_j", "_other_j")):
        return " (EnergyCallback logs it only where a counter covers that part of the machine)"
    return " (EnergyCallback logs it in trainer.test(): return lightning_ecopt.trial_metrics(trainer))"


def _no_test_loop(name: str, keys: Sequence[str]) -> str:
    """A note for a missing test metric where the task returned nothing of a test loop; ``""`` otherwise.

    A trainer that only fits returns ``val/...`` and ``train/...``: the reason named the missing key but not the
    cause. An ``energy/test_...`` figure's own note already names ``trainer.test()`` (:func:`_logged_by`).

    >>> _no_test_loop("test/acc", ["train/loss", "val/acc"])
    ' (it returned no test-loop figure: does the task call trainer.test(...) before it returns?)'
    >>> _no_test_loop("test/acc", ["test/loss", "val/acc"]), _no_test_loop("val/acc", ["train/loss"])
    ('', '')
    """
    if not name.startswith(("test/", "test_")):
        return ""
    if any(key.startswith(("test/", "test_", "energy/test_")) for key in keys):
        return ""
    return " (it returned no test-loop figure: does the task call trainer.test(...) before it returns?)"


def _close_names(name: str, keys: Sequence[str]) -> list[str]:
    """The returned keys a missing metric most likely meant, if any.

    Those ending in the same name after a ``/`` (``acc`` for ``test/acc``, or the other way round), else the closest
    spelling (difflib).

    >>> _close_names("acc", ["test/acc", "energy/test_j"]), _close_names("test/acc", ["acc"])
    (['test/acc'], ['acc'])
    >>> _close_names("acc", ["val/acc", "test/acc"]), _close_names("test/acc", ["test/accuracy"])
    (['test/acc', 'val/acc'], ['test/accuracy'])
    """
    last = name.rsplit("/", 1)[-1].lower()
    same = [key for key in keys if key.rsplit("/", 1)[-1].lower() == last and ("/" in key) != ("/" in name)]
    return sorted(same) or difflib.get_close_matches(name, keys, n=1, cutoff=0.6)


def _missing_metric(reason: str, metric: str, close: str | None) -> MissingMetric:
    return MissingMetric(reason, metric=metric, close=close)


def parse_task_result(value: Any, objectives: Sequence[Objective], required: Sequence[str] = ()) -> TrialMetrics:
    """Check a task's return value and turn it into :class:`TrialMetrics`.

    The task returns ``{metric: float | (mean, sem)}`` with every objective and every ``required`` metric, or a
    tuple/list of numbers in objective order (or a single number when there is one objective). Numpy and torch
    scalars count as numbers. A pandas Series (any object with ``keys()``: ``df.iloc[-1]``, ``metrics.mean()``) is
    read as the dict it holds, by name. In a dict, extra numeric keys are kept as tracking metrics, the label under
    ``"energy/source"`` becomes :attr:`TrialMetrics.energy_source`, extra numbers that are NaN or infinite go into
    :attr:`TrialMetrics.not_finite` (recorded, never given to Ax), an extra ``(mean, sem)`` pair whose sem is not a
    finite number >= 0 goes into :attr:`TrialMetrics.untracked` (not tracked, and said), and other extras (strings,
    nested values) are dropped.

    Args:
        value: What the task returned; an exception instance (a failed job) is a failure too.
        objectives: The sweep's objectives.
        required: Metrics that must be present besides the objectives (those named in outcome constraints).

    Returns:
        The checked metrics.

    Raises:
        TrialFailure: With the reason: a missing objective or constrained metric (:class:`MissingMetric`), a
            NaN/inf or a non-number; an objective past :data:`MAX_OBJECTIVE_MAGNITUDE` in magnitude, or an
            objective's or constrained metric's sem past it; an energy figure of ours below 0 (anywhere, -inf too), or
            an evaluation loop's joules or power of 0 as an objective or constrained metric. :class:`ContractFailure`
            (which every trial would repeat): a value of another type or shape, a tuple of the wrong length, a bool
            objective or constrained metric, or an ``"energy/source"`` that is not a ``"measured: ..."`` or
            ``"estimated: ..."`` label.

    Example::

        >>> objectives = parse_objectives({"test/acc": "maximize", "energy/test_j": "minimize"}, None)
        >>> parse_task_result({"test/acc": 0.9, "energy/test_j": (12.0, 0.5), "energy/source": "estimated"},
        ...                   objectives).values
        {'test/acc': (0.9, None), 'energy/test_j': (12.0, 0.5)}
    """
    if isinstance(value, BaseException):
        raise TrialFailure(f"the job raised {type(value).__name__}: {value}")
    names = [objective.name for objective in objectives]
    needed = [*names, *(metric for metric in required if metric not in names)]

    keyed = _as_mapping(value)
    if keyed is not None:
        value = keyed
        keys = [str(key) for key in value]
        missing = [name for name in needed if name not in value]
        if missing:
            kind = "objective" if missing[0] in names else "constrained metric"
            # Not a name the sweep already takes as another objective or constraint: that one is no misspelling.
            # Nor, for one of EnergyCallback's figures, another of them (energy/test_j for energy/train_j): the
            # callback, or one of its settings, is missing (the name was checked when the sweep started). Nor the
            # energy label, text that trial_metrics always returns: close in spelling to energy/test_j, never meant.
            others = [
                key
                for key in keys
                if key not in needed
                and key != ENERGY_SOURCE_KEY
                and not (missing[0] in ENERGY_METRICS and key in ENERGY_METRICS)
            ]
            close = _close_names(missing[0], others)
            if len(close) == 1:
                hint = f" (did you mean {close[0]!r}?)"
            elif close:
                hint = f" (did you mean one of {close!r}?)"
            else:
                hint = ""
            if all(re.fullmatch(r"objective_\d+", name) for name in names):  # Optuna's `direction` form
                hint += (
                    "; with hydra.sweeper.direction the task returns its values in order (a tuple), or name the "
                    "metrics with hydra.sweeper.objectives: {metric: maximize|minimize}"
                    if in_hydra()
                    else "; with parse_objectives(None, direction) the task returns its values in order (a tuple), or "
                    "name the metrics with parse_objectives({'metric': 'maximize', ...}, None)"
                )
            cause = "" if close else _no_test_loop(missing[0], keys)  # a likely misspelling says enough
            raise MissingMetric(
                f"missing {kind} {missing[0]!r}{_logged_by(missing[0])}: the task returned the keys "
                f"{sorted(keys)!r}{hint}; return a dict with {needed!r}{cause}",
                metric=missing[0],
                close=close[0] if len(close) == 1 else None,
            )
        values = {name: _measurement(name, value[name]) for name in needed}
        for name in names:
            _check_magnitude(name, values[name][0])
        for name in needed:
            _check_sem_magnitude(name, values[name][1])
            _check_energy(name, values[name][0], optimised=True)
        energy_source = None
        not_finite: dict[str, float] = {}
        untracked: dict[str, str] = {}
        for key, extra in value.items():
            if key in values or not isinstance(key, str):
                continue
            if key == ENERGY_SOURCE_KEY:
                energy_source = _energy_source(extra)
                continue
            try:
                values[key] = _measurement(key, extra)
            except TrialFailure:
                number = _real(_mean_of(extra))
                if number is not None and not math.isfinite(number):
                    _check_energy(key, number, optimised=False)  # -inf joules are below 0, as any negative figure
                    not_finite[key] = number
                elif (why := _untracked_pair(key, extra)) is not None:
                    untracked[key] = why
                continue  # other extras (strings, nested values) are not tracked
            _check_energy(key, values[key][0], optimised=False)
        return TrialMetrics(values=values, energy_source=energy_source, not_finite=not_finite, untracked=untracked)

    items = _as_list(value)
    if items and all(isinstance(item, Mapping) for item in items):
        several = (
            ""
            if len(items) == 1
            else " (with several test dataloaders Lightning names each loader's metrics <name>/dataloader_idx_<n>)"
        )
        raise ContractFailure(
            f"the task returned a list of {len(items)} dict{'s' if len(items) > 1 else ''} ({value!r:.200}), the shape "
            f"of what trainer.test() returns: return lightning_ecopt.trial_metrics(trainer) (the test's metrics and "
            f"the energy figures with their label; its [0] has the figures without their label){several}"
        )
    if len(needed) > len(names):
        raise ContractFailure(
            f"the task returned {value!r}, but the constrained metrics {needed[len(names) :]!r} need a dict; "
            f"return {{metric: value}} with {needed!r}"
        )
    if items is None:
        if len(names) == 1 and _real(value) is not None:
            items = [value]
        else:
            wanted = "a number" if len(names) == 1 else f"a tuple of {len(names)} numbers in the order {names!r}"
            raise ContractFailure(
                f"the task returned {value!r} ({type(value).__name__}); return a dict {{metric: value}} or {wanted}"
            )
    if len(items) != len(names):
        # Optuna-style (mean, sem) for a single objective: a pair reads as two values in order here.
        pair = (
            f"; for a mean with its standard error, return {{{names[0]!r}: (mean, sem)}}"
            if len(names) == 1 and len(items) == 2
            else ""
        )
        raise ContractFailure(
            f"the task returned {len(items)} values for {len(names)} objectives ({value!r}); return one value per "
            f"objective, in the order {names!r}{pair}"
        )
    values = {name: _measurement(name, item) for name, item in zip(names, items, strict=True)}
    for name in names:
        _check_magnitude(name, values[name][0])
        _check_sem_magnitude(name, values[name][1])
    return TrialMetrics(values=values)
