"""``benchmarks/gpu_validation.py`` on a machine without a GPU: a clear refusal, nothing written (CI has no GPU)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a CUDA GPU: the benchmark would run")
def test_gpu_validation_refuses_without_a_gpu_and_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "gpu_validation.json"
    command = [sys.executable, str(ROOT / "benchmarks" / "gpu_validation.py"), "--only", "counter", "--out", str(out)]
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    proc = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "needs a CUDA GPU" in proc.stderr
    assert not out.exists()
