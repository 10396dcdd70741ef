"""The frontier figure: what it shades, how it scales its axes, what it says about objectives it cannot draw."""

import dataclasses
import pickle

import numpy as np
import pytest
from matplotlib.patches import Polygon

from lightning_ecopt import frontier, views
from lightning_ecopt._trial_ids import overlap_area
from lightning_ecopt.sweeper.objectives import parse_objectives
from lightning_ecopt.sweeper.results import SweepResult, TrialRecord


def make_result(directions, rows, ref):
    objectives = parse_objectives(directions, None)
    names = [o.name for o in objectives]
    trials = tuple(
        TrialRecord(i, {"x": i}, "completed", metrics=dict(zip(names, row, strict=True)), energy_source="estimated")
        for i, row in enumerate(rows)
    )
    maximize = [not o.minimize for o in objectives]
    mask = frontier.pareto_mask(rows, maximize)
    pareto = tuple(i for i, on in enumerate(mask) if on)
    hv = frontier.hypervolume(rows, [ref[n] for n in names], maximize)
    return SweepResult(tuple(objectives), trials, pareto, ref, "inferred", hv)


def shaded(fig):
    return [p for p in fig.axes[0].patches if isinstance(p, Polygon)]


def area(xy):
    x, y = xy[:, 0], xy[:, 1]
    return 0.5 * abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))


def test_the_shaded_area_is_the_hypervolume_with_a_front_point_outside_the_reference_box():
    # #0 (0.9 acc, 10 J) is on the front but outside the box (10 J is worse than the reference's 8 J).
    result = make_result(
        {"acc": "maximize", "j": "minimize"}, [[0.9, 10.0], [0.5, 2.0], [0.8, 5.0]], {"acc": 0.4, "j": 8.0}
    )
    assert result.hypervolume == pytest.approx(0.4 * 3.0 + 0.1 * 3.0)
    (patch,) = shaded(views.frontier_figure(result))
    assert area(patch.get_xy()) == pytest.approx(result.hypervolume)


def test_nothing_is_shaded_when_no_front_point_is_inside_the_box():
    result = make_result({"acc": "maximize", "j": "minimize"}, [[0.9, 10.0], [0.5, 2.0]], {"acc": 0.6, "j": 8.0})
    assert result.hypervolume == 0.0
    assert shaded(views.frontier_figure(result)) == []


def test_three_objectives_draw_points_without_a_staircase_and_say_so():
    rows = [[0.9, 10.0, 1.0], [0.5, 2.0, 3.0], [0.8, 5.0, 9.0], [0.4, 1.0, 0.5]]
    result = make_result(
        {"acc": "maximize", "j": "minimize", "ms": "minimize"}, rows, {"acc": 0.0, "j": 20.0, "ms": 10.0}
    )
    fig = views.frontier_figure(result)
    assert shaded(fig) == []  # a 2-D area labelled with the 3-D hypervolume would be wrong
    assert not [line for line in fig.axes[0].get_lines() if len(line.get_xdata()) > 1]
    title = fig.axes[0].get_title()
    assert "the first 2 of 3 objectives shown (also ms)" in title


def test_an_axis_spanning_orders_of_magnitude_is_log_or_symlog_with_a_reference_below_zero():
    rows = [[0.97, 14.0], [0.95, 5535.0], [0.96, 400.0]]
    positive = make_result({"acc": "maximize", "spj": "maximize"}, rows, {"acc": 0.9, "spj": 1.0})
    assert views.frontier_figure(positive).axes[0].get_yscale() == "log"
    # An inferred reference pushed past zero (nadir minus a tenth of the range) keeps the axis logarithmic above it.
    below = make_result({"acc": "maximize", "spj": "maximize"}, rows, {"acc": 0.9, "spj": -24.4})
    fig = views.frontier_figure(below)
    assert fig.axes[0].get_yscale() == "symlog"
    (patch,) = shaded(fig)
    assert area(patch.get_xy()) == pytest.approx(below.hypervolume)
    narrow = make_result({"acc": "maximize", "spj": "maximize"}, [[0.97, 14.0], [0.95, 50.0]], {"acc": 0.9, "spj": -1})
    assert views.frontier_figure(narrow).axes[0].get_yscale() == "linear"


def _legend(fig):
    return [text.get_text() for legend in fig.legends for text in legend.get_texts()]


def _failed_marks(fig):
    """The red crosses drawn at values: ``(x, y)`` of each."""
    from matplotlib.collections import PathCollection

    marks = [c for c in fig.axes[0].collections if isinstance(c, PathCollection) and c.get_label().startswith("failed")]
    return [tuple(xy) for c in marks for xy in c.get_offsets()]


def test_a_symlog_axis_beside_a_log_axis_stops_just_below_its_reference_at_zero():
    # J per inference and samples/J across batch sizes both span decades; samples/J's inferred reference is held at
    # 0. Made symlog after the x axis was made log, the y axis kept the limits autoscaled while it was linear: down to
    # -5 % of the top (-5000 samples/J), three empty decades below zero on a symlog axis.
    rows = [[1e-12, 10.0], [3e-12, 24.0], [1e-11, 225.0], [5e-10, 18500.0], [1e-9, 1e5], [2e-12, 5.0]]
    result = make_result({"j": "minimize", "spj": "maximize"}, rows, {"j": 1.5e-9, "spj": 0.0})
    ax = views.frontier_figure(result).axes[0]
    assert (ax.get_xscale(), ax.get_yscale()) == ("log", "symlog")
    low, high = ax.get_ylim()
    # Within the linear part (|y| < 5, the smallest value) below 0, and the top within a decade of the largest value.
    assert -5.0 < low < 0.0
    assert 1e5 < high < 1e6
    low_x, high_x = ax.get_xlim()
    assert 1e-13 < low_x < 1e-12
    assert 1e-9 < high_x < 1e-8


def test_a_failed_single_objective_trial_is_drawn_at_its_index_and_value():
    objectives = parse_objectives({"loss": "minimize"}, None)
    trials = (
        TrialRecord(0, {"x": 0}, "completed", metrics={"loss": 0.3}),
        TrialRecord(1, {"x": 1}, "failed", metrics={"loss": 0.5}, reason="diverged"),
    )
    fig = views.frontier_figure(SweepResult(objectives, trials, (0,)))
    assert _failed_marks(fig) == [(1.0, 0.5)]  # before: neither drawn nor listed
    assert "failed (1)" in _legend(fig)
    # One objective has a best value, not a hypervolume: "hypervolume n/a" in the image and TensorBoard's text.
    title = fig.axes[0].get_title()
    assert "hypervolume" not in title
    assert title.startswith("Pareto frontier after 2 trials (1 completed, 1 failed): 1 on the front")
    text = views.frontier_markdown(SweepResult(objectives, trials, (0,)))
    assert "Hypervolume" not in text
    assert text.endswith("Best loss: trial #0.")
    first = views.frontier_markdown(SweepResult(objectives, trials[:1], (0,)))
    assert first.startswith("**Pareto frontier after 1 trial** (")  # not "1 trials"


def test_a_single_objective_picture_ticks_whole_trial_indices_only():
    # Four trials were drawn against ticks 0.0, 0.5, 1.0, ... 3.0: trial "1.5" does not exist.
    objectives = parse_objectives({"spj": "maximize"}, None)
    trials = tuple(TrialRecord(i, {"x": i}, "completed", metrics={"spj": 100.0 + i}) for i in range(4))
    fig = views.frontier_figure(SweepResult(objectives, trials, (3,)))
    views.figure_rgb(fig)  # drawn, as the views are
    ax = fig.axes[0]
    low, high = ax.get_xlim()
    ticks = [t for t in ax.get_xticks() if low <= t <= high]
    assert ticks == [0.0, 1.0, 2.0, 3.0]


def test_a_trial_that_breaks_a_constraint_is_drawn_apart_from_the_other_completed():
    from matplotlib.collections import PathCollection

    from lightning_ecopt.sweeper.objectives import parse_constraint

    # Trial 1 would dominate the whole front, but breaks 'lat <= 5': drawn as a grey "other completed" dot, it looked
    # like the best model of the sweep.
    objectives = parse_objectives({"acc": "maximize", "j": "minimize"}, None)
    trials = (
        TrialRecord(0, {"x": 0}, "completed", metrics={"acc": 0.9, "j": 0.1, "lat": 4.0}),
        TrialRecord(1, {"x": 1}, "completed", metrics={"acc": 0.95, "j": 0.01, "lat": 9.0}),
        TrialRecord(2, {"x": 2}, "completed", metrics={"acc": 0.8, "j": 0.05, "lat": 1.0}),
    )
    result = SweepResult(objectives, trials, (0, 2))
    fig = views.frontier_figure(result, constraints=[parse_constraint("lat <= 5")])
    assert "breaks lat <= 5 (1 trial)" in _legend(fig)
    assert not any(label.startswith("other completed") for label in _legend(fig))
    (rings,) = [
        c for c in fig.axes[0].collections if isinstance(c, PathCollection) and c.get_label().startswith("breaks")
    ]
    assert [tuple(xy) for xy in rings.get_offsets()] == [(0.95, 0.01)]
    assert "other completed (1 trial)" in _legend(views.frontier_figure(result))  # constraints unknown: as before
    # TensorBoard's text named no constraint: "2 completed, 0 configurations" read as a bug when both broke it.
    lat = [parse_constraint("lat <= 5")]
    assert "Outcome constraints: lat <= 5 (2 of 3 completed trials meet them" in views.frontier_markdown(result, lat)
    broken = SweepResult(objectives, trials[1:2], ())
    assert "(0 of 1 completed trial meet them; only those make the frontier)" in views.frontier_markdown(broken, lat)
    assert "Outcome constraints" not in views.frontier_markdown(result)


def test_a_failed_trial_at_zero_on_a_log_axis_is_listed_not_lost():
    result = make_result({"acc": "maximize", "j": "minimize"}, [[0.9, 1000.0], [0.5, 1.0]], {"acc": 0.4, "j": 2000})
    zero = TrialRecord(2, {"x": 2}, "failed", metrics={"acc": 0.6, "j": 0.0}, reason="read 0 J")
    fig = views.frontier_figure(SweepResult(result.objectives, (*result.trials, zero), result.pareto_indices))
    assert fig.axes[0].get_yscale() == "log"
    assert _failed_marks(fig) == []  # 0 J cannot be drawn on a log axis: before, counted as drawn ("failed (1)")
    assert "failed, at or below 0, off the log axis (1): #2" in _legend(fig)


def test_the_legend_names_a_reference_point_given_in_part_as_the_report_does():
    import dataclasses

    result = make_result(
        {"acc": "maximize", "j": "minimize", "ms": "minimize"},
        [[0.9, 10.0, 1.0], [0.5, 2.0, 3.0]],
        {"acc": 0.4, "j": 20.0, "ms": 10.0},
    )
    partly = dataclasses.replace(result, reference_point_given=("acc",))
    # Before: "reference point (inferred)" while the report and TensorBoard's text said given for acc.
    assert views.reference_origin(partly) == "given for acc, inferred for the rest"
    assert "reference point (given for acc, inferred for the rest)" in _legend(views.frontier_figure(partly))
    assert "reference point (inferred)" in _legend(views.frontier_figure(result))
    provisional = dataclasses.replace(partly, reference_point_provisional=True)
    legend = _legend(views.frontier_figure(provisional))
    assert "reference point (given for acc, inferred for the rest, provisional)" in legend


def test_the_staircase_line_passes_through_every_front_point():
    result = make_result(
        {"acc": "maximize", "j": "minimize"}, [[0.9, 10.0], [0.5, 2.0], [0.8, 5.0], [0.6, 9.0]], {"acc": 0.4, "j": 12.0}
    )
    (line,) = [line for line in views.frontier_figure(result).axes[0].get_lines() if len(line.get_xdata()) > 1]
    vertices = set(zip(line.get_xdata(), line.get_ydata(), strict=True))
    front = [result.trials[i].metrics for i in result.pareto_indices]
    assert {(m["acc"], m["j"]) for m in front} <= vertices  # the line bounds the dominated region at the points


@pytest.mark.parametrize(("top", "scale"), [(49.5, "linear"), (50.0, "log")])
def test_an_axis_turns_logarithmic_at_a_span_of_50_times(top, scale):
    result = make_result({"acc": "maximize", "spj": "maximize"}, [[0.97, 1.0], [0.95, top]], {"acc": 0.9, "spj": 0.5})
    assert views.frontier_figure(result).axes[0].get_yscale() == scale


def test_the_first_objective_axis_is_logarithmic_too_and_failed_trials_are_placed_on_it():
    # Joules on the x axis, spanning orders of magnitude; accuracy (linear) on the y axis.
    result = make_result(
        {"j": "minimize", "acc": "maximize"}, [[14.0, 0.9], [5535.0, 0.97], [400.0, 0.95]], {"j": 6000.0, "acc": 0.8}
    )
    drawn = TrialRecord(3, {"x": 3}, "failed", metrics={"j": 100.0, "acc": 0.85}, reason="diverged")
    zero = TrialRecord(4, {"x": 4}, "failed", metrics={"j": 0.0, "acc": 0.85}, reason="read 0 J")
    fig = views.frontier_figure(SweepResult(result.objectives, (*result.trials, drawn, zero), result.pareto_indices))
    assert (fig.axes[0].get_xscale(), fig.axes[0].get_yscale()) == ("log", "linear")
    assert _failed_marks(fig) == [(100.0, 0.85)]
    assert "failed, at or below 0, off the log axis (1): #4" in _legend(fig)
    # On linear axes a failed trial at 0 (joules or accuracy) is drawn where it is.
    narrow = make_result({"j": "minimize", "acc": "maximize"}, [[14.0, 0.9], [40.0, 0.97]], {"j": 50.0, "acc": 0.8})
    diverged = TrialRecord(5, {"x": 5}, "failed", metrics={"j": 20.0, "acc": 0.0}, reason="diverged")
    trials = (*narrow.trials, zero, diverged)
    fig = views.frontier_figure(SweepResult(narrow.objectives, trials, narrow.pareto_indices))
    assert (fig.axes[0].get_xscale(), fig.axes[0].get_yscale()) == ("linear", "linear")
    assert _failed_marks(fig) == [(0.0, 0.85), (20.0, 0.0)]


@pytest.mark.parametrize(
    ("n_failed", "listed"),
    [(8, "(8): #1, #2, #3, #4, #5, #6, #7, #8"), (9, "(9): #1, #2, #3, #4, #5, #6, #7, #8 ...")],
)
def test_the_legend_names_up_to_eight_failed_trials_without_values(n_failed, listed):
    result = make_result({"acc": "maximize", "j": "minimize"}, [[0.9, 10.0]], {"acc": 0.4, "j": 12.0})
    failed = tuple(TrialRecord(i, {"x": i}, "failed", reason="OOM") for i in range(1, n_failed + 1))
    fig = views.frontier_figure(SweepResult(result.objectives, (*result.trials, *failed), result.pareto_indices))
    assert f"failed, no values {listed}" in _legend(fig)


def test_a_sweep_without_a_completed_trial_says_so_on_the_figure():
    def notes(fig):
        return [text.get_text() for text in fig.axes[0].texts]

    objectives = parse_objectives({"acc": "maximize", "j": "minimize"}, None)
    empty = SweepResult(objectives, (TrialRecord(0, {"x": 0}, "failed", reason="OOM"),), ())
    assert "no completed trial yet" in notes(views.frontier_figure(empty))
    result = make_result({"acc": "maximize", "j": "minimize"}, [[0.9, 10.0]], {"acc": 0.4, "j": 12.0})
    assert "no completed trial yet" not in notes(views.frontier_figure(result))


def test_trial_ids_of_a_crowded_front_cover_neither_each_other_nor_its_markers():
    # The best corner of a sweep's plot is where its front crowds: all put above-right of their points, the ids of
    # #1 and #2 ran together ("#1#2") and the knee's star covered the id beside it.
    rows = [[0.90, 10.0], [0.93, 10.4], [0.96, 10.6], [0.97, 12.0], [0.2, 1.0]]
    result = make_result({"acc": "maximize", "j": "minimize"}, rows, {"acc": 0.0, "j": 20.0})
    assert result.pareto_indices == (0, 1, 2, 3, 4)
    fig = views.frontier_figure(result)
    views.figure_rgb(fig)  # drawn as the PNG is
    renderer = fig.canvas.get_renderer()
    ax = fig.axes[0]
    ids = {text.get_text(): text.get_window_extent(renderer) for text in ax.texts}
    assert sorted(ids) == ["#0", "#1", "#2", "#3", "#4"]
    boxes = list(ids.values())
    for i, box in enumerate(boxes):
        assert not any(box.overlaps(other) for other in boxes[i + 1 :]), sorted(ids)
    pixels_per_point = fig.dpi / 72
    for marker, radius in ((row, np.sqrt(70) / 2) for row in rows):
        x, y = ax.transData.transform(marker)
        r = radius * pixels_per_point
        assert not any(box.x0 < x + r and box.x1 > x - r and box.y0 < y + r and box.y1 > y - r for box in boxes)


def test_an_id_at_the_plot_s_edge_stays_inside_the_frame_and_the_figure_pickles():
    # The best point sits in the top-right corner of its own axes: an id put above right of it was cut at the
    # frame ("#120" of "#1202"); the ids' own class made the figure unpicklable and a deep copy fail to draw.
    import copy

    rows = [[0.2, 1.0], [0.5, 5.0], [0.97, 12.0]]
    result = make_result({"acc": "maximize", "j": "minimize"}, rows, {"acc": 0.0, "j": 20.0})
    trials = tuple(dataclasses.replace(t, trial_index=1200 + t.trial_index) for t in result.trials)
    result = dataclasses.replace(result, trials=trials, pareto_indices=(1200, 1201, 1202))
    fig = views.frontier_figure(result)
    views.figure_rgb(fig)
    renderer = fig.canvas.get_renderer()
    ax = fig.axes[0]
    frame = ax.get_window_extent(renderer)
    (best,) = [text for text in ax.texts if text.get_text() == "#1202"]
    box = best.get_window_extent(renderer)
    assert frame.x0 <= box.x0 <= box.x1 <= frame.x1
    assert frame.y0 <= box.y0 <= box.y1 <= frame.y1
    assert views.figure_png(pickle.loads(pickle.dumps(fig))).startswith(b"\x89PNG")
    assert views.figure_png(copy.deepcopy(fig)).startswith(b"\x89PNG")


def test_the_tensorboard_table_shows_each_value_as_written():
    # TensorBoard renders the frontier table as Markdown: "p\|q" lost its q (the backslash escaped the escape of the
    # "|"), a newline ended the row and put the rest of the value in a row of its own, "*em*" lost its stars.
    import html
    import re

    from tensorboard import plugin_util

    values = ["p\\|q", "a\nb|c", "*em* `c` __init__ [l](x)", "<b>x</b> &amp;", "\x1b[31mred", "plain"]
    objectives = parse_objectives({"acc": "maximize", "j_*": "minimize"}, None)
    trials = tuple(
        TrialRecord(i, {"opt": v}, "completed", metrics={"acc": 0.5 + i / 10, "j_*": 1.0 + i})
        for i, v in enumerate(values)
    )
    text = views.frontier_markdown(SweepResult(objectives, trials, tuple(range(len(values)))))
    page = plugin_util.markdown_to_safe_html(text)
    rows = re.findall(r"<tr>\s*(.*?)\s*</tr>", page, flags=re.S)
    cells = [[html.unescape(c) for c in re.findall(r"<t[dh]>(.*?)</t[dh]>", row, flags=re.S)] for row in rows]
    assert cells[0] == ["trial", "acc ↑", "j_* ↓", "opt"]
    assert len(cells) == 1 + len(values)  # one row per configuration, none split
    shown = {row[3] for row in cells[1:]}
    assert shown == {"p\\|q", "a\\nb|c", "*em* `c` __init__ [l](x)", "<b>x</b> &amp;", "\\x1b[31mred", "plain"}


def test_the_tensorboard_text_s_lines_around_the_table_show_names_as_written():
    # Only the table's cells were escaped: a metric named "*a*" in the constraints line, the reference point or a
    # single objective's "Best" line rendered as emphasis, its stars gone.
    import html
    import re

    from tensorboard import plugin_util

    from lightning_ecopt.sweeper.objectives import parse_constraint

    two = parse_objectives({"*a*": "maximize", "b": "minimize"}, None)
    trials = tuple(TrialRecord(i, {"x": i}, "completed", {"*a*": 0.5 + i, "b": 1.0 + i, "*c*": 1.0}) for i in range(2))
    result = SweepResult(two, trials, (0, 1), {"*a*": 0.0, "b": 5.0}, "given")
    text = views.frontier_markdown(result, [parse_constraint("*c* <= 2")])
    one = parse_objectives({"*a*": "maximize"}, None)
    text += "\n\n" + views.frontier_markdown(SweepResult(one, trials[:1], (0,)))
    shown = html.unescape(re.sub(r"<[^>]+>", "", plugin_util.markdown_to_safe_html(text)))
    assert "*c* <= 2" in shown
    assert "*a* = 0" in shown
    assert "Best *a*: trial #0." in shown


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (1234567.0, "1234567"),  # a count read back from the results file: was 1.235e+06
        (np.float32(1234567.0), "1234567"),
        (1234567.3, "1234567"),  # a float with a fraction keeps its integer digits: it read 1.235e+06
        (-12345.6, "-12346"),
        (9999.7, "10000"),  # where 4 significant digits round up to 10**4: it read 1e+04
        (999_999_999_999_999.4, "999999999999999"),
        (0.912345, "0.9123"),
        (-0.0, "0"),
        (999_999_999_999_999.0, "999999999999999"),
        (1e15, "1e+15"),  # from 2**52 on every float is whole: that says nothing of a count
        (2.0**60, "1.153e+18"),
        (float("nan"), "nan"),
    ],
)
def test_a_whole_float_reads_as_the_count_it_is(value, shown):
    assert views.format_value(value) == shown


def test_a_column_of_joules_reads_in_one_notation_whether_a_figure_is_whole_or_not():
    """12345.6 J read 1.235e+04 beside a whole 12346.0 J (12346) and 9876.4 J (9876) in one frontier column."""
    assert [views.format_value(v) for v in (12345.6, 12346.0, 9876.4, 153200.7)] == ["12346", "12346", "9876", "153201"]
    assert views.format_value(1234567.3, 6) == "1234567"  # the sweep's log lines: it read 1.23457e+06


def test_the_tensorboard_text_shows_a_count_objective_as_its_count():
    # model/params came back from Lightning and the results file as 1234567.0 and read 1.235e+06 in the frontier
    # table and on the reference point's line.
    objectives = parse_objectives({"test/acc": "maximize", "model/params": "minimize"}, None)
    trials = (
        TrialRecord(0, {"width": 8}, "completed", {"test/acc": 0.9, "model/params": 1234567.0}),
        TrialRecord(1, {"width": 4}, "completed", {"test/acc": 0.8, "model/params": 234567.0}),
    )
    result = SweepResult(objectives, trials, (0, 1), {"test/acc": 0.5, "model/params": 2000000.0}, "given")
    text = views.frontier_markdown(result)
    assert "| 0.9 | 1234567 | 8 |" in text
    assert "| 0.8 | 234567 | 4 |" in text
    assert "model/params = 2000000" in text
    assert "e+0" not in text


def test_names_in_the_legend_are_drawn_as_written():
    # The title and axis labels escaped matplotlib's mathtext, the legend did not: a constraint on a metric named
    # "a$^$b", or a reference value given for one, failed to draw the figure (ValueError from the mathtext parser),
    # so frontier.png and TensorBoard's picture were missing.
    from lightning_ecopt.sweeper.objectives import parse_constraint

    objectives = parse_objectives({"c$^$d": "maximize", "cost": "minimize"}, None)
    trials = tuple(
        TrialRecord(i, {"x": i}, "completed", metrics={"c$^$d": 0.5 + i / 10, "cost": 1.0 + i, "a$^$b": float(i)})
        for i in range(3)
    )
    result = SweepResult(
        objectives, trials, (0, 1), {"c$^$d": 0.0, "cost": 10.0}, "inferred", 1.0, reference_point_given=("c$^$d",)
    )
    fig = views.frontier_figure(result, constraints=[parse_constraint("a$^$b <= 1")])
    assert views.figure_rgb(fig).shape[2] == 3
    assert r"breaks a\$^\$b <= 1 (1 trial)" in _legend(fig)  # a literal "$" in matplotlib's text
    assert r"reference point (given for c\$^\$d, inferred for the rest)" in _legend(fig)


def trial_markers(fig, sources_at):
    """``{energy label: {marker path}}`` of the collections that draw trials (``sources_at``: point -> label)."""
    markers = {}
    for collection in fig.axes[0].collections:
        labels = {sources_at[p] for p in map(tuple, collection.get_offsets()) if p in sources_at}
        if not labels or collection.get_sizes()[0] > 100:  # the knee's star is drawn over its front point
            continue
        assert len(labels) == 1, labels  # one collection, one source
        markers.setdefault(labels.pop(), set()).add(collection.get_paths()[0].vertices.tobytes())
    return markers


def test_trials_of_different_energy_sources_have_different_markers_named_in_the_legend():
    # allow_mixed_energy_sources: the axis label said "mixed: estimated and measured", but every point was the same
    # dot, so the figure did not say which front point's energy was measured and which estimated (not comparable).
    rows = [[0.9, 10.0], [0.5, 2.0], [0.8, 5.0], [0.3, 9.0], [0.4, 8.0]]
    result = make_result({"acc": "maximize", "j": "minimize"}, rows, {"acc": 0.0, "j": 20.0})
    sources = ["measured: zeus/nvml", "estimated: cpu-time", "measured: zeus/nvml", "estimated: cpu-time", None]
    trials = tuple(dataclasses.replace(t, energy_source=s) for t, s in zip(result.trials, sources, strict=True))
    fig = views.frontier_figure(dataclasses.replace(result, trials=trials))
    markers = trial_markers(fig, {tuple(r): views.energy_label([s]) for r, s in zip(rows, sources, strict=True)})
    assert sorted(markers) == ["estimated (cpu-time)", "measured (zeus/nvml)", "unlabelled"]
    assert all(len(paths) == 1 for paths in markers.values())  # the same marker among the others and on the front
    assert len(set.union(*markers.values())) == 3
    legend = [text.get_text() for text in fig.legends[0].get_texts()]
    assert {"energy estimated (cpu-time)", "energy measured (zeus/nvml)", "energy unlabelled"} <= set(legend)


def test_trials_of_one_energy_source_are_all_dots_with_no_source_legend():
    rows = [[0.9, 10.0], [0.5, 2.0], [0.3, 9.0]]
    fig = views.frontier_figure(make_result({"acc": "maximize", "j": "minimize"}, rows, {"acc": 0, "j": 20}))
    markers = trial_markers(fig, {tuple(r): "estimated" for r in rows})
    assert len(markers["estimated"]) == 1
    assert not [t for t in fig.legends[0].get_texts() if t.get_text().startswith("energy ")]


def test_the_y_axis_multiplier_stays_clear_of_the_title():
    # samples/J run to 1e6: matplotlib writes the y axis's multiplier "1e6" above the frame's left edge, where a title
    # as wide as this one began: it read "1e6Pareto frontier after 11 trials ...", and the axis 0.2 to 1.0 samples/J.
    rows = [[0.50 + 0.02 * i, 1.6e5 + 8.5e4 * ((i * 7) % 11)] for i in range(11)]
    result = make_result({"test/acc": "maximize", "energy/test_samples_per_j": "maximize"}, rows, {
        "test/acc": 0.49, "energy/test_samples_per_j": 8e4})  # fmt: skip
    fig = views.frontier_figure(result)
    views.figure_rgb(fig)
    renderer = fig.canvas.get_renderer()
    ax = fig.axes[0]
    multiplier = ax.yaxis.get_offset_text()
    assert multiplier.get_text() == "1e6"
    box, title = multiplier.get_window_extent(renderer), ax.title.get_window_extent(renderer)
    assert box.x1 <= ax.get_window_extent(renderer).x0 + 0.5  # above the tick labels, left of the frame
    assert box.x1 + 4 <= title.x0 or box.y1 + 2 <= title.y0  # apart from the title (a wide one is moved up)


CROWD = [[0.9 + 0.001 * i, 1000.0 - i] for i in range(12)]  # 12 front points within 0.011 accuracy


@pytest.mark.parametrize(
    ("directions", "rows", "ref"),
    [
        pytest.param(
            {"acc": "maximize", "samples_per_j": "maximize"},
            [*CROWD, [0.2, 100.0]],
            {"acc": 0.13, "samples_per_j": 10.0},
            id="far-trial",
        ),
        pytest.param(
            {"acc": "maximize", "samples_per_j": "maximize"}, CROWD, {"acc": 0.0, "samples_per_j": 0.0}, id="far-ref"
        ),
        pytest.param(
            {"acc": "maximize", "samples_per_j": "maximize", "ms": "minimize"},
            [[*row, 20.0 - i] for i, row in enumerate(CROWD)] + [[0.2, 100.0, 40.0]],
            {"acc": 0.13, "samples_per_j": 10.0, "ms": 50.0},
            id="three-objectives",
        ),
        pytest.param(
            {"acc": "maximize", "j_per_sample": "minimize"},
            [[0.9 + 0.001 * i, 1e-3 * (1 + 0.01 * i)] for i in range(12)] + [[0.3, 50.0]],
            {"acc": 0.2, "j_per_sample": 60.0},
            id="log-axis",
        ),
    ],
)
def test_a_front_crowded_by_a_far_point_is_shown_spread_in_an_inset_that_covers_no_point(directions, rows, ref):
    # 12 front points within 0.011 accuracy and one far trial (or a far reference point) drew the front as one blob
    # of 13 overlapping ids: the front is drawn again, zoomed, in an inset over an empty part of the plot.
    result = make_result(directions, rows, ref)
    fig = views.frontier_figure(result)
    views.figure_rgb(fig)
    renderer = fig.canvas.get_renderer()
    (ax,) = fig.axes
    (holder,) = ax.child_axes or [ax]  # the axes that hold the ids: the inset where there is one
    front = [row[:2] for i, row in enumerate(rows) if i in result.pareto_indices]
    pixels = holder.transData.transform(front)
    assert np.ptp(pixels[:, 0]) >= 150 or np.ptp(pixels[:, 1]) >= 100, np.ptp(pixels, axis=0)
    ids = [text.get_window_extent(renderer) for text in holder.texts if text.get_text().startswith("#")]
    assert len(ids) == len(front)
    overlap = sum(overlap_area(a, b) for i, a in enumerate(ids) for b in ids[i + 1 :])
    assert overlap <= 10, overlap  # square pixels, of ids about 15 x 10 pixels
    inset = holder.get_tightbbox(renderer)  # with its tick labels
    others = ax.transData.transform([row[:2] for i, row in enumerate(rows) if i not in result.pareto_indices])
    corners = ax.transData.transform([[ref[n] for n in list(directions)[:2]]])
    for x, y in [*others.reshape(-1, 2), *corners]:
        assert not (inset.x0 - 5 <= x <= inset.x1 + 5 and inset.y0 - 5 <= y <= inset.y1 + 5), (x, y, inset)
    assert len(fig.legends[0].get_texts()) == len(ax.get_legend_handles_labels()[1])  # no entry twice
    assert views.figure_png(pickle.loads(pickle.dumps(fig))).startswith(b"\x89PNG")
    if len(directions) == 2:  # the same region shaded in both: its area is the hypervolume
        (main,), (zoomed,) = shaded(fig), [p for p in holder.patches if isinstance(p, Polygon)]
        assert area(main.get_xy()) == pytest.approx(result.hypervolume)
        np.testing.assert_array_equal(zoomed.get_xy(), main.get_xy())


def test_an_ordinary_front_or_one_with_no_free_corner_is_drawn_without_an_inset():
    rows = [[0.5, 900.0], [0.7, 600.0], [0.9, 100.0], [0.6, 500.0], [0.95, 50.0]]
    fig = views.frontier_figure(make_result({"acc": "maximize", "j": "minimize"}, rows, {"acc": 0.4, "j": 1000.0}))
    assert fig.axes[0].child_axes == []
    # A crowded front, but a trial in each corner of the plot: no place for the inset covers no point.
    corners = [[0.1, 10.0], [0.1, 900.0], [0.85, 10.0], [0.5, 500.0]]
    result = make_result(
        {"acc": "maximize", "samples_per_j": "maximize"}, CROWD + corners, {"acc": 0.0, "samples_per_j": 0.0}
    )
    ax = views.frontier_figure(result).axes[0]
    assert ax.child_axes == []
    assert sorted(text.get_text() for text in ax.texts) == sorted(f"#{i}" for i in range(12))


def test_the_figure_is_drawn_under_matplotlib_s_defaults_whatever_the_process_set_and_those_are_put_back():
    """Audit 2026-12-07: the sweep draws its TensorBoard picture in the process its trials run in (basic launcher).
    After a task set ``text.usetex`` without LaTeX every later frontier view failed; a large ``font.size`` or
    ``lines.linewidth: 0`` drew labels over the axes or no staircase (``ecopt report`` read a matplotlibrc so)."""
    import matplotlib as mpl

    result = make_result(
        {"acc": "maximize", "j": "minimize"}, [[0.9, 10.0], [0.5, 2.0], [0.8, 5.0]], {"acc": 0.4, "j": 8.0}
    )
    with mpl.rc_context():
        mpl.rcdefaults()
        expected = views.figure_rgb(views.frontier_figure(result))
    changed = {"text.usetex": True, "font.size": 40.0, "lines.linewidth": 0.0, "axes.facecolor": "black"}
    with mpl.rc_context(changed):
        figure = views.frontier_figure(result)
        assert np.array_equal(views.figure_rgb(figure), expected)
        assert views.figure_png(figure) == views.figure_png(views.frontier_figure(result))
        assert {key: mpl.rcParams[key] for key in changed} == changed  # the caller's own, put back


def test_a_legend_of_long_entries_stays_within_the_figure():
    """A 12-trial digits sweep (three objectives, the reference point given for test/acc, a constraint on the
    training energy) drew its legend in three columns 803 pixels wide on an 800-pixel figure: the first column's
    markers and the end of "reference point (given for test/acc, inferred for the rest)" were cut off."""
    from lightning_ecopt.sweeper.objectives import parse_constraint

    result = make_result(
        {"test/acc": "maximize", "energy/test_j_per_sample": "minimize", "test/latency_ms": "minimize"},
        [[0.9, 0.001, 5.0], [0.5, 0.0009, 5.0], [0.6, 0.002, 6.0], [0.85, 0.004, 9.0]],
        {"test/acc": 0.2, "energy/test_j_per_sample": 0.003, "test/latency_ms": 10.0},
    )
    costly = dataclasses.replace(result.trials[3], metrics={**result.trials[3].metrics, "energy/train_j": 40.0})
    failed = TrialRecord(4, {"x": 4}, "failed", reason="boom")
    trials = (*result.trials[:3], costly, failed)
    partly = dataclasses.replace(result, trials=trials, reference_point_given=("test/acc",))
    fig = views.frontier_figure(partly, constraints=[parse_constraint("energy/train_j <= 17")])
    views.figure_png(fig)
    (legend,) = fig.legends
    box = legend.get_window_extent(fig.canvas.get_renderer())
    assert box.x0 >= 0
    assert box.x1 <= fig.bbox.width
    # An ordinary legend keeps its three columns.
    fig = views.frontier_figure(
        make_result({"acc": "maximize", "j": "minimize"}, [[0.9, 2.0], [0.5, 1.0]], {"acc": 0.4, "j": 3.0})
    )
    assert fig.legends[0]._ncols == 3


def test_trials_whose_energy_window_was_short_are_ringed_and_a_front_id_reads_as_the_report_s():
    """The report marks a short-window trial ~ (``energy/test_short_window = 1``) and names the uncertain frontier
    it may decide; frontier.png, TensorBoard's picture and its text table showed it as any other trial."""
    from matplotlib.collections import PathCollection

    rows = [[0.9, 10.0], [0.5, 2.0], [0.7, 5.0], [0.4, 9.0]]  # front 0, 1, 2; 3 dominated
    ref = {"acc": 0.0, "energy/test_j_per_sample": 20.0}
    result = make_result({"acc": "maximize", "energy/test_j_per_sample": "minimize"}, rows, ref)
    flag = {1: 1.0, 2: 0.0, 3: 1.0}  # trial 0 has no flag at all
    trials = tuple(
        dataclasses.replace(t, metrics={**t.metrics, "energy/test_short_window": flag[t.trial_index]})
        if t.trial_index in flag
        else t
        for t in result.trials
    )
    fig = views.frontier_figure(dataclasses.replace(result, trials=trials))
    views.figure_rgb(fig)
    ax = fig.axes[0]
    assert sorted(text.get_text() for text in ax.texts) == ["#0", "#2", "~#1"]
    rings = [c for c in ax.collections if isinstance(c, PathCollection) and c.get_linestyle()[0][1] is not None]
    assert [sorted(map(tuple, c.get_offsets().tolist())) for c in rings if len(c.get_offsets())] == [
        [(0.4, 9.0), (0.5, 2.0)]
    ]
    assert "~ short energy window (2 trials)" in _legend(fig)
    # TensorBoard's text table marks the frontier's the same way, and says what ~ means.
    text = views.frontier_markdown(dataclasses.replace(result, trials=trials))
    assert "| ~#1 |" in text
    assert "| #2 (knee) |" in text  # flagged 0: unmarked
    assert "~: a short energy window (energy/&lt;stage&gt;\\_short\\_window = 1)" in text
    # None flagged: nothing ringed, no legend entry, no ~.
    assert not any(label.startswith("~ short") for label in _legend(views.frontier_figure(result)))
    assert "~" not in views.frontier_markdown(result)
