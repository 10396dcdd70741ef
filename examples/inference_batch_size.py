"""Train once, sweep the inference batch size for samples/J: the ECOpt paper's batch-size finding in miniature.

The paper found that the inference batch size alone moved a transformer's efficiency 38x (batch 831 against batch 1).
Here the digits CNN is trained once (every training parameter is fixed; ``data.eval_batch_size`` is inference-only,
so later trials load the cached checkpoint), and the sweep searches batch 1-256 (log scale) for the frontier of
samples/J against the latency of one batch. When the sweep ends, ``BatchSizeRatio`` prints the best samples/J over
that of batch 1 at the best trial's other inference settings (precision, int8, compile), measured from the cached
checkpoint if the sweep did not try batch 1 there::

    python examples/inference_batch_size.py -m
    ecopt report multirun/inference_batch_size/<date>
"""

from __future__ import annotations

import contextlib
import logging
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple, cast

import hydra
from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf
from train import digits_trial  # examples/train.py, next to this script: the same task

log = logging.getLogger(__name__)


_PER_J = "energy/test_samples_per_j"
"""The figure the ratio compares: samples per joule of the test loop."""


class BatchRatio(NamedTuple):
    """The best samples/J over batch 1's, and which of the two figures are flagged short."""

    ratio: float
    batch: int
    """The best batch size."""
    best: float
    """Its samples/J."""
    batch1: float
    """Batch 1's samples/J."""
    short: tuple[int, ...]
    """The batch sizes among (best, 1) whose window was flagged short (``short_window=1``: under ``min_duration_s``)."""
    contended: tuple[int, ...] = ()
    """The batch sizes among (best, 1) measured while other processes kept more than a quarter of the CPUs busy
    (``energy/test_cpu_contention``, as ``ecopt report`` flags them)."""


def best_to_batch1(trials: list[dict[str, Any]]) -> BatchRatio | None:
    """The best samples/J over batch 1's, from a sweep's trial records.

    Batch 1's is the batch-1 trial with the best trial's other parameters (precision, ``quantize_int8``... where the
    sweep varies them too), so that the ratio compares batch sizes only, whatever order the trials ran in.

    Args:
        trials: The ``trials`` of ``optimization_results.yaml``.

    Returns:
        The :class:`BatchRatio`, or ``None`` without a batch-1 trial at the best trial's other parameters.
    """
    from lightning_ecopt.energy.contention import CONTENTION_WARN_SHARE

    done = [
        (
            int(t["params"]["data.eval_batch_size"]),
            float(t["metrics"][_PER_J]),
            bool(t["metrics"].get("energy/test_short_window")),
            float(t["metrics"].get("energy/test_cpu_contention") or 0.0) > CONTENTION_WARN_SHARE,
            {k: v for k, v in t["params"].items() if k != "data.eval_batch_size"},
        )
        for t in trials
        if t.get("status") == "completed"
        and _PER_J in (t.get("metrics") or {})
        and "data.eval_batch_size" in (t.get("params") or {})  # a sweep with the batch size fixed has no ratio
    ]
    if not done or not all(math.isfinite(d[1]) for d in done):
        return None
    best = max(done, key=lambda d: d[1])
    ones = [d for d in done if d[0] == 1 and d[4] == best[4]]
    if not ones:
        return None
    used = (best, ones[0])
    short = tuple(dict.fromkeys(b for b, _, flagged, _, _ in used if flagged))
    contended = tuple(dict.fromkeys(b for b, _, _, flagged, _ in used if flagged))
    return BatchRatio(used[0][1] / used[1][1], used[0][0], used[0][1], used[1][1], short, contended)


class BatchSizeRatio(Callback):
    """Hydra callback: after the sweep, print the best-to-batch-1 samples/J ratio (measuring batch 1 if needed).

    A figure it uses that is flagged short (``energy/test_short_window=1``: its window lasted less than the
    callback's ``min_duration_s``, or its loop ended inside the warm-up) is named in a second line: the ratio is
    then noisy. So is one measured under contention (``energy/test_cpu_contention`` above a quarter of the CPUs, as
    ``ecopt report`` flags it): other processes' load moves it, so the ratio is not a quiet machine's.
    """

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        """Read the sweep's results and print the ratio."""
        import yaml

        # Absolute: batch 1 is evaluated from inside the sweep dir, where a relative path (Hydra's default
        # multirun/...) would no longer find the checkpoint cache.
        sweep_dir = Path(str(config.hydra.sweep.dir)).absolute()
        results = sweep_dir / "optimization_results.yaml"
        if not results.is_file():
            return
        trials = yaml.safe_load(results.read_text(encoding="utf-8"))["trials"]  # as the sweep writes it
        if best_to_batch1(trials) is None:
            # Batch 1 was not tried (at the best trial's other settings): measure it once from the cached checkpoint
            # (no training: the cache has it).
            if not any(t.get("status") == "completed" for t in trials):
                return
            if _output_subdir(config) is None:
                print(
                    "batch-size sweep: batch 1 was not in the sweep, and it cannot be measured after it: "
                    "hydra.output_subdir=null saved no job config to run it with; no ratio. Add 1 to the swept "
                    "data.eval_batch_size values, or leave hydra.output_subdir set (default .hydra)."
                )
                return
            best = _best(trials)
            metrics = _evaluate_batch1(sweep_dir, config, best)
            params = {**best, "data.eval_batch_size": 1}
            trials.append({"status": "completed", "params": params, "metrics": metrics})
            others = {k: v for k, v in best.items() if k != "data.eval_batch_size"}
            where = f" at the best trial's other settings ({others}); measured it there" if others else "; measured it"
            print(f"batch-size sweep: batch 1 was not in the sweep{where} from the cached checkpoint.")
        found = best_to_batch1(trials)
        if found is None:
            print("batch-size sweep: no finite samples/J for batch 1; no ratio.")
            return
        # Said in the line itself, which is the one quoted: a contended ratio read 66x where a quiet rerun read 22x.
        caveats = [c for c, on in (("contended: not a quiet machine's", found.contended), ("short", found.short)) if on]
        flag = f" [{'; '.join(caveats)}: see below]" if caveats else ""
        # The label of the trials that measured (batch 1 measured after the sweep: its own figures' label), not of
        # trials[0], which may have failed before measuring anything and have none.
        sources = {
            str(source)
            for t in trials
            if t.get("status") == "completed"
            and (source := t.get("energy_source") or (t.get("metrics") or {}).get("energy/source"))
        }
        label = sources.pop() if len(sources) == 1 else "see the report"
        print(
            f"batch-size sweep: best {found.best:.4g} samples/J at batch {found.batch}, {found.ratio:.1f}x batch 1"
            f"{flag} ({found.batch1:.4g} samples/J) (energy {label}); the paper: 38x on a transformer."
        )
        if found.short:
            batches = " and ".join(f"batch {b}" for b in found.short)
            both = len(found.short) > 1
            print(
                f"batch-size sweep: {'the figures of' if both else 'the figure of'} {batches} "
                f"{'are' if both else 'is'} flagged short (energy/test_short_window=1: "
                f"{'their' if both else 'its'} measured window lasted less than energy.min_duration_s, or than 20 "
                f"updates of the energy counter, or {'their' if both else 'its'} loop ended inside "
                "energy.warmup_batches), so the ratio is noisy; raise data.eval_repeats so that every trial's window "
                "reaches energy.min_duration_s (auto: 20 counter updates, 2 s on NVML)."
            )
        if found.contended:
            batches = " and ".join(f"batch {b}" for b in found.contended)
            print(
                f"batch-size sweep: {'the figures of' if len(found.contended) > 1 else 'the figure of'} {batches} "
                f"{'were' if len(found.contended) > 1 else 'was'} measured while other processes kept more than a "
                "quarter of the CPUs busy (energy/test_cpu_contention; `ecopt report` names the trials): their load "
                "moves it, so the ratio is not a quiet machine's; rerun the sweep on an otherwise idle machine."
            )


def _best(trials: list[dict[str, Any]]) -> dict[str, Any]:
    """The swept values of the completed trial with the most samples/J (``{}`` without one)."""
    done = [
        t
        for t in trials
        if t.get("status") == "completed" and math.isfinite(float((t.get("metrics") or {}).get(_PER_J, math.nan)))
    ]
    return dict(max(done, key=lambda t: float(t["metrics"][_PER_J])).get("params") or {}) if done else {}


def _evaluate_batch1(sweep_dir: Path, sweep_cfg: DictConfig, best: dict[str, Any]) -> dict[str, Any]:
    """Evaluate batch 1 once, outside the sweep, from the sweep's cached checkpoint (no training).

    With the best trial's other settings (its job's config): were precision or int8 swept too, the ratio compares
    batch sizes only. It runs as that job ran, under its Hydra config (:func:`_as_job`), in its own dir.
    """
    from lightning_ecopt.checkpoints import CACHE_DIRNAME, CheckpointCache

    job_config, job_cfg = _job(sweep_dir, best, _output_subdir(sweep_cfg) or ".hydra")
    job_cfg.data.eval_batch_size = 1
    cache = CheckpointCache(sweep_dir / CACHE_DIRNAME, list(sweep_cfg.hydra.sweeper.inference_params or []))
    out_dir = sweep_dir / "batch1"  # its Lightning logs, beside the sweep's job dirs
    out_dir.mkdir(exist_ok=True)
    with contextlib.chdir(out_dir), _as_job(job_config.with_name("hydra.yaml"), out_dir):
        return dict(digits_trial(job_cfg, cache=cache))


@contextlib.contextmanager
def _as_job(hydra_yaml: Path, output_dir: Path) -> Iterator[None]:
    """Set Hydra's config of a job of the sweep (its saved ``hydra.yaml``), with ``output_dir`` as its output dir.

    ``on_multirun_end`` runs where no job's Hydra config is set: a job config holding ``${hydra:...}`` (the
    ``trainer.logger.save_dir=${hydra:runtime.output_dir}`` docs/examples.md recommends) could not be resolved, and
    the batch-1 run failed (``HydraConfig was not set``), in the Trainer's settings and in the checkpoint cache's key
    alike. Under the job's own config it resolves to ``output_dir``, which the cache keys as
    ``${hydra:runtime.output_dir}``, as it keyed the trials': the run loads their checkpoint. The config in place
    before (none, normally) is restored afterwards; without a saved ``hydra.yaml`` none is set.
    """
    from hydra.conf import HydraConf
    from hydra.core.hydra_config import HydraConfig

    if not hydra_yaml.is_file():
        yield
        return
    cfg = OmegaConf.structured({"hydra": HydraConf})
    OmegaConf.set_struct(cfg.hydra, False)  # keys Hydra adds beside HydraConf's fields (hydra.env)
    cfg = cast(DictConfig, OmegaConf.merge(cfg, OmegaConf.load(hydra_yaml)))
    cfg.hydra.runtime.output_dir = str(output_dir)
    before = HydraConfig.instance().cfg
    HydraConfig.instance().set_config(cfg)
    try:
        yield
    finally:
        HydraConfig.instance().cfg = before


def _output_subdir(config: DictConfig) -> str | None:
    """The folder of each job's dir where Hydra saved its config (``hydra.output_subdir``); ``None``: it saved none."""
    subdir = OmegaConf.select(config, "hydra.output_subdir", default=".hydra")
    return None if subdir is None else str(subdir)


def _job(sweep_dir: Path, params: dict[str, Any], output_subdir: str = ".hydra") -> tuple[Path, DictConfig]:
    """The config file and config of a job of the sweep that ran ``params`` (the first job's where none did).

    Args:
        sweep_dir: The sweep's dir, holding a dir per job.
        params: The swept values to match.
        output_subdir: Where in each job's dir Hydra saved its config (the sweep's ``hydra.output_subdir``).
    """
    pattern = f"*/{output_subdir}/config.yaml"
    job_configs = sorted(sweep_dir.glob(pattern))  # they share the training parameters
    if not job_configs:
        raise FileNotFoundError(f"no job config under {sweep_dir}/{pattern} (hydra.output_subdir={output_subdir!r})")
    configs = [(path, OmegaConf.load(path)) for path in job_configs]
    matching = [
        (path, c) for path, c in configs if all(OmegaConf.select(c, k, default=None) == v for k, v in params.items())
    ]
    path, cfg = (matching or configs)[0]
    return path, cast(DictConfig, cfg)


@hydra.main(version_base="1.3", config_path="../conf", config_name="inference_batch_size")
def main(cfg: DictConfig) -> dict[str, float | str]:
    """One trial: load (or train once) the digits CNN, evaluate at ``data.eval_batch_size``, return the figures."""
    return digits_trial(cfg)


if __name__ == "__main__":
    main()
