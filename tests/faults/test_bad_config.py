"""Bad configuration through the Hydra app: refused before any trial, with a message naming the value and the fix.

The cases already covered by ``tests/integrations/test_hydra_plugin.py`` (unknown direction, a reference point on an
unknown metric, log scale over values <= 0, a parameter given twice, ``n_initial_trials > n_trials``, unknown
acquisition, a key the app lacks) are not repeated here; ``docs/reliability.md`` lists both.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fault_checks import read_state, run_app


def _refused(sweep_dir: Path, *overrides: str) -> str:
    result = run_app(sweep_dir, "hydra.sweeper.n_trials=3", "hydra.sweeper.n_initial_trials=3", *overrides)
    assert result.returncode != 0
    assert not (sweep_dir / "0").exists(), "a trial ran"
    return result.stderr


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            ["hydra.sweeper.params.x='interval(0,'"],
            "hydra.sweeper.params['x']: cannot parse 'x=interval(0,' as a Hydra override",
        ),
        (["x=interval(1,1)"], "the interval is empty (low=1.0, high=1.0)"),
        (["x=interval(1,0)"], "the interval is inverted (low=1.0, high=0.0)"),
        (["hydra.sweeper.trial_timeout_s=-1"], "hydra.sweeper.trial_timeout_s=-1.0: expected seconds > 0"),
        (["hydra.sweeper.storage=${hydra.sweep.dir}/../x.json"], "outside hydra.sweep.dir"),
        # Not "exists but is not an Ax experiment ... move or delete it" about the sweep dir the sweep itself made.
        (["hydra.sweeper.storage=${hydra.sweep.dir}"], "/sweep' is hydra.sweep.dir itself; storage is the file"),
        (["hydra.sweep.subdir=../escaped_${hydra.job.num}"], "hydra.sweep.subdir='../escaped_0' (job 0"),
        # Every job of a batch in one job dir, at once: they corrupted each other's .hydra/ files and outputs, unsaid.
        (
            ["hydra.sweep.subdir=same", "hydra/launcher=joblib", "hydra.sweeper.max_batch_size=2"],
            "hydra.sweep.subdir='same' puts every job in one job dir (",
        ),
        (
            ["hydra.sweep.subdir=same", "hydra/launcher=joblib", "hydra.sweeper.max_batch_size=2"],
            "and the 2 jobs of a batch (hydra.sweeper.max_batch_size=2) run at once under JoblibLauncher: they would "
            "write its .hydra/ files and their outputs together and corrupt each other's; put the job number in it: "
            "hydra.sweep.subdir='${hydra.job.num}' (the default), or e.g. hydra.sweep.subdir='same_${hydra.job.num}'.",
        ),
        # A sweep dir that reads a swept value scattered the job dirs outside the sweep's: the first trial's differs,
        (
            ["hydra.sweep.dir=${hydra.runtime.cwd}/sweep/${hydra.job.override_dirname}"],
            "/sweep/${hydra.job.override_dirname}' reads a swept value: the trial with overrides ['x=0.0', 'y=0.0'] "
            "would run in ",
        ),
        # or only another's (the first option is the app's own value): the other end of the space is checked too.
        (
            ["hydra.sweep.dir=${hydra.runtime.cwd}/sweep/${x}", "x=0.5,0.75"],
            "/sweep/${x}' reads a swept value: the trial with overrides ['y=1.0', 'x=0.75'] would run in ",
        ),
        (
            ["hydra.sweep.dir=${hydra.runtime.cwd}/sweep/${x}", "x=0.5,0.75"],
            "Keep hydra.sweep.dir fixed and move the per-trial part into hydra.sweep.subdir: "
            "'hydra.sweep.dir=${hydra.runtime.cwd}/sweep' 'hydra.sweep.subdir=${hydra.job.num}_${x}'.",
        ),
        # A key of no name: a traceback from Hydra's compose of the first trial ("Config group override must be a
        # string or a list. Got float"). (Hydra's grammar takes no '' key in a dict: params can give one in YAML only.)
        (
            ["=interval(0,1)"],
            "command line: '=interval(0,1)': the key is empty, so it names no config key to set; write the key the "
            "value is for, e.g. 'model.lr=interval(0,1)'.",
        ),
        # Spaces around a params key: Hydra's parser said "token recognition error at: ' '" of the override ours made.
        (
            ['++hydra.sweeper.params={\\ x:"interval(0,1)"}'],
            "hydra.sweeper.params[' x'] = 'interval(0,1)': the key has spaces around it, and a config key has none; "
            "write it without them: 'x: interval(0,1)'.",
        ),
        # Not BoTorch's "InputDataError: Input data contains NaN values" at the first model proposal, after the Sobol
        # trials (Ax scales the model's inputs in float32).
        (
            ["x=interval(-1e160,1e160)"],
            "command line: 'x=interval(-1e160,1e160)': the values run from -1e+160 to 1e+160 (a span of 2e+160), past "
            "the 3.403e+38 Ax's model takes",
        ),
        # Not a traceback from torch's Sobol engine when the first trial is asked for.
        (
            ["hydra.sweeper.seed=99999999999999999999"],
            "hydra.sweeper.seed=99999999999999999999: out of the range torch",
        ),
        # Not "did you mean hydra.sweeper.outcome_constraints?": those bound returned metrics, not the parameters.
        (
            ['+hydra.sweeper.parameter_constraints=["x + y <= 1"]'],
            "hydra.sweeper.parameter_constraints=['x + y <= 1']: the ecopt sweeper has no option "
            "'parameter_constraints' (docs/sweeper.md lists its options); instead, the sweep may propose "
            "configurations they exclude: raise TrialFailure for those in the task, and they are recorded as failed.",
        ),
        # Read as a bound on a metric named 'x + y': every trial failed "missing constrained metric 'x + y'".
        (
            ['hydra.sweeper.outcome_constraints=["x + y <= 1"]'],
            "hydra.sweeper.outcome_constraints: 'x + y <= 1' bounds 'x + y', an expression of the swept parameters "
            "x, y, not a metric the task returns: outcome constraints bound returned metrics, and every trial would "
            "fail for the missing one. A constraint on the parameters goes in the task: raise TrialFailure for the "
            "configurations it excludes, and they are recorded as failed.",
        ),
        # Not "nor an equivalent:" before the one it names (enqueue_trials does status_quo's job).
        (
            ["+hydra.sweeper.status_quo={x: 0.5}"],
            "hydra.sweeper.status_quo={'x': 0.5}: the ecopt sweeper has no option 'status_quo' (docs/sweeper.md "
            "lists its options); instead, enqueue_trials: [{...}] runs a configuration first, and ecopt report "
            "--baseline first compares with it.",
        ),
        # Hydra's own hint for `hydra.sweeper.n_trial=3` is this `+` form, which gave a TypeError from __init__.
        (
            ["+hydra.sweeper.n_trial=3"],
            "hydra.sweeper.n_trial=3: the ecopt sweeper has no option 'n_trial'; did you mean hydra.sweeper.n_trials?",
        ),
    ],
)
def test_refused_before_any_trial(tmp_path: Path, overrides: list[str], message: str) -> None:
    sweep_dir = tmp_path / "sweep"
    stderr = _refused(sweep_dir, *overrides)
    assert message in stderr
    assert not (sweep_dir / "multirun.yaml").exists()
    assert not (tmp_path / "escaped_0").exists()
    assert not list(tmp_path.rglob(".hydra")), "a trial ran"
    # The storage check had made the sweep dir, and a later check's refusal left it empty: under Hydra's default
    # hydra.sweep.dir, a new multirun/<date>/<time> at every refused command.
    assert list(tmp_path.iterdir()) == [], "a folder was left"


def test_a_refusal_removes_the_dated_sweep_dir_it_made_and_keeps_the_folders_a_user_had(tmp_path: Path) -> None:
    kept = tmp_path / "multirun"
    (kept / "earlier").mkdir(parents=True)  # a user's: an earlier sweep's folder, and an empty one beside
    (kept / "notes.txt").write_text("mine")
    hydra_s_default = "hydra.sweep.dir=multirun/${now:%Y-%m-%d}/${now:%H-%M-%S}"  # relative to the cwd, tmp_path
    stderr = _refused(tmp_path / "unused", hydra_s_default, "hydra.sweep.subdir=../escaped_${hydra.job.num}")
    assert "hydra.sweep.subdir='../escaped_0' (job 0" in stderr
    assert sorted(p.name for p in kept.iterdir()) == ["earlier", "notes.txt"]  # the date's folder gone too


def test_a_refusal_keeps_an_empty_sweep_dir_the_user_made(tmp_path: Path) -> None:
    sweep_dir = tmp_path / "sweep"
    sweep_dir.mkdir()
    _refused(sweep_dir, "hydra.sweep.subdir=../escaped_${hydra.job.num}")
    assert sweep_dir.is_dir()


def test_unwritable_storage_is_refused(tmp_path: Path) -> None:
    sweep_dir = tmp_path / "sweep"
    sweep_dir.mkdir()
    (sweep_dir / "afile").write_text("a file where the storage folder should be")
    stderr = _refused(sweep_dir, "hydra.sweeper.storage=${hydra.sweep.dir}/afile/ax.json")
    assert f"cannot write the sweep's storage '{sweep_dir}/afile/ax.json' (FileExistsError" in stderr
    assert "choose a writable location (hydra.sweeper.storage, or hydra.sweep.dir)" in stderr


def _other_sweep(sweep_dir: Path) -> None:
    """Save a finished one-trial sweep over another search space in ``sweep_dir`` (in-process, Sobol only)."""
    from lightning_ecopt.sweeper.loop import ParetoSweep
    from lightning_ecopt.sweeper.objectives import parse_objectives
    from lightning_ecopt.sweeper.settings import SweepSettings
    from lightning_ecopt.sweeper.space import parse_search_space

    space = parse_search_space({"x": "interval(0, 2)", "y": "interval(0, 1)"}, [])
    settings = SweepSettings(
        parse_objectives({"f1": "minimize", "f2": "minimize"}, None),
        n_trials=1,
        seed=0,
        storage=sweep_dir / "ax_experiment.json",
    )
    ParetoSweep.from_function(space, settings, lambda p: {"f1": p["x"], "f2": p["y"]}).run()
    (sweep_dir / "multirun.yaml").write_text("the earlier sweep's config\n")


def test_storage_from_another_search_space_is_refused_and_left_untouched(tmp_path: Path) -> None:
    sweep_dir = tmp_path / "sweep"
    _other_sweep(sweep_dir)
    stored = (sweep_dir / "ax_experiment.json").read_bytes()
    stderr = _refused(sweep_dir)
    # Named per parameter, not as two JSON specs.
    assert "holds a sweep with other search space than this one: x: bounds [0.0, 2.0] -> [0.0, 1.0]. To start" in stderr
    assert "To start fresh, move" in stderr
    assert "or choose another sweep directory (hydra.sweep.dir)" in stderr
    assert (sweep_dir / "ax_experiment.json").read_bytes() == stored
    assert (sweep_dir / "multirun.yaml").read_text() == "the earlier sweep's config\n"  # not overwritten
    assert len(read_state(sweep_dir).finished()) == 1
    # Done as told, a new sweep starts there (deleting the experiment alone left the folder's results to stop it).
    old = tmp_path / "old"
    old.mkdir()
    for name in ("ax_experiment.json", "optimization_results.yaml", "tensorboard"):
        if (sweep_dir / name).exists():
            (sweep_dir / name).rename(old / name)
    started = run_app(sweep_dir, "hydra.sweeper.n_trials=1", "hydra.sweeper.n_initial_trials=1")
    assert started.returncode == 0, started.stderr


@pytest.mark.parametrize("content", ["{torn", '{"experiment": {"description": "not ours"}}', "[]"])
def test_storage_that_is_not_our_experiment_is_refused(tmp_path: Path, content: str) -> None:
    sweep_dir = tmp_path / "sweep"
    sweep_dir.mkdir()
    (sweep_dir / "ax_experiment.json").write_text(content)
    stderr = _refused(sweep_dir)
    assert f"{sweep_dir / 'ax_experiment.json'} exists but is not an Ax experiment saved by the ecopt sweeper" in stderr
    assert "to start fresh, move it away" in stderr
    assert (sweep_dir / "ax_experiment.json").read_text() == content


@pytest.mark.parametrize("cut", ["half", "empty"])
def test_an_experiment_damaged_after_its_save_is_named_damaged_with_how_to_recover(tmp_path: Path, cut: str) -> None:
    """A sweep's experiment cut short after it was saved (a copy, a disk error; the sweeper writes it whole).

    Before, the resume called it "not an Ax experiment saved by the ecopt sweeper" and offered only a fresh start.
    """
    sweep_dir = tmp_path / "sweep"
    done = run_app(sweep_dir, "hydra.sweeper.n_trials=2", "hydra.sweeper.n_initial_trials=2")
    assert done.returncode == 0, done.stderr[-3000:]
    storage = sweep_dir / "ax_experiment.json"
    whole = storage.read_bytes()
    storage.write_bytes(whole[: len(whole) // 2] if cut == "half" else b"")
    refused = run_app(sweep_dir, "hydra.sweeper.n_trials=3", "hydra.sweeper.n_initial_trials=2")
    assert refused.returncode != 0
    assert not (sweep_dir / "2").exists(), "a trial ran"
    stderr = refused.stderr
    assert f"{storage} is damaged" in stderr
    assert "not an Ax experiment saved by the ecopt sweeper" not in stderr
    assert "To resume, put back an intact copy of it" in stderr
    assert "its 2 trials are listed in optimization_results.yaml" in stderr
    assert "to start fresh, move it away" in stderr
    assert "Traceback" not in stderr
    storage.write_bytes(whole)  # put back: the sweep resumes (a finished one, raised by one trial)
    resumed = run_app(sweep_dir, "hydra.sweeper.n_trials=3", "hydra.sweeper.n_initial_trials=2")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert len(read_state(sweep_dir).finished()) == 3


def test_a_constant_subdir_with_jobs_one_after_another_is_warned(tmp_path: Path) -> None:
    """``hydra.sweep.subdir=same`` under the basic launcher: each trial overwrote the last one's ``.hydra/`` files and
    outputs in one job dir, unsaid. The jobs run one after another, so nothing is corrupted at once: a warning."""
    sweep_dir = tmp_path / "sweep"
    result = run_app(
        sweep_dir, "hydra.sweeper.n_trials=2", "hydra.sweeper.n_initial_trials=2", "hydra.sweep.subdir=same"
    )
    assert result.returncode == 0, result.stderr[-3000:]
    log = result.stdout + result.stderr
    assert (
        f"ecopt sweeper: hydra.sweep.subdir='same' puts every job in one job dir ({sweep_dir / 'same'}): each trial "
        "overwrites the last one's .hydra/ files (config.yaml, overrides.yaml), logs and outputs; put the job number "
        "in it: hydra.sweep.subdir='${hydra.job.num}' (the default), or e.g. "
        "hydra.sweep.subdir='same_${hydra.job.num}'."
    ) in log
    assert len(read_state(sweep_dir).trials) == 2


def test_a_subdir_that_reads_the_point_is_not_one_dir(tmp_path: Path) -> None:
    """``${hydra.job.override_dirname}`` reads no job number but differs with each trial's point: no warning."""
    sweep_dir = tmp_path / "sweep"
    subdir = "hydra.sweep.subdir=${hydra.job.override_dirname}"
    result = run_app(sweep_dir, "hydra.sweeper.n_trials=2", "hydra.sweeper.n_initial_trials=2", subdir)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "puts every job in one job dir" not in result.stdout + result.stderr
