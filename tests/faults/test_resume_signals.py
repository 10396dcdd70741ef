"""SIGTERM stops a sweep as Ctrl-C does: what finished is saved, the running trial is asked again, none is failed.

``scancel``, a SLURM time limit, ``timeout``, ``docker stop`` and Kubernetes stop a process with SIGTERM. One sweep of
the fault app is stopped so while a trial runs, then resumed; one sweep from Python trains with Lightning, whose own
SIGTERM handler used to turn the signal into a ``SystemExit`` that failed the healthy trial while the sweep went on.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from fault_checks import ROOT, check_final, check_nothing_lost, interrupt_when, read_state, run_app


def _stopped_cleanly(sweep_dir: Path) -> dict[int, bool]:
    """Per running trial of the saved experiment: whether it carries the sweeper's saved-stop flag."""
    trials = json.loads((sweep_dir / "ax_experiment.json").read_text())["experiment"]["trials"]
    return {
        int(index): bool((trial.get("run_metadata") or {}).get("ecopt_stopped_cleanly"))
        for index, trial in trials.items()
        if trial["status"]["name"] == "RUNNING"
    }


@pytest.mark.parametrize(
    ("sig", "said"),
    [(signal.SIGTERM, "stopped by SIGTERM"), (signal.SIGHUP, "stopped by SIGHUP (its terminal closed)")],
    ids=["SIGTERM", "SIGHUP"],
)
def test_sigterm_during_a_trial_saves_and_the_rerun_runs_it_again(tmp_path: Path, sig: int, said: str) -> None:
    """SIGTERM (or SIGHUP: an ssh connection that drops) in a trial (basic launcher): saved, exit 128 + the signal
    with how to resume; the rerun completes the budget. Before 2026-12-06 SIGHUP ended the sweep unsaved."""
    sweep_dir = tmp_path / "sweep"
    result = interrupt_when(sweep_dir, sweep_dir / "1", sig=sig, ECOPT_FAULTS="none,hang")
    log = result.stdout + result.stderr
    assert result.returncode == 128 + sig, log[-3000:]  # 143, 129; before: killed by the signal (-15, -1), unsaid
    assert "Traceback" not in result.stderr
    assert f"{said} after 1 of 5 trials; saved to" in log
    assert "Rerun the same command to resume" in log
    before = read_state(sweep_dir)
    assert before.trials[0]["status"] == "completed"
    assert before.trials[1]["status"] == "running"
    assert _stopped_cleanly(sweep_dir) == {1: True}  # a stop, not a crash: never blamed on its configuration

    rerun = run_app(sweep_dir)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    final = read_state(sweep_dir)
    check_nothing_lost(before, final)
    check_final(final, 5)
    assert final.trials[1]["status"] == "abandoned"
    assert final.trials[2]["params"] == before.trials[1]["params"]  # the stopped configuration, run again first
    assert final.trials[2]["status"] == "completed"


def test_a_stop_mid_batch_keeps_the_trials_that_had_finished(tmp_path: Path) -> None:
    """SIGTERM while a joblib batch of 3 runs, 2 of its jobs done: those 2 are saved as completed (each job records
    its outcome), the third is the only one run again on resume. Before, all 3 were abandoned and ran again."""
    pytest.importorskip("hydra_plugins.hydra_joblib_launcher")
    sweep_dir = tmp_path / "sweep"
    records = sweep_dir / ".ecopt-outcomes"

    def two_finished() -> bool:
        done = 0
        for number in (0, 1):
            with contextlib.suppress(OSError, ValueError):
                done += json.loads((records / f"{number}.json").read_text()).get("status") == "completed"
        return done == 2

    run = ("hydra/launcher=joblib", "hydra.launcher.n_jobs=3", "hydra.sweeper.max_batch_size=3")
    budget = ("hydra.sweeper.n_trials=3", "hydra.sweeper.n_initial_trials=3")
    result = interrupt_when(sweep_dir, two_finished, *run, *budget, sig=signal.SIGTERM, ECOPT_FAULTS="none,none,slow")
    log = result.stdout + result.stderr
    assert result.returncode == 143, log[-3000:]
    assert "trials [0, 1] of the stopped batch had finished: kept, not run again on resume" in log
    before = read_state(sweep_dir)
    assert [before.trials[i]["status"] for i in range(3)] == ["completed", "completed", "running"]

    rerun = run_app(sweep_dir, *run, *budget)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    final = read_state(sweep_dir)
    check_nothing_lost(before, final)
    check_final(final, 3)
    assert final.trials[3]["params"] == before.trials[2]["params"]  # the one cut short, and only it, ran again
    assert len(final.trials) == 4


_LIGHTNING_SWEEP = """
import os
import signal
import sys

import torch
from lightning.pytorch import LightningModule, Trainer
from torch.utils.data import DataLoader, TensorDataset

from lightning_ecopt.sweeper.loop import ParetoSweep
from lightning_ecopt.sweeper.objectives import parse_objectives
from lightning_ecopt.sweeper.settings import SweepSettings
from lightning_ecopt.sweeper.space import parse_search_space


class Model(LightningModule):
    def __init__(self, stop: bool) -> None:
        super().__init__()
        self.layer = torch.nn.Linear(2, 1)
        self.stop = stop

    def training_step(self, batch, index):
        if self.stop and index == 2:  # the scheduler's SIGTERM, mid-fit
            os.kill(os.getpid(), signal.SIGTERM)
        return self.layer(batch[0]).pow(2).mean()

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)


calls = []


def task(params):
    calls.append(params)
    trainer = Trainer(
        max_epochs=1, logger=False, enable_checkpointing=False, enable_progress_bar=False,
        enable_model_summary=False, accelerator="cpu",
    )
    trainer.fit(Model(stop=len(calls) == 2), DataLoader(TensorDataset(torch.randn(8, 2)), batch_size=1))
    return {"a": params["x"], "b": 1.0 - params["x"]}


space = parse_search_space({"x": "interval(0, 1)"}, [])
settings = SweepSettings(
    parse_objectives({"a": "minimize", "b": "minimize"}, None), n_trials=3, n_initial_trials=3, seed=0,
    storage=sys.argv[1],
)
ParetoSweep.from_function(space, settings, task, on_batch_end=[]).run()
"""


def _run_sweep_script(tmp_path: Path, source: str, storage: Path, **popen: Any) -> subprocess.CompletedProcess[str]:
    """Run ``source`` as a script in ``tmp_path`` with this checkout importable, ``storage`` its argument."""
    script = tmp_path / "sweep.py"
    script.write_text(textwrap.dedent(source))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run(
        [sys.executable, str(script), str(storage)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        **popen,
    )


def test_sigterm_during_a_lightning_fit_stops_the_sweep_and_fails_no_trial(tmp_path: Path) -> None:
    """Lightning's SIGTERM handler raised ``SystemExit`` at the next step: the trial failed and the sweep went on."""
    storage = tmp_path / "sweep" / "ax_experiment.json"
    result = _run_sweep_script(tmp_path, _LIGHTNING_SWEEP, storage)
    log = result.stdout + result.stderr
    assert result.returncode != 0, log[-3000:]  # before: 0, the sweep ran on past the SIGTERM
    assert "stopped by SIGTERM after 1 of 3 trials; saved to" in log
    state = read_state(storage.parent)
    assert [state.trials[i]["status"] for i in sorted(state.trials)] == ["completed", "running"]  # none failed
    assert _stopped_cleanly(storage.parent) == {1: True}


_HUNG_UP_SWEEP = """
import os
import signal
import sys

from lightning_ecopt.exceptions import SweepTerminated
from lightning_ecopt.sweeper.loop import ParetoSweep
from lightning_ecopt.sweeper.objectives import parse_objectives
from lightning_ecopt.sweeper.settings import SweepSettings
from lightning_ecopt.sweeper.space import parse_search_space

calls = []


def task(params):
    calls.append(params)
    if len(calls) == 2:  # the terminal closes under the second trial
        os.kill(os.getpid(), signal.SIGHUP)
    return {"a": params["x"], "b": 1.0 - params["x"]}


space = parse_search_space({"x": "interval(0, 1)"}, [])
settings = SweepSettings(
    parse_objectives({"a": "minimize", "b": "minimize"}, None), n_trials=3, n_initial_trials=3, seed=0,
    storage=sys.argv[1],
)
try:
    ParetoSweep.from_function(space, settings, task, on_batch_end=[]).run()
except SweepTerminated as stop:
    os.kill(os.getpid(), signal.SIGHUP)  # the shell's own hang-up, resent to its jobs: the caller's exit goes on
    sys.exit(128 + getattr(signal, str(stop)))  # 129: the stop names its signal
"""


def test_a_closed_terminal_s_sighup_stops_the_sweep_saved_and_a_second_one_does_not_end_the_process(
    tmp_path: Path,
) -> None:
    """A dropped ssh connection or a closed terminal window sends SIGHUP (the kernel's, then the shell's own to each
    job): before 2026-12-06 the first ended the sweep unsaved, its running trial then counted as a crash (twice on one
    configuration: failed for good). Now it stops as SIGTERM does, and a second SIGHUP is ignored."""
    storage = tmp_path / "sweep" / "ax_experiment.json"
    result = _run_sweep_script(
        tmp_path,
        _HUNG_UP_SWEEP,
        storage,
        preexec_fn=lambda: signal.signal(signal.SIGHUP, signal.SIG_DFL),  # not nohup's SIG_IGN, if pytest runs so
    )
    log = result.stdout + result.stderr
    assert result.returncode == 129, log[-3000:]  # 128 + SIGHUP; before: -1, killed by it
    assert "stopped by SIGHUP (its terminal closed) after 1 of 3 trials; saved to" in log
    state = read_state(storage.parent)
    assert [state.trials[i]["status"] for i in sorted(state.trials)] == ["completed", "running"]
    assert _stopped_cleanly(storage.parent) == {1: True}  # a stop, not a crash: never blamed on its configuration
