"""The package's public names (lazy, nothing heavy imported) and the documented Python API under mypy."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import lightning_ecopt

ROOT = Path(__file__).resolve().parents[2]


def _mypy(source: str, tmp_path: Path) -> str:
    """Type-check ``source`` against this checkout, third-party packages left untyped (fast: about a second)."""
    from mypy import api

    module = tmp_path / "snippet.py"
    module.write_text(source, encoding="utf-8")
    cwd = os.getcwd()
    os.chdir(ROOT)  # the project's mypy config, and lightning_ecopt found from the checkout
    try:
        out, err, _ = api.run(
            [str(module), "--no-site-packages", "--follow-imports=silent", "--cache-dir", str(tmp_path / "cache")]
        )
    finally:
        os.chdir(cwd)
    return out + err


def _docs_python_block(heading: str) -> str:
    text = (ROOT / "docs" / "sweeper.md").read_text(encoding="utf-8")
    section = text.split(heading, 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert match is not None, f"no python block after {heading!r} in docs/sweeper.md"
    return match.group(1)


def _doctest_lines(docstring: str | None) -> str:
    return "\n".join(line.strip()[4:] for line in (docstring or "").splitlines() if line.strip().startswith(">>> "))


def test_the_documented_python_api_type_checks(tmp_path: Path) -> None:
    from lightning_ecopt.sweeper.settings import SweepSettings

    snippet = _docs_python_block("## From Python, without Hydra")
    assert "storage=" in snippet
    assert "enqueue_trials=[" in snippet
    stub = "from typing import Any\n\n\ndef train_and_measure(**params: Any) -> dict[str, float]:\n    return {}\n\n\n"
    docstring = _doctest_lines(SweepSettings.__doc__)
    assert 'outcome_constraints=("energy/test_j <= 500",)' in docstring
    out = _mypy(stub + snippet + "\n" + docstring + "\n", tmp_path)
    assert "Success: no issues found" in out, out


def test_sweep_settings_normalises_what_its_signature_accepts(tmp_path: Path) -> None:
    source = textwrap.dedent(
        """
        from pathlib import Path
        from typing import assert_type

        from lightning_ecopt.sweeper.objectives import OutcomeConstraint, parse_objectives
        from lightning_ecopt.sweeper.settings import SweepSettings

        settings = SweepSettings(
            parse_objectives({"a": "minimize", "b": "minimize"}, None),
            storage="x.json",
            enqueue_trials=[{"x": 1}],
            outcome_constraints=["a <= 1", OutcomeConstraint("c", "<=", 2.0)],
        )
        assert_type(settings.storage, Path | None)
        assert_type(settings.outcome_constraints, tuple[OutcomeConstraint, ...])
        """
    )
    out = _mypy(source, tmp_path)
    assert "Success: no issues found" in out, out


def test_prepare_for_inference_returns_the_modules_type_unless_compiled(tmp_path: Path) -> None:
    source = textwrap.dedent(
        """
        from typing import Any, assert_type

        import torch

        from lightning_ecopt.inference import prepare_for_inference


        class Net(torch.nn.Module):
            pass


        net = Net()
        assert_type(prepare_for_inference(net), Net)
        assert_type(prepare_for_inference(net, quantize_int8=True, compile=False), Net)
        assert_type(prepare_for_inference(net, compile=True), Any)
        """
    )
    out = _mypy(source, tmp_path)
    assert "Success: no issues found" in out, out


PUBLIC = [
    "ParetoSweep",
    "SweepSettings",
    "SweepResult",
    "TrialRecord",
    "parse_search_space",
    "parse_objectives",
    "TimedPasses",
    "build_report",
    "Report",
    "FrontierBoard",
]


@pytest.mark.parametrize("name", PUBLIC)
def test_the_python_api_is_exported_from_the_package(name: str) -> None:
    assert name in lightning_ecopt.__all__
    assert getattr(lightning_ecopt, name).__name__ == name


def test_all_is_sorted_and_every_name_resolves() -> None:
    assert lightning_ecopt.__all__ == sorted(lightning_ecopt.__all__)
    for name in lightning_ecopt.__all__:
        assert getattr(lightning_ecopt, name) is not None
    with pytest.raises(AttributeError, match="no attribute 'ParetoSweeps'"):
        _ = lightning_ecopt.ParetoSweeps  # type: ignore[attr-defined]


def test_the_package_and_its_python_api_import_nothing_heavy() -> None:
    names = ", ".join(PUBLIC)
    code = (
        "import sys, lightning_ecopt\n"
        f"from lightning_ecopt import {names}\n"
        "print(sorted(m for m in ('ax', 'botorch', 'torch', 'zeus', 'lightning', 'gpytorch') if m in sys.modules))"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def _callback_docs_block(heading: str) -> str:
    section = (ROOT / "docs" / "callback.md").read_text(encoding="utf-8").split(heading, 1)[1]
    match = re.search(r"```python\n(.*?)```", section.split("\n## ", 1)[0], re.DOTALL)
    assert match is not None, f"no python block after {heading!r} in docs/callback.md"
    return match.group(1)


def test_the_documented_plain_pytorch_loop_runs_and_prints_a_labelled_figure(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """docs/callback.md's loop without the Trainer, run as written but with fewer batches, on the estimate: the figure's
    line, not its size (a few-millisecond window on RAPL may read 0 J)."""
    snippet = _callback_docs_block("## Without the Trainer (plain PyTorch, Fabric)")
    for doc, run in (
        ("torch.randn(400, 128, 64)", "torch.randn(20, 8, 64)"),
        ('make_meter("auto")', 'make_meter("estimate")'),
    ):
        assert doc in snippet
        snippet = snippet.replace(doc, run)
    exec(compile(snippet, "callback.md", "exec"), {})
    line = capsys.readouterr().out.strip()
    assert re.fullmatch(
        r"\d+ samples/J, \d\.\d\de-\d\d J/sample in \d+\.\d\d s \[(measured|estimated): \S.*\]", line
    ), line
