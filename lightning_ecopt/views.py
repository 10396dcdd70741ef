"""What the frontier views share: metric labels, energy labels, the frontier table and the frontier figure.

Both views of a sweep use this module: :mod:`lightning_ecopt.tensorboard` (written by the sweep process after every
batch) and :mod:`lightning_ecopt.report` (``ecopt report <sweep dir>``), so TensorBoard and the report draw the same
picture from the same :class:`~lightning_ecopt.sweeper.results.SweepResult`. Only numpy is imported at module level;
matplotlib is imported when a figure is drawn, and only its object-oriented API (``Figure`` + the Agg canvas) is
used: no pyplot, no GUI backend. The one global state read, rcParams, is matplotlib's defaults while a figure is
built and drawn (the caller's put back after, about 1 ms later): the sweep draws in the process its trials run in,
and a task's ``text.usetex`` or ``font.size`` had reached the picture. Our own figures take turns (a lock); a figure
another thread builds in that millisecond gets the defaults too.

Example:
    >>> metric_unit("energy/test_samples_per_j"), metric_unit("energy/train_j"), metric_unit("test/acc")
    ('samples/J', 'J', '')
    >>> energy_label(["estimated: cpu-time", "estimated: cpu-time", None])
    'estimated (cpu-time)'
"""

from __future__ import annotations

import contextlib
import math
import re
import threading
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from lightning_ecopt import frontier
from lightning_ecopt._numbers import format_number
from lightning_ecopt.sweeper.results import front_candidates, meets
from lightning_ecopt.sweeper.spelling import counted, trials

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from lightning_ecopt.sweeper.objectives import OutcomeConstraint
    from lightning_ecopt.sweeper.results import SweepResult, TrialRecord

__all__ = [
    "axis_label",
    "energy_coverage",
    "energy_kinds",
    "energy_label",
    "figure_png",
    "figure_rgb",
    "format_value",
    "frontier_figure",
    "frontier_markdown",
    "frontier_rows",
    "is_energy_metric",
    "knee_index",
    "metric_unit",
    "outside_reference_note",
    "printable",
    "reference_origin",
    "short_windows",
]

# Suffix -> unit, longest first: the first match wins.
_UNITS: tuple[tuple[str, str], ...] = (
    ("_samples_per_j", "samples/J"),
    ("_tokens_per_j", "tokens/J"),
    ("_j_per_sample", "J/sample"),
    ("_j_per_batch", "J/batch"),
    ("flops_per_sample", "FLOP/sample"),
    ("_time_s", "s"),
    ("_power_w", "W"),
    ("_ms", "ms"),  # a latency (test/latency_ms), as the docs' constraints name it
    ("_j", "J"),
    ("_s", "s"),
    ("_w", "W"),
    ("/params", "parameters"),
)


# Control characters (C0, DEL, C1) and the bidirectional embedding, override and isolate marks: written to a terminal
# as they are, an ANSI escape in a task's exception message recoloured (or, cut by a table column, left red) all that
# followed, and U+202E reversed the rest of its line. Lone surrogates (a file name that is not UTF-8, decoded by
# Python) too: no stream can encode one.
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def printable(text: str, keep: str = "\n\t") -> str:
    r"""``text`` with its control characters written as Python escapes (``\x1b``), so it prints as the text it is.

    Names, values and exception messages come from the user's task: an ANSI escape code (``\x1b[31m``, which some
    libraries put in their messages), a NUL or a right-to-left override (U+202E) in them would act on the terminal, or
    on the rest of the line, instead of being shown.

    Args:
        text: The text.
        keep: Control characters to leave as they are (by default newline and tab, which lay text out).

    Returns:
        ``text``, each control character (C0, DEL, C1), bidirectional control and lone surrogate not in ``keep``
        replaced by its escape.

    Example:
        >>> printable("\x1b[31mred\x1b[0m"), printable("a\x00b\nc"), printable("a\nb", keep="")
        ('\\x1b[31mred\\x1b[0m', 'a\\x00b\nc', 'a\\nb')
    """

    def escaped(match: re.Match[str]) -> str:
        char = match.group()
        if char in keep:
            return char
        return {"\n": "\\n", "\t": "\\t", "\r": "\\r"}.get(char) or (
            f"\\x{ord(char):02x}" if ord(char) <= 0xFF else f"\\u{ord(char):04x}"
        )

    return _UNPRINTABLE.sub(escaped, text)


def metric_unit(name: str) -> str:
    """The unit of a metric, read from its name (``lightning_ecopt`` names carry units: ``energy_j``, ``time_s``).

    Args:
        name: The metric's name, e.g. ``"energy/test_samples_per_j"``.

    Returns:
        The unit (``"samples/J"``, ``"J"``, ``"s"``, ...), or ``""`` when the name does not tell (accuracy, loss).

    Example:
        >>> [metric_unit(n) for n in ("energy/test_j_per_sample", "model/flops_per_sample", "val/loss")]
        ['J/sample', 'FLOP/sample', '']
    """
    for suffix, unit in _UNITS:
        if name.endswith(suffix):
            return unit
    return ""


def is_energy_metric(name: str) -> bool:
    """Whether a metric is an energy figure (its source label applies to it).

    Example:
        >>> is_energy_metric("energy/test_samples_per_j"), is_energy_metric("energy/test_samples")
        (True, False)
        >>> is_energy_metric("test/acc")
        False
    """
    return "J" in metric_unit(name) or name.endswith("_power_w")


def energy_kinds(sources: Iterable[str | None]) -> list[str]:
    """The distinct kinds (``"measured"``, ``"estimated"``) of energy source labels, sorted; ``None`` skipped.

    Example:
        >>> energy_kinds(["measured: zeus/nvml", None, "estimated: cpu-time", "measured: zeus/rapl"])
        ['estimated', 'measured']
    """
    from lightning_ecopt.energy.measurement import source_kind

    return sorted({source_kind(s) for s in sources if s})


def energy_coverage(sources: Iterable[str | None]) -> str | None:
    """What measured Zeus figures leave out, in a sentence; ``None`` when they leave nothing out that we know of.

    Zeus reading a GPU but no RAPL (a VM, an unreadable ``/sys/class/powercap``) counts the GPU alone: the search
    energy and energy per inference are then the GPU's, below the machine's. An SoC's counters (``apple-soc``,
    ``jetson``) hold its CPU too (:data:`~lightning_ecopt.energy.measurement.CPU_COUNTERS`).

    Example:
        >>> energy_coverage(["measured: zeus/nvml"])[:35]
        'zeus/nvml counts the GPU alone: CPU'
        >>> energy_coverage(["measured: zeus/nvml+rapl", "estimated: cpu-time"]) is None
        True
        >>> energy_coverage(["measured: zeus/apple-soc+dram", "measured: zeus/jetson"]) is None
        True
    """
    from lightning_ecopt.energy.measurement import CPU_COUNTERS, source_kind, zeus_counters

    def gpu_only(source: str) -> list[str]:  # a trial's loops of other counters are joined: "measured: a, b"
        kind, _, rest = source.partition(":")
        counters = (zeus_counters(f"{kind}: {part}") for part in rest.split(","))
        return [f"zeus/{c}" for c in counters if c is not None and not CPU_COUNTERS & set(c.split("+"))]

    per_source = [gpu_only(s) for s in sources if s and source_kind(s) == "measured"]
    names = sorted({name for found in per_source for name in found})
    if not names:
        return None
    return (
        f"{', '.join(names)} counts the GPU alone{'' if all(per_source) else ' (in some trials)'}: CPU and "
        "DRAM joules were not measured (no readable RAPL), so the search energy and the energy per inference here "
        "are the GPU's, below the machine's."
    )


def energy_label(sources: Iterable[str | None]) -> str:
    """One label for the energy figures of a set of trials: ``"measured (zeus/nvml)"``, ``"estimated (cpu-time)"``.

    Args:
        sources: The trials' ``energy_source`` labels (``None`` for trials that returned none).

    Returns:
        ``"<kind> (<details>)"`` when every labelled trial has the same kind, ``"mixed: measured and estimated"``
        when kinds differ, or ``"unlabelled"`` when no trial returned a label.

    Example:
        >>> energy_label(["measured: zeus/nvml", "measured: zeus/nvml+rapl"])
        'measured (zeus/nvml, zeus/nvml+rapl)'
        >>> energy_label(["measured: zeus/nvml", "estimated: cpu-time"]), energy_label([None])
        ('mixed: estimated and measured', 'unlabelled')
        >>> energy_label(["estimated: cpu-time (4 W/thread)"])
        'estimated (cpu-time, 4 W/thread)'
        >>> energy_label(["estimated: cpu-time (4 W/thread)", "estimated: cpu-time"])
        'estimated (cpu-time; cpu-time, 4 W/thread)'
        >>> energy_label(["measured: ipmi (bmc) (rack 4)"])  # the last group only: balanced
        'measured (ipmi (bmc), rack 4)'
    """
    labels = sorted({s for s in sources if s})
    kinds = energy_kinds(labels)
    if not kinds:
        return "unlabelled"
    if len(kinds) > 1:
        return "mixed: " + " and ".join(kinds)
    details = sorted({s.split(":", 1)[1].strip() for s in labels if ":" in s and s.split(":", 1)[1].strip()})
    if not details:
        return kinds[0]
    # A detail's own parentheses (``cpu-time (4 W/thread)``) would nest inside the label's: "cpu-time, 4 W/thread".
    details = [re.sub(r"\s*\(([^()]*)\)$", r", \1", detail) for detail in details]
    return f"{kinds[0]} ({('; ' if any(', ' in d for d in details) else ', ').join(details)})"


def frontier_energy_label(result: SweepResult) -> str:
    """The label of the figures a frontier view shows: the completed trials' (see :func:`energy_label`).

    A failed trial's figures are on no frontier: one refused for its measured figures among estimated ones must not
    make the frontier's label "mixed". The search-cost ledger, which counts failed trials' energy, labels them all.
    """
    return energy_label(t.energy_source for t in result.trials if t.status == "completed")


def axis_label(name: str, minimize: bool, energy: str | None = None, *, sep: str = ", ") -> str:
    """An axis or column label: the metric, its unit, the energy label if it is an energy figure, and the direction.

    Args:
        name: The metric's name.
        minimize: Whether lower values are better.
        energy: The energy label (:func:`energy_label`), added to energy figures.
        sep: Between the metric and its direction (a newline gives a two-line axis label).

    Example:
        >>> axis_label("energy/test_samples_per_j", minimize=False, energy="estimated (cpu-time)")
        'energy/test_samples_per_j [samples/J, estimated (cpu-time)], higher is better'
        >>> axis_label("val/loss", minimize=True)
        'val/loss, lower is better'
    """
    return f"{metric_heading(name, energy)}{sep}{'lower' if minimize else 'higher'} is better"


def metric_heading(name: str, energy: str | None = None) -> str:
    """A metric with its unit and, if it is an energy figure, the energy label (:func:`energy_label`).

    >>> metric_heading("energy/test_j", "measured (zeus/nvml)"), metric_heading("test/acc", "measured (zeus/nvml)")
    ('energy/test_j [J, measured (zeus/nvml)]', 'test/acc')
    """
    parts = [p for p in (metric_unit(name), energy if energy and is_energy_metric(name) else "") if p]
    return f"{name} [{', '.join(parts)}]" if parts else name


def format_value(value: Any, digits: int = 4) -> str:
    """A number with ``digits`` significant digits (whole numbers in full), other values as text.

    A whole float is a count that came through Lightning's logging or the results file (``model/params``,
    ``energy/test_samples``): it reads as the count, not as ``1.235e+06``; a large figure with a fraction reads to the
    unit beside it (:func:`lightning_ecopt._numbers.format_number`).

    Example:
        >>> format_value(0.912345), format_value(1234567.0), format_value(1234567.3), format_value(12)
        ('0.9123', '1234567', '1234567', '12')
        >>> format_value(True), format_value(None)
        ('True', '')
    """
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        return str(value)
    return format_number(value, digits)


def _is_finite_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _completed_with_values(result: SweepResult) -> list[TrialRecord]:
    """Completed, evaluated (not reused) trials whose objective values are all finite numbers."""
    out = []
    for trial in result.trials:
        if trial.status != "completed" or trial.reused_from is not None:
            continue
        if all(_is_finite_number(trial.metrics.get(o.name)) for o in result.objectives):
            out.append(trial)
    return out


def knee_index(result: SweepResult) -> int | None:
    """The trial index of the frontier's knee (:func:`lightning_ecopt.frontier.knee_point`), or ``None``.

    A frontier of fewer than three distinct points has no knee: its two ends are always equally far from the ideal
    point, so naming either would be arbitrary (and could crown the least accurate model).
    """
    front = [t for t in result.pareto_trials if t.status == "completed"]
    distinct = {tuple(t.metrics[o.name] for o in result.objectives) for t in front}
    if len(distinct) < 3:
        return None
    Y = np.array([[t.metrics[o.name] for o in result.objectives] for t in front], dtype=np.float64)
    k = frontier.knee_point(Y, [not o.minimize for o in result.objectives])
    return None if k is None else front[k].trial_index


def short_windows(result: SweepResult) -> set[int]:
    """The completed trials that ran whose energy window was short (``energy/<stage>_short_window = 1``).

    Over the loops an energy objective names (any loop when none does), as ``ecopt report`` reads them (its
    ``short_windows``): their energy figures may be off by a counter step, the timer's jitter or the first batches'
    one-off costs, and where they decide the frontier, it is uncertain.
    """
    from lightning_ecopt.ledger import _loop_flags  # here, not at the top: the ledger imports this module

    return {i for i, flag in _loop_flags(result, "short_window").items() if flag == 1}


def frontier_rows(result: SweepResult) -> list[dict[str, Any]]:
    """The frontier's trials as table rows, best first on the first objective.

    Args:
        result: The sweep's result.

    Returns:
        One dict per frontier trial: ``trial_index``, ``params``, ``values`` (``{objective: value}``),
        ``energy_source`` and ``knee`` (whether it is the knee point).
    """
    knee = knee_index(result)
    first = result.objectives[0]
    front = [t for t in result.pareto_trials if t.status == "completed"]
    front.sort(key=lambda t: (t.metrics[first.name] if first.minimize else -t.metrics[first.name], t.trial_index))
    return [
        {
            "trial_index": t.trial_index,
            "params": dict(t.params),
            "values": {o.name: t.metrics[o.name] for o in result.objectives},
            "energy_source": t.energy_source,
            "knee": t.trial_index == knee,
        }
        for t in front
    ]


def reference_origin(result: SweepResult) -> str:
    """Where the reference point came from, in words: ``given``, ``inferred``, or given for some objectives.

    A provisional point (inferred from every trial while fewer than two met the outcome constraints, to be inferred
    again) says so: the
    hypervolume against it is not one the sweep keeps.

    Example:
        >>> from lightning_ecopt.sweeper.objectives import parse_objectives
        >>> from lightning_ecopt.sweeper.results import SweepResult
        >>> objectives = tuple(parse_objectives({"acc": "maximize", "j": "minimize"}, None))
        >>> reference_origin(SweepResult(objectives, (), (), {"acc": 0.5, "j": 9.0}, "inferred",
        ...                              reference_point_given=("acc",)))
        'given for acc, inferred for the rest'
    """
    words = _origin_words(result)
    if result.reference_point_provisional:
        words += (
            ", provisional: from every trial, feasible or not, inferred again once two meet the outcome constraints"
        )
    return words


def _origin_words(result: SweepResult, unknown: str = "origin unknown") -> str:
    """``given``, ``inferred``, or ``given for a, inferred for the rest``: :func:`reference_origin` and the legend."""
    origin = result.reference_point_origin
    if origin == "inferred" and result.reference_point_given:
        return f"given for {', '.join(result.reference_point_given)}, inferred for the rest"
    return origin or unknown


def outside_reference_note(result: SweepResult, constraints: Sequence[OutcomeConstraint] = ()) -> str | None:
    """A sentence naming the Pareto configurations outside the reference box, with the fix; ``None`` if there are none.

    Such configurations add nothing to the hypervolume, and the acquisition function values nothing beyond the box,
    so a reader of a hypervolume that stopped growing needs to know.

    Args:
        result: The sweep's result.
        constraints: The sweep's outcome constraints: a reference value that came from one on an objective is
            loosened there (the sweep refuses a reference point for such an objective).
    """
    outside = result.outside_reference
    if not outside:
        return None
    n_front = len(result.pareto_indices)
    names = ", ".join(f"#{t.trial_index}" for t in outside)
    lie, add = ("lies", "adds") if len(outside) == 1 else ("lie", "add")
    head = (
        f"{len(outside)} of the {counted(n_front, 'Pareto configuration')} ({names}) {lie} outside the reference box "
        f"and {add} "
        "nothing to the hypervolume"
    )
    # Which objective's reference value leaves them out, and whether the user gave it or the sweep inferred it:
    # the fix differs (loosen a given value; give one where it was inferred).
    ref = result.reference_point or {}
    given = set(ref) if result.reference_point_origin == "given" else set(result.reference_point_given)
    bounds = {c.metric: c for c in constraints}
    causes, fixes, loosen_constraints = [], [], []
    for o in result.objectives:
        value = ref.get(o.name)
        if value is None:
            continue
        column = [[t.metrics[o.name]] for t in outside]
        left_out = int((~frontier.inside_reference(column, [value], [not o.minimize])).sum())
        if not left_out:
            continue
        kind = "given" if o.name in given else "inferred"
        causes.append(f"{o.name} = {format_value(value)} ({kind}) leaves out {left_out}")
        if o.name in given and o.name in bounds:  # no reference_point for it: the sweep refuses both
            loosen_constraints.append(f"loosen the constraint '{bounds[o.name]}' (a trial on the bound adds no volume)")
        else:
            fixes.append(f"loosen the given {o.name}" if kind == "given" else f"give {o.name}'s")
    if result.reference_point_origin == "inferred" and not given:
        return (
            f"{head} ({'; '.join(causes)}): the point was inferred from the front after the initial trials. Give "
            "reference_point (hydra.sweeper.reference_point: the worst value you would accept per objective) to "
            "count them."
        )
    fixes = ([f"{' and '.join(fixes)} in reference_point"] if fixes else []) + loosen_constraints
    return f"{head} ({'; '.join(causes)}): {' and '.join(fixes)} to count them."


def _md(text: Any) -> str:
    r"""A value as the text of a Markdown table cell that TensorBoard shows as written.

    Control characters as escapes (a newline would end the row), and Markdown's inline marks escaped: ``p\|q`` lost
    its ``q`` (the backslash escaped the escape of the ``|``), ``*em*`` showed as emphasis without its stars.
    """
    cell = printable(format_value(text), keep="")
    cell = re.sub(r"([\\`*_\[\]|])", r"\\\1", cell)
    return cell.replace("&", "&amp;").replace("<", "&lt;")


def frontier_markdown(result: SweepResult, constraints: Sequence[OutcomeConstraint] = ()) -> str:
    """The frontier's configurations as a Markdown table (TensorBoard's Text dashboard renders it).

    Args:
        result: The sweep's result.
        constraints: The sweep's outcome constraints: named, with how many completed trials meet them (only those
            make the frontier).

    Returns:
        A heading line, the table (trial, objectives with their direction, parameters), and a line naming the knee
        and the energy label; a sentence when the frontier is still empty.
    """
    label = frontier_energy_label(result)
    rows = frontier_rows(result)
    head = (
        f"**Pareto frontier after {trials(result.n_finished)}** ({result.n_completed} completed, {result.n_failed} "
        f"failed): {counted(len(rows), 'configuration')}. Energy figures: {label}."
    )
    if constraints:
        completed, breaking = constraint_tally(result, constraints)
        shown = [_md(c.metric) + str(c).removeprefix(c.metric) for c in constraints]  # the name escaped, "<=" kept
        head += " " + constraints_line(shown, completed, completed - len(breaking))
    if not rows:
        return head + "\n\nNo completed trial on the frontier yet."
    names = sorted({k for row in rows for k in row["params"]})
    arrows = {o.name: ("↓" if o.minimize else "↑") for o in result.objectives}
    header = ["trial", *(f"{o.name} {arrows[o.name]}" for o in result.objectives), *names]
    lines = ["| " + " | ".join(_md(h) for h in header) + " |", "|" + "---|" * len(header)]
    short = short_windows(result)  # ~#7, as in the report's table (the sentence below the table says why)
    for row in rows:
        mark = " (knee)" if row["knee"] else ""
        tilde = "~" if row["trial_index"] in short else ""
        cells = [f"{tilde}#{row['trial_index']}{mark}", *(_md(row["values"][o.name]) for o in result.objectives)]
        cells += [_md(row["params"].get(n)) for n in names]
        lines.append("| " + " | ".join(cells) + " |")
    if short & {row["trial_index"] for row in rows}:
        lines += [
            "",
            "~: a short energy window (energy/&lt;stage&gt;\\_short\\_window = 1): that trial's energy figures are "
            "less certain, and so is the frontier where they decide it.",
        ]
    hv = "n/a" if result.hypervolume is None else format_value(result.hypervolume, 6)
    if len(result.objectives) == 1:  # a best value, not a hypervolume (the sweep records none)
        best = rows[0]
        name = _md(result.objectives[0].name)
        return "\n".join([head, "", *lines, "", f"Best {name}: trial #{best['trial_index']}."])
    foot = f"Hypervolume {hv}"
    if result.reference_point:
        ref = ", ".join(f"{_md(k)} = {format_value(v)}" for k, v in result.reference_point.items())
        foot += f" against the reference point ({ref}; {reference_origin(result)})"
    note = outside_reference_note(result, constraints)
    return "\n".join([head, "", *lines, "", foot + "." + ("" if note is None else f" {note}")])


def constraint_tally(result: SweepResult, constraints: Sequence[OutcomeConstraint]) -> tuple[int, list[int]]:
    """The completed trials that ran (reused ones count as their source), and those of them breaking a constraint."""
    ran = front_candidates(result.trials)
    return len(ran), [t.trial_index for t in ran if not meets(t, constraints)]


def constraints_line(texts: Sequence[str], completed: int, meeting: int) -> str:
    """The sentence that names the outcome constraints and the completed trials that meet them (report, TensorBoard).

    >>> constraints_line(["lat <= 5"], 3, 2)
    'Outcome constraints: lat <= 5 (2 of 3 completed trials meet them; only those make the frontier).'
    >>> constraints_line(["lat <= 5"], 1, 1)
    'Outcome constraints: lat <= 5 (1 of 1 completed trial meets them; only those make the frontier).'
    """
    meet = "meets" if meeting == 1 else "meet"
    return (
        f"Outcome constraints: {', '.join(texts)} ({meeting} of {counted(completed, 'completed trial')} {meet} them; "
        "only those make the frontier)."
    )


def _axis_scale(values: Sequence[float], ref: float | None = None) -> dict[str, Any] | None:
    """The scale of an axis whose trials span two orders of magnitude or more (positive, max/min >= 50), else None.

    Log, unless the reference point lies at or below zero (an inferred point pushed past the lowest value): then
    symmetric log, logarithmic above the lowest trial value and linear below it, so the point and the shaded region
    down to it stay on the figure.
    """
    finite = [v for v in values if math.isfinite(v)]
    if not finite or min(finite) <= 0 or max(finite) / min(finite) < 50:
        return None
    if ref is not None and ref <= 0:
        return {"value": "symlog", "linthresh": min(finite)}
    return {"value": "log"}


def frontier_figure(
    result: SweepResult,
    *,
    constraints: Sequence[OutcomeConstraint] = (),
    width_in: float = 8.0,
    height_in: float = 5.5,
    dpi: int = 100,
) -> Figure:
    """Draw every trial of a sweep with the Pareto frontier highlighted.

    Completed trials are grey dots, those that break one of ``constraints`` orange rings (named in the legend: one
    may lie beyond the frontier, ruled out); frontier trials are large blue dots with their trial ids, connected by the
    staircase that bounds the region they dominate (shaded down to the reference point, whose area is the
    hypervolume; a front point outside the reference box is on the line but not in the shading); the knee is a gold
    star; the reference point is a red cross; failed trials are red crosses at their values when they returned both
    objectives (a single-objective one at its index), else listed in the legend, as is one whose value at or below 0
    cannot be on a log axis. A completed trial whose energy window was short (``energy/<stage>_short_window = 1``)
    has a dotted ring around its marker, and a frontier one's id reads ``~#7``, as the report marks it. Axis labels
    carry the metric's unit, the energy label (measured or
    estimated) and the direction; where the trials' energy sources differ, each source has its own marker, named in
    the legend. The first two objectives are drawn; with three or more, the front's points
    without a staircase (seen in two objectives, the front of all of them is no staircase) and a title naming the
    objectives left out; a single-objective sweep is drawn against the trial index. A front squeezed into a corner by a
    far trial or reference point (less than a tenth of both axes) is drawn again, zoomed, with its ids, in an inset
    over a corner that holds no point.

    Args:
        result: The sweep's result (partial results are fine: the figure is redrawn after every batch).
        constraints: The sweep's outcome constraints (those on objectives too); ``()`` draws no trial as infeasible.
        width_in: Figure width in inches.
        height_in: Figure height in inches.
        dpi: Dots per inch (the PNG is ``width_in * dpi`` pixels wide).

    Returns:
        A matplotlib ``Figure`` (not attached to pyplot: no need to close it), built under matplotlib's default
        rcParams whatever the process set (:func:`figure_rgb` and :func:`figure_png` draw it so too).
    """
    with _matplotlib_defaults():
        return _frontier_figure(result, constraints=constraints, width_in=width_in, height_in=height_in, dpi=dpi)


def _frontier_figure(
    result: SweepResult, *, constraints: Sequence[OutcomeConstraint], width_in: float, height_in: float, dpi: int
) -> Figure:
    """:func:`frontier_figure`, built under the rcParams in effect."""
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.ticker import MaxNLocator

    fig = Figure(figsize=(width_in, height_in), dpi=dpi, layout="constrained")
    ax = fig.add_subplot()
    objectives = result.objectives
    label = frontier_energy_label(result)
    done = _completed_with_values(result)
    pareto = set(result.pareto_indices)
    knee = knee_index(result)
    failed = [t for t in result.trials if t.status == "failed" and t.reused_from is None]
    short = short_windows(result)  # ringed, and a front point's id reads ~#7, as the report's table marks it

    # matplotlib wraps text at spaces only: a long name without one (a 60-character metric) ran off the figure.
    x_chars, y_chars = (
        int(inches * 72 * share / _LABEL_CHAR_PT) for inches, share in ((width_in, 0.9), (height_in, 0.7))
    )
    if len(objectives) == 1:
        x_of = lambda t: float(t.trial_index)  # noqa: E731
        y_name = objectives[0].name
        y_of = lambda t: float(t.metrics[y_name])  # noqa: E731
        ax.set_xlabel("trial index")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # no tick at trial 0.5
        ax.set_ylabel(_literal(_axis_text(y_name, objectives[0].minimize, label, y_chars, sep="\n")), wrap=True)
    else:
        x_name, y_name = objectives[0].name, objectives[1].name
        x_of = lambda t: float(t.metrics[x_name])  # noqa: E731
        y_of = lambda t: float(t.metrics[y_name])  # noqa: E731
        ax.set_xlabel(_literal(_axis_text(x_name, objectives[0].minimize, label, x_chars)), wrap=True)
        ax.set_ylabel(_literal(_axis_text(y_name, objectives[1].minimize, label, y_chars, sep="\n")), wrap=True)

    xs_all: list[float] = []
    ys_all: list[float] = []
    infeasible = [t for t in done if t.trial_index not in pareto and not meets(t, constraints)]
    others = [t for t in done if t.trial_index not in pareto and t not in infeasible]
    front = [t for t in done if t.trial_index in pareto]
    # Trials of several energy sources (allow_mixed_energy_sources): the axis label's "mixed" does not say which point
    # is which, and a measured and an estimated figure are not comparable: each source has its own marker.
    sources = sorted({energy_label([t.energy_source]) for t in done})
    shapes = dict(zip(sources, _SOURCE_MARKERS, strict=False)) if len(sources) > 1 else {}
    # What is drawn at the trials' values, kept to be drawn again in the zoom on a crowded front (_front_zoom).
    drawn: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []

    def draw(method: str, *args: Any, **style: Any) -> None:
        drawn.append((method, args, style))
        getattr(ax, method)(*args, **style)

    def scatter(group: list[TrialRecord], legend: str, **style: Any) -> None:
        """``group`` drawn with ``style``, one marker per energy source; ``legend`` names the first."""
        for k, source in enumerate(sorted({energy_label([t.energy_source]) for t in group})):
            part = [t for t in group if energy_label([t.energy_source]) == source]
            draw("scatter", [x_of(t) for t in part], [y_of(t) for t in part], marker=shapes.get(source, "o"),
                 label=legend if k == 0 else "_nolegend_", **style)  # fmt: skip

    if others:
        scatter(others, f"other completed ({trials(len(others))})", s=28, c="0.55", alpha=0.8, zorder=2)
        xs_all += [x_of(t) for t in others]
        ys_all += [y_of(t) for t in others]
    if infeasible:
        broken = sorted({str(c) for t in infeasible for c in constraints if not c.met_by(t.metrics)})
        scatter(infeasible, _literal(f"breaks {' or '.join(broken)} ({trials(len(infeasible))})"), s=32,
                facecolors="none", edgecolors="tab:orange", linewidths=1.3, zorder=2)  # fmt: skip
        xs_all += [x_of(t) for t in infeasible]
        ys_all += [y_of(t) for t in infeasible]

    ref = result.reference_point
    ref_xy: tuple[float, float] | None = None
    if len(objectives) >= 2 and ref and objectives[0].name in ref and objectives[1].name in ref:
        ref_xy = (float(ref[objectives[0].name]), float(ref[objectives[1].name]))

    if front:
        xs, ys = [x_of(t) for t in front], [y_of(t) for t in front]
        xs_all += xs
        ys_all += ys
        if len(objectives) == 2:  # with more, the front seen in two of them is no staircase: points only
            maximize = [not objectives[0].minimize, not objectives[1].minimize]
            points = np.column_stack([xs, ys])
            # The line joins the whole front; the shading is the part inside the reference box, whose area is the
            # hypervolume (a front point outside the box adds none).
            line = frontier.staircase(points, maximize)
            draw("plot", line[:, 0], line[:, 1], color="tab:blue", lw=1.6, zorder=3)
            region = None if ref_xy is None else frontier.staircase(points, maximize, ref=ref_xy)
            if ref_xy is not None and region is not None and len(region):
                polygon = np.vstack([region, np.array([ref_xy])])
                hv = "" if result.hypervolume is None else f": hypervolume {format_value(result.hypervolume, 6)}"
                draw("fill", polygon[:, 0], polygon[:, 1], color="tab:blue", alpha=0.12, lw=0, label=f"dominated{hv}")
        scatter(front, f"Pareto frontier ({trials(len(front))})", s=_FRONT_SIZE, c="tab:blue", edgecolors="navy",
                zorder=4)  # fmt: skip
        for t in front:
            if t.trial_index == knee:
                draw("scatter", [x_of(t)], [y_of(t)], s=_KNEE_SIZE, marker="*", c="gold", edgecolors="k", zorder=5,
                     label=f"knee (#{t.trial_index})")  # fmt: skip

    def ring_size(t: TrialRecord) -> float:
        """The dotted ring's around a short-window trial, clear of its marker (a dot, a front point, the star)."""
        return _KNEE_SIZE * 1.5 if t.trial_index == knee else _FRONT_SIZE * 2 if t.trial_index in pareto else 90.0

    flagged = [t for t in done if t.trial_index in short]
    if flagged:
        ring: dict[str, Any] = {
            "marker": "o",
            "facecolors": "none",
            "edgecolors": "k",
            "linewidths": 1.0,
            "linestyle": ":",
        }
        draw("scatter", [x_of(t) for t in flagged], [y_of(t) for t in flagged], s=[ring_size(t) for t in flagged],
             zorder=6, **ring)  # fmt: skip
        # The legend's ring at one size (the drawn ones' mean would be a front ring's or larger)
        ax.scatter([], [], s=90.0, label=f"~ short energy window ({trials(len(flagged))})", **ring)

    if ref_xy is not None:
        draw("scatter", [ref_xy[0]], [ref_xy[1]], s=80, marker="X", c="tab:red", zorder=5,
             label=_literal(f"reference point ({_origin_words(result, unknown='given')}"
                            f"{', provisional' if result.reference_point_provisional else ''})"))  # fmt: skip

    # A failed trial that returned its objectives is drawn at its values (a single-objective one at its index): the
    # axes' scales take them in, but a value at or below 0 cannot be on a log axis, and is listed instead.
    placed = [t for t in failed if all(_is_finite_number(t.metrics.get(o.name)) for o in objectives[:2])]
    x_scale = None
    if len(objectives) >= 2:
        x_values = xs_all + [v for v in map(x_of, placed) if v > 0]
        x_scale = _axis_scale(x_values, None if ref_xy is None else ref_xy[0])
    y_scale = _axis_scale(ys_all + [v for v in map(y_of, placed) if v > 0], None if ref_xy is None else ref_xy[1])
    log_x, log_y = (scale is not None and scale["value"] == "log" for scale in (x_scale, y_scale))
    off_axis = [t for t in placed if (log_x and x_of(t) <= 0) or (log_y and y_of(t) <= 0)]
    placed = [t for t in placed if t not in off_axis]
    if placed:
        draw("scatter", [x_of(t) for t in placed], [y_of(t) for t in placed], s=50, marker="x", c="tab:red",
             zorder=4, label=f"failed ({len(placed)})")  # fmt: skip
    for what, listed in (("no values", [t for t in failed if t not in placed and t not in off_axis]),
                         ("at or below 0, off the log axis", off_axis)):  # fmt: skip
        if listed:
            ids = ", ".join(f"#{t.trial_index}" for t in listed[:8]) + (" ..." if len(listed) > 8 else "")
            handle = Line2D([], [], ls="none", marker="x", color="tab:red")
            ax.add_line(handle)
            handle.set_label(f"failed, {what} ({len(listed)}): {ids}")

    for source, marker in shapes.items():
        handle = Line2D([], [], ls="none", marker=marker, color="0.3", label=_literal(f"energy {source}"))
        ax.add_line(handle)

    if not done:
        ax.text(0.5, 0.5, "no completed trial yet", ha="center", va="center", transform=ax.transAxes, color="0.4")
    if x_scale is not None:
        ax.set_xscale(**x_scale)
    if y_scale is not None:
        ax.set_yscale(**y_scale)
    if x_scale is not None or y_scale is not None:
        # The limits again, under the scales: made symlog after the x axis was made log, the y axis kept the limits
        # matplotlib (3.11) had autoscaled while it was linear, down to -5 % of its top (samples/J held at a reference
        # of 0: -5000), three empty decades below zero.
        ax.relim()
        ax.autoscale_view()
    ax.grid(True, alpha=0.3, which="both")
    if front:
        from lightning_ecopt._trial_ids import add_trial_ids

        # A front crowded into a corner by a far trial or reference point is drawn again, zoomed, in an inset over
        # a part of the plot that holds no point; its ids go there, where they can be read.
        every = [(x, y) for x, y in zip(xs_all, ys_all, strict=True)] + [(x_of(t), y_of(t)) for t in placed]
        zoom = _front_zoom(ax, list(zip(xs, ys, strict=True)), every + ([] if ref_xy is None else [ref_xy]))
        add_trial_ids(
            ax if zoom is None else _draw_zoom(ax, zoom, drawn, (x_scale, y_scale)),
            [
                (f"~#{t.trial_index}", x, y, math.sqrt(ring_size(t)) / 2)
                if t.trial_index in short
                else (f"#{t.trial_index}", x, y, math.sqrt(_KNEE_SIZE if t.trial_index == knee else _FRONT_SIZE) / 2)
                for t, x, y in zip(front, xs, ys, strict=True)
            ],
        )
    # The y axis's multiplier ("1e6", samples/J) right-aligned above its tick labels: left-aligned at the frame, the
    # title ran into it ("1e6Pareto frontier after ..."), and the axis then read 0.2 to 1.0 samples/J.
    ax.yaxis.get_offset_text().set_horizontalalignment("right")
    # To 6 digits, as the report, TensorBoard's text and the sweep's log write it: at 4 the title read 2287 where
    # they read 2286.5.
    hv_text = "n/a" if result.hypervolume is None else format_value(result.hypervolume, 6)
    measure = "" if len(objectives) == 1 else f", hypervolume {hv_text}"  # one objective: a best value, no volume
    title = (
        f"Pareto frontier after {trials(result.n_finished)} ({result.n_completed} completed, {result.n_failed} "
        f"failed): {len(front)} on the front{measure}"
    )
    if len(objectives) > 2:
        title += (
            f"\nthe first 2 of {len(objectives)} objectives shown (also {', '.join(o.name for o in objectives[2:])}); "
            f"the front and the hypervolume are over all {len(objectives)}"
        )
    # Wrapped where it is drawn: a line wider than the figure (long objective names) would be cut off at its edges.
    ax.set_title(_literal(title), fontsize=10, wrap=True)
    if ax.get_legend_handles_labels()[0]:
        # Below the axes: inside, it would hide the frontier's best corner. In three columns where they fit the
        # figure's width, else in two: long entries (a reference point given for some objectives, a constraint)
        # side by side ran past both edges, cutting off the first column's markers and the last one's text.
        for ncols in (3, 2):
            legend = fig.legend(fontsize=8, loc="outside lower center", ncols=ncols, frameon=False)
            if ncols == 2 or legend.get_window_extent(_canvas(fig).get_renderer()).width <= fig.bbox.width:
                break
            legend.remove()
    return fig


_CROWDED_SHARE = 0.1
"""A front whose points span less than this share of both axes is crowded (a far trial or reference point stretched
the axes): it is drawn again, zoomed, in an inset (:func:`_front_zoom`)."""
_ZOOM_SIZES = (0.45, 0.36, 0.28)
"""The inset's width and height, in shares of the axes, tried in turn until one fits where no point is."""
_ZOOM_ROOM = (0.1, 0.1)
"""The room left of and below the inset that its tick labels take, in shares of the axes."""
_ZOOM_CLEAR = 0.03
"""How far (a share of the axes) the inset and its tick labels keep from a point's centre: a marker's radius."""


class _Zoom(NamedTuple):
    """Where the inset goes (``rect``: left, bottom, width, height in shares of the axes) and what it shows."""

    rect: tuple[float, float, float, float]
    xlim: tuple[float, float]
    ylim: tuple[float, float]


def _front_zoom(ax: Axes, front: list[tuple[float, float]], points: list[tuple[float, float]]) -> _Zoom | None:
    """The zoom on a crowded front: its points, padded, in an inset that covers none of ``points``; else ``None``.

    Shares of the axes are measured after their scales (on a log axis, in decades), once the axes hold every point:
    the front is crowded when it has two distinct points or more and spans less than :data:`_CROWDED_SHARE` of both
    axes. The inset goes to the corner of the axes farthest from the front where it, its tick labels and the box it
    zooms on cover no point (largest size first); ``None`` where no corner is free.
    """
    if len(set(front)) < 2:
        return None
    ax.get_xlim(), ax.get_ylim()  # the limits autoscaled to what is drawn
    to_share = ax.transScale + ax.transLimits
    shares = to_share.transform(np.array(front, dtype=np.float64))
    low, high = shares.min(axis=0), shares.max(axis=0)
    if not np.isfinite(shares).all() or (high - low >= _CROWDED_SHARE).any():
        return None
    pad = np.maximum(0.2 * (high - low), 0.004)
    box = np.array([low - pad, high + pad])
    others = to_share.transform(np.array(points, dtype=np.float64).reshape(-1, 2))
    others = others[np.isfinite(others).all(axis=1)]
    centre = (low + high) / 2
    for size in _ZOOM_SIZES:
        free = []
        for x0 in (_ZOOM_ROOM[0] + 0.01, 0.99 - size):
            for y0 in (_ZOOM_ROOM[1] + 0.01, 0.99 - size):
                foot_low = np.array([x0 - _ZOOM_ROOM[0], y0 - _ZOOM_ROOM[1]]) - _ZOOM_CLEAR
                foot_high = np.array([x0 + size, y0 + size]) + _ZOOM_CLEAR
                covered = ((others >= foot_low) & (others <= foot_high)).all(axis=1).any()
                on_box = (box[1] >= foot_low).all() and (box[0] <= foot_high).all()
                if not covered and not on_box:
                    free.append((float(np.hypot(*(np.array([x0, y0]) + size / 2 - centre))), x0, y0))
        if free:
            _, x0, y0 = max(free)
            (x_low, y_low), (x_high, y_high) = to_share.inverted().transform(box)
            return _Zoom((x0, y0, size, size), (float(x_low), float(x_high)), (float(y_low), float(y_high)))
    return None


def _draw_zoom(
    ax: Axes,
    zoom: _Zoom,
    drawn: Sequence[tuple[str, tuple[Any, ...], dict[str, Any]]],
    scales: tuple[dict[str, Any] | None, dict[str, Any] | None],
) -> Axes:
    """The inset of :func:`_front_zoom`: ``drawn`` again (no legend entries), its box marked on the axes.

    It has the axes' scales, but linear on an axis it shows less than a decade of: the log locator puts ticks there
    whose labels ran wide.

    The shading is the same region as the axes' (its area the hypervolume), seen near the front: its edge there is
    the staircase.
    """
    inset = ax.inset_axes(zoom.rect)
    for scale, set_scale, (low, high) in zip(
        scales, (inset.set_xscale, inset.set_yscale), (zoom.xlim, zoom.ylim), strict=True
    ):
        if scale is not None and not 0 < low < high < 10 * low:  # within a decade a log axis reads as a linear one
            set_scale(**scale)
    for method, args, style in drawn:
        getattr(inset, method)(*args, **{**style, "label": "_nolegend_"})
    inset.set_xlim(*zoom.xlim)
    inset.set_ylim(*zoom.ylim)
    inset.tick_params(which="both", labelsize=7)
    inset.grid(True, alpha=0.3, which="both")
    ax.indicate_inset_zoom(inset, edgecolor="0.3")
    return inset


_FRONT_SIZE = 70
"""A front point's marker size (``scatter``'s ``s``, its area in points squared: its radius is ``sqrt(s) / 2``)."""
_KNEE_SIZE = 260
"""The knee star's."""
_SOURCE_MARKERS = ("o", "s", "^", "D", "v", "P", "h", "<", ">", "p")
"""The markers of trials of different energy sources (measured, estimated, other counters), in turn."""


_LABEL_CHAR_PT = 6.5
"""About the widest a character of an axis label (10 points, DejaVu Sans) runs on average, in points."""


def _break_name(name: str, chars: int) -> str:
    r"""``name`` broken into lines of at most ``chars`` characters, after a separator (``/ _ . -``) where it has one.

    matplotlib wraps text at spaces only, so a long metric name without one ran off the figure as one line.

    Example:
        >>> _break_name("energy/test_samples_per_j", 12)
        'energy/test_\nsamples_per_\nj'
        >>> _break_name("test/acc", 12), _break_name("abcdefgh", 3)
        ('test/acc', 'abc\ndef\ngh')
    """
    chars = max(chars, 1)
    lines: list[str] = []
    rest = name
    while len(rest) > chars:
        cut = max((k + 1 for k, char in enumerate(rest[:chars]) if char in "/_.-"), default=chars)
        lines.append(rest[:cut])
        rest = rest[cut:]
    return "\n".join([*lines, rest])


def _axis_text(name: str, minimize: bool, energy: str, chars: int, *, sep: str = ", ") -> str:
    """:func:`axis_label` with a name longer than ``chars`` broken into lines (:func:`_break_name`)."""
    return _break_name(name, chars) + axis_label(name, minimize, energy, sep=sep)[len(name) :]


def _literal(text: str) -> str:
    """``text`` escaped for matplotlib, which reads a pair of ``$`` as mathtext; control characters as escapes.

    A metric named "a$^$b" is then drawn as written instead of failing to parse. ``text.parse_math = False`` is not
    enough: matplotlib measures wrapped text as mathtext whatever the setting. Every text that holds a name goes
    through it: the title, the axis labels and the legend's constraints and reference point.
    """
    return printable(text).replace("$", r"\$")


_DRAWING = threading.RLock()
"""Held while a figure is built or drawn under :func:`_matplotlib_defaults`: rcParams are process-wide, and two sweeps
in threads that swapped them at once put back each other's copy (the caller's settings lost)."""


@contextlib.contextmanager
def _matplotlib_defaults() -> Iterator[None]:
    """Matplotlib's own defaults while a frontier figure is built and drawn; the rcParams in effect put back after.

    The sweep draws its TensorBoard picture in its own process, where a trial of the basic launcher (or of
    :meth:`~lightning_ecopt.sweeper.loop.ParetoSweep.from_function`) runs: a task that set ``text.usetex`` without
    LaTeX installed lost every later frontier view (matplotlib raised at each batch), and one that set a large
    ``font.size`` or ``lines.linewidth: 0`` drew labels over the axes (sized for 10-point text) or no staircase.
    A user's ``matplotlibrc`` does the same to ``ecopt report``'s picture. The style's blacklist keeps the backend
    and interactive mode as they are. Costs about 1 ms.
    """
    from matplotlib import style

    with _DRAWING, style.context("default"):
        yield


def _canvas(fig: Figure) -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    return fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)


def figure_rgb(fig: Figure) -> np.ndarray:
    """Render a figure with the Agg backend to an ``(height, width, 3)`` uint8 RGB array."""
    with _matplotlib_defaults():
        canvas = _canvas(fig)
        canvas.draw()
        return np.asarray(canvas.buffer_rgba())[..., :3].copy()


def figure_png(fig: Figure) -> bytes:
    """Render a figure with the Agg backend to PNG bytes."""
    import io

    buffer = io.BytesIO()
    with _matplotlib_defaults():
        _canvas(fig).print_png(buffer)  # it draws the figure (a draw before it was drawn again)
    return buffer.getvalue()
