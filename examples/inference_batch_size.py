"""Train once, sweep the inference batch size for samples/J: the ECOpt paper's batch-size finding in miniature.

The paper found that the inference batch size alone moved a transformer's efficiency 38x (batch 831 against batch 1).
Here the digits CNN is trained once (every training parameter is fixed; ``data.eval_batch_size`` is inference-only,
so later trials load the cached checkpoint), and the sweep searches batch 1-256 (log scale) for the frontier of
samples/J against the latency of one batch. When the sweep ends, ``BatchSizeRatio`` prints the best samples/J over
that of batch 1 (measured from the cached checkpoint if the sweep did not try batch 1)::

    python examples/inference_batch_size.py -m
    ecopt report multirun/inference_batch_size/<date>
"""

from __future__ import annotations

import contextlib
import logging
import math
from pathlib import Path
from typing import Any

import hydra
from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf
from train import digits_trial  # examples/train.py, next to this script: the same task

log = logging.getLogger(__name__)


def best_to_batch1(trials: list[dict[str, Any]]) -> tuple[float, int, float, float] | None:
    """The best samples/J over batch 1's, from a sweep's trial records.

    Args:
        trials: The ``trials`` of ``optimization_results.yaml``.

    Returns:
        ``(ratio, best batch size, best samples/J, batch-1 samples/J)``, or ``None`` without a batch-1 trial.
    """
    done = [
        (int(t["params"]["data.eval_batch_size"]), float(t["metrics"]["energy/test_samples_per_j"]))
        for t in trials
        if t.get("status") == "completed" and "energy/test_samples_per_j" in (t.get("metrics") or {})
    ]
    ones = [v for b, v in done if b == 1]
    if not ones or not all(math.isfinite(v) for _, v in done):
        return None
    batch, best = max(done, key=lambda bv: bv[1])
    return best / ones[0], batch, best, ones[0]


class BatchSizeRatio(Callback):
    """Hydra callback: after the sweep, print the best-to-batch-1 samples/J ratio (measuring batch 1 if needed)."""

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        """Read the sweep's results and print the ratio."""
        import yaml

        sweep_dir = Path(str(config.hydra.sweep.dir))
        results = sweep_dir / "optimization_results.yaml"
        if not results.is_file():
            return
        trials = yaml.safe_load(results.read_text())["trials"]
        if best_to_batch1(trials) is None:
            # Batch 1 was not tried: measure it once from the cached checkpoint (no training: the cache has it).
            if not any(t.get("status") == "completed" for t in trials):
                return
            metrics = _evaluate_batch1(sweep_dir, config)
            trials.append({"status": "completed", "params": {"data.eval_batch_size": 1}, "metrics": metrics})
            print("batch-size sweep: batch 1 was not in the sweep; measured it from the cached checkpoint.")
        found = best_to_batch1(trials)
        if found is None:
            print("batch-size sweep: no finite samples/J for batch 1; no ratio.")
            return
        ratio, batch, best, one = found
        print(
            f"batch-size sweep: best {best:.4g} samples/J at batch {batch}, {ratio:.1f}x batch 1 ({one:.4g} samples/J)"
            f" (energy {trials[0].get('energy_source') or 'see the report'}); the paper: 38x on a transformer."
        )


def _evaluate_batch1(sweep_dir: Path, sweep_cfg: DictConfig) -> dict[str, Any]:
    """Evaluate batch 1 once, outside the sweep, from the sweep's cached checkpoint (no training)."""
    from lightning_ecopt.checkpoints import CACHE_DIRNAME, CheckpointCache

    job_configs = sorted(sweep_dir.glob("*/.hydra/config.yaml"))  # any job: they share the training parameters
    if not job_configs:
        raise FileNotFoundError(f"no job config under {sweep_dir}/*/.hydra/config.yaml")
    job_cfg = OmegaConf.load(job_configs[0])
    job_cfg.data.eval_batch_size = 1
    cache = CheckpointCache(sweep_dir / CACHE_DIRNAME, list(sweep_cfg.hydra.sweeper.inference_params))
    out_dir = sweep_dir / "batch1"  # its Lightning logs, beside the sweep's job dirs
    out_dir.mkdir(exist_ok=True)
    with contextlib.chdir(out_dir):
        return dict(digits_trial(job_cfg, cache=cache))


@hydra.main(version_base="1.3", config_path="../conf", config_name="inference_batch_size")
def main(cfg: DictConfig) -> dict[str, float | str]:
    """One trial: load (or train once) the digits CNN, evaluate at ``data.eval_batch_size``, return the figures."""
    return digits_trial(cfg)


if __name__ == "__main__":
    main()
