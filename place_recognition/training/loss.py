"""The two training losses, on L2-normalised descriptors with squared Euclidean distances.

* ``ranking_loss``: NetVLAD's weakly supervised triplet ranking loss (Arandjelovic et al.,
  CVPR 2016, eq. 7): GPS gives only *potential* positives, so the best of them must be closer
  than every negative by the margin: sum_j h(m + min_i d(q, p_i) - d(q, n_j)), h = hinge.
* ``batch_hard_triplet_loss``: the online-hardest triplet loss for labelled place IDs
  (Hermans et al. 2017): per anchor, its farthest same-place and nearest other-place image.
"""

from __future__ import annotations

import torch


def squared_distances(anchor: torch.Tensor, others: torch.Tensor) -> torch.Tensor:
    """|a - o|^2 for anchor (B, D) and others (B, M, D): (B, M)."""
    return ((others - anchor[:, None, :]) ** 2).sum(dim=-1)


def ranking_loss(
    query: torch.Tensor,
    positives: torch.Tensor,
    positive_mask: torch.Tensor,
    negatives: torch.Tensor,
    negative_mask: torch.Tensor,
    margin: float,
) -> torch.Tensor:
    """Mean over queries of sum_j hinge(margin + min_i d(q, p_i) - d(q, n_j)).

    ``query`` (B, D); ``positives`` (B, P, D) with ``positive_mask`` (B, P) marking the real
    ones (every query needs at least one); ``negatives`` (B, N, D) with ``negative_mask``.
    """
    if not bool(positive_mask.any(dim=1).all()):
        raise ValueError("every query needs at least one potential positive")
    inf = torch.tensor(float("inf"), dtype=query.dtype)
    best = torch.where(positive_mask, squared_distances(query, positives), inf).min(dim=1).values
    hinge = torch.relu(margin + best[:, None] - squared_distances(query, negatives))
    return (hinge * negative_mask).sum(dim=1).mean()


def batch_hard_triplet_loss(
    descriptors: torch.Tensor, labels: torch.Tensor, margin: float
) -> torch.Tensor:
    """Mean over anchors with a positive and a negative in the batch of
    hinge(margin + max_{same label} d(a, p) - min_{other label} d(a, n))."""
    distances = torch.cdist(descriptors, descriptors) ** 2
    same = labels[:, None] == labels[None, :]
    itself = torch.eye(len(labels), dtype=torch.bool)
    inf = torch.tensor(float("inf"), dtype=descriptors.dtype)
    hardest_positive = torch.where(same & ~itself, distances, -inf).max(dim=1).values
    hardest_negative = torch.where(~same, distances, inf).min(dim=1).values
    valid = torch.isfinite(hardest_positive) & torch.isfinite(hardest_negative)
    if not bool(valid.any()):
        return descriptors.sum() * 0.0  # no usable anchor: a zero that keeps the graph
    return torch.relu(margin + hardest_positive - hardest_negative)[valid].mean()
