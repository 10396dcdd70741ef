"""README.md's Python blocks run as written: the callback's (docs/callback.md's too), the sweep's from Python, and
docs/frontier.md's blocks on that sweep: the report of its result and of its folder, and its TensorBoard views."""

from __future__ import annotations

import ast
import re
import warnings
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _python_blocks(page: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", (ROOT / page).read_text(encoding="utf-8"), re.DOTALL)


def _replaced(source: str, *pairs: tuple[str, str]) -> str:
    for doc, run in pairs:
        assert doc in source, doc
        source = source.replace(doc, run)
    return source


def test_the_readme_measures_as_docs_callback_md_does() -> None:
    readme = _python_blocks("README.md")[0]
    assert "EnergyCallback()" in readme
    assert _python_blocks("docs/callback.md")[0] == readme


def test_the_readme_s_callback_block_logs_the_figure_and_its_label(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lightning.pytorch.demos.boring_classes import BoringDataModule, BoringModel

    monkeypatch.chdir(tmp_path)  # the Trainer's default logger writes lightning_logs/ here
    source = _replaced(
        _python_blocks("README.md")[0],
        # the figures, not their size, on this machine: a window of milliseconds on RAPL may read 0 J
        ("EnergyCallback()", 'EnergyCallback(meter="estimate")'),
        ("Trainer(callbacks=[energy])", "Trainer(callbacks=[energy], enable_progress_bar=False)"),
        ("trainer.test(model, datamodule=dm)", "returned = trainer.test(model, datamodule=dm, verbose=False)"),
        (
            'trainer.callback_metrics["energy/test_samples_per_j"]',
            'figure = trainer.callback_metrics["energy/test_samples_per_j"]',
        ),
        ('energy.results["test"].source', 'source = energy.results["test"].source'),
    )
    namespace: dict[str, Any] = {"model": BoringModel(), "dm": BoringDataModule()}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the short window's warning, Lightning's advice on workers
        exec(compile(source, "README.md", "exec"), namespace)
    assert float(namespace["figure"]) > 0
    (returned,) = namespace["returned"]  # "also ... in the dict trainer.test returns"
    assert returned["energy/test_samples_per_j"] == pytest.approx(float(namespace["figure"]))
    assert namespace["source"] == "estimated: cpu-time"  # the comment's 'estimated: cpu-time'


def test_the_readme_s_sweep_from_python_resumes_and_docs_frontier_md_reads_its_report_and_views(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)  # storage="sweep/ax_experiment.json", relative
    source = _replaced(_python_blocks("README.md")[1], ("n_trials=30", "n_trials=3"))

    calls: list[tuple[float, int]] = []

    def train_and_measure(lr: float, width: int) -> dict[str, Any]:
        calls.append((lr, width))
        return {"acc": 1 - abs(lr - 0.01) - 1 / width, "energy/test_j": width / 10, "energy/source": "estimated: test"}

    namespace: dict[str, Any] = {}
    for _ in range(2):  # the second run resumes the finished sweep from `storage`: nothing is evaluated again
        namespace = {"train_and_measure": train_and_measure}
        exec(compile(source, "README.md", "exec"), namespace)
        out = capsys.readouterr().out.splitlines()
        assert re.fullmatch(r"3 trials \(3 completed, 0 failed, 0 reused\), Pareto set \d, hypervolume \S+", out[0])
        frontier = ast.literal_eval(out[1])  # the frontier's parameters
        assert frontier
        assert all(set(params) == {"lr", "width"} for params in frontier)
    assert len(calls) == 3
    assert (tmp_path / "sweep" / "ax_experiment.json").is_file()

    # docs/frontier.md: the report of a result from Python, with its settings, files into a folder of one's own
    blocks = _python_blocks("docs/frontier.md")
    (of_result,) = [block for block in blocks if "build_report(result, settings=settings)" in block]
    exec(compile(of_result, "frontier.md", "exec"), namespace)
    assert "Pareto frontier: " in capsys.readouterr().out
    assert sorted(p.name for p in (tmp_path / "sweep_report").iterdir()) == ["frontier.png", "trials.csv"]

    # docs/frontier.md: the report of a sweep's directory, read from Python (the sweep's folder here, "sweep")
    (of_dir,) = [block for block in blocks if 'build_report("multirun/train")' in block]
    exec(compile(_replaced(of_dir, ('"multirun/train"', '"sweep"')), "frontier.md", "exec"), {})
    *rows, total = capsys.readouterr().out.splitlines()
    assert rows
    assert all(re.match(r"[0-2] \{'acc': .*\{'lr': ", row) for row in rows), rows
    assert float(total) > 0  # the ledger's total_j

    # docs/frontier.md: the views read with TensorBoard's EventAccumulator (3 trials here: trials/0002)
    (of_board,) = [block for block in blocks if "EventAccumulator" in block]
    views: dict[str, Any] = {}
    source = _replaced(
        of_board,
        ('"multirun/train/tensorboard"', '"sweep/tensorboard"'),
        ("trials/0003", "trials/0002"),
        ("test/acc", "acc"),
    )
    exec(compile(source, "frontier.md", "exec"), views)
    hypervolume, last = capsys.readouterr().out.splitlines()
    assert [step for step, _ in ast.literal_eval(hypervolume)][-1] == 3  # step: trials finished
    assert views["png"].startswith(b"\x89PNG")
    assert "Pareto frontier after 3 trials" in views["table"]
    acc, on_front = map(float, last.split())
    assert acc == pytest.approx(1 - abs(calls[2][0] - 0.01) - 1 / calls[2][1])  # trial 2's
    assert on_front in (0.0, 1.0)
