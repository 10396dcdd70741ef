"""Analytic expected hypervolume improvement (EHVI) for sweeps that propose one trial at a time.

qNEHVI (the ECOpt paper's acquisition function) integrates the improvement by quasi-Monte-Carlo over the posterior
of the candidate *and* of every observed point, so that noisy observations are not taken at face value. Proposing a
single trial, BoTorch's analytic EHVI computes the same expectation in closed form over the posterior of the
candidate alone, against a fixed front: on NAS-Bench-201's one-hot GP at
50 trials one evaluation with its gradient took 5.1 ms instead of 11.7 ms, and scoring the acquisition optimiser's
512 raw samples 52 ms instead of 231 ms (``benchmarks/acqf_eval_cost.py``).

Ax builds the acquisition function from the model's outcomes and hands a multi-output one its objectives as an MC
objective (which outcomes, with which signs: a minimised metric is negated) that BoTorch's EHVI input constructor
drops, so a minimised metric would be maximised. :class:`ObjectiveEHVI` is BoTorch's EHVI with its own input
constructor, which turns that MC objective into a posterior transform (:class:`ObjectiveOutcomes`) and builds the
front, signed the same way, against Ax's maximisation-aligned thresholds: the front of the posterior means at the
observed points (BoTorch's) or of the observed values (the sweeper's choice, ``loop._EHVI_FRONT``; on NAS-Bench-201
the posterior means' front lost hypervolume at 60 evaluations and the observed one did not).

It takes no outcome constraint (BoTorch's EHVI has none) and conditions on no pending point. With one trial at a
time the only pending configurations are failed ones (the sweeper marks a failed trial ABANDONED, in every space:
``loop._FAILED_AS_PENDING``). Where EHVI's optimum is one of them, its proposal repeats a pending arm: in a fully
discrete space the sweeper rounds it to the nearest untried configuration (:mod:`lightning_ecopt.sweeper.discrete`);
elsewhere Ax regenerates five times and then proposes one Sobol point instead, so a failure at the optimum costs one
trial spent off the model (qNEHVI conditions on pending points and does not). The class is registered with Ax's JSON
registry when this module is imported, so a saved generation strategy that uses it loads.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import torch
from ax.storage.botorch_modular_registry import register_acquisition_function
from botorch.acquisition.input_constructors import acqf_input_constructor
from botorch.acquisition.multi_objective.analytic import ExpectedHypervolumeImprovement
from botorch.acquisition.multi_objective.objective import WeightedMCMultiOutputObjective
from botorch.acquisition.multi_objective.utils import get_default_partitioning_alpha
from botorch.acquisition.objective import PosteriorTransform
from botorch.models.model import Model
from botorch.posteriors import Posterior
from botorch.posteriors.transformed import TransformedPosterior
from botorch.utils.multi_objective.box_decompositions.non_dominated import (
    FastNondominatedPartitioning,
    NondominatedPartitioning,
)
from torch import Tensor

__all__ = ["ObjectiveEHVI", "ObjectiveOutcomes", "construct_inputs_objective_ehvi"]


class ObjectiveOutcomes(PosteriorTransform):
    """The objectives among a model's outcomes, each signed to be maximised: ``Y[..., outcomes] * weights``.

    Applied to a posterior, the means are selected and signed and the variances selected and scaled by the squared
    weights (the outcomes' posteriors are taken one at a time, as analytic EHVI does).

    Args:
        outcomes: Index of each objective among the model's outcomes.
        weights: Each objective's weight (``-1`` for a minimised one, ``1`` for a maximised one).

    Example::

        >>> transform = ObjectiveOutcomes(torch.tensor([0, 2]), torch.tensor([1.0, -1.0]))
        >>> transform.evaluate(torch.tensor([[0.5, 9.0, 3.0]]))
        tensor([[ 0.5000, -3.0000]])
    """

    scalarize = False
    outcomes: Tensor
    weights: Tensor

    def __init__(self, outcomes: Tensor, weights: Tensor) -> None:
        super().__init__()
        if outcomes.shape != weights.shape or outcomes.dim() != 1:
            raise ValueError(
                f"ObjectiveOutcomes: outcomes {tuple(outcomes.shape)} and weights {tuple(weights.shape)} must be "
                "two vectors of the same length"
            )
        self.register_buffer("outcomes", outcomes.long())
        self.register_buffer("weights", weights)

    def evaluate(self, Y: Tensor, X: Tensor | None = None) -> Tensor:
        """The signed objectives of outcome values ``Y`` (``... x m``)."""
        return Y[..., self.outcomes] * self.weights.to(Y)

    def _variance(self, mean: Tensor, variance: Tensor) -> Tensor:
        return variance[..., self.outcomes] * self.weights.to(variance).square()

    def _mean(self, mean: Tensor, variance: Tensor) -> Tensor:
        return self.evaluate(mean)

    def forward(self, posterior: Posterior, X: Tensor | None = None) -> Posterior:
        """The posterior of the signed objectives (samples, means and variances transformed)."""
        return TransformedPosterior(
            posterior, sample_transform=self.evaluate, mean_transform=self._mean, variance_transform=self._variance
        )


class ObjectiveEHVI(ExpectedHypervolumeImprovement):
    """BoTorch's analytic EHVI, with an input constructor that reads Ax's objectives (see the module docstring).

    Args:
        model: The fitted model of every outcome.
        ref_point: The maximisation-aligned reference point, one value per objective.
        partitioning: The box decomposition of the space the front dominates (of the signed objectives).
        posterior_transform: Selects and signs the objectives (:class:`ObjectiveOutcomes`).
    """


@acqf_input_constructor(ObjectiveEHVI)
def construct_inputs_objective_ehvi(
    model: Model,
    objective: WeightedMCMultiOutputObjective,
    X_baseline: Tensor,
    ref_point: Sequence[float] | Tensor,
    X_pending: Tensor | None = None,
    constraints: Sequence[Any] | None = None,
    alpha: float | None = None,
    training_data: Any = None,
    front: str = "posterior_mean",
) -> dict[str, Any]:
    """The arguments of :class:`ObjectiveEHVI` from what Ax's ``Acquisition`` passes to an input constructor.

    Args:
        model: The fitted model.
        objective: Ax's objective for multi-output acquisition functions: which outcomes, with which weights.
        X_baseline: The observed points; the front is that of the posterior means there.
        ref_point: Ax's maximisation-aligned objective thresholds.
        X_pending: Not conditioned on (failed configurations; see the module docstring).
        constraints: Outcome constraints, which EHVI cannot take.
        alpha: The box decomposition's approximation level (BoTorch's default for the number of objectives: exact
            below 5).
        training_data: The observations (one dataset of every outcome, or one per outcome on the same points).
        front: ``"posterior_mean"``: the front of the posterior means at ``X_baseline`` (BoTorch's); ``"observed"``:
            the front of the observed values (``training_data``).

    Returns:
        ``model``, ``ref_point``, ``partitioning`` and ``posterior_transform``.

    Raises:
        ValueError: There are outcome constraints, or the objective is not a weighted selection of outcomes.
    """
    if constraints:
        raise ValueError(
            "ObjectiveEHVI: analytic EHVI takes no outcome constraint; use qNEHVI (acquisition=qNEHVI) in a sweep "
            "with constraints on metrics other than its objectives"
        )
    if objective.outcomes is None:
        raise ValueError("ObjectiveEHVI: Ax's objective selects no outcomes; expected a weighted selection")
    transform = ObjectiveOutcomes(cast(Tensor, objective.outcomes), cast(Tensor, objective.weights))
    if front == "observed":
        front_Y = transform.evaluate(_observed_Y(training_data))
    elif front == "posterior_mean":
        with torch.no_grad():
            front_Y = transform.evaluate(cast(Any, model.posterior(X_baseline)).mean)
    else:
        raise ValueError(f"ObjectiveEHVI: front={front!r}; expected 'posterior_mean' or 'observed'")
    ref = torch.as_tensor(ref_point, dtype=front_Y.dtype, device=front_Y.device)
    alpha = get_default_partitioning_alpha(num_objectives=len(ref)) if alpha is None else alpha
    partitioning = (
        NondominatedPartitioning(ref_point=ref, Y=front_Y, alpha=alpha)
        if alpha > 0
        else FastNondominatedPartitioning(ref_point=ref, Y=front_Y)
    )
    return {"model": model, "ref_point": ref.tolist(), "partitioning": partitioning, "posterior_transform": transform}


def _observed_Y(training_data: Any) -> Tensor:
    """The observed outcomes (``n x m``) of Ax's training data: one dataset, or one per outcome on the same points."""
    if not isinstance(training_data, dict):
        return cast(Tensor, training_data.Y)
    datasets = list(training_data.values())
    if any(not torch.equal(d.X, datasets[0].X) for d in datasets[1:]):
        raise ValueError("ObjectiveEHVI: front='observed' needs every outcome observed at the same points")
    return torch.cat([d.Y for d in datasets], dim=-1)


register_acquisition_function(ObjectiveEHVI)
