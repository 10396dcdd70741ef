"""SweepSettings: everything about a sweep except the search space, validated when built."""

from __future__ import annotations

import dataclasses
import math
import numbers
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from lightning_ecopt._checks import as_bool
from lightning_ecopt.exceptions import EcoptConfigError
from lightning_ecopt.sweeper.objectives import (
    ENERGY_SOURCE_KEY,
    Objective,
    OutcomeConstraint,
    ax_metric_names,
    parse_constraint,
)
from lightning_ecopt.sweeper.spelling import in_hydra, setting, shown
from lightning_ecopt.sweeper.timeout import MAX_TIMEOUT_S, check_timeout

__all__ = ["ACQUISITIONS", "SweepSettings", "default_n_initial_trials", "smallest_model_budget"]

ACQUISITIONS: tuple[str, ...] = ("qNEHVI", "qLogNEHVI", "EHVI")
"""The allowed acquisition functions: BoTorch's qNEHVI (the ECOpt paper's), its log variant, and analytic EHVI (one
trial at a time, no constraint on other metrics: :mod:`lightning_ecopt.sweeper.analytic`)."""


def default_n_initial_trials(n_trials: int, n_parameters: int) -> int:
    """The default number of Sobol trials before qNEHVI takes over.

    One fifth of the budget, as in the ECOpt paper (40 Sobol trials of 200), but at least two per swept parameter (a
    GP with one length scale per parameter needs a few points per dimension before its proposals beat quasi-random
    ones), as long as that leaves the model half of the budget: the per-parameter floor is capped at
    ``max(n_trials // 2, 5)``. Without that cap a sweep of 25 parameters and 40 trials was all Sobol (no model
    proposal at all) and reached less hypervolume than with 20 Sobol trials on every seed measured (a synthetic
    problem, docs/bench-optimizer.md, "Many parameters"). Ax's legacy dispatch (``calculate_num_initialization_trials``)
    caps the per-parameter term harder, at a fifth of the budget, with a floor of 5; its current ``Client`` starts
    with 5 whatever the dimension. Never more than the budget: with a budget of 5 or fewer the whole sweep may be
    Sobol, too few points to fit a model on.

    Args:
        n_trials: The total budget.
        n_parameters: The number of swept parameters.

    Returns:
        ``min(n_trials, max(n_trials // 5, min(2 * n_parameters, max(n_trials // 2, 5)), 1))``.

    Example::

        >>> default_n_initial_trials(200, 4), default_n_initial_trials(12, 3), default_n_initial_trials(4, 3)
        (40, 6, 4)
        >>> default_n_initial_trials(40, 25)  # half the budget, not 50 (all 40 trials Sobol)
        20
    """
    per_parameter = min(2 * n_parameters, max(n_trials // 2, 5))
    return min(n_trials, max(n_trials // 5, per_parameter, 1))


def smallest_model_budget(n_parameters: int, n_initial_trials: int | None) -> int:
    """The smallest ``n_trials`` with which a model proposes at least one trial (the Sobol trials fewer than it).

    Args:
        n_parameters: The number of swept parameters.
        n_initial_trials: The Sobol count given (or kept by a saved sweep); ``None`` for the default, which grows
            with the budget (:func:`default_n_initial_trials`).

    Returns:
        ``n_initial_trials + 1`` when given; otherwise the smallest budget the default leaves a model trial in.

    Example::

        >>> smallest_model_budget(3, 8), smallest_model_budget(2, None), smallest_model_budget(30, None)
        (9, 5, 6)
    """
    if n_initial_trials is not None:
        return n_initial_trials + 1
    n_trials = 1
    while default_n_initial_trials(n_trials, n_parameters) >= n_trials:
        n_trials += 1
    return n_trials


def _is_int(value: Any) -> bool:
    """An integer, numpy's too (``np.int64(10)``: ``numbers.Integral``), but not a bool."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_real(value: Any) -> bool:
    """A real number, numpy's too (``np.float32(0.5)``: ``numbers.Real``), but not a bool."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


@dataclass(init=False)
class SweepSettings:
    """Objectives, budget and strategy of a sweep; validated and normalised when built.

    The constructor takes lists, strings and path-likes where the attributes hold tuples, parsed constraints and an
    absolute :class:`~pathlib.Path`.

    Args:
        objectives: The objectives, in order (see :func:`~lightning_ecopt.sweeper.objectives.parse_objectives`).
        n_trials: Total number of trials, Sobol ones included.
        n_initial_trials: Sobol trials before qNEHVI; ``None`` for :func:`default_n_initial_trials` (resolve it with
            :meth:`resolved_n_initial_trials`, which needs the number of swept parameters).
        acquisition: ``"qNEHVI"`` (the paper's), ``"qLogNEHVI"``, or ``"EHVI"`` (analytic, in closed form: for
            ``max_batch_size=1`` in multi-objective sweeps without constraints on other metrics).
        seed: Seed of the Sobol sequence and of the model fitting; ``None`` for a random one (recorded in the
            provenance as ``sobol_seed``: a sweep given it proposes the same trials). From -2**63 to
            2**64 - 1; a seed outside ``[0, 2**32)`` seeds the Sobol sequence with 32 bits derived from all of its own
            (torch's Sobol scrambling keeps 32 bits of a seed).
        max_batch_size: Trials proposed jointly (one q-batch) and launched together.
        max_failure_rate: The sweep stops once more than this fraction of the trials this run evaluated failed.
        reference_point: The worst acceptable value per objective (Ax's objective thresholds); ``None`` (or ``{}``)
            to infer it from the observed front once the Sobol trials are in.
        outcome_constraints: Bounds on any returned metric (objectives and tracking metrics alike); strings such as
            ``"energy/train_j <= 5000"`` are parsed.
        storage: The file the Ax experiment is saved to as JSON after every batch (``optimization_results.yaml`` is
            written beside it; ``~`` is expanded, and a relative path made absolute when the settings are built, so a
            task that changes the working directory does not move it); ``None`` for no file: the experiment is then
            kept in memory, so calling :meth:`~lightning_ecopt.sweeper.loop.ParetoSweep.run` again on the same sweep
            resumes it (after Ctrl-C, a failure-rate stop, or a raised ``n_trials``), and a new process starts over.
        allow_mixed_energy_sources: Accept trials whose energy figures come from different sources (measured and
            estimated, Zeus over other counters: ``zeus/rapl`` beside ``zeus/nvml+rapl``, two meters: ``measured:
            ipmi/bmc`` beside Zeus's, or two estimate models); by default the sweep refuses to compare them.
        retry_failed: On a resume (a rerun of a stored sweep, or :meth:`~lightning_ecopt.sweeper.loop.ParetoSweep.run`
            again on the same sweep), evaluate again, first, every configuration whose latest trial failed, whatever
            the reason (after fixing the task, say); each retry is a new trial counting toward ``n_trials``, and the
            failed trials stay in the record. ``False``: a failed configuration is never evaluated again (a repeat is
            answered with its stored failure). A choice of the run, not part of the sweep: it may change between runs.
        parallel_trials: The trials of one batch run at the same time on one machine (a parallel local launcher
            such as joblib): measured trials of such batches are tagged ``shared_counters`` (not one that a lost batch
            ran again alone).
        trial_timeout_s: Per-trial time limit in seconds: a trial still running then is interrupted and fails with
            the reason ``timed out`` (see :mod:`lightning_ecopt.sweeper.timeout` for how, and its limits); ``None``
            for no limit.
        enqueue_trials: Configurations to evaluate first, in order (e.g. the model's current hyperparameters), each
            ``{name: value}`` for every swept parameter (checked against the search space by the sweep, before its
            first trial). They count toward ``n_trials`` and toward the initial trials, as Ax counts trials attached
            to an experiment and Optuna its enqueued trials; one already evaluated is not run again (a failed one
            is, with ``retry_failed``). ``None``: none.

    Raises:
        EcoptConfigError: A value is out of range; the message names it and the fix.

    Example::

        >>> from lightning_ecopt.sweeper.objectives import parse_objectives
        >>> objectives = parse_objectives({"acc": "maximize", "energy/test_j": "minimize"}, None)
        >>> settings = SweepSettings(objectives, n_trials=30, outcome_constraints=("energy/test_j <= 500",))
        >>> settings.ax_objective(), settings.ax_outcome_constraints()
        ('m__acc, -energy__test_j', ['energy__test_j <= 500.0'])
    """

    objectives: tuple[Objective, ...]
    n_trials: int = 20
    n_initial_trials: int | None = None
    acquisition: Literal["qNEHVI", "qLogNEHVI", "EHVI"] = "qNEHVI"
    seed: int | None = None
    max_batch_size: int = 1
    max_failure_rate: float = 0.5
    reference_point: dict[str, float] | None = None
    outcome_constraints: tuple[OutcomeConstraint, ...] = ()
    storage: Path | None = None
    allow_mixed_energy_sources: bool = False
    retry_failed: bool = False
    parallel_trials: bool = False
    trial_timeout_s: float | None = None
    enqueue_trials: tuple[Mapping[str, Any], ...] = ()
    _ax_names: dict[str, str] = field(init=False, repr=False, compare=False)

    def __init__(
        self,
        objectives: Sequence[Objective],
        n_trials: int = 20,
        n_initial_trials: int | None = None,
        acquisition: Literal["qNEHVI", "qLogNEHVI", "EHVI"] = "qNEHVI",
        seed: int | None = None,
        max_batch_size: int = 1,
        max_failure_rate: float = 0.5,
        reference_point: Mapping[str, float] | None = None,
        outcome_constraints: Sequence[str | OutcomeConstraint] | str | OutcomeConstraint | None = (),
        storage: str | os.PathLike[str] | None = None,
        allow_mixed_energy_sources: bool = False,
        retry_failed: bool = False,
        parallel_trials: bool = False,
        trial_timeout_s: float | None = None,
        enqueue_trials: Sequence[Mapping[str, Any]] | None = (),
    ) -> None:
        # Stored as given, then checked and normalised (tuples, parsed constraints, a Path) by __post_init__.
        self.objectives = objectives  # type: ignore[assignment]
        self.n_trials = n_trials
        self.n_initial_trials = n_initial_trials
        self.acquisition = acquisition
        self.seed = seed
        self.max_batch_size = max_batch_size
        self.max_failure_rate = max_failure_rate
        self.reference_point = reference_point  # type: ignore[assignment]
        self.outcome_constraints = outcome_constraints  # type: ignore[assignment]
        self.storage = storage  # type: ignore[assignment]
        self.allow_mixed_energy_sources = allow_mixed_energy_sources
        self.retry_failed = retry_failed
        self.parallel_trials = parallel_trials
        self.trial_timeout_s = trial_timeout_s
        self.enqueue_trials = enqueue_trials  # type: ignore[assignment]
        self.__post_init__()

    def __post_init__(self) -> None:
        self._check_objectives()
        self._check_budget()
        self._check_strategy()
        if isinstance(self.reference_point, Mapping) and not self.reference_point:
            self.reference_point = None  # {} (the Hydra config's default): none given, inferred
        self._check_single_objective()
        self._check_reference_point()
        self._check_constraints()
        if self.acquisition == "EHVI":
            self._check_ehvi()
        self._check_energy_names()
        self._check_storage()
        for name in ("allow_mixed_energy_sources", "retry_failed", "parallel_trials"):
            flag = as_bool(getattr(self, name))
            if flag is None:
                raise EcoptConfigError(
                    f"{setting(f'{name}={shown(getattr(self, name))}')}: expected {shown(True)} or {shown(False)}."
                )
            setattr(self, name, flag)
        try:
            self.trial_timeout_s = check_timeout(self.trial_timeout_s)
        except ValueError:
            raise EcoptConfigError(
                f"{setting(f'trial_timeout_s={shown(self.trial_timeout_s)}')}: expected seconds > 0 (e.g. 3600; at "
                f"most {MAX_TIMEOUT_S:.0e}), or {shown(None)} for no per-trial time limit."
            ) from None
        self._check_enqueue_trials()
        self._ax_names = ax_metric_names(self.required_metrics)

    # -- validation -------------------------------------------------------------------------------------------------

    def _check_objectives(self) -> None:
        objectives = tuple(self.objectives) if isinstance(self.objectives, Sequence) else None
        if not objectives or not all(isinstance(o, Objective) for o in objectives):
            raise EcoptConfigError(
                f"SweepSettings(objectives={self.objectives!r}): expected at least one Objective; build them with "
                f"parse_objectives({{'test/acc': 'maximize', 'energy/test_samples_per_j': 'maximize'}}, None)."
            )
        names = [o.name for o in objectives]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise EcoptConfigError(
                f"{setting('objectives')}: the metric {duplicates[0]!r} is an objective twice; list it once."
            )
        self.objectives = objectives

    def _check_storage(self) -> None:
        if self.storage is None:
            return
        if not isinstance(self.storage, str | os.PathLike):
            raise EcoptConfigError(
                f"{setting(f'storage={shown(self.storage)}')}: expected a file path or {shown(None)}; e.g. "
                f"'ax_experiment.json'."
            )
        written = os.fspath(self.storage)
        if isinstance(written, str) and (not written or written.endswith(("/", os.sep))):
            # Path() reads "sweep/" as "sweep" and "" as ".": the experiment would go to a file named after the
            # folder meant, its results, views and lock into the folder above it.
            if not written:
                raise EcoptConfigError(
                    f"{setting(f'storage={shown(written)}')}: is empty; give the file the Ax experiment is saved to, "
                    f"e.g. 'ax_experiment.json', or {shown(None)} for no file."
                )
            example = f"{written.rstrip('/' + os.sep) or '/'}/ax_experiment.json".replace("//", "/")
            raise EcoptConfigError(
                f"{setting(f'storage={shown(written)}')}: names a folder (it ends with {written[-1]!r}); storage is "
                f"the file the Ax experiment is saved to: give a file in that folder, e.g. {example!r}."
            )
        storage = Path(self.storage).expanduser()  # "~/runs/ax.json" is the home's, not a folder named "~"
        try:
            if "\x00" in str(storage):  # is_dir() says False; the storage check's mkdir fails with a bare ValueError
                raise ValueError("a path cannot hold the NUL character '\\x00'")
            is_dir = storage.is_dir()
        except (OSError, ValueError) as err:  # a name past the file system's limit: OSError (ENAMETOOLONG)
            reason = err.strerror if isinstance(err, OSError) and err.strerror else str(err)
            written = str(self.storage) if isinstance(self.storage, os.PathLike) else self.storage
            raise EcoptConfigError(
                f"{setting(f'storage={shown(written)}')}: not a usable file path ({reason}); give the file the Ax "
                f"experiment is saved to, e.g. 'ax_experiment.json'."
            ) from None
        if is_dir:
            raise EcoptConfigError(
                f"{setting(f'storage={str(storage)!r}')}: is a directory; storage is the file the Ax experiment is "
                f"saved to: give a file in it, e.g. {str(storage / 'ax_experiment.json')!r}."
            )
        # From the working directory of now: a task that changes it (os.chdir) must not move the sweep's later saves.
        self.storage = storage.absolute()

    def _check_budget(self) -> None:
        if not _is_int(self.n_trials) or self.n_trials < 1:
            raise EcoptConfigError(f"{setting(f'n_trials={shown(self.n_trials)}')}: expected an integer >= 1.")
        self.n_trials = int(self.n_trials)  # numpy's as Python's: saved as JSON, compared on resume
        if self.n_initial_trials is not None:
            if not _is_int(self.n_initial_trials) or self.n_initial_trials < 1:
                raise EcoptConfigError(
                    f"{setting(f'n_initial_trials={shown(self.n_initial_trials)}')}: expected an integer >= 1, or "
                    f"{shown(None)} for the default (n_trials // 5, at least 2 per swept parameter up to half the "
                    "budget)."
                )
            self.n_initial_trials = int(self.n_initial_trials)  # numpy's as Python's: saved as JSON
            if self.n_initial_trials > self.n_trials:
                raise EcoptConfigError(
                    f"{setting(f'n_initial_trials={self.n_initial_trials}', f'n_trials={self.n_trials}')}: the Sobol "
                    f"trials are part of the budget; lower n_initial_trials to at most {self.n_trials} or raise "
                    f"n_trials."
                )

    def _check_enqueue_trials(self) -> None:
        if self.enqueue_trials is None:  # the Hydra config's default (null): none
            self.enqueue_trials = ()
        trials = self.enqueue_trials
        example = "[{'model.lr': 0.01, 'model.width': 32}]"
        if isinstance(trials, str | bytes | Mapping) or not isinstance(trials, Sequence):
            one = f"; one configuration goes in a list too: [{trials!r}]" if isinstance(trials, Mapping) else ""
            raise EcoptConfigError(
                f"{setting(f'enqueue_trials={shown(trials)}')}: expected a list of configurations, e.g. {example}{one}."
            )
        for i, trial in enumerate(trials):
            if not isinstance(trial, Mapping) or not all(isinstance(key, str) for key in trial):
                raise EcoptConfigError(
                    f"{setting(f'enqueue_trials[{i}]={shown(trial)}')}: expected {{parameter: value}} for every swept "
                    f"parameter, e.g. {example}."
                )
        if len(trials) > self.n_trials:
            raise EcoptConfigError(
                f"{setting(f'enqueue_trials=<{len(trials)} configurations>', f'n_trials={self.n_trials}')}: the "
                f"enqueued trials are part of the budget; raise n_trials to at least {len(trials)} or enqueue fewer."
            )
        self.enqueue_trials = tuple(dict(trial) for trial in trials)

    def _check_strategy(self) -> None:
        allowed = {a.lower(): a for a in ACQUISITIONS}
        if not isinstance(self.acquisition, str) or self.acquisition.lower() not in allowed:
            raise EcoptConfigError(
                f"{setting(f'acquisition={shown(self.acquisition)}')}: unknown acquisition function; choose from "
                f"{', '.join(repr(a) for a in ACQUISITIONS)}."
            )
        self.acquisition = allowed[self.acquisition.lower()]  # type: ignore[assignment]
        if self.seed is not None and not _is_int(self.seed):
            raise EcoptConfigError(
                f"{setting(f'seed={shown(self.seed)}')}: expected an integer, or {shown(None)} for a random seed."
            )
        if self.seed is not None:
            self.seed = int(self.seed)
        if self.seed is not None and not -(2**63) <= self.seed < 2**64:
            # Ax hands it to torch's Sobol engine, which fails on it when the first trial is asked for.
            raise EcoptConfigError(
                f"{setting(f'seed={self.seed!r}')}: out of the range torch seeds take (-2**63 to 2**64 - 1); "
                f"use a smaller integer, e.g. 0, or {shown(None)} for a random seed."
            )
        if not _is_int(self.max_batch_size) or self.max_batch_size < 1:
            raise EcoptConfigError(
                f"{setting(f'max_batch_size={shown(self.max_batch_size)}')}: expected an integer >= 1 (trials per "
                f"launcher call)."
            )
        self.max_batch_size = int(self.max_batch_size)
        rate = self.max_failure_rate
        if not _is_real(rate) or not 0.0 <= rate <= 1.0:
            raise EcoptConfigError(
                f"{setting(f'max_failure_rate={shown(rate)}')}: expected a number between 0 and 1 (0 stops at the "
                f"first failure, 1 never stops on failures)."
            )
        self.max_failure_rate = float(rate)

    _SINGLE_OBJECTIVE_PROPOSER = "qLogNEI (Ax's single-objective default)"

    @property
    def proposer(self) -> str:
        """What proposes the trials after the Sobol ones: ``acquisition``, or with one objective Ax's own choice."""
        return self.acquisition if len(self.objectives) > 1 else self._SINGLE_OBJECTIVE_PROPOSER

    def _check_single_objective(self) -> None:
        """Refuse what only a front of two or more objectives takes: an acquisition function, a reference point."""
        if len(self.objectives) != 1:
            return
        which = (
            f"this sweep has one objective ({self.objectives[0].name!r}), which Ax optimises with its "
            f"single-objective default (qLogNEI)"
        )
        if self.acquisition != "qNEHVI":  # the default: not chosen
            raise EcoptConfigError(
                f"{setting(f'acquisition={self.acquisition!r}')}: {self.acquisition} is a multi-objective acquisition "
                f"function and {which}; remove acquisition, or add an objective."
            )
        if self.reference_point is not None:
            raise EcoptConfigError(
                f"{setting(f'reference_point={self.reference_point!r}')}: a reference point bounds the front of two "
                f"or more objectives, and this sweep has one ({self.objectives[0].name!r}); remove reference_point, "
                f"or add an objective."
            )

    def _check_ehvi(self) -> None:
        """Analytic EHVI proposes one trial at a time, with no other constraint (two objectives: checked before)."""
        fix = f"or use {setting('acquisition=' + repr('qNEHVI'))}, which takes all of these"
        if self.max_batch_size != 1:
            raise EcoptConfigError(
                f"{setting('acquisition=' + repr('EHVI'), f'max_batch_size={self.max_batch_size}')}: analytic EHVI "
                f"proposes one trial at a time; set {setting('max_batch_size=1')}, {fix}."
            )
        others = sorted({c.metric for c in self.outcome_constraints} - set(self.objective_names))
        if others:
            raise EcoptConfigError(
                f"{setting('acquisition=' + repr('EHVI'))}: analytic EHVI takes no constraint on a metric that is not "
                f"an objective ({', '.join(map(repr, others))}); drop those constraints, {fix}."
            )

    def _check_reference_point(self) -> None:
        if self.reference_point is None:
            return
        if not isinstance(self.reference_point, Mapping):
            raise EcoptConfigError(_reference_point_not_a_mapping(self.reference_point, self.objective_names))
        names = self.objective_names
        point: dict[str, float] = {}
        for metric, value in self.reference_point.items():
            if metric not in names:
                raise EcoptConfigError(
                    f"{setting(f'reference_point={dict(self.reference_point)!r}')}: {metric!r} is not an objective; "
                    f"the reference point takes objectives only: {list(names)!r}."
                )
            number = float(value) if _is_real(value) else None
            if number is None or not math.isfinite(number):
                raise EcoptConfigError(
                    f"{setting(f'reference_point[{metric!r}]={shown(value)}')}: expected a finite number, the worst "
                    f"acceptable value of that objective."
                )
            point[metric] = number
        self.reference_point = point

    def _check_energy_names(self) -> None:
        """Refuse a misspelt ``energy/...`` objective or constrained metric now, not after a sweep of failures."""
        from lightning_ecopt.energy.figures import unknown_energy_metric

        for metric in [*self.objective_names, *self.constrained_metrics]:
            if metric == ENERGY_SOURCE_KEY:
                raise EcoptConfigError(
                    f"{setting()}: {metric!r} is the label of where the energy figures come from (text such as "
                    f"'measured: zeus/nvml'), not a number to optimise or bound; use a figure such as "
                    f"'energy/test_j' or 'energy/test_samples_per_j' in objectives or outcome_constraints."
                )
            if (why := unknown_energy_metric(metric)) is not None:
                raise EcoptConfigError(
                    f"{setting()}: {why} Fix the name in {setting('objectives')} or {setting('outcome_constraints')}."
                )

    def _check_constraints(self) -> None:
        if self.outcome_constraints is None:
            self.outcome_constraints = ()  # None, from Python: no constraint
        if isinstance(self.outcome_constraints, str | OutcomeConstraint):
            self.outcome_constraints = (self.outcome_constraints,)
        if isinstance(self.outcome_constraints, Iterable) and not isinstance(
            self.outcome_constraints, Mapping | Sequence | bytes
        ):
            self.outcome_constraints = tuple(self.outcome_constraints)  # a set, a generator
        if isinstance(self.outcome_constraints, Mapping) or not isinstance(self.outcome_constraints, Sequence):
            raise EcoptConfigError(
                f"{setting(f'outcome_constraints={shown(self.outcome_constraints)}')}: expected a list of bounds, the "
                f"metric first, e.g. ['energy/train_j <= 5000', 'test/acc >= 0.9']."
            )
        parsed = []
        for item in self.outcome_constraints:
            if isinstance(item, OutcomeConstraint):
                parsed.append(item)
            else:
                parsed.append(parse_constraint(item))
        self._check_bounds_agree([c for c in parsed if c.metric not in self.objective_names])
        thresholds = [c.metric for c in parsed if c.metric in self.objective_names]
        if thresholds and len(self.objectives) == 1:
            raise EcoptConfigError(
                f"{setting()}: the outcome constraint on {thresholds[0]!r} bounds the only objective; Ax takes "
                f"objective thresholds only with two or more objectives: drop the constraint or add an objective."
            )
        for metric in thresholds:
            if thresholds.count(metric) > 1:
                raise EcoptConfigError(
                    f"{setting('outcome_constraints')}: the objective {metric!r} is bounded twice; an objective "
                    f"takes one threshold (its reference point value)."
                )
            if self.reference_point and metric in self.reference_point:
                raise EcoptConfigError(
                    f"{setting()}: the objective {metric!r} has both a reference point "
                    f"({self.reference_point[metric]!r}) and an outcome constraint; both set its threshold, so give "
                    f"only one."
                )
            objective = self.objectives[self.objective_names.index(metric)]
            constraint = next(c for c in parsed if c.metric == metric)
            expected: Literal["<=", ">="] = "<=" if objective.minimize else ">="
            if constraint.op != expected:
                fixed = dataclasses.replace(constraint, op=expected)
                raise EcoptConfigError(
                    f"{setting()}: the outcome constraint '{constraint}' bounds the objective {metric!r} from the "
                    f"wrong side ({objective.direction}); write '{fixed}' (the worst acceptable value)."
                )
        self.outcome_constraints = tuple(parsed)

    @staticmethod
    def _check_bounds_agree(constraints: Sequence[OutcomeConstraint]) -> None:
        """One bound per side of a metric, the lower one below the upper one (Ax refuses the rest with a traceback)."""
        sides: dict[str, dict[str, OutcomeConstraint]] = {}
        for constraint in constraints:
            seen = sides.setdefault(constraint.metric, {})
            if constraint.op in seen:
                pick = min if constraint.op == "<=" else max
                tighter = pick((seen[constraint.op], constraint), key=lambda c: c.bound)
                raise EcoptConfigError(
                    f"{setting('outcome_constraints')}: {constraint.metric!r} is bounded twice from one side "
                    f"('{seen[constraint.op]}' and '{constraint}'); keep one, e.g. the tighter '{tighter}'."
                )
            seen[constraint.op] = constraint
            if len(seen) == 2 and seen[">="].bound >= seen["<="].bound:
                raise EcoptConfigError(
                    f"{setting('outcome_constraints')}: no value of {constraint.metric!r} meets both "
                    f"'{seen['>=']}' and '{seen['<=']}'; the lower bound must be below the upper bound."
                )

    # -- derived values ---------------------------------------------------------------------------------------------

    @property
    def objective_names(self) -> tuple[str, ...]:
        """The objectives' metric names, in order."""
        return tuple(o.name for o in self.objectives)

    @property
    def constrained_metrics(self) -> tuple[str, ...]:
        """Metrics named by outcome constraints that are not objectives (the task must return them)."""
        names = self.objective_names
        seen: dict[str, None] = {}
        for constraint in self.outcome_constraints:
            if constraint.metric not in names:
                seen[constraint.metric] = None
        return tuple(seen)

    @property
    def required_metrics(self) -> tuple[str, ...]:
        """Every metric the task must return: the objectives, then the constrained metrics."""
        return (*self.objective_names, *self.constrained_metrics)

    @property
    def ax_names(self) -> dict[str, str]:
        """``{metric: ax_name}`` for every required metric (see :func:`~.objectives.ax_metric_name`)."""
        return dict(self._ax_names)

    def resolved_n_initial_trials(self, n_parameters: int) -> int:
        """``n_initial_trials``, or its default for a space of ``n_parameters`` swept parameters.

        Args:
            n_parameters: The number of swept parameters.

        Returns:
            The number of Sobol trials.
        """
        if self.n_initial_trials is not None:
            return self.n_initial_trials
        return default_n_initial_trials(self.n_trials, n_parameters)

    def ax_objective(self) -> str:
        """The ``objective`` string for ``Client.configure_optimization``, on Ax metric names."""
        return ", ".join(objective.to_ax() for objective in self.objectives)

    def ax_outcome_constraints(self, reference_point: Mapping[str, float] | None = None) -> list[str]:
        """The ``outcome_constraints`` for ``Client.configure_optimization``, on Ax metric names.

        Objective thresholds (the reference point) are constraints on objective metrics in Ax's multi-objective
        mode: they come from the outcome constraints on objectives, then from ``reference_point`` (the argument,
        e.g. an inferred point, or else :attr:`reference_point`).

        Args:
            reference_point: ``{objective: worst acceptable value}`` to use instead of :attr:`reference_point`.

        Returns:
            Constraint strings such as ``["energy__train_j <= 5000.0", "test__acc >= 0.5"]``.
        """
        point = dict(self.reference_point or {}) if reference_point is None else dict(reference_point)
        strings = [c.to_ax() for c in self.outcome_constraints]
        bounded = {c.metric for c in self.outcome_constraints}
        for objective in self.objectives:
            if objective.name in point and objective.name not in bounded:
                op: Literal[">=", "<="] = "<=" if objective.minimize else ">="
                strings.append(OutcomeConstraint(objective.name, op, float(point[objective.name])).to_ax())
        return strings

    def metric_name_from_ax(self, ax_name: str) -> str:
        """The metric name behind an Ax metric name (the inverse of :attr:`ax_names`; unknown names unchanged)."""
        for name, mapped in self._ax_names.items():
            if mapped == ax_name:
                return name
        return ax_name


def _reference_point_not_a_mapping(point: Any, names: Sequence[str]) -> str:
    """The message for a reference point given as something other than a mapping, a list of values above all.

    A list in objective order (BoTorch's ``ref_point``) is written out as the mapping it means; a list of another
    length is counted against the objectives.
    """
    values = list(point) if isinstance(point, Sequence) and not isinstance(point, str | bytes) else None
    given = setting(f"reference_point={shown(point)}")
    if values is not None and len(values) != len(names):
        return (
            f"{given}: {len(values)} value{'s' if len(values) != 1 else ''} for {len(names)} objectives "
            f"({', '.join(map(repr, names))}); give a mapping {{objective: worst acceptable value}} naming each "
            f"objective whose bound you know (the others are inferred)."
        )
    if values is None:  # a number or a string: no values to place, only the shape to show
        example = ", ".join(f"{name}: ..." if in_hydra() else f"{name!r}: ..." for name in names)
        return (
            f"{given}: expected a mapping {{objective: worst acceptable value}}, not a {type(point).__name__}; "
            f"e.g. {{{example}}}, naming each objective whose bound you know (the others are inferred)."
        )
    if in_hydra():  # YAML: bare keys
        example = ", ".join(f"{name}: {value}" for name, value in zip(names, values, strict=True))
    else:
        example = ", ".join(f"{name!r}: {value!r}" for name, value in zip(names, values, strict=True))
    return (
        f"{given}: expected a mapping {{objective: worst acceptable value}}, not a {type(point).__name__}; in the "
        f"objectives' order that is {{{example}}}."
    )
