"""lightning_ecopt.inference.prepare_for_inference: each knob applies to the tested model, or fails clearly."""

from __future__ import annotations

import re
import sys
import warnings
from typing import Any

import pytest
import torch
from lightning.pytorch import Callback, LightningModule, Trainer
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from lightning_ecopt.demos import DigitsCNN
from lightning_ecopt.inference import prepare_for_inference


def _trainer(**kwargs: Any) -> Trainer:
    return Trainer(
        accelerator="cpu",
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        enable_checkpointing=False,
        **kwargs,
    )


class _GraphsPerBatch(Callback):
    """The number of graphs dynamo has compiled so far, after each test batch."""

    def __init__(self) -> None:
        self.graphs: list[int] = []

    def on_test_batch_end(self, *args: Any, **kwargs: Any) -> None:
        from torch._dynamo.utils import counters

        self.graphs.append(counters["stats"]["unique_graphs"])


def test_compile_compiles_once_in_the_first_batch_not_at_every_measured_batch() -> None:
    # DigitsCNN's test_step updates a torchmetrics metric. Given torch.compile's wrapper, Lightning compiled test_step
    # too, and the metric's update counter (a guarded int) recompiled it at every batch until dynamo's recompile
    # limit: 8 compilations, most of them inside the energy window after the callback's warm-up batches.
    torch._dynamo.reset()
    model = prepare_for_inference(DigitsCNN(width=4, depth=1), compile=True)
    data = TensorDataset(torch.rand(12 * 8, 1, 8, 8), torch.randint(0, 10, (12 * 8,)))  # 12 full batches
    seen = _GraphsPerBatch()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _trainer(callbacks=[seen]).test(model, dataloaders=DataLoader(data, batch_size=8), verbose=False)
    assert len(seen.graphs) == 12
    assert seen.graphs[1:] == [seen.graphs[0]] * 11, seen.graphs  # nothing compiled after the first batch


def test_compile_keeps_the_module_and_its_state_dict_keys() -> None:
    # A checkpoint reused by every knob: the compiled model's weights are the same tensors under the same names.
    model = DigitsCNN(width=4, depth=1)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    out = prepare_for_inference(model, compile=True)
    assert out is model
    after = model.state_dict()
    assert after.keys() == before.keys()
    assert all(torch.equal(after[k], before[k]) for k in before)


def test_int8_is_refused_for_a_module_without_linear_layers() -> None:
    # quantize_dynamic changes nothing there: the figures would be labelled int8 for a float model.
    convs = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU())
    with pytest.raises(ValueError, match=r"Sequential has no nn.Linear layer that .*quantize_int8=false"):
        prepare_for_inference(convs, quantize_int8=True)
    attention_only = nn.Sequential(nn.MultiheadAttention(4, 1))  # its out_proj is a Linear quantize_dynamic skips
    with pytest.raises(ValueError, match=r"no nn.Linear layer that dynamic int8 quantisation can replace"):
        prepare_for_inference(attention_only, quantize_int8=True)


def test_int8_without_torch_ao_quantization_names_the_torch_and_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    # torch.ao.quantization is deprecated for torchao ("will be removed"): a torch without it raised a bare
    # ImportError from inside the trial, naming neither the knob nor a way out.
    monkeypatch.setitem(sys.modules, "torch.ao.quantization", None)  # what "import" finds once it is gone
    model = nn.Sequential(nn.Linear(4, 2))
    with pytest.raises(
        RuntimeError,
        match=rf"quantize_int8=True\): this torch \({re.escape(torch.__version__)}\) has no "
        r"torch.ao.quantization.quantize_dynamic \((ModuleNotFound|Import)Error: .*\); .* or set quantize_int8=false\.",
    ):
        prepare_for_inference(model, quantize_int8=True)
    assert type(model[0]) is nn.Linear  # left as it was


@pytest.mark.parametrize("module", [None, {"weight": torch.zeros(2)}])
def test_something_other_than_a_module_is_refused_naming_what_was_passed(module: Any) -> None:
    # None (a model that never got built, or a forgotten return) was an AttributeError: 'NoneType' ... 'eval'.
    name = type(module).__name__
    with pytest.raises(TypeError, match=rf"prepare_for_inference\({name}\): expected the trained torch.nn.Module"):
        prepare_for_inference(module)


def test_compile_without_a_cpp_compiler_fails_before_the_loop_with_a_clear_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Else the first test batch fails deep in inductor (InductorError: InvalidCxxCompiler), after training.
    import torch._inductor.cpp_builder as cpp_builder

    def no_compiler() -> str:
        raise RuntimeError("No working C++ compiler found")

    monkeypatch.setattr(cpp_builder, "get_cpp_compiler", no_compiler)
    with pytest.raises(RuntimeError, match=r"compile=True\): torch.compile cannot build CPU code.*compile=false"):
        prepare_for_inference(nn.Linear(2, 2), compile=True)


class _Recorder(LightningModule):
    """A one-Linear model whose test_step records the layer it ran and its output."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.layer = nn.Linear(4, 3)
        self.ran: list[tuple[str, torch.Tensor]] = []
        self.autocast: list[bool] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layer(x)

    def test_step(self, batch: Any, batch_idx: int) -> None:
        self.autocast.append(torch.is_autocast_enabled("cpu") and torch.get_autocast_dtype("cpu") == torch.bfloat16)
        self.ran.append((type(self.layer).__module__, self(batch[0])))


def test_the_test_loop_runs_the_int8_layers_under_bf16_autocast() -> None:
    model = _Recorder()
    x = torch.randn(8, 4)
    float_out = model(x).detach()
    prepare_for_inference(model, quantize_int8=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _trainer(precision="bf16-mixed").test(model, dataloaders=DataLoader(TensorDataset(x), batch_size=8))
    ((layer_module, out),) = model.ran
    assert model.autocast == [True]  # the test loop ran under bf16 autocast
    assert "quantized" in layer_module  # the loop ran the int8 layer, not the float one
    assert not torch.equal(out.float(), float_out)  # int8 rounding shows
    assert torch.allclose(out.float(), float_out, atol=0.05)


@pytest.mark.parametrize("precision", ["32-true", "bf16-mixed"])
def test_int8_and_compile_combine(precision: str) -> None:
    torch._dynamo.reset()
    torch.manual_seed(0)
    model = DigitsCNN(width=4, depth=1)
    data = TensorDataset(torch.rand(20, 1, 8, 8), torch.randint(0, 10, (20,)))
    reference = model.eval()(data.tensors[0]).argmax(1)
    prepare_for_inference(model, quantize_int8=True, compile=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        (out,) = _trainer(precision=precision).test(model, dataloaders=DataLoader(data, batch_size=8), verbose=False)
    assert "quantized" in type(model.classifier).__module__
    assert out["test/acc"] == pytest.approx((reference == data.tensors[1]).float().mean().item(), abs=0.1)
