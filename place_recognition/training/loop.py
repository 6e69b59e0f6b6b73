"""The training loop: hard-negative mining, steps, validation Recall@1/5, checkpoints, early stop.

Deterministic for a seed: each epoch's query order comes from ``default_rng([seed, epoch])`` and
the mining cache is rebuilt at the start of every epoch (and every ``refresh_every`` steps in it),
so an epoch depends only on the weights it starts from; a checkpoint written after every epoch
(head, optimiser, best head, patience) therefore resumes to the very same result.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from ..core.files import atomic_write_with
from ..errors import PlaceRecognitionError, Remedy
from ..eval.metrics import rank_database, recall_at_n
from .data import TrainingSet, ValidationSet
from .head import NetVladHead
from .loss import batch_hard_triplet_loss, ranking_loss
from .settings import TrainSettings

logger = logging.getLogger(__name__)

RECALL_AT = (1, 5)
_CHUNK = 256  # images per no-grad forward pass (mining cache, validation)


@dataclass
class TrainResult:
    best_state: dict
    best_recall: dict[int, float]
    best_epoch: int
    history: list[dict] = field(default_factory=list)
    stopped_early: bool = False


def describe(head: NetVladHead, features: np.ndarray) -> np.ndarray:
    """Descriptors (N, dim) float32 of features (N, n, C), without gradients."""
    with torch.no_grad():
        out = [
            head(torch.from_numpy(np.ascontiguousarray(features[i : i + _CHUNK]))).numpy()
            for i in range(0, len(features), _CHUNK)
        ]
    return np.concatenate(out) if out else np.empty((0, head.bias.shape[0]), np.float32)


def validation_recall(head: NetVladHead, val: ValidationSet) -> dict[int, float]:
    indices, _ = rank_database(describe(head, val.queries), describe(head, val.database), 5)
    return recall_at_n(indices, val.positives, RECALL_AT)


def _better(a: dict[int, float], b: dict[int, float] | None) -> bool:
    return b is None or (a[1], a[5]) > (b[1], b[5])


class Trainer:
    """Fine-tunes ``head`` on ``train``; validation on ``val`` after every epoch."""

    def __init__(
        self,
        head: NetVladHead,
        train: TrainingSet,
        val: ValidationSet,
        settings: TrainSettings,
        checkpoint: Path,
        signature: dict,
    ) -> None:
        if settings.loss not in ("ranking", "triplet"):
            raise PlaceRecognitionError(
                f"unknown loss {settings.loss!r}: use ranking or triplet", remedy=Remedy.LOSS
            )
        if len(train.usable_queries) == 0:
            raise PlaceRecognitionError(
                "no training query has a database image within the positive radius: check the "
                "positions and the radius",
                remedy=Remedy.POSITIVE_RADIUS,
            )
        torch.manual_seed(settings.seed)
        torch.use_deterministic_algorithms(True)
        self.head, self.train, self.val, self.settings = head, train, val, settings
        self.checkpoint, self.signature = Path(checkpoint), {**signature, **asdict(settings)}
        # Stopping rules may differ on resume; everything else must match the checkpoint.
        for key in ("epochs", "patience"):
            self.signature.pop(key)
        self.optimizer = torch.optim.Adam(head.parameters(), lr=settings.lr)
        self._cache = np.empty((0, 0), np.float32)

    # --- one step of each loss -------------------------------------------------------------
    def _ranking_step(self, queries: np.ndarray) -> torch.Tensor:
        train, n_neg = self.train, self.settings.negatives
        query_desc = describe(self.head, train.queries[queries])
        similarity = query_desc @ self._cache.T  # (B, N): hardest negatives are the most similar
        pos_lists, neg_lists = [], []
        for i, q in enumerate(queries):
            similarity[i, train.near[q]] = -np.inf
            order = np.argsort(-similarity[i], kind="stable")[:n_neg]
            neg_lists.append(order[np.isfinite(similarity[i, order])])
            pos_lists.append(train.positives[q])
        rows = np.unique(np.concatenate([*pos_lists, *neg_lists]))
        where = {int(r): i for i, r in enumerate(rows)}
        db = self.head(torch.from_numpy(train.database[rows]))
        q = self.head(torch.from_numpy(train.queries[queries]))
        positives, pos_mask = _padded(db, pos_lists, where)
        negatives, neg_mask = _padded(db, neg_lists, where)
        return ranking_loss(q, positives, pos_mask, negatives, neg_mask, self.settings.margin)

    def _triplet_step(self, places: np.ndarray, rng: np.random.Generator) -> torch.Tensor:
        train, k = self.train, self.settings.images_per_place
        picked = []
        for place in places:
            members = np.flatnonzero(train.labels == place)
            picked.append(rng.choice(members, min(k, len(members)), replace=False))
        images = np.sort(np.concatenate(picked))
        n_queries = len(train.queries)
        features = np.concatenate(
            [
                train.queries[images[images < n_queries]],
                train.database[images[images >= n_queries] - n_queries],
            ]
        )
        descriptors = self.head(torch.from_numpy(features))
        labels = torch.from_numpy(train.labels[images])
        return batch_hard_triplet_loss(descriptors, labels, self.settings.margin)

    # --- epochs ---------------------------------------------------------------------------
    def _batches(self, rng: np.random.Generator) -> list[np.ndarray]:
        size = self.settings.batch
        if self.settings.loss == "triplet":
            labels, counts = np.unique(self.train.labels, return_counts=True)
            items = rng.permutation(labels[counts >= 2])
        else:
            items = rng.permutation(self.train.usable_queries)
        batches = [items[i : i + size] for i in range(0, len(items), size)]
        return batches[: self.settings.steps_per_epoch]

    def _epoch(self, epoch: int, progress: bool) -> float:
        rng = np.random.default_rng([self.settings.seed, epoch])
        batches = self._batches(rng)
        losses = []
        bar = tqdm(
            batches,
            total=len(batches),
            desc=f"epoch {epoch}",
            unit="step",
            leave=False,
            disable=not progress,
        )
        for step, batch in enumerate(bar):
            if self.settings.loss == "ranking":
                if step % self.settings.refresh_every == 0:
                    self._cache = describe(self.head, self.train.database)
                loss = self._ranking_step(batch)
            else:
                loss = self._triplet_step(batch, rng)
            self.optimizer.zero_grad()
            loss.backward()
            self.optimizer.step()
            losses.append(float(loss.detach()))
            bar.set_postfix(loss=f"{np.mean(losses):.4f}")
        return float(np.mean(losses)) if losses else 0.0

    def run(self, resume: bool = False, progress: bool = False) -> TrainResult:
        state = self._load() if resume else None
        if state is None:
            recall = validation_recall(self.head, self.val)
            result = TrainResult(_copy(self.head.state_dict()), recall, 0)
            result.history.append({"epoch": 0, "loss": None, "recall": recall})
            start, bad = 1, 0
        else:
            result, start, bad = state
        bar = tqdm(
            range(start, self.settings.epochs + 1),
            desc="training",
            unit="epoch",
            initial=start - 1,
            total=self.settings.epochs,
            disable=not progress,
        )
        last = result.history[-1]["recall"]
        bar.set_postfix(R1=f"{last[1]:.3f}", R5=f"{last[5]:.3f}")
        for epoch in bar:
            if bad >= self.settings.patience:
                result.stopped_early = True
                break
            loss = self._epoch(epoch, progress)
            recall = validation_recall(self.head, self.val)
            result.history.append({"epoch": epoch, "loss": loss, "recall": recall})
            if _better(recall, result.best_recall):
                result.best_state, result.best_recall, result.best_epoch = (
                    _copy(self.head.state_dict()),
                    recall,
                    epoch,
                )
                bad = 0
            else:
                bad += 1
            bar.set_postfix(
                loss=f"{loss:.4f}",
                R1=f"{recall[1]:.3f}",
                R5=f"{recall[5]:.3f}",
                best=f"{result.best_recall[1]:.3f}",
            )
            logger.info(
                "epoch %d: loss %.4f, validation R@1 %.3f R@5 %.3f",
                epoch,
                loss,
                recall[1],
                recall[5],
            )
            self._save(result, epoch, bad)
        result.stopped_early = result.stopped_early or bad >= self.settings.patience
        return result

    # --- checkpoints ----------------------------------------------------------------------
    def _save(self, result: TrainResult, epoch: int, bad: int) -> None:
        state = {
            "signature": self.signature,
            "epoch": epoch,
            "head": self.head.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "best_state": result.best_state,
            "best_recall": result.best_recall,
            "best_epoch": result.best_epoch,
            "history": result.history,
            "bad_epochs": bad,
        }
        self.checkpoint.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_with(self.checkpoint, lambda tmp: torch.save(state, tmp))

    def _load(self) -> tuple[TrainResult, int, int] | None:
        if not self.checkpoint.is_file():
            logger.warning("no checkpoint at %s: starting from the base model", self.checkpoint)
            return None
        try:
            state = torch.load(self.checkpoint, weights_only=True)
        except Exception as exc:
            raise PlaceRecognitionError(
                f"cannot read the checkpoint {self.checkpoint} ({exc}); delete it or start "
                "afresh instead of resuming",
                remedy=Remedy.RESUME,
            ) from exc
        differs = _differences(state["signature"], self.signature)
        if differs:
            raise PlaceRecognitionError(
                f"{self.checkpoint} was made with other settings ({differs}): use the same "
                "settings, another output folder, or start afresh instead of resuming",
                remedy=Remedy.RESUME,
            )
        self.head.load_state_dict(state["head"])
        self.optimizer.load_state_dict(state["optimizer"])
        result = TrainResult(
            state["best_state"], state["best_recall"], state["best_epoch"], state["history"]
        )
        logger.info("resuming after epoch %d from %s", state["epoch"], self.checkpoint)
        return result, state["epoch"] + 1, state["bad_epochs"]


def _copy(state: dict) -> dict:
    return {k: v.detach().clone() for k, v in state.items()}


def _padded(
    descriptors: torch.Tensor, lists: list[np.ndarray], where: dict[int, int]
) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, M, D) descriptors of each list's rows, zero-padded, and the (B, M) mask."""
    width = max(1, max(len(rows) for rows in lists))
    index = torch.zeros((len(lists), width), dtype=torch.long)
    mask = torch.zeros((len(lists), width), dtype=torch.bool)
    for i, rows in enumerate(lists):
        index[i, : len(rows)] = torch.tensor([where[int(r)] for r in rows], dtype=torch.long)
        mask[i, : len(rows)] = True
    return descriptors[index], mask


def _differences(saved: dict, wanted: dict) -> str:
    keys = sorted(k for k in set(saved) | set(wanted) if saved.get(k) != wanted.get(k))
    return ", ".join(f"{k}: {saved.get(k)!r} vs {wanted.get(k)!r}" for k in keys)
