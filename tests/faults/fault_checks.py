"""Helpers of the fault suite: run the fault app in a subprocess, read a sweep dir, check that nothing was lost."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
APP = Path(__file__).parent / "apps" / "fault_app.py"

sys.path.insert(0, str(APP.parent))
from fault_app import objectives  # noqa: E402


def app_env(**extra: str) -> dict[str, str]:
    """The environment of an app run: the repository importable, no fault unless asked."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ECOPT_FAULT")}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
    env.pop("HYDRA_FULL_ERROR", None)
    env.update(extra)
    return env


def app_command(sweep_dir: Path, *overrides: str) -> list[str]:
    """``python fault_app.py -m hydra.sweep.dir=... <overrides>``."""
    return [sys.executable, str(APP), "-m", f"hydra.sweep.dir={sweep_dir}", *overrides]


def run_app(sweep_dir: Path, *overrides: str, timeout_s: float = 300, **env: str) -> subprocess.CompletedProcess[str]:
    """Run a sweep of the fault app to its end (or its death)."""
    return subprocess.run(
        app_command(sweep_dir, *overrides),
        cwd=sweep_dir.parent,
        env=app_env(**env),
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )


def interrupt_when(
    sweep_dir: Path,
    ready: Path | Callable[[], bool],
    *overrides: str,
    sig: int = signal.SIGINT,
    timeout_s: float = 300,
    **env: str,
) -> subprocess.CompletedProcess[str]:
    """Start a sweep, send ``sig`` once ``ready`` exists (or returns True), and wait for the process to end.

    The child's SIGINT goes back to its default first: a test run started in the background by a shell without job
    control inherits SIGINT ignored, Python then installs no ``KeyboardInterrupt`` handler, and the sweep would run
    on to the end (or the timeout) instead of stopping. So does its SIGHUP: a test run under ``nohup`` inherits it
    ignored, and the sweep then honours ``nohup`` and runs on (a CI run started so timed out on the SIGHUP case).
    """
    process = subprocess.Popen(
        app_command(sweep_dir, *overrides),
        cwd=sweep_dir.parent,
        env=app_env(**env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_default_stop_signals,
    )
    deadline = time.monotonic() + timeout_s
    is_ready = ready.exists if isinstance(ready, Path) else ready
    while not is_ready() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    if process.poll() is None:
        process.send_signal(sig)
    try:
        stdout, stderr = process.communicate(timeout=timeout_s)
    finally:
        if process.poll() is None:
            process.kill()
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def _default_stop_signals() -> None:
    for stop in (signal.SIGINT, signal.SIGHUP, signal.SIGUSR1):
        signal.signal(stop, signal.SIG_DFL)


_STATUS_PAIRS = {
    ("completed", "completed"),
    ("failed", "failed"),
    ("failed", "abandoned"),
    ("abandoned", "failed"),
    ("abandoned", "abandoned"),  # interrupted before the sweeper kept statuses
    ("running", "running"),
    ("candidate", "candidate"),
    ("staged", "staged"),
}
"""(recorded, Ax) status pairs a stored trial may have."""


@dataclass
class SweepState:
    """What a sweep dir holds, parsed: trials by index from the Ax JSON and from the results YAML, and job dirs."""

    trials: dict[int, dict[str, Any]] = field(default_factory=dict)
    results: dict[int, dict[str, Any]] = field(default_factory=dict)
    jobs: dict[int, str] = field(default_factory=dict)

    def finished(self) -> dict[int, dict[str, Any]]:
        """Completed or failed trials (they count toward ``n_trials``)."""
        return {i: t for i, t in self.trials.items() if t["status"] in ("completed", "failed")}


def read_state(sweep_dir: Path) -> SweepState:
    """Parse a sweep dir; every stored file must parse (plain JSON / YAML), or this fails.

    Trials come from the Ax experiment (loaded with Ax's JSON decoder, no pickle): status, parameters and the metrics
    the sweeper kept in the trial's metadata.
    """
    from ax.api.client import Client
    from ax.core.base_trial import TrialStatus

    from lightning_ecopt.sweeper.loop import register_with_ax

    register_with_ax()  # the saved strategy names the sweeper's classes (ScaleFreeStandardizeY in every sweep)
    state = SweepState()
    storage = sweep_dir / "ax_experiment.json"
    if storage.exists():
        json.loads(storage.read_text())  # plain JSON, never torn
        client = Client.load_from_json_file(str(storage))
        names = {TrialStatus.COMPLETED: "completed", TrialStatus.FAILED: "failed"}
        for index, trial in client._experiment.trials.items():
            meta = (trial.run_metadata or {}).get("lightning_ecopt") or {}
            ax_status = names.get(trial.status, trial.status.name.lower())
            # The sweeper's status, kept with the trial: Ax's differs on purpose for interrupted trials (FAILED, so
            # they are asked again) and for failures in discrete spaces (ABANDONED, so they are not).
            status = meta.get("status", ax_status)
            assert (status, ax_status) in _STATUS_PAIRS, f"trial {index}: recorded {status!r}, Ax {ax_status!r}"
            state.trials[index] = {
                "status": status,
                "params": dict(trial.arms[0].parameters) if trial.arms else {},
                "metrics": {k: v[0] for k, v in (meta.get("metrics") or {}).items()},
                "reason": meta.get("reason"),
            }
    results = sweep_dir / "optimization_results.yaml"
    if results.exists():
        data = yaml.safe_load(results.read_text())
        state.results = {t["trial_index"]: t for t in data["trials"]}
    for job in sweep_dir.iterdir():
        if job.is_dir() and job.name.isdigit():
            overrides = job / ".hydra" / "overrides.yaml"
            state.jobs[int(job.name)] = overrides.read_text() if overrides.exists() else ""
    return state


def check_nothing_lost(before: SweepState, after: SweepState) -> None:
    """Every trial finished before is still there, unchanged; no job dir was overwritten; the YAML agrees."""
    for index, trial in before.finished().items():
        now = after.trials.get(index)
        assert now == trial, f"trial {index} changed or was lost: {trial} -> {now}"
    for num, text in before.jobs.items():
        assert after.jobs.get(num) == text, f"job dir {num} was overwritten"
    for index, row in after.results.items():  # the YAML never claims more than the experiment holds
        if row["status"] in ("completed", "failed"):
            assert after.trials[index]["status"] == row["status"]


def check_final(state: SweepState, n_trials: int) -> None:
    """Exactly ``n_trials`` finished trials; each completed one stores its own objectives; none ran twice."""
    finished = state.finished()
    assert len(finished) == n_trials, f"{len(finished)} finished trials, expected {n_trials}"
    assert sum(r["status"] in ("completed", "failed") for r in state.results.values()) == n_trials
    for index, trial in finished.items():
        if trial["status"] == "completed":
            f1, f2 = objectives(trial["params"]["x"], trial["params"]["y"])
            assert math.isclose(trial["metrics"]["f1"], f1), index
            assert math.isclose(trial["metrics"]["f2"], f2), index
    configs = [tuple(sorted(t["params"].items())) for t in finished.values()]
    assert len(set(configs)) == len(configs), "a configuration was evaluated twice"
    assert len(state.jobs) >= n_trials, "fewer job dirs than finished trials"
