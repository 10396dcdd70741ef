import pytest

torch = pytest.importorskip("torch")

from botorch.acquisition.input_constructors import get_acqf_input_constructor  # noqa: E402
from botorch.acquisition.multi_objective.monte_carlo import qExpectedHypervolumeImprovement  # noqa: E402
from botorch.acquisition.multi_objective.objective import WeightedMCMultiOutputObjective  # noqa: E402
from botorch.models import SingleTaskGP  # noqa: E402
from botorch.sampling import SobolQMCNormalSampler  # noqa: E402

from lightning_ecopt.sweeper.analytic import ObjectiveEHVI, ObjectiveOutcomes  # noqa: E402

pytestmark = pytest.mark.usefixtures("quiet_warnings")


def _three_outcome_model():
    """A GP of three outcomes of ``x`` (3 inputs): a sum to maximise, a tracked one, a square to minimise."""
    generator = torch.Generator().manual_seed(0)
    X = torch.rand(16, 3, dtype=torch.double, generator=generator)
    Y = torch.stack([X.sum(-1), X[:, 0], (X**2).sum(-1)], dim=-1)
    return SingleTaskGP(X, Y), X


# Objectives: outcome 0 maximised, outcome 2 minimised (weight -1), as Ax's objective weights say.
OBJECTIVE = WeightedMCMultiOutputObjective(weights=torch.tensor([1.0, -1.0], dtype=torch.double), outcomes=[0, 2])


def _ehvi(model, X, ref_point, **kwargs):
    """Build ObjectiveEHVI the way Ax's ``Acquisition`` does: through BoTorch's input constructor registry."""
    construct = get_acqf_input_constructor(ObjectiveEHVI)
    kwargs.setdefault("training_data", None)
    inputs = construct(model=model, objective=OBJECTIVE, X_baseline=X, ref_point=ref_point, **kwargs)
    return ObjectiveEHVI(**inputs), inputs


def test_objective_outcomes_select_and_sign_the_posterior():
    model, _ = _three_outcome_model()
    transform = ObjectiveOutcomes(OBJECTIVE.outcomes, OBJECTIVE.weights)
    test_X = torch.rand(4, 3, dtype=torch.double)
    posterior = model.posterior(test_X)
    transformed = transform(posterior)
    torch.testing.assert_close(transformed.mean, torch.stack([posterior.mean[:, 0], -posterior.mean[:, 2]], -1))
    torch.testing.assert_close(transformed.variance, posterior.variance[:, [0, 2]])


def test_objective_outcomes_refuse_mismatched_outcomes_and_weights():
    with pytest.raises(ValueError, match=r"outcomes \(2,\) and weights \(3,\) must be two vectors of the same length"):
        ObjectiveOutcomes(torch.tensor([0, 1]), torch.ones(3))


def test_the_front_is_of_the_signed_objectives_against_the_aligned_reference_point():
    model, X = _three_outcome_model()
    _, inputs = _ehvi(model, X, torch.tensor([0.0, -3.0]))
    with torch.no_grad():
        mean = model.posterior(X).mean
    signed = torch.stack([mean[:, 0], -mean[:, 2]], dim=-1)
    pareto = inputs["partitioning"].pareto_Y
    assert len(pareto) > 1  # a real front: maximising a sum while minimising the sum of squares
    for point in pareto:  # each point of the front is a signed posterior mean at an observed x
        assert torch.isclose(signed, point).all(dim=-1).any()


def test_ehvi_equals_monte_carlo_ehvi_of_the_same_objectives():
    """The closed form agrees with BoTorch's qEHVI (4,096 QMC samples) given Ax's MC objective directly."""
    model, X = _three_outcome_model()
    ehvi, inputs = _ehvi(model, X, torch.tensor([0.0, -3.0]))
    sampler = SobolQMCNormalSampler(torch.Size([4096]), seed=0)
    monte_carlo = qExpectedHypervolumeImprovement(
        model, ref_point=[0.0, -3.0], partitioning=inputs["partitioning"], objective=OBJECTIVE, sampler=sampler
    )
    test_X = torch.rand(6, 1, 3, dtype=torch.double, generator=torch.Generator().manual_seed(1))
    values = ehvi(test_X)
    assert (values > 0).all()
    torch.testing.assert_close(values, monte_carlo(test_X), rtol=0.02, atol=1e-4)


def test_a_reference_point_no_mean_beats_gives_zero_improvement_instead_of_an_error():
    model, X = _three_outcome_model()
    ehvi, _ = _ehvi(model, X, [100.0, 100.0])
    assert (ehvi(torch.rand(3, 1, 3, dtype=torch.double)) == 0).all()


def test_outcome_constraints_are_refused_with_the_fix():
    model, X = _three_outcome_model()
    with pytest.raises(ValueError, match=r"takes no outcome constraint; use qNEHVI"):
        _ehvi(model, X, [0.0, -3.0], constraints=[lambda Y: Y[..., 1] - 0.5])


def test_the_front_can_be_that_of_the_observed_values():
    from botorch.utils.datasets import SupervisedDataset

    model, X = _three_outcome_model()
    Y = model.train_targets.T  # the observations, n x 3 (the GP batches its outcomes)
    data = SupervisedDataset(X, Y, feature_names=["a", "b", "c"], outcome_names=["s", "t", "q"])
    _, observed = _ehvi(model, X, [0.0, -3.0], training_data=data, front="observed")
    _, mean = _ehvi(model, X, [0.0, -3.0])
    signed = torch.stack([Y[:, 0], -Y[:, 2]], dim=-1)
    pareto = observed["partitioning"].pareto_Y
    for point in pareto:
        assert torch.isclose(signed, point).all(dim=-1).any()
    assert not torch.equal(pareto, mean["partitioning"].pareto_Y)  # the posterior means' front is another


def test_an_unknown_front_is_refused():
    model, X = _three_outcome_model()
    with pytest.raises(ValueError, match=r"front='best'; expected 'posterior_mean' or 'observed'"):
        _ehvi(model, X, [0.0, -3.0], front="best")
