"""The CNN and its training loop, shared by the single-GPU and the data-parallel programs.

Data lives on the device as whole tensors (MNIST is 47 MB as float32): batches are index
slices, so no DataLoader workers or host->device copies sit in the step.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import torch
from torch import nn
import torch.nn.functional as F


class SmallCNN(nn.Module):
    """Two conv layers + pooling + MLP head; the same net fits 8x8 digits and 28x28 MNIST."""

    def __init__(self, num_classes: int = 10, width: int = 32, dropout: float = 0.25,
                 mean: float = 0.0, std: float = 1.0) -> None:
        super().__init__()
        # Input normalization travels with the weights, so clients send plain [0, 1] pixels.
        self.register_buffer("mean", torch.tensor(float(mean)))
        self.register_buffer("std", torch.tensor(float(std)))
        self.features = nn.Sequential(
            nn.Conv2d(1, width, 3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(width, 2 * width, 3, padding=1), nn.ReLU(inplace=True),
            nn.MaxPool2d(2),
            nn.AdaptiveAvgPool2d(4),
        )
        self.head = nn.Sequential(
            nn.Flatten(), nn.Dropout(dropout),
            nn.Linear(2 * width * 16, 128), nn.ReLU(inplace=True), nn.Dropout(2 * dropout),
            nn.Linear(128, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features((x - self.mean) / self.std))


@dataclass
class EpochResult:
    epoch: int
    train_loss: float
    test_accuracy: float
    train_seconds: float  # cumulative time spent in training steps
    elapsed_seconds: float  # cumulative wall time since training began (incl. evaluation)
    images: int  # cumulative training images processed (by this process)


@dataclass
class TrainOutcome:
    history: list[EpochResult] = field(default_factory=list)
    time_to_target_s: float | None = None
    epoch_reached_target: int | None = None

    @property
    def final(self) -> EpochResult:
        return self.history[-1]

    @property
    def best_accuracy(self) -> float:
        return max(r.test_accuracy for r in self.history)


@torch.no_grad()
def count_correct(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch: int, amp: Callable[[], Any]) -> int:
    model.eval()
    correct = 0
    for start in range(0, len(x), batch):
        with amp():
            logits = model(x[start:start + batch])
        correct += int((logits.argmax(1) == y[start:start + batch]).sum())
    model.train()
    return correct


def train(
    model: nn.Module,
    train_x: torch.Tensor,
    train_y: torch.Tensor,
    *,
    epochs: int,
    batch_size: int,
    lr: float,
    amp: Callable[[], Any],
    evaluate: Callable[[], float],
    sync: Callable[[], None],
    target_accuracy: float | None = None,
    stop_at_target: bool = False,
    shard: tuple[int, int] = (0, 1),
    seed: int = 0,
    on_epoch: Callable[[EpochResult], None] | None = None,
    reduce_loss: Callable[[float], float] = lambda v: v,
) -> TrainOutcome:
    """Train with AdamW + one-cycle LR; `shard=(rank, world)` makes each rank take a strided
    slice of the same per-epoch permutation (what DistributedSampler does)."""
    rank, world = shard
    device = train_x.device
    per_rank = len(train_x) // world
    steps_per_epoch = max(1, math.ceil(per_rank / batch_size))
    fused = device.type == "cuda"
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4, fused=fused)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=epochs * steps_per_epoch, pct_start=0.25)
    gen = torch.Generator(device="cpu").manual_seed(seed)
    outcome = TrainOutcome()
    model.train()
    sync()
    began = time.perf_counter()
    train_seconds = 0.0
    images = 0
    for epoch in range(1, epochs + 1):
        perm = torch.randperm(len(train_x), generator=gen)[rank:per_rank * world:world].to(device, non_blocking=True)
        sync()
        t0 = time.perf_counter()
        loss_sum = torch.zeros((), device=device)
        for step in range(steps_per_epoch):
            idx = perm[step * batch_size:(step + 1) * batch_size]
            with amp():
                loss = F.cross_entropy(model(train_x[idx]), train_y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            loss_sum += loss.detach()
            images += len(idx)
        sync()
        train_seconds += time.perf_counter() - t0
        accuracy = evaluate()
        elapsed = time.perf_counter() - began
        result = EpochResult(epoch, reduce_loss(float(loss_sum) / steps_per_epoch), accuracy, train_seconds, elapsed, images)
        outcome.history.append(result)
        if on_epoch:
            on_epoch(result)
        if target_accuracy is not None and outcome.time_to_target_s is None and accuracy >= target_accuracy:
            outcome.time_to_target_s = elapsed
            outcome.epoch_reached_target = epoch
            if stop_at_target:
                break
    return outcome
