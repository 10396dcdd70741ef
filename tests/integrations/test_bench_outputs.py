"""The benchmarks' command lines: where they write, what they record, which flags they refuse (no benchmark is run).

Each script's measuring function is replaced by a stub, so these tests check the command around it: a ``--smoke`` run
without ``--out`` (as docs/ prints the CI commands) must not write over ``benchmarks/results/``, every results file
names its command and checkout, and a bad flag stops the command before the first run with a message naming it.
"""

from __future__ import annotations

import importlib
import json
import tempfile
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
BENCHMARKS = ROOT / "benchmarks"


@pytest.fixture
def bench(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Callable[[str], ModuleType]:
    """Import a script of benchmarks/ by name; the temp dir (where smoke runs write) moved under ``tmp_path``."""
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    (tmp_path / "tmp").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    return importlib.import_module


def _asks() -> list[dict[str, float]]:
    return [{"done": 3, "n": 1, "wall_s": 0.1, "cpu_s": 0.1}]


def _stub_optimizer_overhead(module: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(module, "run_ours", lambda *a, **k: (_asks(), 0.5, {"n_initial_trials": 3}, []))
    monkeypatch.setattr(module, "run_optuna_gp", lambda *a, **k: (_asks(), 0.4))


def _stub_frontier_quality(module: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    def run_one(method: str, problem: Any, seed: int, budget: int, work_dir: Path) -> dict[str, Any]:
        curve = [0.0] * budget
        return {"problem": problem.name, "method": method, "seed": seed, "budget": budget, "hv_fraction": curve}

    monkeypatch.setattr(module, "run_one", lambda *a: {**run_one(*a), "wall_s": 0.0})


def _stub_levers(module: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    def run(variant: str, problem: Any, seed: int, budget: int) -> dict[str, Any]:
        return {"variant": variant, "problem": problem.name, "seed": seed, "budget": budget, "curve": [0.0]}

    monkeypatch.setattr(module, "run", run)


def _stub_acqf(module: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    costs = {method: 1.0 for method in module.METHODS}
    row = {"grad_eval_ms": costs, "raw_scoring_ms": costs, "baseline_after_pruning": 1}
    monkeypatch.setattr(module, "measure", lambda n, *a: {"n": n, **row})


def _stub_search_energy(module: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(module, "run_sweep", lambda *a: {"total_j": 1.0})
    monkeypatch.setattr(module, "summarize", lambda runs: {})
    monkeypatch.setattr(module, "_print_table", lambda result: None)


def _stub_callback_overhead(module: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    result = {"setups": {}, "source": "estimated: cpu-time", "hook_cost_us_per_batch": {}, "dispatch_us_per_hook": {}}
    monkeypatch.setattr(module, "run", lambda *a: dict(result))


def _stub_callback_window(module: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    result = {"source": "estimated: cpu-time", "loadavg_before": None, "lengths": {}, "first_loop": {}}
    monkeypatch.setattr(module, "run", lambda *a: dict(result))


def _stub_inference_knobs(module: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(module, "run", lambda **k: {"summary": {}, "source": "estimated: cpu-time"})


def _stub_sweep_bookkeeping(module: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    run = {"wall_s": 1.0, "saves_s": 0.5, "last_save_s": 0.1, "results_file_s": 0.1, "tensorboard_s": 0.1}
    monkeypatch.setattr(module, "run_sweep", lambda *a: {**run, "side_by_side": []})


# script, its default-results constant, the stub of what it measures, the flags of a quick --smoke
SMOKE_RUNS = [
    ("optimizer_overhead", "RESULTS", _stub_optimizer_overhead, ["--acquisitions", "EHVI"]),
    ("frontier_quality", "DEFAULT_OUT", _stub_frontier_quality, ["--methods", "random"]),
    ("frontier_levers", "DEFAULT_OUT", _stub_levers, []),
    ("nas_fit_levers", "DEFAULT_OUT", _stub_levers, []),
    ("acqf_eval_cost", "DEFAULT_OUT", _stub_acqf, []),
    ("search_energy", "DEFAULT_OUT", _stub_search_energy, []),
    ("callback_overhead", "DEFAULT_OUT", _stub_callback_overhead, []),
    ("callback_window", "DEFAULT_OUT", _stub_callback_window, []),
    ("inference_knobs", "DEFAULT_OUT", _stub_inference_knobs, []),
    ("sweep_bookkeeping", "DEFAULT_OUT", _stub_sweep_bookkeeping, []),
]


STUBS = {script: stub for script, _, stub, _ in SMOKE_RUNS}


@pytest.mark.parametrize(("script", "constant", "stub", "flags"), SMOKE_RUNS, ids=list(STUBS))
def test_smoke_without_out_leaves_the_stored_results_alone(
    bench: Callable[[str], ModuleType],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    script: str,
    constant: str,
    stub: Callable[[ModuleType, pytest.MonkeyPatch], None],
    flags: list[str],
) -> None:
    """``<script> --smoke``, as docs/ prints it: the CI size writes under the temp dir, never over the results."""
    module = bench(script)
    stored = tmp_path / "results" / getattr(module, constant).name
    monkeypatch.setattr(module, constant, stored)  # where the script would overwrite the stored results
    stub(module, monkeypatch)
    assert module.main(["--smoke", *flags]) == 0
    assert not stored.exists()
    written = tmp_path / "tmp" / "ecopt_bench" / stored.name
    assert written.exists()
    if written.suffix == ".json":  # the JSON-lines files of the levers hold one row per run, no header
        text = json.dumps(json.loads(written.read_text()))
        assert '"revision"' in text or '"commit"' in text  # the checkout the figures came from
        assert "--smoke" in text  # and the command that made them


@pytest.mark.parametrize("script", ["callback_overhead", "callback_window", "inference_knobs", "sweep_bookkeeping"])
def test_results_name_their_command_and_checkout(
    bench: Callable[[str], ModuleType], monkeypatch: pytest.MonkeyPatch, tmp_path: Path, script: str
) -> None:
    module = bench(script)
    STUBS[script](module, monkeypatch)
    out = tmp_path / "out.json"
    assert module.main(["--smoke", "--out", str(out)]) == 0
    data = json.loads(out.read_text())
    assert data["command"] == f"python benchmarks/{script}.py --smoke --out {out}"
    assert data["revision"] is None or data["revision"].split("+")[0].isalnum()


BAD_FLAGS = [
    ("frontier_quality", ["--budget", "0"], "--budget 0: expected at least 1"),
    ("frontier_quality", ["--budget", "-2"], "--budget -2: expected at least 1"),
    ("frontier_quality", ["--seeds", "0"], "--seeds 0: expected at least 1"),
    ("optimizer_overhead", ["--window", "0"], "--window 0: expected at least 1"),
    ("frontier_levers", ["--variants", "base", "acqq=qLogNEHVI"], "unknown key(s) ['acqq']; choose from acq, around"),
    ("frontier_levers", ["--variants", "base", "bogus"], "variant 'bogus': expected base or key=value"),
    ("nas_fit_levers", ["--variants", "base", "kernal=iso"], "unknown key(s) ['kernal']; choose from acq"),
    ("callback_overhead", ["--rounds", "0"], "--rounds 0: expected a number > 0"),
    ("callback_overhead", ["--threads", "0"], "--threads 0: expected a number > 0"),
    ("callback_overhead", ["--hook-calls", "-1"], "--hook-calls -1: expected >= 0"),
    ("callback_window", ["--rounds", "1"], "--rounds 1 --lengths [0.2, 0.5, 1.0, 2.0]: expected >= 2 rounds"),
    ("callback_window", ["--lengths", "0"], "--lengths [0.0]: expected >= 2 rounds and lengths > 0"),
    ("callback_window", ["--threads", "0"], "--threads 0: expected a number > 0"),
    ("callback_window", ["--smoke", "--rounds", "5"], "--smoke sets --rounds itself"),
    ("callback_window", ["--smoke", "--process-loops", "3"], "--smoke sets --process-loops itself"),
    ("inference_knobs", ["--rounds", "0"], "--rounds 0: expected at least 1"),
    ("sweep_bookkeeping", ["--every", "0"], "--trials 200 --every 0: expected at least 1 each"),
    # --smoke sets these itself: a flag given beside it was silently replaced
    ("frontier_quality", ["--smoke", "--seeds", "3"], "--smoke sets --seeds itself"),
    ("optimizer_overhead", ["--smoke", "--n-trials", "50"], "--smoke sets --n-trials itself"),
    ("search_energy", ["--smoke", "--n-trials", "8"], "--smoke sets --n-trials itself"),
    ("sweep_bookkeeping", ["--smoke", "--trials", "50"], "--smoke sets --trials itself"),
]


@pytest.mark.parametrize(("script", "flags", "message"), BAD_FLAGS, ids=[f"{s} {' '.join(f)}" for s, f, _ in BAD_FLAGS])
def test_bad_flags_stop_before_the_first_run(
    bench: Callable[[str], ModuleType],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    script: str,
    flags: list[str],
    message: str,
) -> None:
    module = bench(script)

    def never(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError(f"{script} {flags}: a run started")

    for name in ("run_one", "run_ours", "run", "run_optuna_gp"):
        if hasattr(module, name):
            monkeypatch.setattr(module, name, never)
    with pytest.raises(SystemExit) as exit_info:
        module.main([*flags, "--out", str(tmp_path / "out.json")])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_benchmark_env_records(bench: Callable[[str], ModuleType]) -> None:
    env = bench("benchmark_env")
    assert env.smoke_out("x.json") == Path(tempfile.gettempdir()) / "ecopt_bench" / "x.json"
    revision = env.revision()
    assert revision is None or len(revision.split("+")[0]) >= 7


def test_botorch_pruning_puts_botorch_s_mask_in_for_the_run_only(
    bench: Callable[[str], ModuleType], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """``--botorch-pruning`` of both benchmarks is one helper: BoTorch's mask while the sweep runs, the sorted one put
    back after, when the run fails too (long_sweep_cnn left BoTorch's in place for the rest of the process)."""
    import contextlib
    import logging

    from lightning_ecopt.sweeper import loop, pareto

    # long_sweep_cnn.main sets the root logger's level and the screen for its process: put back after this test (a
    # root logger left at INFO made a later sweep take logging for configured, and show no line where it is not).
    monkeypatch.setattr(logging.getLogger(), "level", logging.getLogger().level)
    monkeypatch.setattr(loop, "_SCREEN_ENUMERATED", loop._SCREEN_ENUMERATED)
    fast = pareto.faster_baseline_pruning
    seen: list[object] = []

    def run(*args: object, **kwargs: object) -> Any:
        seen.append(pareto.faster_baseline_pruning)
        raise RuntimeError("stub: no sweep")

    cnn, overhead = bench("long_sweep_cnn"), bench("optimizer_overhead")
    monkeypatch.setattr(cnn, "run_sweep", run)
    monkeypatch.setattr(overhead._TimedSweep, "run", run)
    problem = bench("problems").get("branin_currin")
    for botorch in (True, False):
        flags = ["--botorch-pruning"] if botorch else []
        with pytest.raises(RuntimeError, match="stub"):
            cnn.main([*flags, "--smoke", "--out", str(tmp_path / "cnn.json")])
        with pytest.raises(RuntimeError, match="stub"):
            overhead.run_ours(problem, "qNEHVI", 1, 5, 0, 3, botorch)
        assert pareto.faster_baseline_pruning is fast
    assert seen == [contextlib.nullcontext] * 2 + [fast] * 2


def test_plot_frontier_quality_on_a_small_result(
    bench: Callable[[str], ModuleType], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    quality, plot = bench("frontier_quality"), bench("plot_frontier_quality")
    runs = [
        {"problem": "zdt1", "method": method, "seed": seed, "hv_fraction": [0.1 * seed, 0.5], "wall_s": 1.0}
        for method in ("ecopt", "random")
        for seed in (0, 1)
    ]
    results = tmp_path / "fq.json"
    results.write_text(json.dumps({"runs": runs, "summary": quality.summarise(runs)}))
    assert plot.main(["--results", str(results), "--out-dir", str(tmp_path / "plots"), "--markdown"]) == 0
    assert (tmp_path / "plots" / "bench_hv_zdt1.png").stat().st_size > 0
    assert "| `ecopt` (n=2) | 0.500 [0.500–0.500] | 1.0 |" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exit_info:
        plot.main(["--results", str(tmp_path / "missing.json"), "--out-dir", str(tmp_path / "plots")])
    assert exit_info.value.code == 2
    assert "missing.json: no such file" in capsys.readouterr().err


def test_the_frontier_quality_plot_keeps_its_legend_off_the_curves_and_tells_methods_apart_without_colour(
    bench: Callable[[str], ModuleType],
) -> None:
    # Inside the axes (lower right), the legend hid the curves' ends on DTLZ2 and Branin-Currin: the results at the
    # largest budget, where most curves ran through its corner. optuna_gp, optuna_tpe and optuna_nsga2_small were all
    # solid lines told apart by red, orange and green alone.
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    plot = bench("plot_frontier_quality")
    runs = [
        {"problem": "dtlz2", "method": method, "seed": seed, "hv_fraction": [0.1, 0.2 + 0.05 * k, 0.3, 0.45]}
        for k, method in enumerate([*plot.STYLE, "ecopt_coldfit"])
        for seed in (0, 1)
    ]
    fig = plot.problem_figure("dtlz2", runs, all_methods=True)
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    (ax,) = fig.axes
    (legend,) = fig.legends
    frame, box = ax.get_window_extent(renderer), legend.get_window_extent(renderer)
    assert not box.overlaps(frame)
    assert fig.bbox.x0 <= box.x0 < box.x1 <= fig.bbox.x1
    assert fig.bbox.y0 <= box.y0 < box.y1 <= fig.bbox.y1
    lines = [line for line in ax.get_lines() if not line.get_label().startswith("_")]
    assert len(lines) == len(plot.STYLE) + 1
    styles = [(line.get_linestyle(), line.get_marker()) for line in lines]
    assert len(set(styles)) == len(styles), styles
