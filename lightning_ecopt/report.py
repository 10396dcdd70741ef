"""``ecopt report``: the frontier, the proxy audit and the search-cost ledger of a sweep, from its stored results.

Everything is read from ``optimization_results.yaml`` (plain data, rewritten atomically after every batch, so a
sweep that is still running or was interrupted can be reported on; :mod:`lightning_ecopt.results_file` reads it), or
taken from the :class:`~lightning_ecopt.sweeper.results.SweepResult` a sweep run from Python returned; the Ax JSON is
never needed, and nothing is unpickled. :func:`build_report` computes, :func:`write_files` writes ``frontier.png`` and
``trials.csv``, :func:`render` prints with rich, and :meth:`Report.to_dict` gives the same figures to scripts
(``--json``).

The figures come from :mod:`lightning_ecopt.ledger` (the search-cost ledger; its docstring has the accounting rules:
what counts as search energy, energy kinds, PUE, break-even, the baseline) and :mod:`lightning_ecopt.proxy_audit`.
This module re-exports their public names (and :mod:`lightning_ecopt.results_file`'s), so
``from lightning_ecopt.report import ledger, load_sweep, proxy_audit`` keeps working.
"""

from __future__ import annotations

import csv
import io
import math
import os
import re
import shutil
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from lightning_ecopt import views
from lightning_ecopt._ascii import symbols_as_ascii
from lightning_ecopt._json import json_safe
from lightning_ecopt._shell import shell_path
from lightning_ecopt.exceptions import EcoptConfigError

# Names marked F401 are not used here: kept importable from this module, where they were before the ledger, the audit
# and the loading had modules of their own (tests and scripts import them from here).
from lightning_ecopt.ledger import (
    _J_PER_KWH,
    BASELINE_RULES,
    DEFAULT_CARBON_G_PER_KWH,
    DEFAULT_PUE,
    GLOBAL_AVERAGE_PUE,
    FrontierSaving,
    KindTotal,
    Ledger,
    TrialEnergy,
    _check_ledger_options,
    _choose_baseline,
    _energy_per_inference,
    _evaluated,
    _finite,
    _inference_stage,
    _loop_flags,
    _not_comparable,
    _performance_objective,
    ledger,
    parse_baseline,  # noqa: F401
    trial_energy,
)
from lightning_ecopt.provenance import runs_line
from lightning_ecopt.proxy_audit import (
    ESTIMATE_CAVEAT,  # noqa: F401
    PROXIES,  # noqa: F401
    ProxyCorrelation,
    _most_influential,  # noqa: F401
    proxy_audit,
    proxy_audit_caveats,
)
from lightning_ecopt.results_file import (
    LoadedSweep,
    SweepDataError,
    _outcome_constraints,
    find_results,
    load_sweep,
)
from lightning_ecopt.sweeper import spelling
from lightning_ecopt.sweeper.objectives import Objective, OutcomeConstraint
from lightning_ecopt.sweeper.results import RESULTS_FILENAME, SweepResult, meets

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

    from lightning_ecopt.sweeper.settings import SweepSettings

__all__ = [
    "BASELINE_RULES",
    "DEFAULT_CARBON_G_PER_KWH",
    "DEFAULT_PUE",
    "GLOBAL_AVERAGE_PUE",
    "FrontierSaving",
    "KindTotal",
    "Ledger",
    "LoadedSweep",
    "ProxyCorrelation",
    "Report",
    "SweepDataError",
    "TrialEnergy",
    "build_report",
    "find_results",
    "ledger",
    "load_sweep",
    "proxy_audit",
    "proxy_audit_caveats",
    "render",
    "trial_energy",
    "write_files",
]

_FILES = ("frontier.png", "trials.csv")
"""The files :func:`write_files` writes."""


# -- the report -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True, repr=False)
class Report:
    """Everything ``ecopt report`` shows; its ``repr`` is one short line (:meth:`to_dict` has everything).

    Args:
        sweep: The sweep as read from its results file.
        frontier: The frontier's rows (:func:`lightning_ecopt.views.frontier_rows`).
        knee: The knee trial's index, or ``None``.
        audit: The proxy audit.
        ledger: The search-cost ledger.
        files: The files written (``frontier.png``, ``trials.csv``), once :func:`write_files` ran.
    """

    sweep: LoadedSweep
    frontier: list[dict[str, Any]]
    knee: int | None
    audit: list[ProxyCorrelation]
    ledger: Ledger
    files: dict[str, str] = field(default_factory=dict)

    def __repr__(self) -> str:
        where = _where(self.sweep)
        knee = "none" if self.knee is None else f"#{self.knee}"
        return (
            f"Report({where}: {spelling.trials(len(self.sweep.result.trials))}, frontier {len(self.frontier)}, "
            f"knee {knee}, state {self.state!r})"
        )

    @property
    def short_windows(self) -> list[int]:
        """Completed trials that ran whose energy window was flagged short (``energy/<stage>_short_window = 1``).

        Over the loops an energy objective names (any loop when none does). Their energy figures may be off by a
        whole counter step (or, estimated, by the timer's jitter), or hold the first batches' one-off costs (a loop
        that ended inside its warm-up): where they decide the frontier, it is uncertain.
        """
        return sorted(views.short_windows(self.sweep.result))

    @property
    def contended(self) -> dict[int, float]:
        """Trials that ran while other processes kept more than a quarter of the CPUs busy: ``{trial: share}``.

        The highest ``energy/<stage>_cpu_contention`` of each, over the loops an energy objective names (see
        :mod:`lightning_ecopt.energy.contention`).
        """
        from lightning_ecopt.energy.contention import CONTENTION_WARN_SHARE

        shares = _loop_flags(self.sweep.result, "cpu_contention")
        return {i: share for i, share in shares.items() if share > CONTENTION_WARN_SHARE}

    @property
    def constraints(self) -> dict[str, Any] | None:
        """The sweep's outcome constraints and the completed trials (that ran) that meet them; ``None`` if unknown.

        ``{"constraints": [text, ...], "completed": n, "meeting": k, "breaking": [trial, ...]}``; the texts are as
        the report prints them (``test/latency_ms <= 10``).
        """
        constraints = _outcome_constraints(self.sweep)
        if constraints is None:
            return None
        completed, breaking = views.constraint_tally(self.sweep.result, constraints)
        return {
            "constraints": [str(c) for c in constraints],
            "completed": completed,
            "meeting": completed - len(breaking),
            "breaking": breaking,
        }

    @property
    def state(self) -> str:
        """``"finished"``, ``"stopped early"`` or ``"running or interrupted"`` (fewer trials than the budget)."""
        result = self.sweep.result
        if self.sweep.stop_reason:
            return "stopped early"
        if self.sweep.n_trials is not None and result.n_finished < self.sweep.n_trials:
            return "running or interrupted"
        return "finished"

    def to_dict(self) -> dict[str, Any]:
        """The report as plain JSON-able data (non-finite numbers become ``None``)."""
        result = self.sweep.result
        ledger_data = asdict(self.ledger)
        ledger_data["total_kwh"] = self.ledger.total_kwh
        ledger_data["lower_bound"] = self.ledger.lower_bound
        since = result.completed_since()
        data = {
            "sweep_dir": None if self.sweep.sweep_dir is None else str(self.sweep.sweep_dir),
            "results_path": None if self.sweep.results_path is None else str(self.sweep.results_path),
            "state": self.state,
            "stop_reason": self.sweep.stop_reason,
            # what the report corrected in the results file (a frontier its trials do not make), one sentence each
            "notes": list(self.sweep.notes),
            "objectives": {o.name: o.direction for o in result.objectives},
            "energy_source": {
                "label": views.energy_label(t.energy_source for t in result.trials),
                "kinds": views.energy_kinds(t.energy_source for t in result.trials),
                "coverage": views.energy_coverage(t.energy_source for t in result.trials),
            },
            "counts": {
                "n_trials": self.sweep.n_trials,
                "finished": result.n_finished,
                "completed": result.n_completed,
                "failed": result.n_failed,
                "reused": result.n_reused,
                "abandoned": sum(t.status == "abandoned" for t in result.trials),
            },
            "hypervolume": result.hypervolume,
            "reference_point": {
                "values": result.reference_point,
                "origin": result.reference_point_origin,
                # the objectives whose value was given (reference_point or a constraint); the others were inferred
                "given": list(result.reference_point_given),
                # inferred from every trial while fewer than two met the outcome constraints: replaced once two do
                "provisional": result.reference_point_provisional,
                # frontier trials that add nothing to the hypervolume (not strictly better in every objective)
                "outside": [t.trial_index for t in result.outside_reference],
            },
            "frontier": self.frontier,
            # the outcome constraints and how many completed trials meet them (null: unknown)
            "outcome_constraints": self.constraints,
            # completed_as: the later trial that completed the failure's configuration (retry_failed), else null
            "failures": [
                {"trial_index": t.trial_index, "reason": t.reason, "completed_as": since.get(t.trial_index)}
                for t in result.failures()
            ],
            "short_windows": self.short_windows,
            "contended": {str(k): v for k, v in self.contended.items()},
            "knee": self.knee,
            "proxy_audit": [asdict(c) for c in self.audit],
            "proxy_audit_caveats": proxy_audit_caveats(result),
            "ledger": ledger_data,
            # the sweep's settings as recorded (null: unknown), and one record per run: versions, machine, launcher,
            # seeds (lightning_ecopt.provenance; [] for a sweep written before they were kept)
            "settings": self.sweep.settings,
            "provenance": [dict(run) for run in result.provenance],
            "files": self.files,
        }
        return dict(json_safe(data))


def _where(sweep: LoadedSweep) -> str:
    """How a report names its sweep: the directory, or that it came from an in-memory result."""
    return "in-memory SweepResult" if sweep.sweep_dir is None else repr(str(sweep.sweep_dir))


def _check_settings_match(result: SweepResult, settings: SweepSettings) -> None:
    """Refuse another sweep's settings for ``result``: its budget and constraints would judge the wrong trials.

    Raises:
        EcoptConfigError: The objectives differ (names, order or directions), the budget is below the trials the
            result finished, or both name a storage file and not the same one.
    """

    def named(objectives: Sequence[Any]) -> str:
        return ", ".join(f"{o.name} ({o.direction})" for o in objectives)

    fix = "pass the settings of the sweep that returned this result, as they are now (sweep.settings)"
    if result.results_path is not None:
        fix += ", or none: the report reads them from its results file"
    if tuple(settings.objectives) != tuple(result.objectives):
        raise EcoptConfigError(
            f"build_report(result, settings=...): the settings' objectives {named(settings.objectives)}; the "
            f"result's are {named(result.objectives)}: {fix}."
        )
    if settings.n_trials < result.n_finished:
        raise EcoptConfigError(
            f"build_report(result, settings=...): the settings' n_trials={settings.n_trials}, but the result has "
            f"{result.n_finished} finished trials: {fix}."
        )
    if (
        settings.storage is not None
        and result.storage is not None
        and Path(settings.storage).resolve() != Path(result.storage).resolve()
    ):
        raise EcoptConfigError(
            f"build_report(result, settings=...): the settings' storage={str(settings.storage)!r}, but the result "
            f"was saved to {str(result.storage)!r}: {fix}."
        )


def _from_result(result: SweepResult, settings: SweepSettings | None) -> LoadedSweep:
    """A :class:`LoadedSweep` around an in-memory result: budget and constraints from ``settings`` or its file."""
    recorded: dict[str, Any] | None = None
    if settings is not None:
        from lightning_ecopt.sweeper.results import _settings_dict

        _check_settings_match(result, settings)
        n_trials: int | None = settings.n_trials
        constraints: tuple[str, ...] | None = tuple(c.exact() for c in settings.outcome_constraints)
        recorded = _settings_dict(settings)
    elif result.results_path is not None and Path(result.results_path).is_file():
        stored = load_sweep(result.results_path)
        n_trials, constraints, recorded = stored.n_trials, stored.constraints, stored.settings
    else:
        n_trials, constraints = None, None
    results_path = None if result.results_path is None else Path(result.results_path)
    return LoadedSweep(
        sweep_dir=None if results_path is None else results_path.parent,
        results_path=results_path,
        result=result,
        n_trials=n_trials,
        constraints=constraints,
        stop_reason=result.stop_reason,
        settings=recorded,
    )


def build_report(
    source: str | os.PathLike[str] | SweepResult,
    *,
    pue: float = DEFAULT_PUE,
    carbon_g_per_kwh: float = DEFAULT_CARBON_G_PER_KWH,
    baseline: str | int = "most-accurate",
    settings: SweepSettings | None = None,
) -> Report:
    """Read a sweep, or take a sweep's result, and compute its report (no files written, nothing printed).

    Args:
        source: The sweep directory (or its ``optimization_results.yaml``), or the
            :class:`~lightning_ecopt.sweeper.results.SweepResult` that
            :meth:`~lightning_ecopt.sweeper.loop.ParetoSweep.run` returned (a sweep run without ``storage`` has no
            directory; give :func:`write_files` an ``out_dir`` then).
        pue: Power usage effectiveness (1 to 10).
        carbon_g_per_kwh: Carbon intensity (g CO2e/kWh).
        baseline: ``"most-accurate"``, ``"first"`` or a trial index.
        settings: For a ``SweepResult`` only: the sweep's settings, for its budget (the report's state) and its
            outcome constraints (the ``feasible`` column of ``trials.csv``). Without them they are read from the
            result's ``optimization_results.yaml`` when it has one, else left unknown (the state says
            ``finished``, the ``feasible`` column is blank and ``dominated_by`` ignores the constraints).

    Returns:
        The :class:`Report`.

    Raises:
        SweepDataError: Bad input (see :func:`load_sweep` and :func:`ledger`).
        TypeError: ``source`` is neither a path nor a ``SweepResult``, or ``settings`` is given with a path or is
            not a ``SweepSettings``.
        EcoptConfigError: ``settings`` are another sweep's (other objectives, a budget below the result's finished
            trials, another storage file).

    Example::

        result = ParetoSweep.from_function(space, settings, fn).run()  # no storage: nothing on disk
        report = build_report(result, settings=settings)
        render(report)
        write_files(report, "sweep_report")  # frontier.png and trials.csv
    """
    _check_ledger_options(pue, carbon_g_per_kwh)
    if isinstance(source, SweepResult):
        from lightning_ecopt.sweeper.settings import SweepSettings

        if settings is not None and not isinstance(settings, SweepSettings):
            raise TypeError(
                f"build_report(result, settings={settings!r:.80}): expected the sweep's SweepSettings "
                "(sweep.settings), or None to read them from the result's results file."
            )
        sweep = _from_result(source, settings)
    elif isinstance(source, str | os.PathLike):
        if settings is not None:
            raise TypeError(
                "build_report(path, settings=...): the settings are recorded in the sweep's results file; pass "
                "settings only with an in-memory SweepResult."
            )
        sweep = load_sweep(Path(source))
    else:
        raise TypeError(
            f"build_report(source={source!r}): expected a sweep directory, its {RESULTS_FILENAME}, or the "
            f"SweepResult that ParetoSweep.run() returned."
        )
    result = sweep.result
    return Report(
        sweep=sweep,
        frontier=views.frontier_rows(result),
        knee=views.knee_index(result),
        audit=proxy_audit(result),
        ledger=ledger(
            result,
            pue=pue,
            carbon_g_per_kwh=carbon_g_per_kwh,
            baseline=baseline,
            constraints=_outcome_constraints(sweep) or (),
        ),
    )


def _csv_text(report: Report) -> str:
    """``trials.csv``: one row per trial with its status, frontier membership, parameters, metrics and energy."""
    from lightning_ecopt import frontier

    result = report.sweep.result
    pareto = set(result.pareto_indices)
    constraints = _outcome_constraints(report.sweep)
    feasible: dict[int, bool] = {}
    if constraints is not None:  # unknown (an in-memory result without its settings): the column stays blank
        feasible = {t.trial_index: meets(t, constraints) for t in _evaluated(result)}
    # Dominance among the trials the sweep's frontier is drawn from: a trial that breaks an outcome constraint
    # neither is on the frontier nor pushes a feasible trial off it.
    runs = [t for t in _evaluated(result) if feasible.get(t.trial_index, True)]
    dominated_by: dict[int, int | None] = {}
    if runs:
        Y = [[t.metrics[o.name] for o in result.objectives] for t in runs]
        if all(math.isfinite(v) for row in Y for v in row):
            for t, d in zip(runs, frontier.dominators(Y, [not o.minimize for o in result.objectives]), strict=True):
                dominated_by[t.trial_index] = None if d is None else runs[d].trial_index
    _, per_inference = _energy_per_inference(_evaluated(result), result.objectives)  # feasible or not: measured
    params = sorted({k for t in result.trials for k in t.params})
    objectives = [o.name for o in result.objectives]
    metrics = sorted({k for t in result.trials for k in t.metrics} - set(objectives))
    # A column per metric the task returned a standard error for ({metric: (mean, sem)}); none otherwise.
    sems = [m for m in [*objectives, *metrics] if any(m in t.sems for t in result.trials)]
    header = [
        "trial_index", "status", "feasible", "on_frontier", "knee", "dominated_by", "reused_from",
        *(f"param:{p}" for p in params), *objectives, "energy_per_inference_j", "train_j", "eval_j",
        "energy_source", "shared_counters", *metrics, *(f"sem:{m}" for m in sems), "reason",
    ]  # fmt: skip
    buffer = io.StringIO()
    writer = _CsvRows(buffer)
    writer.writerow(header)
    for t in result.trials:
        energy = trial_energy(t)
        writer.writerow(
            [
                t.trial_index, t.status, _cell(None if t.trial_index not in feasible else int(feasible[t.trial_index])),
                int(t.trial_index in pareto), int(t.trial_index == report.knee),
                _cell(dominated_by.get(t.trial_index)), _cell(t.reused_from),
                *(_cell(t.params.get(p)) for p in params), *(_cell(t.metrics.get(o)) for o in objectives),
                _cell(per_inference(t)), _cell(energy.train_j if energy.known else None),
                _cell(energy.eval_j if energy.known else None), t.energy_source or "", int(t.shared_counters),
                *(_cell(t.metrics.get(m)) for m in metrics), *(_cell(t.sems.get(m)) for m in sems), t.reason or "",
            ]
        )  # fmt: skip
    return buffer.getvalue()


class _CsvRows:
    """The rows of ``trials.csv``, each ended by a line feed; a row with a carriage return in a field is quoted whole.

    The csv writer quotes a field that holds a character of its line terminator, and a carriage return is not one of
    a line feed's: a failure reason such as ``50%<CR>100%`` (a progress bar in an error message) went out bare, and
    csv readers took it for the row's end (Python's raised "new-line character seen in unquoted field").

    Args:
        buffer: Where the rows go.
    """

    def __init__(self, buffer: io.StringIO) -> None:
        self._plain = csv.writer(buffer, lineterminator="\n")
        self._quoted = csv.writer(buffer, lineterminator="\n", quoting=csv.QUOTE_ALL)

    def writerow(self, row: Sequence[Any]) -> None:
        """Write one row, quoted whole where a field holds a carriage return."""
        carriage_return = any(isinstance(cell, str) and "\r" in cell for cell in row)
        (self._quoted if carriage_return else self._plain).writerow(row)


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    return value


def _check_report(caller: str, report: object) -> None:
    """Refuse what is not a :class:`Report` (a ``SweepResult`` most likely), naming how to build one."""
    if not isinstance(report, Report):
        raise TypeError(
            f"{caller}(report={report!r:.80}): expected a Report; build it with build_report(result) (the "
            "SweepResult that ParetoSweep.run() returned) or build_report(sweep_dir)."
        )


def write_files(report: Report, out_dir: str | Path | None = None) -> dict[str, str]:
    """Write ``frontier.png`` and ``trials.csv`` (atomically) and record them in ``report.files``.

    Args:
        report: The report.
        out_dir: Where to write; default the sweep directory (next to ``optimization_results.yaml``). Required for
            a report built from an in-memory result of a sweep run without ``storage`` (it has no directory).

    Returns:
        ``{"frontier.png": path, "trials.csv": path}``.

    Raises:
        SweepDataError: The directory cannot be written (the message suggests ``--out``).
        EcoptConfigError: No ``out_dir`` for a report without a sweep directory.
        TypeError: ``report`` is not a :class:`Report`, or ``out_dir`` is not a path.
    """
    from lightning_ecopt.sweeper.results import atomic_write_bytes, atomic_write_text

    _check_report("write_files", report)
    if out_dir is not None and not isinstance(out_dir, str | os.PathLike):
        raise TypeError(f"write_files(report, out_dir={out_dir!r}): expected a folder path, e.g. 'sweep_report'.")

    if out_dir is not None:
        target = Path(out_dir)
    elif report.sweep.sweep_dir is not None:
        target = report.sweep.sweep_dir
    else:
        raise EcoptConfigError(
            "write_files(report): this report was built from an in-memory SweepResult (a sweep run without storage), "
            "so it has no sweep directory to write to; pass out_dir, e.g. write_files(report, 'sweep_report')."
        )
    png, csv_path = target / _FILES[0], target / _FILES[1]
    if target.exists() and not target.is_dir():  # mkdir's "File exists" named no reason a user could act on
        raise SweepDataError(
            f"ecopt report: cannot write {_FILES[0]} and {_FILES[1]} to {str(target)!r}: it is a file, not a folder; "
            f"choose a folder with --out DIR, or skip the files with --no-files."
        )
    try:
        target.mkdir(parents=True, exist_ok=True)
        figure = views.frontier_figure(report.sweep.result, constraints=_outcome_constraints(report.sweep) or ())
        atomic_write_bytes(png, views.figure_png(figure))
        atomic_write_text(csv_path, _csv_text(report))
    except OSError as exc:
        raise SweepDataError(
            f"ecopt report: cannot write {_FILES[0]} and {_FILES[1]} to {str(target)!r} ({exc.strerror or exc}); "
            f"choose a writable folder with --out DIR, or skip the files with --no-files."
        ) from None
    report.files.update({_FILES[0]: str(png), _FILES[1]: str(csv_path)})
    return dict(report.files)


# -- printing -------------------------------------------------------------------------------------------------------


def _fmt_j(joules: float) -> str:
    """Joules with a readable prefix, rounded to 3 significant digits before the prefix is chosen.

    Example:
        >>> _fmt_j(0.00123), _fmt_j(12.5), _fmt_j(3.6e6)
        ('1.23 mJ', '12.5 J', '3.6 MJ')
        >>> _fmt_j(999.7), _fmt_j(0.99995)  # not '1e+03 J', '1e+03 mJ'
        ('1 kJ', '1 J')
    """
    if not math.isfinite(joules):
        return f"{joules} J"
    rounded = float(f"{joules:.3g}")
    a = abs(rounded)
    for scale, prefix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"), (1.0, ""), (1e-3, "m"), (1e-6, "µ")):
        if a >= scale:
            return f"{rounded / scale:.3g} {prefix}J"
    return f"{rounded:.3g} J"


def _split_j(train_j: float, eval_j: float, untrained: bool) -> str:
    """The ledger's training + evaluation split; ``untrained``: no counted trial recorded its training energy.

    Example:
        >>> _split_j(843.0, 35.4, False), _split_j(0.0, 2.8, True)
        ('training 843 J + evaluation 35.4 J', 'evaluation 2.8 J (training not measured)')
    """
    if untrained:
        return f"evaluation {_fmt_j(eval_j)} (training not measured)"
    return f"training {_fmt_j(train_j)} + evaluation {_fmt_j(eval_j)}"


def _at_least(lower_bound: bool, n: float | None) -> str:
    """A break-even count, marked ``>=`` where the search energy it divides is a lower bound."""
    return f">= {_fmt_count(n)}" if lower_bound and n is not None else _fmt_count(n)


def _fmt_count(n: float | None) -> str:
    if n is None:
        return "never"
    if n < 1e12:
        return f"{math.ceil(n):,}"
    return f"{n:.3g}"


_OVERFLOW: Literal["fold"] = "fold"
"""How a table cell narrower than its text breaks it: folded onto more lines, never cut to ``0.9…`` (a narrow
terminal would otherwise lose the figures)."""


_HEADER_BREAKS = re.compile(r"(?<=[./_])(?=[^./_\s])|(?<=\s)(?=\w)")
"""Where a column's header may break when the table is narrowed: after a separator of its name (``model.`` |
``depth``, ``energy/`` | ``test_`` | ``samples_`` ...), and at a space before a word (``J per`` | ``inference``), never
before a symbol (an objective's ``↑``, a ``(p)``), which stays with the word before it."""


def _wrapped_header(header: str, width: int) -> str:
    r"""``header`` broken onto lines of at most ``width`` cells at its separators and spaces (its own lines kept).

    A space it breaks at ends no line.

    Example:
        >>> _wrapped_header("energy/test_samples_per_j ↑\n[samples/J]", 11).split("\n")
        ['energy/', 'test_', 'samples_', 'per_j ↑', '[samples/J]']
        >>> _wrapped_header("model.depth", 6), _wrapped_header("model.depth", 11)
        ('model.\ndepth', 'model.depth')
        >>> _wrapped_header("break-even inferences", 10), _wrapped_header("J per inference", 9)
        ('break-even\ninferences', 'J per\ninference')
    """
    from rich.cells import cell_len

    lines: list[str] = []
    for line in header.split("\n"):
        current = ""
        for piece in _HEADER_BREAKS.split(line):
            if current and cell_len((current + piece).rstrip()) > width:
                lines.append(current.rstrip())
                current = piece
            else:
                current += piece
        lines.append(current)
    return "\n".join(part for line in lines for part in _folded(line, width))


def _folded(line: str, width: int) -> list[str]:
    """``line`` cut into the fewest parts of at most ``width`` characters, of lengths as even as can be.

    A name piece wider than its column (``kernel`` in 5) folds as ``ker`` / ``nel``, where rich's fold printed
    ``kerne`` / ``l``: a letter a line.

    >>> _folded("kernel", 5), _folded("model.", 5), _folded("samples_per_j", 5), _folded("depth", 5)
    (['ker', 'nel'], ['mod', 'el.'], ['sampl', 'es_p', 'er_j'], ['depth'])
    """
    if width < 1 or len(line) <= width:
        return [line]
    size, longer = divmod(len(line), -(-len(line) // width))
    parts, start = [], 0
    for i in range(-(-len(line) // width)):
        end = start + size + (i < longer)
        parts.append(line[start:end])
        start = end
    return parts


def _header_pieces(headers: Sequence[str]) -> list[int]:
    r"""Each header's widest piece, in cells: the narrowest its column may be with no piece of its name broken.

    >>> _header_pieces(["trial", "model.depth", "energy/x ↑\n[J]", "break-even inferences", "Pearson r (p)"])
    [5, 6, 7, 10, 7]
    """
    from rich.cells import cell_len

    return [max(cell_len(p.rstrip()) for line in h.split("\n") for p in _HEADER_BREAKS.split(line)) for h in headers]


def _value_keeping_widths(headers: Sequence[str], rows: Sequence[Sequence[str]], room: int) -> list[int] | None:
    """Column widths that keep every value of a boxed table on one line, where it is too wide for ``room`` cells.

    ``None`` where the table fits as it is, or where its values alone do not fit (rich then folds them, as before).

    Rich narrows every column of a table wider than the terminal in proportion, folding values as well as headers:
    at 80 columns the frontier's learning rate 0.008169 printed as "0.0081" over "69", and at 50 the ledger's
    "210 µJ" as "210" over "µJ". Here each column is as wide as its widest value, and the room left widens the headers
    that need it least first (so most keep their name's pieces whole); the headers then break at their name's
    separators and spaces (:func:`_wrapped_header`).

    Example:
        >>> _value_keeping_widths(["trial", "model.learning_rate"], [["#0", "0.008169"]], 40) is None
        True
        >>> _value_keeping_widths(["trial", "model.learning_rate"], [["#0", "0.008169"]], 24)
        [5, 12]
    """
    from rich.cells import cell_len

    chrome = 3 * len(headers) + 1  # a border and a space of padding either side of every column
    values = [max((cell_len(row[i]) for row in rows), default=1) for i in range(len(headers))]
    whole = [max(cell_len(line) for line in header.split("\n")) for header in headers]
    if sum(max(v, h) for v, h in zip(values, whole, strict=True)) + chrome <= room:
        return None
    spare = room - chrome - sum(values)
    if spare < 0:
        return None
    pieces = _header_pieces(headers)
    widths = list(values)
    for want in (pieces, whole):  # every header's pieces whole first, then whole headers, while room is left
        for i in sorted(range(len(headers)), key=lambda i: want[i] - widths[i]):
            extra = min(max(0, want[i] - widths[i]), spare)
            widths[i] += extra
            spare -= extra
    return widths


_NARROWEST_HEADER = 3
"""The fewest cells a line of a narrowed header may have before a table prints as blocks instead."""


def _needs_blocks(
    headers: Sequence[str], rows: Sequence[Sequence[str]], widths: Sequence[int] | None, room: int
) -> bool:
    """Whether a table prints one block per row: its boxed table would not be readable in ``room``.

    Narrower than its figures, the table folds them onto more lines (``0.00`` over ``8169``); narrower still for its
    headers, it folds a name one or two characters a line (``m`` / ``o`` / ``d`` ...). In either case each row
    prints as its first cell (the frontier's trial, the audit's proxy), then a line per column with its name and
    figure, instead. ``widths``: the table's :func:`_value_keeping_widths` in ``room``.

    Example:
        >>> headers, rows = ["trial", "model.depth"], [["#0", "4"]]
        >>> [_needs_blocks(headers, rows, _value_keeping_widths(headers, rows, n), n) for n in (15, 14)]
        [False, True]
    """
    from rich.cells import cell_len

    chrome = 3 * len(headers) + 1  # a border and a space of padding either side of every column
    if sum(max((cell_len(row[i]) for row in rows), default=1) for i in range(len(headers))) + chrome > room:
        return True
    if widths is None:  # the table fits with every header whole
        return False
    pieces = _header_pieces(headers)
    return any(width < min(piece, _NARROWEST_HEADER) for width, piece in zip(widths, pieces, strict=True))


def _boxed_table(
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    widths: Sequence[int] | None,
    justify: Sequence[Literal["left", "right"]],
) -> Table:
    """A boxed table of plain text (no markup read), one line per row where ``widths`` keep its values whole.

    ``widths``: its columns' widths from :func:`_value_keeping_widths` (``None``: rich's own); ``justify``: each
    column's.
    """
    from rich.markup import escape
    from rich.table import Table

    table = Table()
    for i, (header, side) in enumerate(zip(headers, justify, strict=True)):
        width = None if widths is None else widths[i]
        shown = header if width is None else _wrapped_header(header, width)
        table.add_column(
            escape(shown), justify=side, no_wrap=widths is None and i == 0, overflow=_OVERFLOW, width=width
        )
    for cells in rows:
        table.add_row(*(escape(cell) for cell in cells))
    return table


_BLOCK_INDENT = 2
"""The blocks' lines under their first cell, indented by this many columns."""
_BLOCK_GAP = 2
"""Columns between a block's names and its figures."""


def _print_blocks(console: Console, headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """A table for a terminal too narrow for it: each row's first cell (its trial, its proxy), then a line per column.

    Each line holds the column's name and the row's figure.
    """
    from rich.cells import cell_len
    from rich.padding import Padding
    from rich.table import Table
    from rich.text import Text

    names = [" ".join(header.split("\n")) for header in headers[1:]]  # "energy/... ↑ [samples/J]" on one line
    widest = max((cell_len(cell) for cells in rows for cell in cells[1:]), default=1)
    # The figures' column, one width in every block so that they line up: the widest figure where it fits beside the
    # names, else what is left beside them (at most half the line): a value wider than that (a dataset path) folds,
    # where taking the line whole pushed every name and every other figure of its block off it.
    room = console.width - _BLOCK_INDENT - _BLOCK_GAP
    named = max((cell_len(name) for name in names), default=1)
    figures = max(1, min(widest, room - min(named, room // 2)))
    for cells in rows:
        console.print(cells[0], markup=False, highlight=False)
        grid = Table.grid(padding=(0, _BLOCK_GAP))
        grid.add_column(overflow=_OVERFLOW)
        grid.add_column(justify="right", overflow=_OVERFLOW, width=figures)
        for name, value in zip(names, cells[1:], strict=True):
            grid.add_row(Text(name), Text(value))
        console.print(Padding(grid, (0, 0, 0, _BLOCK_INDENT), expand=False))


def _table_or_blocks(
    console: Console,
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    justify: Sequence[Literal["left", "right"]] | None = None,
) -> None:
    r"""Print a table of plain text boxed where it is readable in ``console``'s width, else one block per row.

    Too wide for the terminal, the table keeps each value on one line and breaks its headers at their names'
    separators and spaces (:func:`_value_keeping_widths`); where even that would fold a value or a header a
    character or two a line (:func:`_needs_blocks`), each row prints as its first cell, then a line per column
    (:func:`_print_blocks`). The frontier, the proxy audit and the ledger's savings table print this way.

    Args:
        console: Where to print; its width is the room.
        headers: The columns' names (``"\n"`` starts a line of its own: an objective's unit).
        rows: The rows' cells, one per header, as printed; text, never read as markup.
        justify: Each column's justification in the boxed table; default every column ``"right"``.
    """
    widths = _value_keeping_widths(headers, rows, console.width)
    if _needs_blocks(headers, rows, widths, console.width):
        _print_blocks(console, headers, rows)
    else:
        console.print(_boxed_table(headers, rows, widths, justify or ["right"] * len(headers)))


def render(report: Report, console: Console | None = None) -> None:
    """Print the report with rich: the frontier table, the proxy audit and the search-cost ledger.

    Args:
        report: The report.
        console: Where to print; default a new ``rich.console.Console`` on stdout. Where its stream cannot encode
            the report's symbols (an ASCII or cp1252 stdout), they print as ASCII (``↑`` as ``^``) for the call.

    Raises:
        TypeError: ``report`` is not a :class:`Report`.
    """
    _check_report("render", report)
    from rich.console import Console

    piped = False
    if console is None:
        console = Console()
        columns = _columns_asked(os.environ.get("COLUMNS"))
        # Piped or redirected: rich would assume 80 columns; unless COLUMNS says otherwise, give the tables room.
        piped = not console.is_terminal and columns is None
        if piped:
            console = Console(width=140)
        elif columns is not None and columns != console.width:  # " 70", which rich reads as no width
            console = Console(width=columns)
        elif console.width < 1:  # COLUMNS=0, which rich took for a width of 0 and printed nothing at all
            console = Console(width=shutil.get_terminal_size().columns)
    with symbols_as_ascii(console.file):  # a stdout in ASCII or cp1252: "^" for "↑", not UnicodeEncodeError
        # Piped, the tables' titles are one line each, however long (a tie's baseline title runs past 140 columns),
        # so that a grep of the file finds them whole; a width asked for (COLUMNS, a console passed) is kept.
        _render(report, console, whole_titles=piped)


def _columns_asked(text: str | None) -> int | None:
    """The width a ``COLUMNS`` environment variable of ``text`` asks for: a whole number >= 1, else ``None``.

    >>> _columns_asked(" 70"), _columns_asked("0"), _columns_asked("abc"), _columns_asked(None)
    (70, None, None, None)
    """
    text = (text or "").strip()
    return int(text) if text.isdigit() and int(text) >= 1 else None


def _render(report: Report, console: Console, *, whole_titles: bool) -> None:
    sweep, result, led = report.sweep, report.sweep.result, report.ledger
    label = header_label = led.energy_label
    if result.n_completed:
        frontier_label = views.frontier_energy_label(result)  # completed trials only: a refused one's are on no front
        on_front = f" (completed trials: {frontier_label})" if frontier_label != label else ""
    elif result.n_failed:  # the ledger's label is the failed trials' own; no frontier figure has one
        frontier_label = "none: no completed trial"
        on_front = " (failed trials only: no completed trial)"
    else:  # none, or only trials a stop cut short (Ctrl-C in the first trial): no failed trial's figures to label
        frontier_label = "none: no completed trial"
        on_front = " (no trial has completed or failed yet)" if result.trials else ""
    if not result.n_completed and not led.trials_counted:
        # Not "unlabelled": that names figures without a label, and there are none (the ledger's heading says the same)
        header_label = "none"
    # "6 of 20 trials"; without a budget (an in-memory result), "1 trial", not "1 trials"
    finished = (
        spelling.trials(result.n_finished)
        if sweep.n_trials is None
        else f"{result.n_finished} of {spelling.trials(sweep.n_trials)}"
    )
    where = "(in-memory SweepResult)" if sweep.sweep_dir is None else shell_path(sweep.sweep_dir)
    _say(console, f"ecopt report {where}", style="bold")
    _say(
        console,
        f"{finished} ({report.state}): {result.n_completed} completed, {result.n_failed} "
        f"failed, {result.n_reused} reused{_abandoned_clause(result)}. Energy figures: {header_label}{on_front}.",
    )
    for correction in sweep.notes:
        _say(console, correction)
    if sweep.stop_reason:
        _say(console, f"Stopped early: {sweep.stop_reason}")
    if sweep.results_path is not None or result.provenance:  # an in-memory result without storage has no records
        _say(console, runs_line(result.provenance))
    for reason, indices in _failure_reasons(result).items():
        trials = ", ".join(f"#{i}" for i in indices)
        _say(console, f"Failed ({len(indices)}): {reason} [{trials}]")
    since = result.completed_since()
    if since:
        pairs = ", ".join(f"#{i} as #{j}" for i, j in since.items())
        _say(
            console,
            f"Completed since ({len(since)} of {result.n_failed} failed): {pairs}. Their configurations ran again and "
            f"completed (retry_failed); the failures stay in the record with the energy they spent.",
        )
    contended = report.contended
    if contended:
        listed = ", ".join(f"#{i} ({share:.0%})" for i, share in contended.items())
        n_completed = len(_evaluated(result))
        low, high = f"{min(contended.values()):.0%}", f"{max(contended.values()):.0%}"
        if len(contended) < n_completed:
            verdict = (
                "these trials' energy is not comparable with the others'. Rerun them on an otherwise idle machine."
            )
        elif n_completed == 1:
            verdict = "its energy is more than it would be on an idle machine. Rerun it on an otherwise idle machine."
        elif low == high:  # one steady load: the trials compare with one another, their figures with nothing else
            verdict = (
                f"every trial ran under a load of about {low}, so their energy order may hold but their figures "
                f"compare with no others. Rerun the sweep on an otherwise idle machine."
            )
        else:  # no uncontended trial to compare with: the load itself moved from trial to trial
            verdict = (
                f"every trial's energy grew with a load that went from {low} to {high}, so the trials are not "
                f"comparable with one another and the frontier's energy order is uncertain. Rerun the sweep on an "
                f"otherwise idle machine."
            )
        _say(
            console,
            f"Contended ({len(contended)} of {spelling.counted(n_completed, 'completed trial')}): other processes kept "
            f"more than a quarter of the machine's CPU capacity busy while {listed} measured "
            f"(energy/<stage>_cpu_contention). "
            f"Measured CPU/DRAM energy includes their work and a CPU-time estimate grows with it: {verdict}",
        )
    short = report.short_windows
    if short:
        _say(
            console,
            f"Short energy windows ({len(short)} of {spelling.counted(len(_evaluated(result)), 'completed trial')}, "
            "marked ~ below): "
            f"{', '.join(f'#{i}' for i in short)} measured for less than the callback's min_duration_s or 20 "
            f"counter updates, or ended inside their warm-up batches (energy/<stage>_short_window = 1), so their "
            f"energy figures may be off by a counter step, the timer's jitter or the first batches' one-off costs (a "
            f"compilation); where they decide the frontier, it is uncertain. Measure more batches (or repeat "
            f"the loop: lightning_ecopt.inference.TimedPasses, until min_duration_s; its 'auto' is 2 s on NVML).",
        )

    hv = "n/a" if result.hypervolume is None else views.format_value(result.hypervolume, 6)
    n_front = len(report.frontier)
    # One objective has a best value, not a hypervolume (the sweep records none).
    measure = "" if len(result.objectives) == 1 else f", hypervolume {hv}"
    # Titles and captions are lines of their own, not the table's: a table's title wraps at the table's width and is
    # padded to it, so piped into a file "hypervolume 1.069" could be split over two lines a grep would miss.
    title = f"Pareto frontier: {spelling.counted(n_front, 'configuration')}{measure}"
    caption = f"↑ higher is better, ↓ lower is better; energy figures {frontier_label}"
    # Trials of several energy sources (allow_mixed_energy_sources: measured beside estimated, or over other
    # counters): the caption's "mixed" does not say which row is which, so each row names its own.
    per_trial = len({views.energy_label([t.energy_source]) for t in result.trials if t.status == "completed"}) > 1
    if per_trial:
        caption += " (each trial's under energy)"
    params = sorted({k for row in report.frontier for k in row["params"]})
    headers = [
        "trial",
        *(
            f"{views.printable(o.name)} {'↓' if o.minimize else '↑'}"
            + (f"\n[{unit}]" if (unit := views.metric_unit(o.name)) else "")
            for o in result.objectives
        ),
        *(["energy"] if per_trial else []),
        *map(views.printable, params),
    ]
    rows = [
        [
            f"{'~' if row['trial_index'] in short else ''}#{row['trial_index']}{' ★ knee' if row['knee'] else ''}",
            *(views.format_value(row["values"][o.name]) for o in result.objectives),
            *([views.printable(views.energy_label([row["energy_source"]]))] if per_trial else []),
            *(views.printable(views.format_value(row["params"].get(p))) for p in params),
        ]
        for row in report.frontier
    ]
    _say(console, title, soft_wrap=whole_titles)
    _table_or_blocks(console, headers, rows)
    _say(console, caption, soft_wrap=whole_titles)
    constrained = report.constraints
    if constrained and constrained["constraints"]:
        _say(
            console,
            views.constraints_line(constrained["constraints"], constrained["completed"], constrained["meeting"]),
        )
    if result.reference_point:
        ref = ", ".join(f"{k} = {views.format_value(v)}" for k, v in result.reference_point.items())
        _say(console, f"Reference point ({views.reference_origin(result)}): {ref}")
        note = views.outside_reference_note(result, _outcome_constraints(report.sweep) or ())
        if note is not None:
            _say(console, note)

    audit_title = f"Proxy audit: parameter count and FLOPs against energy per inference ({frontier_label})"
    audit = [
        [
            views.printable(c.proxy),
            str(c.n),
            "-" if c.pearson_r is None else f"{c.pearson_r:+.3f} ({c.pearson_p:.2g})",
            "-" if c.spearman_rho is None else f"{c.spearman_rho:+.3f} ({c.spearman_p:.2g})",
        ]
        for c in report.audit
    ]
    _say(console, audit_title, soft_wrap=whole_titles)
    _table_or_blocks(
        console, ["proxy", "n", "Pearson r (p)", "Spearman rho (p)"], audit, justify=["left", "right", "right", "right"]
    )
    target = report.audit[0].target if report.audit and report.audit[0].target else "energy per inference"
    _say(console, f"Against {target}, across completed trials that ran.")
    for caveat in proxy_audit_caveats(report.sweep.result):
        _say(console, caveat)
    for c in report.audit:
        _say(console, f"- {c.proxy}: {c.meaning}")

    _render_ledger(
        led,
        console,
        report.sweep.result,
        label=header_label,
        whole_titles=whole_titles,
        constraints=_outcome_constraints(report.sweep) or (),
    )
    for name, path in report.files.items():
        _say(console, f"Wrote {name}: {path}")


def _say(console: Console, text: str, **kwargs: Any) -> None:
    """Print one of the report's lines as plain text: no rich markup, control characters as escapes.

    The lines quote what the task chose (parameter values, metric names, exception messages): ``[/]`` in one would be
    read as markup, and an ANSI escape code written to the terminal as it is.
    """
    console.print(views.printable(text), markup=False, **kwargs)


def _abandoned_clause(result: SweepResult) -> str:
    """``", N abandoned"`` where a stop cut trials short (a rerun of the sweep runs them), else nothing."""
    n = sum(t.status == "abandoned" for t in result.trials)
    return f", {n} abandoned" if n else ""


def _failure_reasons(result: SweepResult, width: int = 240) -> dict[str, list[int]]:
    """The failed trials grouped by reason (cut to ``width`` characters), most frequent first; reuses left out."""
    groups: dict[str, list[int]] = {}
    for t in result.failures():
        if t.reused_from is None:
            reason = " ".join((t.reason or "no reason recorded").split())
            groups.setdefault(reason if len(reason) <= width else reason[: width - 1] + "…", []).append(t.trial_index)
    return dict(sorted(groups.items(), key=lambda item: -len(item[1])))


def _index_ranges(indices: Sequence[int]) -> str:
    """Trial indices as runs: ``0-39, 41, 45-46``, so that a long sweep's list stays a line, not a page.

    >>> _index_ranges([0, 1, 2, 3, 5, 7, 8])
    '0-3, 5, 7-8'
    >>> _index_ranges([9, 2])
    '2, 9'
    """
    runs: list[list[int]] = []
    for index in sorted(indices):
        if runs and index <= runs[-1][1] + 1:
            runs[-1][1] = max(runs[-1][1], index)
        else:
            runs.append([index, index])
    return ", ".join(str(first) if first == last else f"{first}-{last}" for first, last in runs)


def _trials_listed(indices: Sequence[int]) -> str:
    """``trial 3`` or ``trials 0-2, 5``: the word agrees with the count.

    >>> _trials_listed([3]), _trials_listed([5, 0, 1, 2])
    ('trial 3', 'trials 0-2, 5')
    """
    return f"{'trial' if len(indices) == 1 else 'trials'} {_index_ranges(indices)}"


def _render_ledger(
    led: Ledger,
    console: Console,
    result: SweepResult,
    *,
    label: str,
    whole_titles: bool,
    constraints: Sequence[OutcomeConstraint] = (),
) -> None:
    bound = " (lower bound)" if led.lower_bound else ""
    # No counted trial recorded its training: its 0 J is unknown, not nothing (the line below says how to measure it).
    untrained = led.trials_counted > 0 and led.trials_without_train_j == led.trials_counted
    if led.mixed_energy:
        _say(
            console,
            f"Search-cost ledger (energy {label}, totalled per kind, never summed; PUE {led.pue:g})",
            style="bold",
        )
        for kind, k in led.totals_by_kind.items():
            _say(
                console,
                f"Search energy, {kind}: {_fmt_j(k.total_j)} = {k.total_j / _J_PER_KWH:.4g} kWh{bound}: "
                f"{_split_j(k.train_j, k.eval_j, k.trials_without_train_j == k.trials_counted)}, x PUE {led.pue:g}, "
                f"over {spelling.trials(k.trials_counted)} with known energy; CO2 {k.co2_g:.4g} g CO2e at "
                f"{led.carbon_g_per_kwh:g} g/kWh.",
            )
        _say(
            console,
            f"{_not_comparable(led.energy_kinds).capitalize()}: the {led.trials_counted} trials with known energy "
            f"({led.failed_counted} failed) are totalled per kind, and the kinds are never added together.",
        )
    else:
        _say(console, f"Search-cost ledger (energy {label}; PUE {led.pue:g})", style="bold")
        _say(
            console,
            f"Search energy: {_fmt_j(led.total_j)} = {led.total_kwh:.4g} kWh{bound}: "
            f"{_split_j(led.train_j, led.eval_j, untrained)}, x PUE {led.pue:g}, over "
            f"{spelling.trials(led.trials_counted)} with known energy ({led.failed_counted} failed).",
        )
        _say(console, f"CO2: {led.co2_g:.4g} g CO2e at {led.carbon_g_per_kwh:g} g/kWh.")
    coverage = views.energy_coverage(t.energy_source for t in result.trials)
    if coverage is not None:
        _say(console, coverage)
    if led.trials_unknown:
        _say(console, f"Not counted, energy unknown: {_trials_listed(led.trials_unknown)}.")
    if led.trials_eval_unknown:
        _say(
            console,
            f"Evaluation energy partly unknown (a loop read NaN, or 0 J over a window shorter than its counter's "
            f"update, or none was recorded): {_trials_listed(led.trials_eval_unknown)}; counted where "
            "known.",
        )
    if led.trials_without_train_j:
        untrained_trials = spelling.counted(
            led.trials_without_train_j,
            "trial recorded no training energy: only its",
            "trials recorded no training energy: only their",
        )
        _say(console, f"{untrained_trials} evaluation counts (EnergyCallback(train=True) measures the fit).")
    if led.trials_reused:
        _say(
            console,
            f"{spelling.counted(led.trials_reused, 'reused trial was', 'reused trials were')} not run again: 0 J.",
        )
    if led.trials_shared_counters:
        shared = spelling.counted(
            led.trials_shared_counters,
            "trial was measured on counters shared with trials that ran beside it: its joules include its "
            "neighbours' work, so its",
            "trials were measured on counters shared with trials that ran beside them: their joules include their "
            "neighbours' work, so their",
        )
        _say(
            console,
            f"{shared} figures and this total overstate it. Run one trial per GPU (or CPU package) for exact figures.",
        )
    if led.trials_checkpoint_reused and led.mixed_energy:
        saved = ", ".join(
            f"{_fmt_j(k.checkpoint_saved_j)} {kind}" for kind, k in led.totals_by_kind.items() if k.checkpoint_saved_j
        )
        _say(
            console,
            f"Checkpoint reuse: {spelling.trials(led.trials_checkpoint_reused)} loaded a cached checkpoint instead of "
            "training, "
            f"saving {saved}.",
        )
    elif led.trials_checkpoint_reused:
        retrain = led.total_j + led.checkpoint_saved_j
        unknown = led.trials_checkpoint_saved_unknown
        share = (
            f" ({led.checkpoint_saved_j / retrain:.0%} of the {_fmt_j(retrain)} that retraining in every trial would "
            f"have cost)"
            if retrain and not unknown
            else ""
        )
        _say(
            console,
            f"Checkpoint reuse: {spelling.trials(led.trials_checkpoint_reused)} loaded a cached checkpoint instead of "
            "training, "
            f"saving {'at least ' if unknown else ''}{_fmt_j(led.checkpoint_saved_j)}{share}"
            f"{f'; {unknown} of them did not report the training they avoided' if unknown else ''}.",
        )
    if led.baseline is None:
        if led.energy_per_inference is None:
            _say(console, "No baseline: no completed trial reports an energy per inference, so no break-even.")
        else:
            _say(
                console,
                "No baseline: no completed trial that meets the sweep's outcome constraints reports an energy per "
                "inference, so no break-even. Name one with --baseline <trial>.",
            )
        return
    why = {"first": "the first completed trial", "trial": "chosen"}
    if led.baseline_metric is not None:
        why["most-accurate"] = f"the best {led.baseline_metric}"
    if led.baseline_passed_over:  # a trial the constraints rule out did better: say whose best it is
        why = {rule: f"{text} among the trials that meet the constraints" for rule, text in why.items()}
    if led.baseline_breaks:  # "first" or a named trial: the user's reference, taken whatever the constraints say
        why = {rule: f"{text}, which breaks {', '.join(led.baseline_breaks)}" for rule, text in why.items()}
    tie = ""
    if led.baseline_tied:
        tie = (
            f"; {len(led.baseline_tied)} trials tie on it ({', '.join(f'#{i}' for i in led.baseline_tied)}), the one "
            f"with the {led.baseline_tie_rule} taken: the smallest saving, the longest payback"
        )
    # Each model's performance beside its saving (a model that saves 30 % at a third of the accuracy is no bargain),
    # and, where the trials count tokens, the joules per token (an inference is then a whole prompt's generation).
    by_index = {t.trial_index: t for t in result.trials}
    performance: Objective | None = _performance_objective(result, constraints)
    if performance is not None and views.is_energy_metric(performance.name):
        performance = None
    stage = _inference_stage(led.energy_per_inference)

    def per_token(trial_index: int, j_per_inference: float) -> float | None:
        metrics = by_index[trial_index].metrics if trial_index in by_index else {}
        tokens, samples = (
            _finite(metrics.get(f"energy/{stage}_tokens")),
            _finite(metrics.get(f"energy/{stage}_samples")),
        )
        return j_per_inference * samples / tokens if tokens and samples else None

    def shown(trial_index: int | None) -> str:
        value = by_index[trial_index].metrics.get(performance.name) if performance and trial_index in by_index else None
        return "-" if not isinstance(value, int | float) else views.format_value(value, 4)

    tokens_known = any(per_token(s.trial_index, s.j_per_inference) is not None for s in led.savings)
    base = f", {performance.name} {shown(led.baseline)}" if performance is not None else ""
    savings_title = (
        f"Frontier models against baseline #{led.baseline} ({why.get(led.baseline_rule, led.baseline_rule)}"
        f"{tie}): {_fmt_j(led.baseline_j_per_inference or 0.0)} per inference{base}"
    )
    columns = ["trial"] + ([performance.name] if performance is not None else [])
    columns += ["J per inference"] + (["J per token"] if tokens_known else [])
    columns += ["saved per inference", "saved", "break-even inferences"]
    savings = []
    for s in led.savings:
        token_j = per_token(s.trial_index, s.j_per_inference)
        savings.append(
            [
                f"#{s.trial_index}",
                *([shown(s.trial_index)] if performance is not None else []),
                _fmt_j(s.j_per_inference),
                *([_fmt_j(token_j) if token_j is not None else "-"] if tokens_known else []),
                _fmt_j(s.saved_j_per_inference),
                "n/a" if math.isnan(s.saved_fraction) else f"{s.saved_fraction:+.1%}",
                "n/a" if led.mixed_energy else _at_least(led.lower_bound, s.break_even_inferences),
            ]
        )
    _say(console, savings_title, soft_wrap=whole_titles)
    _table_or_blocks(console, [views.printable(column) for column in columns], savings)
    if led.savings and all(s.trial_index == led.baseline for s in led.savings):
        _, per_inference = _energy_per_inference(_evaluated(result), result.objectives)
        first = _choose_baseline(result, "first", per_inference)[1]  # what --baseline first would take
        others = [t for t in _evaluated(result) if t.trial_index != led.baseline and per_inference(t) is not None]
        if not others:  # a one-trial sweep: "--baseline <trial>" would name a trial there is not
            compare = (
                "It is the only completed trial with an energy per inference: there is no other to compare it with."
            )
        elif first is None or first.trial_index == led.baseline:
            compare = "Compare it with another trial: --baseline <trial>."
        else:
            compare = "Compare it with another trial: --baseline first, or --baseline <trial>."
        _say(
            console,
            f"The frontier is the baseline alone (#{led.baseline}): no frontier model saves energy against it, so "
            f"there is nothing to break even. {compare}",
        )
    if led.mixed_energy:
        _say(
            console,
            f"No break-even: the search's energy mixes {' and '.join(led.energy_kinds)} joules (totalled per kind "
            f"above), which are not comparable, so there is no one search energy for a model to repay. Only frontier "
            f"models whose energy is {led.baseline_kind}, as the baseline's, are compared with it. Sweep with "
            f"one energy source for a break-even.",
        )
        return
    _say(
        console,
        f"Break-even: search energy / energy saved per inference (PUE applies to both)"
        f"{'; at least (>=), since the search energy is a lower bound' if led.lower_bound else ''}. Energy per "
        f"inference: {led.energy_per_inference} ({label}).",
    )
