"""The frontier figure keeps its words on the canvas: long titles and axis labels wrap instead of being cut off."""

import pytest

from lightning_ecopt import frontier, views
from lightning_ecopt.sweeper.objectives import parse_objectives
from lightning_ecopt.sweeper.results import SweepResult, TrialRecord


def make_result(directions, rows, ref, sources):
    objectives = tuple(parse_objectives(directions, None))
    names = [o.name for o in objectives]
    trials = tuple(
        TrialRecord(i, {"model.width": i}, "completed", metrics=dict(zip(names, row, strict=True)), energy_source=s)
        for i, (row, s) in enumerate(zip(rows, sources, strict=True))
    )
    maximize = [not o.minimize for o in objectives]
    pareto = tuple(i for i, on in enumerate(frontier.pareto_mask(rows, maximize)) if on)
    hv = frontier.hypervolume(rows, [ref[n] for n in names], maximize)
    return SweepResult(objectives, trials, pareto, ref, "inferred", hv)


def texts_outside_the_figure(fig):
    views.figure_rgb(fig)  # draw: wrapping happens at draw time
    renderer = fig.canvas.get_renderer()
    ax = fig.axes[0]
    box = fig.bbox
    outside = []
    for text in (ax.title, ax.xaxis.label, ax.yaxis.label):
        extent = text.get_window_extent(renderer)
        if extent.x0 < box.x0 - 0.5 or extent.x1 > box.x1 + 0.5 or extent.y0 < box.y0 - 0.5 or extent.y1 > box.y1 + 0.5:
            outside.append(text.get_text())
    return outside


@pytest.mark.parametrize(
    ("directions", "rows", "ref", "sources"),
    [
        pytest.param(  # the demo with a third objective: the title's second line was cut at "...are over al"
            {"test/acc": "maximize", "energy/test_samples_per_j": "maximize", "test/batch_latency_ms": "minimize"},
            [[0.9, 10.0, 60.0], [0.5, 20.0, 30.0], [0.8, 5.0, 9.0]],
            {"test/acc": 0.0, "energy/test_samples_per_j": 1.0, "test/batch_latency_ms": 100.0},
            ["estimated: cpu-time"] * 3,
            id="three-objectives-title",
        ),
        pytest.param(  # a GPU sweep whose trials read NVML alone and NVML + RAPL: the y label ran off the top
            {"test/acc": "maximize", "energy/test_samples_per_j": "maximize"},
            [[0.9, 100.0], [0.5, 900.0], [0.7, 400.0]],
            {"test/acc": 0.1, "energy/test_samples_per_j": 10.0},
            ["measured: zeus/nvml", "measured: zeus/nvml+rapl", "measured: zeus/nvml"],
            id="long-energy-label",
        ),
        pytest.param(  # names of 60 characters without a space: matplotlib wraps at spaces only, the y label ran off
            {"val/" + "a" * 42 + "_top1_accuracy": "maximize", "energy/" + "b" * 40 + "_samples_per_j": "maximize"},
            [[0.9, 100.0], [0.5, 900.0], [0.7, 400.0]],
            {"val/" + "a" * 42 + "_top1_accuracy": 0.1, "energy/" + "b" * 40 + "_samples_per_j": 10.0},
            ["estimated: cpu-time"] * 3,
            id="long-names-without-spaces",
        ),
    ],
)
def test_titles_and_axis_labels_stay_inside_the_figure(directions, rows, ref, sources):
    fig = views.frontier_figure(make_result(directions, rows, ref, sources))
    assert texts_outside_the_figure(fig) == []


def test_a_long_name_broken_over_lines_is_shown_whole():
    names = ["val/" + "a" * 42 + "_top1_accuracy", "energy/" + "b" * 40 + "_samples_per_j"]
    fig = views.frontier_figure(
        make_result(
            dict.fromkeys(names, "maximize"), [[0.9, 100.0], [0.5, 900.0]], dict.fromkeys(names, 0.0), [None] * 2
        )
    )
    ax = fig.axes[0]
    assert ax.get_xlabel() == f"{names[0]}, higher is better"  # fits the figure's width: left whole
    y_name = ax.get_ylabel().split(" [")[0]
    assert y_name == "energy/\n" + "b" * 40 + "_\nsamples_per_j"  # broken after separators only
