import dataclasses
import logging

import numpy as np
import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.hparams import api_pb2, metadata

from lightning_ecopt import frontier, views
from lightning_ecopt.sweeper.objectives import parse_objectives
from lightning_ecopt.sweeper.results import SweepResult, TrialRecord
from lightning_ecopt.tensorboard import FEASIBLE_TAG, FRONTIER_RUN, ON_FRONT_TAG, FrontierBoard, trial_run_name

OBJECTIVES = parse_objectives({"test/acc": "maximize", "energy/test_samples_per_j": "maximize"}, None)
SOURCE = "estimated: cpu-time"
REF = {"test/acc": 0.5, "energy/test_samples_per_j": 10.0}


def completed(i, acc, spj, **params):
    metrics = {"test/acc": acc, "energy/test_samples_per_j": spj, "energy/train_j": 10.0 * (i + 1)}
    params = {"model.width": 8 * (i + 1), "model.pooling": i % 2 == 0, "opt": "adam", **params}
    return TrialRecord(i, params, "completed", metrics=metrics, energy_source=SOURCE)


def failed(i):
    return TrialRecord(i, {"model.width": 64, "model.pooling": False, "opt": "sgd"}, "failed", reason="OOM")


TRIALS = [
    completed(0, 0.90, 100.0),  # on the front until trial 4 dominates it
    completed(1, 0.80, 400.0),  # front
    failed(2),
    completed(3, 0.70, 300.0),  # dominated by 1
    completed(4, 0.95, 150.0),  # dominates 0
    TrialRecord(5, {"model.width": 16, "model.pooling": False, "opt": "adam"}, "abandoned", reason="interrupted"),
]


def result_after(n):
    """The result after the first ``n`` trials, with the Pareto set and hypervolume the loop would compute."""
    trials = tuple(TRIALS[:n])
    done = [t for t in trials if t.status == "completed"]
    Y = np.array([[t.metrics[o.name] for o in OBJECTIVES] for t in done])
    mask = frontier.pareto_mask(Y, [True, True])
    hv = frontier.hypervolume(Y, list(REF.values()), [True, True])
    pareto = tuple(t.trial_index for t, on in zip(done, mask, strict=True) if on)
    return SweepResult(OBJECTIVES, trials, pareto, dict(REF), "inferred", hv)


def load(path):
    acc = EventAccumulator(str(path), size_guidance={"scalars": 0, "images": 0, "tensors": 0})
    acc.Reload()
    return acc


def hparams_content(acc, tag):
    return acc.PluginTagToContent(metadata.PLUGIN_NAME)[tag]


@pytest.fixture
def board_dir(tmp_path):
    board = FrontierBoard(tmp_path / "tensorboard")
    for n in (2, 4, 6):  # three batches
        assert board.update(result_after(n)) is True
    return tmp_path / "tensorboard"


def test_frontier_scalars_images_and_text_at_step_trials_done(board_dir):
    acc = load(board_dir / FRONTIER_RUN)
    steps = [2, 4, 5]  # trials finished after each batch (failed ones count, the abandoned one does not)
    hv = [e.value for e in acc.Scalars("frontier/hypervolume")]
    assert [e.step for e in acc.Scalars("frontier/hypervolume")] == steps
    expected = [result_after(n).hypervolume for n in (2, 4, 6)]
    assert hv == pytest.approx(expected, rel=1e-6)
    assert [e.value for e in acc.Scalars("frontier/pareto_size")] == [2.0, 2.0, 2.0]
    assert [e.value for e in acc.Scalars("trials/failed")] == [0.0, 1.0, 1.0]
    assert [e.value for e in acc.Scalars("trials/completed")] == [2.0, 3.0, 4.0]

    images = acc.Images("frontier/pareto_front")
    assert [i.step for i in images] == steps
    assert images[-1].width == 800
    assert images[-1].height == 550
    assert images[-1].encoded_image_string.startswith(b"\x89PNG")

    text = acc.Tensors("frontier/configurations/text_summary")
    assert [t.step for t in text] == steps
    last = text[-1].tensor_proto.string_val[0].decode()
    # Best accuracy first; no knee on a two-point frontier (both ends are equally far from the ideal point).
    assert "| #4 | 0.95 | 150 | True | 40 | adam |\n| #1 | 0.8 | 400 | False | 16 | adam |" in last
    assert "knee" not in last
    assert "#0" not in last.split("\n", 1)[1]  # trial 0 left the front when trial 4 came
    assert "estimated (cpu-time)" in last


def test_hparams_experiment_lists_parameters_status_and_metrics_objectives_first(board_dir):
    acc = load(board_dir)
    experiment = metadata.parse_experiment_plugin_data(hparams_content(acc, metadata.EXPERIMENT_TAG))
    hparams = {h.name: h.type for h in experiment.hparam_infos}
    assert hparams == {
        "model.width": api_pb2.DATA_TYPE_FLOAT64,
        "model.pooling": api_pb2.DATA_TYPE_BOOL,
        "opt": api_pb2.DATA_TYPE_STRING,
        "status": api_pb2.DATA_TYPE_STRING,
    }
    # Without the search space, a column differs where the trials so far disagree (the dashboard shows those first).
    assert {h.name: h.differs for h in experiment.hparam_infos} == {
        "model.width": True,
        "model.pooling": True,
        "opt": False,
        "status": False,
    }
    assert [list(h.domain_discrete) for h in experiment.hparam_infos if h.name == "model.pooling"] == [[True, False]]
    metrics = [m.name.tag for m in experiment.metric_infos]
    assert metrics == ["test/acc", "energy/test_samples_per_j", ON_FRONT_TAG, "energy/train_j"]
    described = {m.name.tag: m.description for m in experiment.metric_infos}
    # An energy figure's column says which kind of joules it holds, objective or not.
    assert described["energy/train_j"] == "unit: J, estimated (cpu-time)"
    assert "estimated (cpu-time)" in described["energy/test_samples_per_j"]
    assert "estimated" not in described["test/acc"]


@pytest.mark.parametrize(
    ("source", "label"),
    [("estimated: cpu-time", "estimated (cpu-time)"), ("measured: zeus/nvml", "measured (zeus/nvml)")],
)
def test_the_hparams_table_heads_each_energy_column_with_measured_or_estimated(tmp_path, source, label):
    """TensorBoard's HParams dashboard heads a metric column with its display name and never shows its description:
    the energy columns read as bare tags there, with nothing saying whether their joules were measured or estimated
    (the frontier picture, the text table and trials.csv all say it)."""
    trials = [dataclasses.replace(completed(i, 0.6 + 0.1 * i, 300.0 - 100 * i), energy_source=source) for i in range(2)]
    FrontierBoard(tmp_path, images=False).update(
        SweepResult(OBJECTIVES, tuple(trials), (0, 1), dict(REF), "inferred", 1.0)
    )
    experiment = metadata.parse_experiment_plugin_data(hparams_content(load(tmp_path), metadata.EXPERIMENT_TAG))
    shown = {m.name.tag: m.display_name for m in experiment.metric_infos}  # keyed by the tags users query: unchanged
    assert shown == {
        "test/acc": "test/acc",
        "energy/test_samples_per_j": f"energy/test_samples_per_j [samples/J, {label}]",
        ON_FRONT_TAG: ON_FRONT_TAG,
        "energy/train_j": f"energy/train_j [J, {label}]",
    }
    # The scalars stay under their tags, which the dashboard reads each column's values from.
    assert sorted(load(tmp_path / trial_run_name(1)).Tags()["scalars"]) == sorted(shown)


def test_a_latency_column_says_its_unit(tmp_path):
    # test/latency_ms, the docs' latency objective and constraint, had an empty tooltip beside "unit: s" for _time_s.
    trials = [completed(i, 0.6 + 0.1 * i, 300.0 - 100 * i) for i in range(2)]
    for i, trial in enumerate(trials):
        trial.metrics["test/latency_ms"] = 5.0 + i
    FrontierBoard(tmp_path, images=False).update(
        SweepResult(OBJECTIVES, tuple(trials), (0, 1), dict(REF), "inferred", 1.0)
    )
    experiment = metadata.parse_experiment_plugin_data(hparams_content(load(tmp_path), metadata.EXPERIMENT_TAG))
    described = {m.name.tag: m.description for m in experiment.metric_infos}
    assert described["test/latency_ms"] == "unit: ms"
    assert views.axis_label("test/latency_ms", minimize=True) == "test/latency_ms [ms], lower is better"


def test_one_hparams_session_per_finished_trial_with_its_metrics(board_dir):
    runs = sorted(p.name for p in (board_dir / "trials").iterdir())
    assert runs == ["0000", "0001", "0002", "0003", "0004"]  # the abandoned trial 5 has no session

    acc = load(board_dir / trial_run_name(3))
    start = metadata.parse_session_start_info_plugin_data(hparams_content(acc, metadata.SESSION_START_INFO_TAG))
    assert start.hparams["model.width"].number_value == 32.0
    assert start.hparams["model.pooling"].bool_value is False
    assert start.hparams["opt"].string_value == "adam"
    assert start.hparams["status"].string_value == "completed"
    end = metadata.parse_session_end_info_plugin_data(hparams_content(acc, metadata.SESSION_END_INFO_TAG))
    assert end.status == api_pb2.STATUS_SUCCESS
    assert [(e.step, e.value) for e in acc.Scalars("test/acc")] == [(3, pytest.approx(0.70))]  # step: trial index
    assert [e.value for e in acc.Scalars("energy/train_j")] == [40.0]
    assert [e.value for e in acc.Scalars(ON_FRONT_TAG)] == [0.0]

    acc = load(board_dir / trial_run_name(2))
    end = metadata.parse_session_end_info_plugin_data(hparams_content(acc, metadata.SESSION_END_INFO_TAG))
    assert end.status == api_pb2.STATUS_FAILURE
    start = metadata.parse_session_start_info_plugin_data(hparams_content(acc, metadata.SESSION_START_INFO_TAG))
    assert start.hparams["status"].string_value == "failed"


def test_on_front_follows_a_trial_that_leaves_the_frontier(board_dir):
    # Trial 0 was on the front after the first batch, and left it when trial 4 arrived (step 5).
    events = load(board_dir / trial_run_name(0)).Scalars(ON_FRONT_TAG)
    assert [(e.step, e.value) for e in events] == [(2, 1.0), (5, 0.0)]
    assert [e.value for e in load(board_dir / trial_run_name(4)).Scalars(ON_FRONT_TAG)] == [1.0]


def test_a_resumed_sweep_writes_nothing_twice(board_dir):
    before = sorted(board_dir.rglob("events.out.tfevents.*"))
    FrontierBoard(board_dir).update(result_after(6))  # a new process (a finished sweep rerun), the same results
    assert sorted(board_dir.rglob("events.out.tfevents.*")) == before
    # Extended by one trial that dominates trial 1: its session, trial 1's change of on_front, one frontier step.
    trials = (*TRIALS, completed(6, 0.85, 500.0))
    extended = SweepResult(OBJECTIVES, trials, (4, 6), dict(REF), "inferred", 1.0)
    FrontierBoard(board_dir).update(extended)
    new = sorted(set(board_dir.rglob("events.out.tfevents.*")) - set(before))
    assert [p.parent.name for p in new] == ["frontier", "0001", "0006"]
    # (Sorted by step; the files also sort in the order written: the clock-step test below.)
    on_front = sorted((e.step, e.value) for e in load(board_dir / trial_run_name(1)).Scalars(ON_FRONT_TAG))
    assert on_front == [(2, 1.0), (6, 0.0)]
    assert sorted(e.step for e in load(board_dir / FRONTIER_RUN).Scalars("frontier/pareto_size")) == [2, 4, 5, 6]
    assert len(list(board_dir.glob("events.out.tfevents.*"))) == 1  # the experiment, written once


@pytest.mark.parametrize("again", ["the finished sweep rerun", "the next batch", "a damaged state file"])
def test_a_process_killed_before_it_saved_its_state_leaves_no_step_written_twice(tmp_path, caplog, again):
    """SIGKILL after an update's event files and before its state file: the resume wrote those events again, at the
    same steps (the counts, the hypervolume, a trial's on_front, the text and picture), when it wrote at that step."""
    from lightning_ecopt.tensorboard import STATE_FILENAME

    board_dir = tmp_path / "tensorboard"
    board = FrontierBoard(board_dir)
    board.update(result_after(2))
    board.update(result_after(4))
    state = (board_dir / STATE_FILENAME).read_text()
    board.update(result_after(6))
    # Killed before this update's state file replaced the last one; or the file cut short since (its warning).
    (board_dir / STATE_FILENAME).write_text(state if again != "a damaged state file" else state[:40])
    files = sorted(board_dir.rglob("events.out.tfevents.*"))
    resumed = FrontierBoard(board_dir)
    resumed.update(result_after(6))
    assert sorted(board_dir.rglob("events.out.tfevents.*")) == files  # nothing new to write, not even an empty file
    if again == "a damaged state file":
        assert "the TensorBoard views read what was written from their event files" in caplog.text
    if again == "the next batch":  # one that dominates trial 1
        trials = (*TRIALS, completed(6, 0.85, 500.0))
        resumed.update(SweepResult(OBJECTIVES, trials, (4, 6), dict(REF), "inferred", 1.0))
    frontier_run = load(board_dir / FRONTIER_RUN)
    steps = [2, 4, 5] if again != "the next batch" else [2, 4, 5, 6]
    for tag in ("frontier/hypervolume", "frontier/pareto_size", "trials/completed", "trials/failed"):
        assert [e.step for e in frontier_run.Scalars(tag)] == steps, tag
    assert [e.step for e in frontier_run.Tensors("frontier/configurations/text_summary")] == steps
    assert [e.step for e in frontier_run.Images("frontier/pareto_front")] == steps
    on_front = {
        i: [(e.step, e.value) for e in load(board_dir / trial_run_name(i)).Scalars(ON_FRONT_TAG)] for i in (0, 4)
    }
    assert on_front == {0: [(2, 1.0), (5, 0.0)], 4: [(5, 1.0)]}


@pytest.mark.parametrize("clock", ["stepped back an hour", "a new process in the same second"])
def test_a_live_tensorboard_sees_the_frontier_steps_written_after_a_clock_step(board_dir, monkeypatch, clock):
    """Event files were named by this host's wall clock: written after a step back (NTP, ``date -s``, a sweep resumed
    on a node whose clock is behind), or by a new process within the last file's second (its counter starts at 0),
    one sorted before the file a running TensorBoard was on, which never goes back: the step stayed unseen."""
    import itertools
    import time
    import types

    from lightning_ecopt import tensorboard

    live = load(board_dir / FRONTIER_RUN)  # a TensorBoard following the sweep
    assert sorted(e.step for e in live.Scalars("frontier/pareto_size")) == [2, 4, 5]
    if clock == "stepped back an hour":
        now = time.time() - 3600
    else:
        latest = max(p.name for p in (board_dir / FRONTIER_RUN).glob("events.out.tfevents.*"))
        now = int(latest.split(".")[3]) + 0.5
        monkeypatch.setattr(tensorboard, "_EVENT_FILES", itertools.count())
    monkeypatch.setattr(tensorboard, "time", types.SimpleNamespace(**(vars(time) | {"time": lambda: now})))
    trials = (*TRIALS, completed(6, 0.85, 500.0))
    FrontierBoard(board_dir).update(SweepResult(OBJECTIVES, trials, (4, 6), dict(REF), "inferred", 1.0))
    live.Reload()
    assert [e.step for e in live.Scalars("frontier/pareto_size")] == [2, 4, 5, 6]


def test_a_trial_that_breaks_an_outcome_constraint_is_marked_infeasible_in_the_hparams_table(tmp_path):
    from lightning_ecopt.sweeper.objectives import parse_constraint

    # Trial 0 (energy/train_j 10) breaks 'energy/train_j >= 15': off the front like trial 3 (dominated by 1), whose
    # columns looked the same before (status completed, on_front 0); trials.csv and the picture told them apart.
    constraint = parse_constraint("energy/train_j >= 15")
    trials = (TRIALS[0], TRIALS[1], TRIALS[3])
    FrontierBoard(tmp_path, constraints=[constraint]).update(
        SweepResult(OBJECTIVES, trials, (1,), dict(REF), "inferred", 1.0)
    )
    experiment = metadata.parse_experiment_plugin_data(hparams_content(load(tmp_path), metadata.EXPERIMENT_TAG))
    metrics = [m.name.tag for m in experiment.metric_infos]
    assert metrics == ["test/acc", "energy/test_samples_per_j", ON_FRONT_TAG, FEASIBLE_TAG, "energy/train_j"]
    described = {m.name.tag: m.description for m in experiment.metric_infos}
    assert described[FEASIBLE_TAG] == "1 when the trial meets every outcome constraint (energy/train_j >= 15), else 0"
    feasible = {t.trial_index: load(tmp_path / trial_run_name(t.trial_index)).Scalars(FEASIBLE_TAG) for t in trials}
    assert {i: [(e.step, e.value) for e in events] for i, events in feasible.items()} == {
        0: [(0, 0.0)],
        1: [(1, 1.0)],
        3: [(3, 1.0)],
    }
    # Without constraints, no such column (every trial would read 1).
    FrontierBoard(tmp_path / "plain").update(SweepResult(OBJECTIVES, trials, (0, 1), dict(REF), "inferred", 1.0))
    plain = metadata.parse_experiment_plugin_data(hparams_content(load(tmp_path / "plain"), metadata.EXPERIMENT_TAG))
    assert FEASIBLE_TAG not in [m.name.tag for m in plain.metric_infos]
    assert FEASIBLE_TAG not in load(tmp_path / "plain" / trial_run_name(1)).Tags()["scalars"]


def test_a_resume_writes_again_an_experiment_stored_without_the_feasible_column(tmp_path, caplog):
    """An experiment written before outcome constraints' column existed: the resumed sweep wrote frontier/feasible
    scalars but TensorBoard's table had no column for them (it shows a run's first experiment summary only, so one
    written beside it would be ignored: the stored one is replaced), and the earlier trials had no such scalar."""
    from lightning_ecopt.sweeper.objectives import parse_constraint

    constraint = parse_constraint("energy/train_j >= 15")
    old = FrontierBoard(tmp_path)  # as a version without the column wrote it
    assert old.update(SweepResult(OBJECTIVES, (TRIALS[0], TRIALS[1]), (0, 1), dict(REF), "inferred", 1.0))
    [stored] = tmp_path.glob("events.out.tfevents.*")
    columns = [ON_FRONT_TAG, "energy/train_j"]
    experiment = metadata.parse_experiment_plugin_data(hparams_content(load(tmp_path), metadata.EXPERIMENT_TAG))
    assert [m.name.tag for m in experiment.metric_infos] == ["test/acc", "energy/test_samples_per_j", *columns]
    trials = (TRIALS[0], TRIALS[1], TRIALS[3])
    with caplog.at_level(logging.INFO, logger="lightning_ecopt"):
        FrontierBoard(tmp_path, constraints=[constraint]).update(
            SweepResult(OBJECTIVES, trials, (1,), dict(REF), "inferred", 1.0)
        )
    [rewritten] = tmp_path.glob("events.out.tfevents.*")
    assert rewritten != stored
    experiment = metadata.parse_experiment_plugin_data(hparams_content(load(tmp_path), metadata.EXPERIMENT_TAG))
    assert [m.name.tag for m in experiment.metric_infos] == [
        "test/acc",
        "energy/test_samples_per_j",
        ON_FRONT_TAG,
        FEASIBLE_TAG,
        "energy/train_j",
    ]
    assert f"had no column for {FEASIBLE_TAG}, which this sweep writes: written again" in caplog.text
    # TensorBoard's own HParams backend sorts the table on it: trial 0 (energy/train_j 10) breaks the constraint.
    col = api_pb2.ColParams(metric=api_pb2.MetricName(tag=FEASIBLE_TAG), order=api_pb2.ORDER_ASC)
    table = [
        (g.hparams["model.width"].number_value, [v.value for v in g.metric_values if v.name.tag == FEASIBLE_TAG])
        for g in _hparams_backend(tmp_path)([col])
    ]
    assert table[0] == (8.0, [0.0])
    assert sorted(table[1:]) == [(16.0, [1.0]), (32.0, [1.0])]
    # A further resume, the columns now stored: nothing written again.
    FrontierBoard(tmp_path, constraints=[constraint]).update(
        SweepResult(OBJECTIVES, (*trials, TRIALS[4]), (1, 4), dict(REF), "inferred", 1.0)
    )
    assert list(tmp_path.glob("events.out.tfevents.*")) == [rewritten]
    assert [(e.step, e.value) for e in load(tmp_path / trial_run_name(0)).Scalars(FEASIBLE_TAG)] == [(0, 0.0)]


def test_a_resume_writes_again_an_experiment_stored_without_parameter_domains(tmp_path, caplog, monkeypatch):
    """A board written before the columns had domains and ``differs``: resumed, the dashboard still showed its first
    five columns by name, a swept parameter hidden behind fixed ones (review)."""
    from tensorboard.plugins.hparams import api_pb2 as api

    from lightning_ecopt.sweeper.space import parse_search_space

    space = parse_search_space({"model.width": "int(interval(8, 64))", "model.pooling": "choice(true, false)"}, [])
    kinds = {"bool": api.DATA_TYPE_BOOL, "float": api.DATA_TYPE_FLOAT64, "str": api.DATA_TYPE_STRING}
    with monkeypatch.context() as before:  # the columns as a version without domains wrote them
        before.setattr(FrontierBoard, "_hparam_info", lambda self, name, kind, result: api.HParamInfo(
            name=name, type=kinds[kind]
        ))  # fmt: skip
        FrontierBoard(tmp_path, space=space).update(
            SweepResult(OBJECTIVES, (TRIALS[0],), (0,), dict(REF), "inferred", 1.0)
        )
    with caplog.at_level(logging.INFO, logger="lightning_ecopt"):
        FrontierBoard(tmp_path, space=space).update(
            SweepResult(OBJECTIVES, (TRIALS[0], TRIALS[1]), (1,), dict(REF), "inferred", 1.0)
        )
    assert "had no domains for its parameters, which this sweep writes: written again" in caplog.text
    infos = {h.name: h for h in _hparams_experiment(tmp_path).hparam_infos}
    assert infos["model.width"].differs
    assert list(infos["model.pooling"].domain_discrete) == [True, False]
    # Written again once: a further resume leaves it.
    [stored] = tmp_path.glob("events.out.tfevents.*")
    caplog.clear()
    FrontierBoard(tmp_path, space=space).update(
        SweepResult(OBJECTIVES, (TRIALS[0], TRIALS[1], TRIALS[3]), (1,), dict(REF), "inferred", 1.0)
    )
    assert list(tmp_path.glob("events.out.tfevents.*")) == [stored]


def test_the_energy_headers_follow_a_label_the_later_trials_change(tmp_path, caplog):
    """With allow_mixed_energy_sources, a measured trial after estimated ones makes the label 'mixed': the table,
    written once at the first completed trial, still headed every energy column 'estimated (cpu-time)', where the
    picture, the text table and trials.csv said mixed."""
    measured = dataclasses.replace(TRIALS[1], energy_source="measured: zeus/nvml")
    board = FrontierBoard(tmp_path, images=False)
    board.update(SweepResult(OBJECTIVES, (TRIALS[0],), (0,), dict(REF), "inferred", 1.0))
    assert _headers(tmp_path)["energy/train_j"] == "energy/train_j [J, estimated (cpu-time)]"
    with caplog.at_level(logging.INFO, logger="lightning_ecopt"):
        board.update(SweepResult(OBJECTIVES, (TRIALS[0], measured), (0, 1), dict(REF), "inferred", 1.0))
    said = "headed its energy columns as 'energy/test_samples_per_j [samples/J, estimated (cpu-time)]', which the"
    assert f"{said} trials no longer are: written again" in caplog.text
    assert _headers(tmp_path) == {
        "test/acc": "test/acc",
        "energy/test_samples_per_j": "energy/test_samples_per_j [samples/J, mixed: estimated and measured]",
        ON_FRONT_TAG: ON_FRONT_TAG,
        "energy/train_j": "energy/train_j [J, mixed: estimated and measured]",
    }
    [stored] = tmp_path.glob("events.out.tfevents.*")  # the old experiment gone: TensorBoard shows a run's first
    # A resume (a new process) with the same label leaves it; another batch of the same label likewise.
    FrontierBoard(tmp_path, images=False).update(
        SweepResult(OBJECTIVES, (TRIALS[0], measured, TRIALS[3]), (0, 1), dict(REF), "inferred", 1.0)
    )
    assert list(tmp_path.glob("events.out.tfevents.*")) == [stored]


def test_a_resume_heads_the_energy_columns_of_an_experiment_stored_without_their_label(tmp_path, caplog, monkeypatch):
    """A board written before the headers carried the energy label: resumed, its energy columns read as bare tags."""
    from lightning_ecopt import tensorboard

    with monkeypatch.context() as before:
        before.setattr(tensorboard, "_display_name", lambda name, result: name)
        FrontierBoard(tmp_path, images=False).update(
            SweepResult(OBJECTIVES, (TRIALS[0],), (0,), dict(REF), "inferred", 1.0)
        )
    assert _headers(tmp_path)["energy/train_j"] == "energy/train_j"
    with caplog.at_level(logging.INFO, logger="lightning_ecopt"):
        FrontierBoard(tmp_path, images=False).update(
            SweepResult(OBJECTIVES, (TRIALS[0], TRIALS[1]), (1,), dict(REF), "inferred", 1.0)
        )
    assert "had energy columns headed without a label, which this sweep writes: written again" in caplog.text
    assert _headers(tmp_path)["energy/train_j"] == "energy/train_j [J, estimated (cpu-time)]"


def _headers(log_dir):
    """The metric columns' headers TensorBoard shows, by tag."""
    return {m.name.tag: m.display_name for m in _hparams_experiment(log_dir).metric_infos}


def test_a_stored_experiment_beside_other_events_is_left_as_it_is(tmp_path, caplog):
    """Only event files that hold the experiment alone (as the board writes them) are replaced."""
    from lightning_ecopt.sweeper.objectives import parse_constraint

    FrontierBoard(tmp_path).update(SweepResult(OBJECTIVES, (TRIALS[0],), (0,), dict(REF), "inferred", 1.0))
    with FrontierBoard._writer(tmp_path) as writer:  # someone else's scalar in the root run
        writer.add_scalar("other/x", 1.0, 0)
    before = sorted(tmp_path.glob("events.out.tfevents.*"))
    with caplog.at_level(logging.INFO, logger="lightning_ecopt"):
        FrontierBoard(tmp_path, constraints=[parse_constraint("energy/train_j >= 15")]).update(
            SweepResult(OBJECTIVES, (TRIALS[0], TRIALS[1]), (0, 1), dict(REF), "inferred", 1.0)
        )
    assert sorted(tmp_path.glob("events.out.tfevents.*")) == before
    assert "hold more than the experiment, so it is left as it is" in caplog.text


def test_a_damaged_state_file_is_ignored_with_a_warning(board_dir, caplog):
    (board_dir / "ecopt_board.json").write_text("{not json")
    with caplog.at_level(logging.WARNING, logger="lightning_ecopt.tensorboard"):
        assert FrontierBoard(board_dir).update(result_after(6))
    assert "ignoring" in caplog.text
    assert "ecopt_board.json" in caplog.text


def test_failed_trials_have_no_metric_row_and_late_metrics_are_named(tmp_path, caplog):
    board = FrontierBoard(tmp_path)
    partial = TrialRecord(2, {"model.width": 64}, "failed", metrics={"test/acc": 0.99}, reason="diverged")
    late = completed(3, 0.75, 350.0)
    late = TrialRecord(3, late.params, "completed", metrics={**late.metrics, "late/metric": 1.0}, energy_source=SOURCE)
    trials = (TRIALS[0], TRIALS[1], partial, late)
    with caplog.at_level(logging.INFO, logger="lightning_ecopt.tensorboard"):
        board.update(SweepResult(OBJECTIVES, trials[:2], (0, 1), dict(REF), "inferred", 1.0))
        board.update(SweepResult(OBJECTIVES, trials, (0, 1), dict(REF), "inferred", 1.0))
    # A failed trial's partial metrics would top the table sorted by accuracy; they stay in trials.csv. It is on no
    # frontier (0: a filter on the column keeps the rows without a value).
    assert load(tmp_path / trial_run_name(2)).Tags()["scalars"] == [ON_FRONT_TAG]
    assert [e.value for e in load(tmp_path / trial_run_name(3)).Scalars("late/metric")] == [1.0]
    assert "trial 3 returned 'late/metric'" in caplog.text
    assert "not a column" in caplog.text


def test_an_unchanged_result_writes_nothing(tmp_path):
    board = FrontierBoard(tmp_path)
    board.update(result_after(4))
    files = sorted(tmp_path.rglob("events.out.tfevents.*"))
    board.update(result_after(4))
    assert sorted(tmp_path.rglob("events.out.tfevents.*")) == files


def test_no_experiment_until_a_trial_completes(tmp_path):
    board = FrontierBoard(tmp_path)
    result = SweepResult(OBJECTIVES, (failed(0),), ())
    assert board.update(result)
    assert not list(tmp_path.glob("events.out.tfevents.*"))
    assert (tmp_path / trial_run_name(0)).is_dir()
    board.update(result_after(2))
    assert len(list(tmp_path.glob("events.out.tfevents.*"))) == 1


def test_update_never_raises_it_logs_and_the_sweep_goes_on(tmp_path, monkeypatch, caplog):
    def broken(result, **options):
        raise RuntimeError("matplotlib exploded")

    monkeypatch.setattr(views, "frontier_figure", broken)
    board = FrontierBoard(tmp_path / "tb")
    with caplog.at_level(logging.WARNING, logger="lightning_ecopt.tensorboard"):
        assert board.update(result_after(2)) is False
        assert board.update(result_after(4)) is False
    assert "could not write the TensorBoard frontier views" in caplog.text
    assert "matplotlib exploded" in caplog.text
    assert caplog.records[0].exc_info
    assert not caplog.records[1].exc_info

    blocked = tmp_path / "a_file"
    blocked.write_text("")
    assert FrontierBoard(blocked).update(result_after(2)) is False


def test_images_can_be_turned_off(tmp_path):
    FrontierBoard(tmp_path, images=False).update(result_after(2))
    assert load(tmp_path / FRONTIER_RUN).Tags()["images"] == []


def test_constraints_given_as_text_mark_the_same_trials_infeasible(tmp_path):
    # Texts, as SweepSettings takes them: each update used to fail on them (logged, caught), writing no view at all.
    trials = (TRIALS[0], TRIALS[1], TRIALS[3])
    result = SweepResult(OBJECTIVES, trials, (1,), dict(REF), "inferred", 1.0)
    for given in (["energy/train_j >= 15"], "energy/train_j >= 15"):
        board = FrontierBoard(tmp_path / str(len(given)), constraints=given)
        assert [str(c) for c in board.constraints] == ["energy/train_j >= 15"]
        assert board.update(result) is True
        assert load(tmp_path / str(len(given)) / trial_run_name(0)).Scalars(FEASIBLE_TAG)[0].value == 0.0


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"images": "no"}, r"FrontierBoard\(images='no'\): expected True or False"),
        ({"space": {"x": "interval(0, 1)"}}, r"FrontierBoard\(space=\{'x'.*expected the sweep's SearchSpace"),
        ({"constraints": [3]}, r"FrontierBoard\(constraints=\[3\]\): expected the sweep's outcome constraints"),
    ],
)
def test_bad_arguments_are_refused_when_built_not_at_every_update(tmp_path, kwargs, match):
    # A YAML 'no' is a true string: images were drawn. A dict space failed every update, quietly (logged, caught).
    with pytest.raises(TypeError, match=match):
        FrontierBoard(tmp_path, **kwargs)


@pytest.mark.parametrize("bad", [None, "", 3])
def test_log_dir_must_be_a_path(bad):
    with pytest.raises(TypeError, match="expected a folder path"):
        FrontierBoard(bad)


def _sweep(tmp_path, **kwargs):
    from lightning_ecopt.sweeper.loop import ParetoSweep, evaluate_each
    from lightning_ecopt.sweeper.settings import SweepSettings
    from lightning_ecopt.sweeper.space import parse_search_space

    space = parse_search_space({"x": "interval(0, 1)"}, [])
    settings = SweepSettings(
        parse_objectives({"f1": "minimize", "f2": "minimize"}, None),
        n_trials=4,
        n_initial_trials=4,
        max_batch_size=2,
        seed=0,
        storage=tmp_path / "ax_experiment.json",
    )
    return ParetoSweep(space, settings, evaluate_each(lambda p: {"f1": p["x"], "f2": (1 - p["x"]) ** 2}), **kwargs)


@pytest.mark.filterwarnings("ignore")
def test_the_loop_writes_the_views_after_every_batch(tmp_path):
    result = _sweep(tmp_path).run()  # Sobol only: no model fitting
    acc = load(tmp_path / "tensorboard" / FRONTIER_RUN)
    # Two batches of two, one step each; the reference point inferred from all four trials shows at the last.
    assert [e.step for e in acc.Scalars("frontier/pareto_size")] == [2, 4]
    assert [e.step for e in acc.Scalars("frontier/hypervolume")] == [4]
    assert acc.Scalars("frontier/pareto_size")[-1].value == len(result.pareto_indices)
    assert len(list((tmp_path / "tensorboard" / "trials").iterdir())) == 4


@pytest.mark.filterwarnings("ignore")
def test_the_loop_survives_a_failing_hook_and_hooks_can_be_turned_off(tmp_path, caplog):
    seen = []

    def broken(result):
        seen.append(result.n_finished)
        raise RuntimeError("hook bug")

    with caplog.at_level(logging.WARNING, logger="lightning_ecopt.sweeper.loop"):
        result = _sweep(tmp_path, on_batch_end=[broken]).run()
    assert result.n_finished == 4
    assert seen == [2, 4]  # after each batch, once
    assert "the batch hook" in caplog.text
    assert not (tmp_path / "tensorboard").exists()


def _hparams_context(log_dir):
    """TensorBoard's own HParams backend context over ``log_dir``, as its server builds it."""
    from tensorboard.backend.event_processing import data_provider
    from tensorboard.backend.event_processing import plugin_event_multiplexer as pem
    from tensorboard.plugins import base_plugin
    from tensorboard.plugins.hparams import backend_context

    mux = pem.EventMultiplexer()
    mux.AddRunsFromDirectory(str(log_dir))
    mux.Reload()
    provider = data_provider.MultiplexerDataProvider(mux, str(log_dir))
    return backend_context.Context(base_plugin.TBContext(logdir=str(log_dir), data_provider=provider, multiplexer=mux))


def _hparams_backend(log_dir):
    """TensorBoard's own HParams backend over ``log_dir``: what its table asks for (sort, filter) runs here."""
    from tensorboard import context
    from tensorboard.plugins.hparams import list_session_groups

    backend, request = _hparams_context(log_dir), context.RequestContext()

    def sessions(col_params):
        statuses = [api_pb2.STATUS_UNKNOWN, api_pb2.STATUS_SUCCESS, api_pb2.STATUS_FAILURE, api_pb2.STATUS_RUNNING]
        query = api_pb2.ListSessionGroupsRequest(
            start_index=0, slice_size=100, col_params=col_params, allowed_statuses=statuses
        )
        return list_session_groups.Handler(request, backend, "", query).run().session_groups

    return sessions


def test_a_choice_of_numbers_and_strings_is_one_string_column_tensorboard_can_sort_and_filter(tmp_path):
    from lightning_ecopt.sweeper.space import parse_search_space

    space = parse_search_space({"opt": "choice(1, auto, 2.5)", "status": "choice(a, b)"}, [])
    trials = [completed(i, 0.6 + 0.1 * i, 100.0 * (3 - i), opt=v, status="a") for i, v in enumerate([1, 2.5, "auto"])]
    board = FrontierBoard(tmp_path, images=False, space=space)
    board.update(SweepResult(OBJECTIVES, tuple(trials[:2]), (0, 1), dict(REF), "inferred", 1.0))  # numbers first
    board.update(SweepResult(OBJECTIVES, tuple(trials), (0, 1, 2), dict(REF), "inferred", 2.0))
    sessions = _hparams_backend(tmp_path)
    assert {g.hparams["opt"].string_value for g in sessions([])} == {"1", "2.5", "auto"}
    # Before: a number column then 'auto' (or numbers in a string column), and TensorBoard's table raised here.
    ordered = sessions([api_pb2.ColParams(hparam="opt", order=api_pb2.ORDER_ASC)])
    assert [g.hparams["opt"].string_value for g in ordered] == ["1", "2.5", "auto"]
    assert len(sessions([api_pb2.ColParams(hparam="opt", filter_regexp="au")])) == 1
    # A parameter named status keeps its values; the board's own column steps aside.
    (group, *_) = sessions([])
    assert group.hparams["status"].string_value == "a"
    assert group.hparams["ecopt/status"].string_value == "completed"


def test_the_hparams_filter_on_front_keeps_the_frontier_and_no_failed_trial(board_dir):
    """docs/frontier.md: filter on frontier/on_front = 1 to keep only the frontier. A failed trial had no value there,
    and TensorBoard's filter keeps the rows without one (its dashboard asks no other way): the failed trial 2 was
    listed among the frontier's."""
    sessions = _hparams_backend(board_dir)
    front = api_pb2.ColParams(
        metric=api_pb2.MetricName(tag=ON_FRONT_TAG), filter_interval=api_pb2.Interval(min_value=1, max_value=1)
    )
    assert sorted(g.name for g in sessions([front])) == [trial_run_name(1), trial_run_name(4)]
    assert [(e.step, e.value) for e in load(board_dir / trial_run_name(2)).Scalars(ON_FRONT_TAG)] == [(4, 0.0)]


def _hparams_experiment(log_dir):
    """The experiment TensorBoard's HParams dashboard fetches (``/data/plugin/hparams/experiment``, as it asks)."""
    from tensorboard import context
    from tensorboard.plugins.hparams import get_experiment

    request = api_pb2.GetExperimentRequest(experiment_name="", hparams_limit=1000)  # the dashboard's limit
    return get_experiment.Handler(context.RequestContext(), _hparams_context(log_dir), "", request).run()


def test_the_hparams_dashboard_shows_the_swept_parameters_first_with_their_domains(tmp_path):
    from lightning_ecopt.sweeper.space import parse_search_space

    params = {
        "width": "int(interval(8, 256))",
        "lr": "tag(log, interval(1e-4, 1e-1))",
        "opt": "choice(adam, sgd)",
        "kernel": "tag(ordered, choice(1, 3, 5))",
        "pool": "choice(true, false)",
    }
    space = parse_search_space(params, ["data.batch_size=32", "trainer.max_epochs=2"])
    trials = [
        TrialRecord(i, {"width": 8 * (i + 1), "lr": 1e-3, "opt": "adam", "kernel": 3, "pool": i == 0}, "completed",
                    metrics={"test/acc": 0.6 + 0.1 * i, "energy/test_samples_per_j": 300.0 - 100 * i})
        for i in range(2)
    ]  # fmt: skip
    board = FrontierBoard(tmp_path, images=False, space=space)
    board.update(SweepResult(OBJECTIVES, tuple(trials), (0, 1), dict(REF), "inferred", 1.0))
    infos = {h.name: h for h in _hparams_experiment(tmp_path).hparam_infos}
    # The dashboard shows the first five columns, those that differ first: they were the first five by name, so
    # the fixed data.batch_size and status hid the swept width.
    shown = [h.name for h in sorted(infos.values(), key=lambda h: not h.differs)][:5]
    assert sorted(shown) == ["kernel", "lr", "opt", "pool", "width"]
    assert not infos["data.batch_size"].differs
    assert not infos["status"].differs
    # A choice's values as checkboxes; a bool column had no filter at all, a string one a regular expression.
    assert list(infos["opt"].domain_discrete) == ["adam", "sgd"]
    assert list(infos["kernel"].domain_discrete) == [1.0, 3.0, 5.0]
    assert list(infos["pool"].domain_discrete) == [True, False]
    assert list(infos["status"].domain_discrete) == ["completed", "failed", "reused"]
    assert (infos["width"].domain_interval.min_value, infos["width"].domain_interval.max_value) == (8.0, 256.0)
    assert list(infos["trainer.max_epochs"].domain_discrete) == [2.0]


def test_a_fixed_override_fills_its_column_in_every_session(tmp_path):
    # trainer.max_epochs=2 on the command line is a column of the experiment, and was empty in every session.
    from lightning_ecopt.sweeper.space import parse_search_space

    space = parse_search_space({"opt": "choice(adam, sgd)"}, ["trainer.max_epochs=2"])
    trials = [completed(i, 0.6 + 0.1 * i, 100.0 * (3 - i), opt=v) for i, v in enumerate(["adam", "sgd"])]
    board = FrontierBoard(tmp_path, images=False, space=space)
    board.update(SweepResult(OBJECTIVES, tuple(trials), (0, 1), dict(REF), "inferred", 1.0))
    sessions = _hparams_backend(tmp_path)
    assert [g.hparams["trainer.max_epochs"].number_value for g in sessions([])] == [2.0, 2.0]


def test_a_trial_leaving_the_front_at_its_joining_step_is_written_at_a_later_step(tmp_path):
    # Trials 2-7 abandoned: trial 8's first step is its index, past the trials finished; leaving the front at the
    # next batch wrote a second point at step 8.
    def trial(i, f1, f2):
        return TrialRecord(i, {"x": float(i)}, "completed", metrics={"f1": f1, "f2": f2})

    objectives = parse_objectives({"f1": "minimize", "f2": "minimize"}, None)
    abandoned = [TrialRecord(i, {"x": float(i)}, "abandoned", reason="interrupted") for i in range(2, 8)]
    trials = [trial(0, 5.0, 5.0), trial(1, 6.0, 4.0), *abandoned, trial(8, 1.0, 9.0)]
    board = FrontierBoard(tmp_path, images=False)
    board.update(SweepResult(objectives, tuple(trials), (0, 1, 8)))
    trials.append(trial(9, 0.5, 8.0))
    board.update(SweepResult(objectives, tuple(trials), (0, 1, 9)))
    steps = [(e.step, e.value) for e in load(tmp_path / trial_run_name(8)).Scalars(ON_FRONT_TAG)]
    assert steps == [(8, 1.0), (9, 0.0)]


def test_a_reference_point_inferred_at_the_end_adds_the_hypervolume_without_repeating_the_step(tmp_path):
    # A discrete space exhausted early: the hook sees the same trials again once the reference point is inferred.
    board = FrontierBoard(tmp_path, images=False)
    before = result_after(4)
    board.update(dataclasses.replace(before, reference_point=None, reference_point_origin=None, hypervolume=None))
    board.update(before)
    run = load(tmp_path / FRONTIER_RUN)
    assert [e.step for e in run.Scalars("frontier/pareto_size")] == [4]
    assert [(e.step, e.value) for e in run.Scalars("frontier/hypervolume")] == [(4, pytest.approx(before.hypervolume))]
    # And a new process (a rerun) at the same state writes nothing more.
    FrontierBoard(tmp_path, images=False).update(before)
    assert [e.step for e in load(tmp_path / FRONTIER_RUN).Scalars("frontier/hypervolume")] == [4]


@pytest.mark.filterwarnings("ignore")
def test_the_hypervolume_curve_skips_a_provisional_reference_point_and_never_drops(tmp_path):
    """Review: a point inferred from infeasible Sobol trials is replaced once two trials meet the constraints; the
    curve plotted the hypervolume against it (0.81 at step 4), then against the tighter one (0.01 at step 5).

    The task's values go by call order, whatever Ax proposes: three infeasible calls spread over [0, 1], then feasible
    ones near (0.2, 0.2). The first run stops while the point is provisional; the second resumes the sweep.
    """
    from ax.utils.testing.mock import mock_botorch_optimize_context_manager

    from lightning_ecopt.report import build_report
    from lightning_ecopt.sweeper.loop import ParetoSweep
    from lightning_ecopt.sweeper.settings import SweepSettings
    from lightning_ecopt.sweeper.space import parse_search_space

    values = [(0.0, 1.0, 1.0), (1.0, 0.0, 1.0), (0.5, 0.5, 1.0), (0.2, 0.2, 0.0), (0.3, 0.1, 0.0), (0.1, 0.3, 0.0)]
    calls: list[dict] = []

    def task(p):
        f1, f2, c = values[len(calls)]
        calls.append(p)
        return {"f1": f1, "f2": f2, "c": c}

    def run(n_trials):
        settings = SweepSettings(
            parse_objectives({"f1": "minimize", "f2": "minimize"}, None),
            n_trials=n_trials,
            n_initial_trials=3,
            outcome_constraints=["c <= 0.5"],
            seed=0,
            storage=tmp_path / "ax_experiment.json",
        )
        with mock_botorch_optimize_context_manager(force=True):
            return ParetoSweep.from_function(parse_search_space({"x": "interval(0, 1)"}, []), settings, task).run()

    first = run(3)  # the Sobol trials, none feasible: the point inferred from them is provisional
    assert first.reference_point_provisional
    assert build_report(tmp_path).sweep.result.reference_point_provisional  # through the results file
    result = run(6)
    assert not result.reference_point_provisional
    assert not build_report(tmp_path).sweep.result.reference_point_provisional
    assert "provisional" not in views.frontier_markdown(result)
    run_dir = load(tmp_path / "tensorboard" / FRONTIER_RUN)
    curve = [(e.step, e.value) for e in run_dir.Scalars("frontier/hypervolume")]
    # Step 4 (one feasible trial, against the provisional box) is left out: the curve starts at the point in force.
    assert [step for step, _ in curve] == [5, 6]
    hv = [value for _, value in curve]
    assert hv == sorted(hv)
    ref = [result.reference_point[o] for o in ("f1", "f2")]
    feasible = [list(v[:2]) for v in values if v[2] == 0.0]
    for step, value in curve:
        assert value == pytest.approx(frontier.hypervolume(feasible[: step - 3], ref, [False, False]))
    assert hv[-1] == pytest.approx(result.hypervolume)
    texts = run_dir.Tensors("frontier/configurations/text_summary")
    text_at = {e.step: e.tensor_proto.string_val[0].decode() for e in texts}
    assert "inferred, provisional" in text_at[4]  # the hypervolume against the provisional box says so
    assert "provisional" not in text_at[5]


def test_a_metric_named_as_a_tag_the_board_writes_keeps_its_values_under_task(tmp_path):
    # A task returning frontier/on_front had its values and the board's in one tag (7.0 at step 0, then the board's
    # 1.0), and the HParams table two frontier/on_front columns, both showing the board's value.
    trials = []
    for i in range(3):
        t = completed(i, 0.6 + 0.1 * i, 100.0 * (3 - i))
        trials.append(dataclasses.replace(t, metrics={**t.metrics, ON_FRONT_TAG: 7.0, FEASIBLE_TAG: 5.0}))
    board = FrontierBoard(tmp_path, images=False, constraints=["test/acc >= 0.65"])
    assert board.update(SweepResult(OBJECTIVES, tuple(trials), (1, 2), dict(REF), "inferred", 1.0))
    columns = [m.name.tag for m in _hparams_experiment(tmp_path).metric_infos]
    assert len(columns) == len(set(columns))
    assert {ON_FRONT_TAG, FEASIBLE_TAG, f"task/{ON_FRONT_TAG}", f"task/{FEASIBLE_TAG}"} <= set(columns)
    acc = load(tmp_path / trial_run_name(0))
    assert [e.value for e in acc.Scalars(ON_FRONT_TAG)] == [0.0]  # the board's alone
    assert [e.value for e in acc.Scalars(FEASIBLE_TAG)] == [0.0]
    assert [e.value for e in acc.Scalars(f"task/{ON_FRONT_TAG}")] == [7.0]
    assert [e.value for e in acc.Scalars(f"task/{FEASIBLE_TAG}")] == [5.0]
    values = {g.name: {m.name.tag: m.value for m in g.metric_values} for g in _hparams_backend(tmp_path)([])}
    assert values["trials/0001"][ON_FRONT_TAG] == 1.0
    assert values["trials/0001"][f"task/{ON_FRONT_TAG}"] == 7.0


def test_a_metric_that_is_no_finite_number_is_left_out_of_the_trial_scalars(tmp_path):
    trial = completed(0, 0.9, 100.0)
    odd = {**trial.metrics, "val/loss": float("nan"), "model/name": "resnet18"}
    trial = TrialRecord(0, trial.params, "completed", metrics=odd, energy_source=SOURCE)
    board = FrontierBoard(tmp_path, images=False)
    assert board.update(SweepResult(OBJECTIVES, (trial,), (0,), dict(REF), "inferred", 1.0)) is True
    scalars = load(tmp_path / trial_run_name(0)).Tags()["scalars"]
    assert "test/acc" in scalars
    assert "val/loss" not in scalars  # a NaN point would break the table's sorting
    assert "model/name" not in scalars


def test_the_debug_log_says_how_long_writing_took(tmp_path, caplog):
    import re

    with caplog.at_level(logging.DEBUG, logger="lightning_ecopt.tensorboard"):
        FrontierBoard(tmp_path, images=False).update(result_after(2))
    (seconds,) = re.findall(r"frontier views written in ([\d.]+) s", caplog.text)
    assert 0 < float(seconds) < 60


def test_the_same_trials_seen_again_put_one_hypervolume_point_at_their_step(tmp_path):
    # The end of a sweep that sees its last trials again against another reference point: no second point at step 4
    # (the curve would show a vertical jump there).
    board = FrontierBoard(tmp_path, images=False)
    before = result_after(4)
    board.update(before)
    board.update(dataclasses.replace(before, reference_point={**REF, "test/acc": 0.6}, hypervolume=1.0))
    steps = [e.step for e in load(tmp_path / FRONTIER_RUN).Scalars("frontier/hypervolume")]
    assert steps == [4]


_KILLED_MID_WRITE = """
import os, signal, sys
sys.path.insert(0, {tests!r})
from test_tensorboard import result_after
from lightning_ecopt import views
from lightning_ecopt.tensorboard import FrontierBoard

def killed(*args, **kwargs):  # the frontier image is drawn with the run's event file open: SIGKILL lands here
    os.kill(os.getpid(), signal.SIGKILL)

views.figure_rgb = killed
FrontierBoard({log_dir!r}).update(result_after(4))
"""


def test_an_event_file_a_killed_process_was_writing_is_removed_by_the_next_board(tmp_path):
    import signal
    import subprocess
    import sys
    from pathlib import Path

    # A sweep SIGKILLed while it wrote the views leaves its half-written event file under a name TensorBoard ignores.
    board = tmp_path / "tensorboard"
    code = _KILLED_MID_WRITE.format(tests=str(Path(__file__).parent), log_dir=str(board))
    killed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    assert [p.parent.name for p in board.rglob(".ecopt-partial.*")] == [FRONTIER_RUN]
    # The resumed sweep's board removes it (a dead process's file), and writes its own views whole.
    assert FrontierBoard(board).update(result_after(6)) is True
    assert not list(board.rglob(".ecopt-partial.*"))
    assert [e.step for e in load(board / FRONTIER_RUN).Scalars("frontier/pareto_size")] == [5]


def test_an_event_file_a_live_process_is_writing_is_left_alone(board_dir):
    import os

    # Another live process's file (not ours to judge): kept. The pid is this test's parent, alive while it runs.
    other = board_dir / FRONTIER_RUN / f".ecopt-partial.{os.getppid()}"
    other.write_bytes(b"")
    assert FrontierBoard(board_dir).update(result_after(6)) is True
    assert other.exists()


def test_on_windows_no_process_is_probed_with_os_kill_which_would_end_it(board_dir, monkeypatch):
    import os

    # Windows' os.kill(pid, 0) is no probe: TerminateProcess with exit code 0. A partial file named after a pid that
    # a killed writer left, and Windows reused for another process, would have ended that process.
    from lightning_ecopt.sweeper import results

    sent = []
    monkeypatch.setattr(results, "_KILL_PROBES", False)  # as on Windows (os.name == "nt")
    monkeypatch.setattr(os, "kill", lambda pid, sig: sent.append((pid, sig)))
    other = board_dir / FRONTIER_RUN / ".ecopt-partial.4242"
    other.write_bytes(b"")
    assert FrontierBoard(board_dir).update(result_after(6)) is True
    assert sent == []
    assert other.exists()  # left: whose it is cannot be told there without ending a process


def test_a_single_objective_sweep_has_a_best_value_curve_in_place_of_the_hypervolume(tmp_path):
    # One objective has no hypervolume (the sweep records none): the frontier run's only curves were the counts and a
    # pareto_size stuck at 1, so TensorBoard showed no progress at all. The best feasible value, per batch, is it.
    one = parse_objectives({"energy/test_j_per_sample": "minimize"}, None)

    def trial(i, j):
        return TrialRecord(i, {"w": i}, "completed", metrics={"energy/test_j_per_sample": j}, energy_source=SOURCE)

    trials = (trial(0, 0.5), trial(1, 0.2), failed(2), trial(3, 0.3), trial(4, 0.1))
    board = FrontierBoard(tmp_path / "tensorboard")
    for n, best in ((2, 1), (4, 1), (5, 4)):
        assert board.update(SweepResult(one, trials[:n], (best,))) is True
    board.update(SweepResult(one, trials, (4,)))  # the same trials again: no second point at their step
    run = load(tmp_path / "tensorboard" / FRONTIER_RUN)
    assert [(e.step, e.value) for e in run.Scalars("frontier/best_value")] == [
        (2, pytest.approx(0.2)),
        (4, pytest.approx(0.2)),
        (5, pytest.approx(0.1)),
    ]
    assert "frontier/hypervolume" not in run.Tags()["scalars"]
    # No trial feasible yet: no point (not a 0 that reads as a value). Two objectives: no best-value curve.
    board = FrontierBoard(tmp_path / "other")
    board.update(SweepResult(one, trials[:2], ()))
    assert "frontier/best_value" not in load(tmp_path / "other" / FRONTIER_RUN).Tags()["scalars"]
    board = FrontierBoard(tmp_path / "two")
    board.update(result_after(4))
    assert "frontier/best_value" not in load(tmp_path / "two" / FRONTIER_RUN).Tags()["scalars"]
