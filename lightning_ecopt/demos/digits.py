"""The ECOpt paper's CIFAR-10 CNN search space, scaled to scikit-learn's 8x8 digits (which ship offline)."""

from __future__ import annotations

from typing import Any, Literal

import lightning.pytorch as pl
import torch
from torch import nn
from torch.utils.data import ConcatDataset, DataLoader, Dataset, TensorDataset, random_split
from torchmetrics import MeanMetric
from torchmetrics.classification import MulticlassAccuracy

from lightning_ecopt._checks import check_positive_ints, check_timed_passes
from lightning_ecopt.inference import TimedPasses, timed_min_s

__all__ = ["DigitsCNN", "DigitsDataModule"]

KERNELS = (1, 3, 5, 7, 9)


class DigitsCNN(pl.LightningModule):
    """A plain CNN classifier for 8x8 digits, the paper's CIFAR-10 search space.

    ``depth`` blocks of (conv ``kernel`` x ``kernel``, ``width`` channels, ReLU, optional 2x2 max-pool), then a linear
    classifier. Logs ``train/loss``, ``val/loss``, ``val/acc`` and ``test/acc``.

    Args:
        width: Channels per convolution (the paper searched 1-128, log scale).
        depth: Convolution blocks (1-6).
        kernel: Kernel size, one of 1, 3, 5, 7, 9 (``same`` padding).
        pooling: 2x2 max-pooling after every block: halves the image each time, so an 8x8 digit allows depth <= 3.
        lr: Adam learning rate.

    Raises:
        ValueError: A configuration that cannot be built, e.g. pooling that shrinks the image to nothing; the message
            names the values and the limit.
    """

    def __init__(
        self, width: int = 16, depth: int = 2, kernel: int = 3, pooling: bool = False, lr: float = 1e-3
    ) -> None:
        super().__init__()
        if not isinstance(width, int) or width < 1:
            raise ValueError(f"DigitsCNN(width={width!r}): expected an int >= 1.")
        if not isinstance(depth, int) or depth < 1:
            raise ValueError(f"DigitsCNN(depth={depth!r}): expected an int >= 1.")
        if kernel not in KERNELS:
            raise ValueError(f"DigitsCNN(kernel={kernel!r}): choose from {KERNELS}.")
        if not isinstance(pooling, bool):  # a sweep's typo ('flase') would read as True: every trial pooled
            raise ValueError(f"DigitsCNN(pooling={pooling!r}): expected true or false.")
        side = 8
        for _ in range(depth if pooling else 0):
            side //= 2
        if side < 1:
            raise ValueError(
                f"DigitsCNN(depth={depth}, pooling=True): pooling after every block shrinks the 8x8 image to nothing "
                "after 3 blocks; use depth <= 3 or pooling=False."
            )
        if not lr > 0:
            raise ValueError(f"DigitsCNN(lr={lr!r}): expected a learning rate > 0.")
        self.save_hyperparameters()
        layers: list[nn.Module] = []
        channels = 1
        for _ in range(depth):
            layers += [nn.Conv2d(channels, width, kernel, padding=kernel // 2), nn.ReLU()]
            if pooling:
                layers.append(nn.MaxPool2d(2))
            channels = width
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(width * side * side, 10)
        # Evaluation metrics are accumulated per batch and logged once per loop: a ``self.log`` per batch costs
        # Lightning ~0.1-0.3 ms, as much as a forward pass of this model at batch 1, and would count as inference.
        self.val_loss = MeanMetric()
        self.val_acc = MulticlassAccuracy(num_classes=10, average="micro")
        self.test_acc = MulticlassAccuracy(num_classes=10, average="micro")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class logits for a batch of 1x8x8 images."""
        return self.classifier(self.features(x).flatten(1))

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> torch.Tensor:
        """Cross-entropy on one batch."""
        x, y = batch
        loss = nn.functional.cross_entropy(self(x), y)
        self.log("train/loss", loss, prog_bar=True)
        return loss

    def validation_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        """Accumulate validation loss and accuracy (logged once, when the loop ends)."""
        x, y = batch
        logits = self(x)
        self.val_loss.update(nn.functional.cross_entropy(logits, y), weight=len(y))
        self.val_acc.update(logits, y)

    def on_validation_epoch_end(self) -> None:
        """Log ``val/loss`` (the mean over samples) and ``val/acc``."""
        self.log("val/loss", self.val_loss, prog_bar=True)
        self.log("val/acc", self.val_acc, prog_bar=True)

    def test_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        """Accumulate test accuracy (logged once, when the loop ends)."""
        x, y = batch
        self.test_acc.update(self(x), y)

    def on_test_epoch_end(self) -> None:
        """Log ``test/acc``: the accuracy over every test sample."""
        self.log("test/acc", self.test_acc)

    def predict_step(self, batch: Any, batch_idx: int, dataloader_idx: int = 0) -> torch.Tensor:
        """Predicted classes."""
        x = batch[0] if isinstance(batch, list | tuple) else batch
        return self(x).argmax(dim=1)

    def configure_optimizers(self) -> torch.optim.Optimizer:
        """Adam, as in the paper."""
        return torch.optim.Adam(self.parameters(), lr=self.hparams["lr"])


class DigitsDataModule(pl.LightningDataModule):
    """scikit-learn's 1,797 handwritten 8x8 digits, split 60/20/20 with a fixed seed, scaled to [0, 1].

    Args:
        batch_size: Training and validation batch size: validation is part of training, so its cost must not depend
            on the inference batch size a sweep varies.
        eval_batch_size: Test and predict batch size (an inference-only parameter).
        eval_repeats: The test and predict sets are repeated this many times, so the energy window of a tiny model's
            inference lasts long enough to measure (the figures per sample are unchanged). With ``eval_min_s``, at
            most this many times.
        seed: Seed of the split.
        num_workers: DataLoader workers.
        eval_min_s: ``0`` (default): always ``eval_repeats`` passes. Else start no further pass once the measured
            batches have lasted this many seconds (:class:`~lightning_ecopt.inference.TimedPasses`): pass the
            ``EnergyCallback``'s ``min_duration_s``, so an evaluation repeats the set only as long as its energy
            window needs to be trusted (one pass at batch 1, up to ``eval_repeats`` at large batch sizes). Passes
            stay whole. ``"auto"``: the ``min_duration_s`` of the trainer's ``EnergyCallback`` for the loop, as
            resolved for its meter (:func:`~lightning_ecopt.inference.callback_min_duration_s`). On several devices
            the passes are fixed (``eval_repeats``, with a warning), so every rank runs the same batches.
        eval_warmup_batches: With ``eval_min_s``: the ``EnergyCallback``'s ``warmup_batches``, which its window
            excludes.

    Raises:
        ValueError: A batch size or repeat count that is not an int >= 1, ``eval_min_s`` not a finite number >= 0,
            or ``eval_warmup_batches`` not an int >= 0; the message names the value.
    """

    def __init__(
        self,
        batch_size: int = 64,
        eval_batch_size: int = 64,
        eval_repeats: int = 1,
        seed: int = 0,
        num_workers: int = 0,
        eval_min_s: float | Literal["auto"] = 0.0,
        eval_warmup_batches: int = 0,
    ) -> None:
        super().__init__()
        check_positive_ints(
            "DigitsDataModule", batch_size=batch_size, eval_batch_size=eval_batch_size, eval_repeats=eval_repeats
        )
        if isinstance(seed, bool) or not isinstance(seed, int) or not -(2**63) <= seed < 2**64:
            raise ValueError(
                f"DigitsDataModule(seed={seed!r}): expected an integer seed for the split, e.g. seed=0 (torch takes "
                f"-2**63 to 2**64 - 1)."
            )
        check_timed_passes(
            "DigitsDataModule",
            "eval",
            min_s=eval_min_s,
            warmup_batches=eval_warmup_batches,
            num_workers=num_workers,
            what="test",
        )
        self.batch_size = batch_size
        self.eval_batch_size = eval_batch_size
        self.eval_repeats = eval_repeats
        self.eval_min_s: float | Literal["auto"] = eval_min_s if eval_min_s == "auto" else float(eval_min_s)
        self.eval_warmup_batches = eval_warmup_batches
        self.seed = seed
        self.num_workers = num_workers
        self.train_set: Dataset[Any] | None = None

    def setup(self, stage: str | None = None) -> None:
        """Load and split the digits (no download: they ship with scikit-learn)."""
        if self.train_set is not None:
            return
        from sklearn.datasets import load_digits

        digits = load_digits()
        # In the default dtype, as the model's weights are (a script may set float64 before it builds the demo).
        x = torch.tensor(digits.images, dtype=torch.get_default_dtype()).unsqueeze(1) / 16.0
        y = torch.tensor(digits.target, dtype=torch.long)
        full = TensorDataset(x, y)
        self.train_set, self.val_set, self.test_set = random_split(
            full, [0.6, 0.2, 0.2], generator=torch.Generator().manual_seed(self.seed)
        )

    def _loader(self, dataset: Dataset[Any], batch_size: int, shuffle: bool = False) -> DataLoader[Any]:
        return DataLoader(dataset, batch_size=batch_size, shuffle=shuffle, num_workers=self.num_workers)

    def train_dataloader(self) -> DataLoader[Any]:
        """Shuffled training batches."""
        assert self.train_set is not None  # set by setup(); not user input
        return self._loader(self.train_set, self.batch_size, shuffle=True)

    def val_dataloader(self) -> DataLoader[Any]:
        """Validation batches, at the training batch size."""
        return self._loader(self.val_set, self.batch_size)

    def test_dataloader(self) -> DataLoader[Any] | TimedPasses:
        """The test set, repeated ``eval_repeats`` times (with ``eval_min_s``: as long as the energy window needs)."""
        return self._eval_loader("test")

    def predict_dataloader(self) -> DataLoader[Any] | TimedPasses:
        """Same samples as the test set."""
        return self._eval_loader("predict")

    def _eval_loader(self, stage: str) -> DataLoader[Any] | TimedPasses:
        min_s = timed_min_s(
            self.trainer,
            self.eval_min_s,
            stage,
            owner="DigitsDataModule",
            prefix="eval",
            repeats=self.eval_repeats,
            samples=len(self.test_set),
            what="test",
        )
        if min_s > 0:
            return TimedPasses(
                self.test_set,
                batch_size=self.eval_batch_size,
                max_passes=self.eval_repeats,
                min_s=min_s,
                warmup_batches=self.eval_warmup_batches,
            )
        return self._loader(ConcatDataset([self.test_set] * self.eval_repeats), self.eval_batch_size)
