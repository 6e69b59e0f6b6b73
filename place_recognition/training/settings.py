"""What a training run is asked to do: its data options and the optimiser's settings.

Kept free of torch so that ``train_netvlad``'s options can take their defaults from here (and
cannot drift from them) without importing torch to print its help.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class TrainSettings:
    epochs: int = 10
    batch: int = 16  # queries per step (ranking) or places per step (triplet)
    lr: float = 1e-4
    margin: float = 0.1
    negatives: int = 10  # hardest negatives per query
    refresh_every: int = 50  # steps between refreshes of the mining cache
    patience: int = 3  # epochs without a better validation Recall@1 before stopping
    seed: int = 0
    loss: str = "ranking"  # or "triplet"
    images_per_place: int = 4  # triplet: images drawn per place
    steps_per_epoch: int | None = None  # cap: an epoch = a random subset of the tuples


@dataclass(frozen=True)
class RunOptions:
    dataset: Path
    base_model: Path
    output: Path
    positions_csv: Path | None = None
    position_from_name: bool = False
    pos_radius: float = 10.0  # potential positives lie within it
    neg_radius: float = 25.0  # negatives lie beyond it; the split gap exceeds it
    val_fraction: float = 0.2  # route share of the validation segment
    fp16: bool = True
    features_cache: Path | None = None
