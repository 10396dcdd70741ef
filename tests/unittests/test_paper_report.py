"""``ecopt report`` as a reader of the ECOpt paper uses it: the proxy audit's sentences on the paper's findings."""

from __future__ import annotations

import pytest

from lightning_ecopt.report import proxy_audit
from lightning_ecopt.sweeper.objectives import parse_objectives
from lightning_ecopt.sweeper.results import SweepResult, TrialRecord

OBJECTIVES = parse_objectives({"energy/test_samples_per_j": "maximize", "test/batch_latency_ms": "minimize"}, None)


def _trial(i: int, j_per_sample: float, params: float, flops: float) -> TrialRecord:
    metrics = {
        "energy/test_samples_per_j": 1.0 / j_per_sample,
        "energy/test_j_per_sample": j_per_sample,
        "test/batch_latency_ms": 1.0 + i,
        "model/params": params,
        "model/flops_per_sample": flops,
    }
    return TrialRecord(i, {"data.eval_batch_size": 2**i}, "completed", metrics, energy_source="estimated: cpu-time")


def test_proxy_audit_of_a_batch_size_sweep_names_the_proxy_that_is_constant() -> None:
    # The paper's batch-size finding: one model, energy per inference moving 10x with the batch size. The audit used
    # to say "model/params or the energy per inference is the same in every trial", though energy varied most.
    trials = [_trial(i, 0.01 / (i + 1) ** 2, 1234.0, 5678.0) for i in range(4)]
    params, flops = proxy_audit(SweepResult(OBJECTIVES, tuple(trials), (0,)))
    assert params.pearson_r is None
    assert params.meaning.startswith("model/params is the same in every trial (1234: one model")
    assert flops.meaning.startswith("model/flops_per_sample is the same in every trial (5678: one model")
    assert "energy per inference" not in params.meaning


def test_proxy_audit_says_when_the_energy_per_inference_is_the_constant() -> None:
    trials = [_trial(i, 0.01, 100.0 * (i + 1), 10.0 * (i + 1)) for i in range(3)]
    params, _ = proxy_audit(SweepResult(OBJECTIVES, tuple(trials), (0,)))
    assert params.pearson_r is None
    assert params.meaning == (
        "The energy per inference (energy/test_j_per_sample) is the same in every trial: the correlation is undefined."
    )


@pytest.mark.parametrize(("proxy", "shown"), [("model/params", "25000001"), ("model/flops_per_sample", "3250000001")])
def test_audit_sentence_shows_a_large_constant_proxy_as_its_count(proxy: str, shown: str) -> None:
    # A count, not a float: 25000001 parameters read 2.5e+07 (the 1 lost), as the frontier table read 1.235e+06.
    trials = [_trial(i, 0.01 * (i + 1), 25000001.0, 3250000001.0) for i in range(3)]
    audit = {c.proxy: c for c in proxy_audit(SweepResult(OBJECTIVES, tuple(trials), (0,)))}
    assert audit[proxy].meaning.startswith(f"{proxy} is the same in every trial ({shown}: one model")
