"""Inference-only transforms of a trained LightningModule: dynamic int8 quantisation and ``torch.compile``.

Precision is the Trainer's business (``Trainer(precision="bf16-mixed")`` autocasts on CPU and GPU); the evaluation
batch size is the data module's. These transforms change how a trained model runs, never what it learnt, so a sweep
can mark them inference-only (``hydra.sweeper.inference_params``) and reuse one checkpoint.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import lightning.pytorch as pl

__all__ = ["PRECISIONS", "prepare_for_inference"]

PRECISIONS = ("32-true", "bf16-mixed", "16-mixed")
"""Evaluation precisions the examples accept (Lightning's names); bf16 autocast works on CPU, fp16 needs a GPU."""


def prepare_for_inference(module: pl.LightningModule, *, quantize_int8: bool = False, compile: bool = False) -> Any:
    """Apply inference-only transforms to a trained module, in place where possible.

    Args:
        module: The trained module (its weights already loaded).
        quantize_int8: Replace its ``nn.Linear`` layers by dynamically quantised int8 ones
            (``torch.ao.quantization.quantize_dynamic``; CPU only, weights int8, activations quantised per batch).
            Convolutions are left as they are. Their inputs are cast to float32, so this combines with bf16
            autocast (the layers before them run in bf16).
        compile: Wrap the module with ``torch.compile`` (Lightning's Trainer accepts the compiled module). On CPU the
            first batches pay the compilation; the energy window's warm-up batches absorb part of it.

    Returns:
        The module to evaluate: ``module`` itself, or its compiled wrapper.

    Raises:
        TypeError: ``quantize_int8`` or ``compile`` is not a bool.
        ValueError: int8 quantisation of a module on a GPU.
    """
    import torch
    from torch import nn

    for name, value in (("quantize_int8", quantize_int8), ("compile", compile)):
        if not isinstance(value, bool):
            raise TypeError(f"prepare_for_inference({name}={value!r}): expected true or false.")
    module.eval()
    if quantize_int8:
        if any(p.device.type != "cpu" for p in module.parameters()):
            raise ValueError(
                "prepare_for_inference(quantize_int8=True): dynamic int8 quantisation runs on CPU only; evaluate on "
                "CPU (trainer.accelerator=cpu) or set quantize_int8=false."
            )
        import warnings

        with warnings.catch_warnings():  # torch.ao.quantization announces its move to torchao
            warnings.simplefilter("ignore", DeprecationWarning)
            warnings.simplefilter("ignore", FutureWarning)
            from torch.ao.quantization import quantize_dynamic

            quantize_dynamic(module, {nn.Linear}, dtype=torch.qint8, inplace=True)
        for layer in module.modules():
            if "quantized" in type(layer).__module__ and "Linear" in type(layer).__name__:
                # int8 dynamic Linear takes float32 activations: under bf16 autocast the layers before it give bf16.
                layer.register_forward_pre_hook(_to_float32)
    if compile:
        return torch.compile(module)
    return module


def _to_float32(layer: Any, args: tuple[Any, ...]) -> tuple[Any, ...]:
    """Forward pre-hook: floating-point tensor inputs as float32."""
    return tuple(a.float() if hasattr(a, "is_floating_point") and a.is_floating_point() else a for a in args)
