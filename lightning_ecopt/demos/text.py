"""A tiny decoder-only transformer and a character-level data module over Python's own documentation text.

The text is ``pydoc_data.topics`` (about 465,000 characters of the Python reference, shipped with CPython), so nothing
is downloaded. The model is GPT-shaped (token and position embeddings, pre-norm causal self-attention blocks, a
linear head) and small enough to train for a few seconds on a CPU.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import lightning.pytorch as pl
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from lightning_ecopt._checks import check_positive_ints, check_timed_passes
from lightning_ecopt.inference import TimedPasses, timed_min_s

__all__ = ["CharTextDataModule", "TinyTransformerLM", "load_text"]

_UNKNOWN = "?"


def load_text(max_chars: int | None = None) -> str:
    """Python's bundled documentation topics as one string, non-ASCII characters replaced by ``?``.

    Args:
        max_chars: Keep only the first ``max_chars`` characters; ``None`` for all (~465k).

    Returns:
        The text.
    """
    from pydoc_data.topics import topics

    text = "".join(topics[k] for k in sorted(topics))
    text = "".join(c if c.isascii() else _UNKNOWN for c in text)
    return text if max_chars is None else text[:max_chars]


class _Windows(Dataset[tuple[torch.Tensor, torch.Tensor]]):
    """Non-overlapping (input, next-character target) windows of ``seq_len`` over a token tensor."""

    def __init__(self, tokens: torch.Tensor, seq_len: int) -> None:
        self.tokens = tokens
        self.seq_len = seq_len
        self.n = max((len(tokens) - 1) // seq_len, 0)

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        chunk = self.tokens[i * self.seq_len : (i + 1) * self.seq_len + 1]
        return chunk[:-1], chunk[1:]


class CharTextDataModule(pl.LightningDataModule):
    """Character-level language modelling on ``pydoc_data.topics``: split 80/10/10 in order, plus generation prompts.

    Generation (``predict_dataloader``) runs in whole batches of ``gen_batch_size``, so that tokens per joule is
    measured at the batch size a sweep records: a pass is ``gen_warmup_batches`` batches, then enough batches for
    every one of the ``n_prompts`` prompts, the prompts cycled to fill the last batch (greedy generation of a fixed
    number of tokens costs the same for every prompt). The warm-up batches the ``EnergyCallback`` excludes are thus
    never the only batches, and the measured ones after them hold every prompt at least once, whatever the batch
    size. With ``gen_min_s``, passes are repeated until the measured batches have lasted that long
    (:class:`~lightning_ecopt.inference.TimedPasses`), at most ``gen_repeats`` of them.

    Args:
        seq_len: Context length of the training, validation and test windows (characters).
        batch_size: Training (and validation/test) batch size.
        gen_batch_size: Prompts per generation batch (an inference-only parameter).
        n_prompts: Generation prompts, taken from the test text (the same for every ``gen_batch_size``).
        prompt_len: Characters per prompt.
        max_chars: Characters of text used (from the start); ``None`` for all.
        num_workers: DataLoader workers.
        gen_repeats: Passes over the prompts: always this many with ``gen_min_s=0``, else at most this many.
        gen_min_s: ``0`` (default): ``gen_repeats`` passes. Else start no further pass once the measured generation
            batches have lasted this many seconds: pass the ``EnergyCallback``'s ``min_duration_s``, or ``"auto"``
            to take it from the trainer's callback for the predict loop. On several devices the passes are fixed
            (``gen_repeats``, with a warning), so every rank runs the same batches.
        gen_warmup_batches: The ``EnergyCallback``'s ``warmup_batches``, which it excludes once, at the start of the
            loop: each pass has this many batches more than the prompts need, so that the first pass's measured
            batches still hold every prompt (later passes are measured whole; every batch is full either way).

    Raises:
        ValueError: A size below 1, text too short for one window of each split or for ``n_prompts`` prompts in
            the test split, ``gen_min_s`` not a finite number >= 0, ``gen_warmup_batches`` not an int >= 0, or
            ``gen_min_s`` with ``num_workers``.
    """

    def __init__(
        self,
        seq_len: int = 64,
        batch_size: int = 32,
        gen_batch_size: int = 8,
        n_prompts: int = 64,
        prompt_len: int = 16,
        max_chars: int | None = 200_000,
        num_workers: int = 0,
        gen_repeats: int = 1,
        gen_min_s: float | Literal["auto"] = 0.0,
        gen_warmup_batches: int = 0,
    ) -> None:
        super().__init__()
        check_positive_ints(
            "CharTextDataModule",
            seq_len=seq_len,
            batch_size=batch_size,
            gen_batch_size=gen_batch_size,
            n_prompts=n_prompts,
            prompt_len=prompt_len,
            gen_repeats=gen_repeats,
        )
        check_timed_passes(
            "CharTextDataModule",
            "gen",
            min_s=gen_min_s,
            warmup_batches=gen_warmup_batches,
            num_workers=num_workers,
            what="generation",
        )
        self.seq_len = seq_len
        self.batch_size = batch_size
        self.gen_batch_size = gen_batch_size
        self.n_prompts = n_prompts
        self.prompt_len = prompt_len
        self.max_chars = max_chars
        self.num_workers = num_workers
        self.gen_repeats = gen_repeats
        self.gen_min_s: float | Literal["auto"] = gen_min_s if gen_min_s == "auto" else float(gen_min_s)
        self.gen_warmup_batches = gen_warmup_batches
        self.text = load_text(max_chars)
        self.vocab = sorted(set(self.text))
        self.stoi = {c: i for i, c in enumerate(self.vocab)}
        n = len(self.text)
        if n * 0.1 < seq_len + 1 or n * 0.1 < prompt_len:
            raise ValueError(
                f"CharTextDataModule(max_chars={max_chars!r}, seq_len={seq_len}): {n} characters leave less than one "
                f"window per split; raise max_chars to at least {10 * (seq_len + 1)} or lower seq_len."
            )
        starts = n - int(0.9 * n) - prompt_len + 1  # where a prompt can start in the test split (see setup)
        if starts < n_prompts:
            raise ValueError(
                f"CharTextDataModule(n_prompts={n_prompts}, prompt_len={prompt_len}, max_chars={max_chars!r}): the "
                f"test split ({n - int(0.9 * n)} characters) holds {max(starts, 0)} distinct prompts of {prompt_len} "
                f"characters; lower n_prompts or prompt_len, or raise max_chars."
            )
        windows = max((int(0.8 * n) - 1) // seq_len, 0)  # the training split's windows (_Windows, as setup splits)
        if batch_size > windows:
            raise ValueError(
                f"CharTextDataModule(batch_size={batch_size}, seq_len={seq_len}, max_chars={max_chars!r}): the "
                f"training split holds {windows} windows, less than one batch, and its loader drops a partial batch: "
                f"no training step would run. Lower batch_size (at most {windows}) or seq_len, or raise max_chars."
            )
        self._splits: dict[str, torch.Tensor] = {}

    @property
    def vocab_size(self) -> int:
        """Distinct characters."""
        return len(self.vocab)

    def encode(self, text: str) -> torch.Tensor:
        """Characters to token ids (unknown characters as ``?``)."""
        unknown = self.stoi.get(_UNKNOWN, 0)
        return torch.tensor([self.stoi.get(c, unknown) for c in text], dtype=torch.long)

    def decode(self, tokens: torch.Tensor) -> str:
        """Token ids to characters."""
        return "".join(self.vocab[int(t)] for t in tokens)

    def setup(self, stage: str | None = None) -> None:
        """Encode the text and split it 80/10/10 (in order: no window crosses a split)."""
        if self._splits:
            return
        tokens = self.encode(self.text)
        a, b = int(0.8 * len(tokens)), int(0.9 * len(tokens))
        self._splits = {"train": tokens[:a], "val": tokens[a:b], "test": tokens[b:]}

    def _loader(self, split: str, shuffle: bool = False) -> DataLoader[Any]:
        return DataLoader(
            _Windows(self._splits[split], self.seq_len),
            batch_size=self.batch_size,
            shuffle=shuffle,
            num_workers=self.num_workers,
            drop_last=split == "train",
        )

    def train_dataloader(self) -> DataLoader[Any]:
        """Shuffled training windows."""
        return self._loader("train", shuffle=True)

    def val_dataloader(self) -> DataLoader[Any]:
        """Validation windows."""
        return self._loader("val")

    def test_dataloader(self) -> DataLoader[Any]:
        """Test windows (perplexity)."""
        return self._loader("test")

    def prompts(self) -> torch.Tensor:
        """The ``n_prompts`` generation prompts, ``prompt_len`` characters each, spread over the test text."""
        self.setup()
        test = self._splits["test"]
        stride = max((len(test) - self.prompt_len) // self.n_prompts, 1)
        return torch.stack([test[i * stride : i * stride + self.prompt_len] for i in range(self.n_prompts)])

    def predict_dataloader(self) -> DataLoader[Any] | TimedPasses:
        """The prompts in whole batches of ``gen_batch_size``, in passes of warm-up batches plus every prompt.

        With ``gen_min_s`` (on one device): :class:`~lightning_ecopt.inference.TimedPasses`, which stops after the
        pass in which the measured batches reach ``gen_min_s``; else ``gen_repeats`` passes.
        """
        prompts, size = self.prompts(), self.gen_batch_size
        per_pass = size * (self.gen_warmup_batches + -(-self.n_prompts // size))
        one_pass = prompts[torch.arange(per_pass) % self.n_prompts]  # cycled: every batch full
        min_s = timed_min_s(
            self.trainer,
            self.gen_min_s,
            "predict",
            owner="CharTextDataModule",
            prefix="gen",
            repeats=self.gen_repeats,
            samples=len(one_pass),
            what="generation",
        )
        if min_s > 0:
            return TimedPasses(
                one_pass,
                batch_size=size,
                max_passes=self.gen_repeats,
                min_s=min_s,
                warmup_batches=self.gen_warmup_batches,
            )
        passes = one_pass.repeat(self.gen_repeats, 1)
        return DataLoader(passes, batch_size=size, num_workers=self.num_workers)  # type: ignore[arg-type]


class TinyTransformerLM(pl.LightningModule):
    """A decoder-only transformer language model (GPT-shaped, pre-norm), for character-level text.

    Logs ``train/loss``, ``val/loss``, ``test/loss`` and ``test/perplexity`` (``exp`` of the mean next-character
    cross-entropy per test token). ``predict_step`` generates ``gen_tokens`` characters per prompt (sampling at
    ``temperature``, or greedy at 0) and returns them, shape ``(batch, gen_tokens)``.

    Args:
        vocab_size: Distinct tokens.
        width: Embedding width (``d_model``); a multiple of ``heads``.
        depth: Transformer blocks.
        heads: Attention heads per block.
        seq_len: Longest context (positions); generation keeps the last ``seq_len`` tokens.
        lr: AdamW learning rate.
        gen_tokens: Characters generated per prompt.
        temperature: Sampling temperature; 0 for greedy decoding.
        dropout: Dropout in the blocks.

    Raises:
        ValueError: ``width`` not a multiple of ``heads``, or a size below 1.
    """

    def __init__(
        self,
        vocab_size: int,
        width: int = 64,
        depth: int = 2,
        heads: int = 4,
        seq_len: int = 64,
        lr: float = 3e-3,
        gen_tokens: int = 32,
        temperature: float = 0.0,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        check_positive_ints(
            "TinyTransformerLM",
            vocab_size=vocab_size,
            width=width,
            depth=depth,
            heads=heads,
            seq_len=seq_len,
            gen_tokens=gen_tokens,
        )
        if width % heads:
            raise ValueError(
                f"TinyTransformerLM(width={width}, heads={heads}): the width must be a multiple of the heads; use "
                f"heads in {[h for h in range(1, width + 1) if width % h == 0 and h <= 16]}."
            )
        if not lr > 0:
            raise ValueError(f"TinyTransformerLM(lr={lr!r}): expected a learning rate > 0.")
        if temperature < 0:
            raise ValueError(f"TinyTransformerLM(temperature={temperature!r}): expected >= 0 (0 is greedy).")
        self.save_hyperparameters()
        self.token_emb = nn.Embedding(vocab_size, width)
        self.pos_emb = nn.Embedding(seq_len, width)
        block = nn.TransformerEncoderLayer(
            width, heads, dim_feedforward=4 * width, dropout=dropout, batch_first=True, norm_first=True
        )
        self.blocks = nn.TransformerEncoder(block, depth, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(width)
        self.head = nn.Linear(width, vocab_size)
        self._test_nll, self._test_tokens = 0.0, 0

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """Next-token logits, shape ``(batch, time, vocab)``, for token ids of shape ``(batch, time <= seq_len)``."""
        t = tokens.shape[1]
        positions = torch.arange(t, device=tokens.device)
        x = self.token_emb(tokens) + self.pos_emb(positions)
        mask = nn.Transformer.generate_square_subsequent_mask(t, device=tokens.device, dtype=x.dtype)
        return self.head(self.norm(self.blocks(x, mask=mask, is_causal=True)))

    def _loss(self, batch: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        x, y = batch
        logits = self(x)
        return nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]).float(), y.reshape(-1))

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> torch.Tensor:
        """Next-character cross-entropy."""
        loss = self._loss(batch)
        self.log("train/loss", loss, prog_bar=True)
        return loss

    def validation_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        """Validation loss."""
        self.log("val/loss", self._loss(batch), prog_bar=True)

    def on_test_epoch_start(self) -> None:
        """Reset the perplexity sums."""
        self._test_nll, self._test_tokens = 0.0, 0

    def test_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        """Test loss; accumulates the token-weighted cross-entropy for the perplexity."""
        loss = self._loss(batch)
        n = batch[1].numel()
        self._test_nll += float(loss) * n
        self._test_tokens += n
        self.log("test/loss", loss)

    def on_test_epoch_end(self) -> None:
        """``test/perplexity`` = exp(mean cross-entropy per test token)."""
        if self._test_tokens:
            self.log("test/perplexity", math.exp(self._test_nll / self._test_tokens))

    @torch.no_grad()
    def generate(self, prompts: torch.Tensor, n_tokens: int) -> torch.Tensor:
        """Generate ``n_tokens`` after each prompt (no KV cache: each step reads the last ``seq_len`` tokens).

        Args:
            prompts: Token ids, shape ``(batch, prompt_len)``.
            n_tokens: Tokens to generate.

        Returns:
            The generated tokens, shape ``(batch, n_tokens)``.
        """
        seq_len, temperature = self.hparams["seq_len"], self.hparams["temperature"]
        tokens = prompts
        for _ in range(n_tokens):
            logits = self(tokens[:, -seq_len:])[:, -1, :].float()
            if temperature > 0:
                nxt = torch.multinomial(torch.softmax(logits / temperature, dim=-1), 1)
            else:
                nxt = logits.argmax(dim=-1, keepdim=True)
            tokens = torch.cat([tokens, nxt], dim=1)
        return tokens[:, prompts.shape[1] :]

    def predict_step(self, batch: Any, batch_idx: int, dataloader_idx: int = 0) -> torch.Tensor:
        """Generated tokens for a batch of prompts, shape ``(batch, gen_tokens)``."""
        prompts = batch[0] if isinstance(batch, list | tuple) else batch
        return self.generate(prompts, self.hparams["gen_tokens"])

    def configure_optimizers(self) -> torch.optim.Optimizer:
        """AdamW."""
        return torch.optim.AdamW(self.parameters(), lr=self.hparams["lr"])
