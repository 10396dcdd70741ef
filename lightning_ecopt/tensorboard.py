"""Frontier views in TensorBoard, written by the sweep process into ``<sweep dir>/tensorboard/`` after every batch.

:class:`FrontierBoard` turns each :class:`~lightning_ecopt.sweeper.results.SweepResult` the loop produces into
TensorBoard events (each trial's own Lightning logs stay in its job dir). The layout, as runs under ``log_dir``:

- ``.`` (the root): the HParams experiment: the swept parameters, ``status`` (``ecopt/status`` where a parameter is
  named ``status``), and the metrics as columns, objectives first (an energy figure's column headed with its unit and
  whether its joules are measured or estimated, ``energy/test_samples_per_j [samples/J, estimated (cpu-time)]``, as the
  dashboard shows no column's description; its tag stays the metric's; written again where later trials change the
  label, a measured trial among estimated ones making it ``mixed``). A parameter's column has one type, from the search
  space where the board has it (a choice of numbers and strings is a string column, each value written as text), so
  TensorBoard can sort and filter on it; its domain (a choice's values, an interval's bounds) and whether it differs
  (the swept parameters do, the fixed overrides do not), which the dashboard reads to pick the five columns it shows at
  first and to give a choice checkboxes as its filter. Written once, when the first trial completes (its metrics name
  the columns: TensorBoard reads an experiment's columns once, so a metric first returned by a later trial is in that
  trial's scalars but not a column; the board says so in the log). A resumed sweep whose stored experiment lacks a
  column it would write (``frontier/feasible`` in one written before that column existed, a later trial's metric) writes
  it again in place of the stored one (TensorBoard shows a run's first experiment summary only), and the earlier trials
  their ``frontier/feasible``.
- ``trials/<index>``: one HParams session per finished trial: its parameters and ``status`` (``completed``, ``failed``,
  ``reused``) as hparams, every metric a completed trial returned as a scalar at step = trial index (a failed trial's
  partial metrics stay out of the table: they are in ``trials.csv``; one named as a tag the board writes itself,
  ``frontier/on_front`` or ``frontier/feasible``, as ``task/<name>``), the session's end status (failed trials are
  marked failed), and ``frontier/on_front`` (1 on the Pareto frontier, else 0; a failed trial's 0 too, as TensorBoard's
  filter on a column keeps the rows without a value), written again whenever the trial joins or leaves the frontier
  (each time at a later step), so the HParams table can be filtered on it. With outcome constraints, also
  ``frontier/feasible`` (1 when the completed trial meets every one, else 0: a trial that breaks one is on no frontier,
  however good its objectives), a column of the table as well.
- ``frontier``: at step = trials finished, after every batch: the image ``frontier/pareto_front`` (drawn by
  :func:`lightning_ecopt.views.frontier_figure`), the scalars ``frontier/hypervolume`` (with one objective, which has
  none, ``frontier/best_value``: its best feasible value), ``frontier/pareto_size``,
  ``trials/completed`` and ``trials/failed``, and the text ``frontier/configurations`` (the frontier's configurations as
  a table; the Text dashboard names it ``frontier/configurations/text_summary``). ``frontier/hypervolume`` starts at the
  batch that fixes the reference point: none while it is provisional (inferred from trials that met no outcome
  constraint, and replaced once trials meet them). A sweep that ends early (a discrete space exhausted) and infers its
  reference point at the end updates its last step: the hypervolume is added there, and the picture and table are
  written once more at that step (the slider's last picture at that step is the final one).

What was written is remembered in ``log_dir/ecopt_board.json``, so a resumed sweep (a new process) adds only what
changed: rerunning a finished sweep writes nothing. Open it with ``tensorboard --logdir <sweep dir>/tensorboard``
(or ``--logdir <sweep dir>`` to see the trials' training curves too; see ``docs/frontier.md`` for the HParams
caveat there). Writing is cheap (one figure and a few
small event files per batch) and never stops the sweep: any error is logged and the sweep goes on. matplotlib,
torch and TensorBoard's protos are imported on the first update, not with this module.

Example::

    board = FrontierBoard("multirun/2026-01-01/12-00-00/tensorboard")
    board.update(result)  # after every batch; ParetoSweep does this when it has a storage file
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import math
import os
import socket
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from lightning_ecopt import views
from lightning_ecopt.sweeper.results import meets, process_exists, replace_file

if TYPE_CHECKING:
    from collections.abc import Sequence

    from lightning_ecopt.sweeper.objectives import OutcomeConstraint
    from lightning_ecopt.sweeper.results import SweepResult, TrialRecord
    from lightning_ecopt.sweeper.space import SearchSpace

__all__ = [
    "BEST_VALUE_TAG",
    "FEASIBLE_TAG",
    "FRONTIER_RUN",
    "ON_FRONT_TAG",
    "TENSORBOARD_DIRNAME",
    "TRIALS_RUN",
    "FrontierBoard",
    "trial_run_name",
]

log = logging.getLogger(__name__)

TENSORBOARD_DIRNAME = "tensorboard"
"""The folder of the sweep directory that :class:`FrontierBoard` writes to (when the loop creates it)."""

FRONTIER_RUN = "frontier"
"""The run (sub-folder of ``log_dir``) holding the per-batch frontier image, scalars and table."""

TRIALS_RUN = "trials"
"""The folder of ``log_dir`` holding one run (HParams session) per trial."""

ON_FRONT_TAG = "frontier/on_front"
"""The per-trial metric: 1.0 while the trial is on the Pareto frontier, else 0.0."""

FEASIBLE_TAG = "frontier/feasible"
"""The per-trial metric of a sweep with outcome constraints: 1.0 when the trial meets every one, else 0.0."""

BEST_VALUE_TAG = "frontier/best_value"
"""The per-batch scalar of a single-objective sweep, in place of the hypervolume: the objective's best feasible value
(none before a trial met the outcome constraints)."""

STATE_FILENAME = "ecopt_board.json"
"""The file in ``log_dir`` that remembers what was written, so that a resumed sweep does not write it again."""


def trial_run_name(trial_index: int) -> str:
    """The run of one trial's HParams session, relative to ``log_dir``.

    Example:
        >>> trial_run_name(7)
        'trials/0007'
    """
    return f"{TRIALS_RUN}/{trial_index:04d}"


def _metric_tag(name: str) -> str:
    """The tag a trial's metric is written under: its name, or ``task/<name>`` where the board writes one of that name.

    A task that returned ``frontier/on_front`` (or ``frontier/feasible``) had its values and the board's in one tag, and
    the HParams table two columns of that name, both showing the board's.

    Example:
        >>> _metric_tag("test/acc"), _metric_tag("frontier/on_front")
        ('test/acc', 'task/frontier/on_front')
    """
    return f"task/{name}" if name in (ON_FRONT_TAG, FEASIBLE_TAG) else name


def _hparam_value(value: Any) -> bool | float | str:
    """A parameter value as TensorBoard's HParams plugin takes it: bool, number or string."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return float(value)
    item = getattr(value, "item", None)  # numpy scalars
    if callable(item):
        return _hparam_value(item())
    return str(value)


def _kind(value: Any) -> str:
    """The HParams column type of one value: ``"bool"``, ``"float"`` or ``"str"``."""
    hv = _hparam_value(value)
    return "bool" if isinstance(hv, bool) else "float" if isinstance(hv, float) else "str"


def _column_value(value: Any, kind: str | None) -> bool | float | str:
    """``value`` as its column's type: in a string column every value is text.

    TensorBoard compares a column's values with one another to sort and filter it; a number beside a string made it
    fail.
    """
    hv = _hparam_value(value)
    if kind == "str" and not isinstance(hv, str):
        return str(value.item() if callable(getattr(value, "item", None)) else value)
    return hv


def _space_kinds(space: SearchSpace | None) -> dict[str, set[str]]:
    """Each parameter's value types as the search space declares them (a choice's values; an interval is a number)."""
    if space is None:
        return {}
    from lightning_ecopt.sweeper.space import ChoiceParameter

    kinds: dict[str, set[str]] = {}
    for parameter in space.parameters:
        values = parameter.values if isinstance(parameter, ChoiceParameter) else (0.0,)
        kinds[parameter.name] = {_kind(v) for v in values}
    for name, value in space.fixed.items():
        kinds.setdefault(name, set()).add(_kind(value))
    return kinds


def _describe(name: str, result: SweepResult, constraints: Sequence[OutcomeConstraint] = ()) -> str:
    """A metric column's description: unit, direction when it is an objective, energy label when it is an energy figure.

    In the experiment's data (``/data/plugin/hparams/experiment``, a client's to read); TensorBoard's dashboard does not
    show it, so an energy column's header says its label too (:func:`_display_name`).
    """
    for objective in result.objectives:
        if _metric_tag(objective.name) == name:
            label = views.frontier_energy_label(result)
            return f"objective: {views.axis_label(name, objective.minimize, label)}"
    if name == ON_FRONT_TAG:
        return "1 while the trial is on the Pareto frontier, else 0"
    if name == FEASIBLE_TAG:
        return f"1 when the trial meets every outcome constraint ({', '.join(map(str, constraints))}), else 0"
    unit = views.metric_unit(name)
    parts = [f"unit: {unit}"] if unit else []
    if views.is_energy_metric(name):  # measured or estimated, as an objective's column says
        parts.append(views.frontier_energy_label(result))
    return ", ".join(parts)


def _display_name(name: str, label: str) -> str:
    """A metric column's header: its tag, with its unit and energy label when it is an energy figure.

    TensorBoard's HParams dashboard heads a column with the display name and shows no description: an energy column
    says there whether its joules are measured or estimated, as the frontier picture's axis does. The tag (which
    requests and filters name) stays the metric's.

    Example:
        >>> from lightning_ecopt.sweeper.objectives import parse_objectives
        >>> from lightning_ecopt.sweeper.results import SweepResult, TrialRecord
        >>> trial = TrialRecord(0, {}, "completed", metrics={}, energy_source="estimated: cpu-time")
        >>> result = SweepResult(parse_objectives({"test/acc": "maximize"}, None), (trial,), (0,))
        >>> label = views.frontier_energy_label(result)
        >>> _display_name("energy/test_samples_per_j", label), _display_name("test/acc", label)
        ('energy/test_samples_per_j [samples/J, estimated (cpu-time)]', 'test/acc')
    """
    return views.metric_heading(name, label) if views.is_energy_metric(name) else name


def _best_value(result: SweepResult) -> float | None:
    """A single-objective sweep's best feasible value (its frontier's), or ``None``: several objectives, none yet."""
    if len(result.objectives) != 1:
        return None
    name = result.objectives[0].name
    best = [float(t.metrics[name]) for t in result.pareto_trials if name in t.metrics]
    return best[0] if best else None


def _status(trial: TrialRecord) -> str:
    return "reused" if trial.reused_from is not None else trial.status


class FrontierBoard:
    """Write a sweep's frontier views to TensorBoard after every batch (see the module docstring for the layout).

    Args:
        log_dir: The folder to write to, normally ``<sweep dir>/tensorboard``; created on the first update.
        images: Also draw the frontier image after every batch (the costliest part: about 0.1-0.3 s).
        space: The sweep's search space, for the HParams columns' types (``None``: the types of the values the
            trials seen when the experiment is written hold).
        constraints: The sweep's outcome constraints (``settings.outcome_constraints``, or texts such as
            ``"energy/train_j <= 5000"``): trials that break one are drawn apart in the frontier image.

    Raises:
        TypeError: ``log_dir`` is not a path, ``images`` is not a bool, ``space`` is not a ``SearchSpace``, or a
            constraint is neither a text nor an ``OutcomeConstraint``.
        EcoptConfigError: A constraint's text does not parse (see
            :func:`~lightning_ecopt.sweeper.objectives.parse_constraint`).

    Example::

        from lightning_ecopt.tensorboard import FrontierBoard

        board = FrontierBoard(sweep_dir / "tensorboard")
        board.update(result)  # never raises: a failure is logged and the sweep goes on
    """

    def __init__(
        self,
        log_dir: str | Path,
        *,
        images: bool = True,
        space: SearchSpace | None = None,
        constraints: Sequence[OutcomeConstraint | str] | str = (),
    ) -> None:
        if not isinstance(log_dir, str | Path) or not str(log_dir):
            raise TypeError(
                f"FrontierBoard(log_dir={log_dir!r}): expected a folder path, e.g. '<sweep dir>/tensorboard'."
            )
        from lightning_ecopt._checks import checked_flags
        from lightning_ecopt.sweeper.objectives import OutcomeConstraint, parse_constraint
        from lightning_ecopt.sweeper.space import SearchSpace

        # Checked now: each update catches and logs what fails, so a bad one would only lose every view, quietly.
        if space is not None and not isinstance(space, SearchSpace):
            raise TypeError(
                f"FrontierBoard(space={space!r:.80}): expected the sweep's SearchSpace (parse_search_space(...)) or "
                "None."
            )
        items = (constraints,) if isinstance(constraints, str | OutcomeConstraint) else tuple(constraints)
        for item in items:
            if not isinstance(item, str | OutcomeConstraint):
                raise TypeError(
                    f"FrontierBoard(constraints={constraints!r:.80}): expected the sweep's outcome constraints, e.g. "
                    "settings.outcome_constraints or ['energy/train_j <= 5000']."
                )
        self.log_dir = Path(log_dir)
        self.images = checked_flags("FrontierBoard", images=images)[0]
        self.space = space
        self.constraints = tuple(c if isinstance(c, OutcomeConstraint) else parse_constraint(c) for c in items)
        self._sessions: set[int] = set()
        self._on_front: dict[int, bool] = {}
        self._on_front_step: dict[int, int] = {}  # each trial's last frontier/on_front step
        self._types: dict[str, str] = {}  # each parameter's column type, once decided
        self._frontier_step: int | None = None  # the last step of the frontier run
        self._frontier_hv = False  # whether that step has its hypervolume
        self._frontier_text: str | None = None  # the configurations' text of that step, where read back from its files
        self._experiment_written: bool | None = None
        self._columns: set[str] = set()
        # Each metric column's display name, as the experiment TensorBoard shows has it.
        self._headers: dict[str, str] = {}
        self._backfill_feasible = False  # the earlier trials' frontier/feasible, once its column is written again
        self._unlisted: set[str] = set()
        self._last: str | None = None
        self._loaded = False
        self._failures = 0

    def update(self, result: SweepResult) -> bool:
        """Write what changed since the last update; never raises.

        Args:
            result: The sweep's result after a batch.

        Returns:
            ``True`` when the views were written (or nothing had changed), ``False`` when writing failed (the error
            is logged, with its traceback the first time).
        """
        try:
            start = time.perf_counter()
            self.write(result)
            log.debug("ecopt: TensorBoard frontier views written in %.3f s", time.perf_counter() - start)
            return True
        except Exception as exc:  # the sweep must go on whatever happens here
            self._failures += 1
            log.warning(
                "ecopt: could not write the TensorBoard frontier views to %s (%s: %s); the sweep goes on without "
                "them this batch.",
                self.log_dir,
                type(exc).__name__,
                exc,
                exc_info=self._failures == 1,
            )
            return False

    def write(self, result: SweepResult) -> None:
        """Write what changed since the last call; raises on error (:meth:`update` is the safe wrapper).

        Args:
            result: The sweep's result after a batch.
        """
        if not self._loaded:
            self._load_state()
        key = json.dumps(
            [
                result.n_finished,
                [t.trial_index for t in result.trials if t.finished],
                list(result.pareto_indices),
                result.hypervolume,
                None if result.reference_point is None else sorted(result.reference_point.items()),
            ]
        )
        if key == self._last:
            return
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self._decide_types(result)  # the columns' types, for the experiment and the sessions alike
        self._write_experiment(result)
        self._note_unlisted_metrics(result)
        self._write_sessions(result)
        self._write_frontier(result)
        self._last = key
        self._save_state()

    # -- what was written, across processes ---------------------------------------------------------------------------

    def _load_state(self) -> None:
        """Read what an earlier process wrote (a resumed sweep); a missing or unreadable file means nothing.

        Also deletes the event files a process killed mid-write left under their temporary name (see
        :func:`_remove_dead_partials`).
        """
        self._loaded = True
        _remove_dead_partials(self.log_dir)
        path = self.log_dir / STATE_FILENAME
        try:
            state = json.loads(path.read_text(encoding="utf-8"))
            last, on_front, columns = state["last"], state["on_front"], state["columns"]
        except FileNotFoundError:
            self._catch_up_with_the_event_files()
            return
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning(
                "ecopt: ignoring %s (%s); the TensorBoard views read what was written from their event files.",
                path,
                exc,
            )
            self._catch_up_with_the_event_files()
            return
        self._last = last if isinstance(last, str) else None
        self._on_front = {int(k): bool(v) for k, v in dict(on_front).items()}
        self._columns = {str(c) for c in columns}
        # Written since 2026-12-04; a state file from before has none of them (a resume then writes as it did).
        self._on_front_step = {int(k): int(v) for k, v in dict(state.get("on_front_step", {})).items()}
        self._types = {str(k): str(v) for k, v in dict(state.get("types", {})).items()}
        frontier_step = state.get("frontier_step")
        self._frontier_step = frontier_step if isinstance(frontier_step, int) else None
        self._frontier_hv = bool(state.get("frontier_hv", False))
        self._catch_up_with_the_event_files()

    def _catch_up_with_the_event_files(self) -> None:
        """Take the steps the event files hold past the state file's: written by a process killed before its save.

        A process saves the state file after an update's event files; one killed in between (SIGKILL, the OOM killer,
        a node lost) left events the state does not know. The resume (a finished sweep's rerun, a stop before the next
        trial finished) then wrote them again, at the same steps: ``frontier/hypervolume``, the trial counts and a
        trial's ``frontier/on_front`` twice at one step, which TensorBoard draws as a vertical stroke.
        """
        frontier = _last_points(self.log_dir / FRONTIER_RUN)
        counted = frontier.get("trials/completed")
        if counted is not None and (self._frontier_step is None or counted[0] > self._frontier_step):
            step = counted[0]
            self._frontier_step = step
            self._frontier_hv = frontier.get("frontier/hypervolume", (None, None))[0] == step
            # torch's text summary writes its tag with "/text_summary" added.
            text = frontier.get("frontier/configurations/text_summary", frontier.get("frontier/configurations"))
            self._frontier_text = text[1] if text is not None and text[0] == step and isinstance(text[1], str) else None
        trials = self.log_dir / TRIALS_RUN
        for run_dir in trials.iterdir() if trials.is_dir() else ():
            if not run_dir.name.isdigit():
                continue
            index = int(run_dir.name)
            point = _last_points(run_dir).get(ON_FRONT_TAG)
            if point is not None and point[0] > self._on_front_step.get(index, -1):
                self._on_front_step[index] = point[0]
                self._on_front[index] = point[1] == 1.0

    def _save_state(self) -> None:
        path = self.log_dir / STATE_FILENAME
        state = {
            "last": self._last,
            "on_front": self._on_front,
            "columns": sorted(self._columns),
            "on_front_step": self._on_front_step,
            "types": self._types,
            "frontier_step": self._frontier_step,
            "frontier_hv": self._frontier_hv,
        }
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(state), encoding="utf-8")
        replace_file(tmp, path)

    # -- HParams ----------------------------------------------------------------------------------------------------

    def _metric_columns(self, result: SweepResult) -> list[str]:
        """The experiment's metric columns, in order.

        The objectives, ``frontier/on_front``, ``frontier/feasible`` (with outcome constraints), then every other
        metric the completed trials returned, sorted.
        """
        objective_names = [_metric_tag(o.name) for o in result.objectives]
        completed = [t for t in result.trials if t.status == "completed"]
        others = sorted({_metric_tag(m) for t in completed for m in t.metrics} - set(objective_names))
        # A trial that breaks a constraint is off the front like a dominated one: the column tells them apart.
        feasible = [FEASIBLE_TAG] if self.constraints else []
        return [*objective_names, ON_FRONT_TAG, *feasible, *others]

    def _write_experiment(self, result: SweepResult) -> None:
        """The HParams experiment (columns), once: when a trial has completed, unless a run wrote it before.

        A resumed sweep whose stored experiment lacks a column this one writes (``frontier/feasible``, in an
        experiment written before that column existed) has it written again, in place of the stored one:
        TensorBoard reads a run's first experiment summary only, so a second one beside it would be ignored.
        """
        completed = [t for t in result.trials if t.status == "completed"]
        if self._experiment_written is None:  # a resumed sweep: the root run may already have it
            written = sorted(self.log_dir.glob("events.out.tfevents.*"))  # TensorBoard reads them in name order
            self._experiment_written = bool(written)
            if written and completed:
                stored, alone, with_domains = _stored_experiment(written)
                missing = [] if stored is None else [c for c in self._metric_columns(result) if c not in stored]
                # Written before the columns had domains (2026-12-06): the dashboard, which shows five columns at
                # first (those that differ first, then by name), may hide swept parameters behind fixed ones.
                undomained = stored is not None and not with_domains and self.space is not None
                self._headers = dict(stored or {})
                relabelled = self._relabelled(result)
                if (missing or undomained or relabelled) and alone:  # ours, holding the experiment alone: replaced
                    for path in written:
                        path.unlink()
                    self._experiment_written = False
                    # The earlier run wrote no frontier/feasible scalars either: its trials get theirs now.
                    self._backfill_feasible = FEASIBLE_TAG in missing
                    lacked = [f"no column for {', '.join(missing)}"] if missing else []
                    lacked += ["no domains for its parameters"] if undomained else []
                    lacked += [f"energy columns headed {relabelled}"] if relabelled else []
                    log.info(
                        "ecopt: the TensorBoard HParams experiment in %s had %s, which this sweep writes: written "
                        "again with them (a TensorBoard already open shows them once restarted).",
                        self.log_dir,
                        " and ".join(lacked),
                    )
                elif missing:
                    log.info(
                        "ecopt: the TensorBoard HParams experiment in %s has no column for %s, and its event files "
                        "hold more than the experiment, so it is left as it is: they are in the trials' scalars.",
                        self.log_dir,
                        ", ".join(missing),
                    )
        elif self._experiment_written and (relabelled := self._relabelled(result)):
            # The trials' energy sources changed the label (a measured trial among estimated ones, with
            # allow_mixed_energy_sources; another counter): the columns' headers said what no longer holds.
            written = sorted(self.log_dir.glob("events.out.tfevents.*"))
            if _stored_experiment(written)[1]:
                for path in written:
                    path.unlink()
                self._experiment_written = False
                log.info(
                    "ecopt: the TensorBoard HParams experiment in %s headed its energy columns %s, which the trials "
                    "no longer are: written again (a TensorBoard already open shows it once restarted).",
                    self.log_dir,
                    relabelled,
                )
            else:  # not ours alone: left as it is, said once
                label = views.frontier_energy_label(result)
                self._headers = {c: _display_name(c, label) for c in self._headers}
                log.info(
                    "ecopt: the TensorBoard HParams experiment in %s heads its energy columns %s, which the trials "
                    "no longer are, and its event files hold more than the experiment, so it is left as it is: "
                    "trials.csv and the frontier views label them.",
                    self.log_dir,
                    relabelled,
                )
        if self._experiment_written or not completed:
            return
        from tensorboard.plugins.hparams import api_pb2, metadata, plugin_data_pb2

        infos = [self._hparam_info(name, kind, result) for name, kind in sorted(self._types.items())]
        status = api_pb2.HParamInfo(name=self._status_column(), type=api_pb2.DATA_TYPE_STRING)
        status.domain_discrete.extend(["completed", "failed", "reused"])
        infos.append(status)
        columns = self._metric_columns(result)
        label = views.frontier_energy_label(result)
        metrics = [
            api_pb2.MetricInfo(
                name=api_pb2.MetricName(tag=name),
                display_name=_display_name(name, label),
                description=_describe(name, result, self.constraints),
            )
            for name in columns
        ]
        experiment = api_pb2.Experiment(
            name="ecopt sweep",
            description="Trials of an ecopt sweep: parameters, status and every returned metric.",
            hparam_infos=infos,
            metric_infos=metrics,
            time_created_secs=time.time(),
        )
        data = plugin_data_pb2.HParamsPluginData(experiment=experiment)
        with self._writer(self.log_dir) as writer:
            writer.add_summary(self._summary(metadata.EXPERIMENT_TAG, metadata.create_summary_metadata(data)))
        self._experiment_written = True
        self._columns = set(columns)
        self._headers = {m.name.tag: m.display_name for m in metrics}

    def _relabelled(self, result: SweepResult) -> str:
        """How the stored experiment heads an energy column whose label the trials changed (``""``: none such).

        ``"as 'energy/train_j [J, estimated (cpu-time)]'"`` where the completed trials are now measured and
        estimated; ``"without a label"`` for an experiment written before the headers had one.
        """
        if not any(t.status == "completed" for t in result.trials):
            return ""
        label = views.frontier_energy_label(result)
        for tag, header in sorted(self._headers.items()):
            if views.is_energy_metric(tag) and header != _display_name(tag, label):
                return f"as {header!r}" if header != tag else "without a label"
        return ""

    def _hparam_info(self, name: str, kind: str, result: SweepResult) -> Any:
        """One parameter's column as TensorBoard's HParams dashboard reads it: type, domain and whether it differs.

        The dashboard shows the first five columns, those that differ first (then by name), and gives a column with
        a discrete domain (of fewer than ten values) checkboxes as its filter, a bool column none without one. So
        the swept parameters differ, a fixed override does not, a choice (or a bool, or a fixed value) has its
        values as the domain and an interval its bounds.
        """
        from tensorboard.plugins.hparams import api_pb2

        from lightning_ecopt.sweeper.space import ChoiceParameter, RangeParameter

        dtypes = {"bool": api_pb2.DATA_TYPE_BOOL, "float": api_pb2.DATA_TYPE_FLOAT64, "str": api_pb2.DATA_TYPE_STRING}
        info = api_pb2.HParamInfo(name=name, type=dtypes[kind])
        swept = {p.name: p for p in self.space.parameters} if self.space is not None else {}
        fixed = self.space.fixed if self.space is not None else {}
        parameter = swept.get(name)
        if isinstance(parameter, RangeParameter):
            info.domain_interval.min_value = float(parameter.low)
            info.domain_interval.max_value = float(parameter.high)
        elif isinstance(parameter, ChoiceParameter):
            info.domain_discrete.extend([_column_value(v, kind) for v in parameter.values])
        elif parameter is None and name in fixed:
            info.domain_discrete.extend([_column_value(fixed[name], kind)])
        elif kind == "bool":
            info.domain_discrete.extend([True, False])
        # Without the space (or for a key outside it), whether the trials so far disagree on it.
        seen = {repr(_column_value(t.params[name], kind)) for t in result.trials if name in t.params}
        info.differs = parameter is not None or (name not in fixed and len(seen) > 1)
        return info

    def _decide_types(self, result: SweepResult) -> None:
        """Each parameter's column type, from the search space and the trials so far; kept once decided."""
        kinds = _space_kinds(self.space)
        for trial in result.trials:
            for name, value in trial.params.items():
                kinds.setdefault(name, set()).add(_kind(value))
        for name, seen in kinds.items():
            if name not in self._types:
                self._types[name] = next(iter(seen)) if len(seen) == 1 else "str"

    def _status_column(self) -> str:
        """``status``, or ``ecopt/status`` where a swept parameter is named ``status``."""
        return "ecopt/status" if "status" in self._types else "status"

    def _note_unlisted_metrics(self, result: SweepResult) -> None:
        """Say once per metric when a completed trial returns one the HParams table has no column for."""
        if not self._columns:  # no experiment yet, or one written by a version that did not record its columns
            return
        for trial in result.trials:
            if trial.status != "completed":
                continue
            for name in sorted(set(map(_metric_tag, trial.metrics)) - self._columns - self._unlisted):
                self._unlisted.add(name)
                log.info(
                    "ecopt: trial %d returned %r, which the first completed trials did not: TensorBoard's HParams "
                    "table keeps the columns it was given first, so it is in the trial's scalars (and trials.csv) "
                    "but not a column.",
                    trial.trial_index,
                    name,
                )

    def _write_sessions(self, result: SweepResult) -> None:
        """One session per newly finished trial; ``frontier/on_front`` for every trial whose membership changed."""
        from tensorboard.plugins.hparams import api_pb2, metadata, plugin_data_pb2

        pareto = set(result.pareto_indices)
        step = result.n_finished
        # The fixed overrides go in every session: each is a column of the experiment (_space_kinds), empty without.
        fixed = dict(self.space.fixed) if self.space is not None else {}
        for trial in result.trials:
            if not trial.finished:
                continue
            on_front = trial.trial_index in pareto
            run_dir = self.log_dir / trial_run_name(trial.trial_index)
            new = trial.trial_index not in self._sessions and not any(run_dir.glob("events.out.tfevents.*"))
            self._sessions.add(trial.trial_index)
            changed = trial.status == "completed" and self._on_front.get(trial.trial_index) != on_front
            backfill = self._backfill_feasible and not new and trial.status == "completed"
            if not new and not changed and not backfill:
                continue
            with self._writer(run_dir) as writer:
                if backfill:
                    writer.add_scalar(FEASIBLE_TAG, 1.0 if meets(trial, self.constraints) else 0.0, trial.trial_index)
                if new:
                    start = plugin_data_pb2.SessionStartInfo(start_time_secs=time.time())
                    for name, value in {**fixed, **trial.params, self._status_column(): _status(trial)}.items():
                        hv = _column_value(value, self._types.get(name))
                        if isinstance(hv, bool):
                            start.hparams[name].bool_value = hv
                        elif isinstance(hv, float):
                            start.hparams[name].number_value = hv
                        else:
                            start.hparams[name].string_value = hv
                    data = plugin_data_pb2.HParamsPluginData(session_start_info=start)
                    writer.add_summary(
                        self._summary(metadata.SESSION_START_INFO_TAG, metadata.create_summary_metadata(data))
                    )
                    for name, value in trial.metrics.items() if trial.status == "completed" else ():
                        if isinstance(value, int | float) and math.isfinite(value):
                            writer.add_scalar(_metric_tag(name), float(value), trial.trial_index)
                    if trial.status == "completed" and self.constraints:
                        feasible = meets(trial, self.constraints)
                        writer.add_scalar(FEASIBLE_TAG, 1.0 if feasible else 0.0, trial.trial_index)
                    status = api_pb2.STATUS_SUCCESS if trial.status == "completed" else api_pb2.STATUS_FAILURE
                    end = plugin_data_pb2.SessionEndInfo(status=status, end_time_secs=time.time())
                    data = plugin_data_pb2.HParamsPluginData(session_end_info=end)
                    writer.add_summary(
                        self._summary(metadata.SESSION_END_INFO_TAG, metadata.create_summary_metadata(data))
                    )
                if trial.status == "completed" or new:
                    # A failed trial too, once (0): TensorBoard's filter on the column (on_front = 1, the frontier)
                    # keeps the rows without a value, so every failed trial was listed with the frontier.
                    # A later step each time: after abandoned trials an index exceeds the trials finished, and a
                    # change at the same step would be a second point there.
                    at = max(step, trial.trial_index, self._on_front_step.get(trial.trial_index, -1) + 1)
                    writer.add_scalar(ON_FRONT_TAG, 1.0 if on_front else 0.0, at)
                    self._on_front[trial.trial_index] = on_front
                    self._on_front_step[trial.trial_index] = at
        self._backfill_feasible = False

    # -- per-batch frontier views -----------------------------------------------------------------------------------

    def _write_frontier(self, result: SweepResult) -> None:
        step = result.n_finished
        again = step == self._frontier_step  # the same trials, seen again (a reference point inferred at the end)
        # Not against a provisional reference point: the sweep replaces it (once trials meet the outcome
        # constraints) with one that can be tighter, and the curve would drop there.
        has_hv = (
            result.hypervolume is not None
            and math.isfinite(result.hypervolume)
            and not result.reference_point_provisional
        )
        text = views.frontier_markdown(result, self.constraints)
        # Read back from the files of a process killed before it saved its state (_catch_up_with_the_event_files):
        # the same text, and picture, at this step are written already.
        shown = again and text == self._frontier_text
        if shown and (self._frontier_hv or not has_hv):
            return  # all of it is written already: no empty event file
        with self._writer(self.log_dir / FRONTIER_RUN) as writer:
            if has_hv and not (again and self._frontier_hv):
                writer.add_scalar("frontier/hypervolume", float(cast(float, result.hypervolume)), step)
            if not again:  # the counts of these trials are written already
                best = _best_value(result)
                if best is not None:  # one objective: its best feasible value is the progress curve
                    writer.add_scalar(BEST_VALUE_TAG, best, step)
                writer.add_scalar("frontier/pareto_size", float(len(result.pareto_indices)), step)
                writer.add_scalar("trials/completed", float(result.n_completed), step)
                writer.add_scalar("trials/failed", float(result.n_failed), step)
            if not shown:
                writer.add_text("frontier/configurations", text, step)
                if self.images:
                    figure = views.frontier_figure(result, constraints=self.constraints)
                    writer.add_image("frontier/pareto_front", views.figure_rgb(figure), step, dataformats="HWC")
        self._frontier_hv = has_hv or (again and self._frontier_hv)
        self._frontier_step = step
        self._frontier_text = None

    # -- plumbing ---------------------------------------------------------------------------------------------------

    @staticmethod
    def _summary(tag: str, summary_metadata: Any) -> Any:
        from tensorboard.compat.proto.summary_pb2 import Summary

        return Summary(value=[Summary.Value(tag=tag, metadata=summary_metadata)])

    @staticmethod
    def _writer(run_dir: Path) -> _Writer:
        return _Writer(run_dir)


def _stored_experiment(paths: Sequence[Path]) -> tuple[dict[str, str] | None, bool, bool]:
    """The HParams experiment TensorBoard shows from one run's event files: metric columns, alone, parameter domains.

    Returns its metric columns (``{tag: display name}``); whether the files hold it alone; whether its parameter
    columns say which differ (and have domains: written so since 2026-12-06).

    Alone: the files hold nothing else (the experiment summary as :class:`FrontierBoard` writes it). TensorBoard keeps
    the first summary metadata of a tag in a run (its event accumulator reads the files in name order and ignores a
    tag's later metadata), so the first experiment summary is the one shown, and a second one written beside it
    would not be. ``(None, False)`` where the files hold none or cannot be read. Read as TFRecords (length, its CRC,
    the event, its CRC), unchecked.
    """
    from tensorboard.compat.proto.event_pb2 import Event
    from tensorboard.plugins.hparams import metadata

    columns: dict[str, str] | None = None
    alone, with_domains = True, False
    try:
        for path in paths:
            with open(path, "rb") as records:
                while len(header := records.read(12)) == 12:
                    event = Event.FromString(records.read(int.from_bytes(header[:8], "little")))
                    records.read(4)
                    if event.HasField("file_version"):
                        continue
                    for value in event.summary.value:
                        if value.tag != metadata.EXPERIMENT_TAG or not value.HasField("metadata"):
                            alone = False
                        elif columns is None:
                            experiment = metadata.parse_experiment_plugin_data(value.metadata.plugin_data.content)
                            columns = {m.name.tag: m.display_name for m in experiment.metric_infos}
                            # A swept parameter is marked as differing (the status column has a domain always).
                            with_domains = any(h.differs for h in experiment.hparam_infos)
                    alone = alone and len(event.summary.value) > 0
    except Exception as exc:  # unreadable: left as it is
        log.debug("ecopt: could not read the HParams experiment in %s: %s: %s", paths, type(exc).__name__, exc)
        return None, False, False
    return columns, alone and columns is not None, with_domains


def _last_points(run_dir: Path) -> dict[str, tuple[int, float | str | None]]:
    """Each tag's last point in the event files of ``run_dir``: its highest step, and the scalar or text there.

    Read as :func:`_stored_experiment` reads them, in name order (the order written); a later point at the same step
    wins. Empty where the run has no files or they cannot be read.
    """
    from tensorboard.compat.proto.event_pb2 import Event

    points: dict[str, tuple[int, float | str | None]] = {}
    try:
        for path in sorted(run_dir.glob(f"{_EVENTS_PREFIX}*")):
            with open(path, "rb") as records:
                while len(header := records.read(12)) == 12:
                    event = Event.FromString(records.read(int.from_bytes(header[:8], "little")))
                    records.read(4)
                    for value in event.summary.value:
                        point: float | str | None = None
                        if value.WhichOneof("value") == "simple_value":
                            point = float(value.simple_value)
                        elif value.tensor.string_val:
                            point = value.tensor.string_val[0].decode("utf-8", "replace")
                        if value.tag not in points or event.step >= points[value.tag][0]:
                            points[value.tag] = (int(event.step), point)
    except Exception as exc:  # unreadable: what the state file says stands
        log.debug("ecopt: could not read the event files in %s: %s: %s", run_dir, type(exc).__name__, exc)
        return {}
    return points


_EVENT_FILES = itertools.count()
"""This process's event files, in the order written (see :meth:`_Writer.__exit__`)."""

_PARTIAL_PREFIX = ".ecopt-partial"
"""The name an event file is written under until it is complete: without ``tfevents``, TensorBoard does not read it."""


def _remove_dead_partials(log_dir: Path) -> None:
    """Delete the event files that processes no longer running left half-written under ``log_dir``.

    :class:`_Writer` writes each event file under a temporary name and renames it once complete; a process killed
    in between (SIGKILL, the OOM killer, a power loss) leaves the temporary file, which TensorBoard ignores but
    nothing else removed. Its name ends in the writer's pid: a file of a process that still runs is left alone.
    """
    for path in log_dir.glob(f"**/{_PARTIAL_PREFIX}.*"):
        pid = path.name.rpartition(".")[2]
        if not pid.isdigit() or int(pid) == os.getpid() or process_exists(int(pid)):
            continue
        with contextlib.suppress(OSError):  # gone already, or not ours to delete: it was harmless anyway
            path.unlink()
            log.info("ecopt: removed %s, an event file a killed process left half-written.", path)


_EVENTS_PREFIX = "events.out.tfevents."


def _event_file_name(run_dir: Path, second: int, n: int) -> str:
    """``events.out.tfevents.<second>.<n>.<host>``, named to sort after every event file ``run_dir`` holds already.

    A live TensorBoard reads a run's files in name order and never goes back to a name before the one it is on: a
    file named from a wall clock stepped back (NTP, ``date -s``), from a host whose clock is behind (a sweep resumed
    on another node), or from a new process within the second of the last file (its counter starts again at 0)
    would be skipped until TensorBoard restarts. Such a file takes the latest file's second and the next number.
    """
    latest = max((p.name for p in run_dir.glob(f"{_EVENTS_PREFIX}*")), default="")
    if f"{_EVENTS_PREFIX}{second:010d}.{n:09d}." <= latest:
        last_second, _, rest = latest.removeprefix(_EVENTS_PREFIX).partition(".")
        last_n = rest.partition(".")[0]
        if last_second.isdigit() and last_n.isdigit():  # ours
            second, n = int(last_second), max(n, int(last_n) + 1)
        elif last_second.isdigit():  # another writer's (SummaryWriter: <second>.<host>...): the next second
            second = int(last_second) + 1
    return f"{_EVENTS_PREFIX}{second:010d}.{n:09d}.{socket.gethostname()}"


class _Writer:
    """One event file, written whole under a name TensorBoard ignores and then renamed to its final name.

    A live TensorBoard reads a run's event files by name, in name order, and follows the file it is on by its path.
    TensorBoard's own writer (``SummaryWriter``) names its files ``events.out.tfevents.<second>.<host>.<pid>.<n>``
    with ``n`` a process-wide counter that is not zero-padded, so within one second ``...9`` sorts after ``...11``
    (a fast sweep's frontier steps loaded as ``[5, 1, 2, 3, 4, ...]``); renaming its file once closed fixed the
    order, but a TensorBoard that reloaded while the file was open (the frontier image is drawn meanwhile) kept
    following the old path and saw no later step of that run until restarted. Here the file is written under a
    name without ``tfevents`` and renamed, complete, to ``events.out.tfevents.<second>.<n>.<host>.<pid>`` with a
    padded counter: TensorBoard sees each file once, whole, in the order written.
    """

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = run_dir
        self._records: Any = None
        self._partial = run_dir / f"{_PARTIAL_PREFIX}.{os.getpid()}"
        self._time_s = 0.0

    def __enter__(self) -> _Writer:
        from tensorboard.compat.proto.event_pb2 import Event
        from tensorboard.summary.writer.record_writer import RecordWriter

        self.run_dir.mkdir(parents=True, exist_ok=True)
        self._time_s = time.time()
        self._records = RecordWriter(open(self._partial, "wb"))  # closed in __exit__
        self._records.write(Event(wall_time=self._time_s, file_version="brain.Event:2").SerializeToString())
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *exc: object) -> None:
        self._records.close()
        if exc_type is not None:  # half an update: dropped, so the next one (which writes it all) repeats no step
            self._partial.unlink(missing_ok=True)
            return
        name = _event_file_name(self.run_dir, int(self._time_s), next(_EVENT_FILES))
        replace_file(self._partial, self.run_dir / f"{name}.{os.getpid()}")

    def add_summary(self, summary: Any, step: int = 0) -> None:
        from tensorboard.compat.proto.event_pb2 import Event

        event = Event(wall_time=time.time(), step=int(step), summary=summary)
        self._records.write(event.SerializeToString())

    def add_scalar(self, tag: str, value: float, step: int) -> None:
        from torch.utils.tensorboard import summary

        self.add_summary(summary.scalar(tag, value), step)

    def add_text(self, tag: str, text: str, step: int) -> None:
        from torch.utils.tensorboard import summary

        self.add_summary(summary.text(tag, text), step)

    def add_image(self, tag: str, image: Any, step: int, dataformats: str) -> None:
        from torch.utils.tensorboard import summary

        self.add_summary(summary.image(tag, image, dataformats=dataformats), step)
