"""The frontier views as a TensorBoard that is open during the sweep reads them."""

import time
import types

from tensorboard.backend.event_processing.plugin_event_accumulator import EventAccumulator
from test_tensorboard import OBJECTIVES, REF, completed, result_after

import lightning_ecopt.tensorboard as board_module
from lightning_ecopt import views
from lightning_ecopt.sweeper.results import SweepResult
from lightning_ecopt.tensorboard import FRONTIER_RUN, FrontierBoard, trial_run_name


def live(path):
    """A run as TensorBoard's server loads it: a directory watcher that follows the run's files as they appear."""
    acc = EventAccumulator(str(path), size_guidance={"tensors": 0})
    acc.Reload()
    return acc


def steps(acc, tag="frontier/pareto_size"):
    return [event.step for event in acc.Tensors(tag)]


def test_a_tensorboard_that_reloads_while_a_batch_is_written_sees_every_later_step(tmp_path, monkeypatch):
    board = FrontierBoard(tmp_path / "tensorboard")
    board.update(result_after(2))
    frontier_run = live(tmp_path / "tensorboard" / FRONTIER_RUN)
    draw = views.frontier_figure

    def reload_meanwhile(result, **options):  # TensorBoard reloads every few seconds: here while the image is drawn
        frontier_run.Reload()
        return draw(result, **options)

    monkeypatch.setattr(views, "frontier_figure", reload_meanwhile)
    time.sleep(1.05)  # each batch in its own second, as in a real sweep
    board.update(result_after(4))
    monkeypatch.setattr(views, "frontier_figure", draw)
    time.sleep(1.05)
    board.update(result_after(6))
    frontier_run.Reload()
    # It followed an event file by a path that was renamed once written, and saw nothing more of the run: [2, 4].
    assert steps(frontier_run) == [2, 4, 5]
    assert steps(frontier_run, "frontier/pareto_front") == [2, 4, 5]


def test_no_partial_file_is_left_and_a_run_appears_with_its_whole_session(tmp_path):
    board = FrontierBoard(tmp_path / "tensorboard", images=False)
    board.update(result_after(4))
    names = {p.name.split(".")[0] for p in (tmp_path / "tensorboard").rglob("*") if p.is_file()}
    assert names == {"events", "ecopt_board"}  # ecopt_board.json and event files, nothing half-written
    run = live(tmp_path / "tensorboard" / trial_run_name(3))
    assert {"_hparams_/session_start_info", "_hparams_/session_end_info", "test/acc"} <= set(run.Tags()["tensors"])


def test_files_written_within_one_second_load_in_the_order_written(tmp_path, monkeypatch):
    clock = types.SimpleNamespace(time=lambda: 1796310000.0, perf_counter=time.perf_counter)
    monkeypatch.setattr(board_module, "time", clock)  # every file named in the same second
    board = FrontierBoard(tmp_path / "tensorboard", images=False)
    trials = [completed(i, 0.5 + 0.04 * i, 1000.0 - 50.0 * i) for i in range(12)]
    for n in range(1, 13):
        board.update(SweepResult(OBJECTIVES, tuple(trials[:n]), tuple(range(n)), dict(REF), "inferred", float(n)))
    assert steps(live(tmp_path / "tensorboard" / FRONTIER_RUN)) == list(range(1, 13))


def test_an_update_that_fails_midway_leaves_nothing_and_the_retry_writes_each_step_once(tmp_path, monkeypatch):
    board = FrontierBoard(tmp_path / "tensorboard")
    board.update(result_after(2))
    draw = views.frontier_figure

    def broken(result, **options):
        raise RuntimeError("the figure failed")

    monkeypatch.setattr(views, "frontier_figure", broken)
    board.update(result_after(4))  # never raises: warns, and the sweep goes on
    monkeypatch.setattr(views, "frontier_figure", draw)
    assert not [p for p in (tmp_path / "tensorboard").rglob("*") if "tfevents" not in p.name and p.is_file()
                and not p.name.startswith("ecopt_board")]  # fmt: skip
    board.update(result_after(4))
    frontier_run = live(tmp_path / "tensorboard" / FRONTIER_RUN)
    assert steps(frontier_run) == [2, 4]  # not [2, 4, 4]: the failed update's half is not in a file
