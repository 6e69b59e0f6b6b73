"""The netvlad-lite head in torch: NetVLAD (decoupled soft-assignment) + whitening + L2.

It runs on the cached local features (B, n, C) and is initialised from the IR's own head
(``ir_head.read_head``), so before any step it gives the IR's descriptors; ``to_params`` hands
the trained values back for the export. The operations and eps values mirror
``netvlad_graph.netvlad_aggregate``/``whiten`` and ``lite._head`` one for one.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ..nets.lite import NetVladParams

_EPS = 1e-12


def _l2_add(x: torch.Tensor, dim: int) -> torch.Tensor:
    """x / sqrt(sum x^2 + eps): netvlad_tf's matconvnetNormalize (OpenVINO eps_mode 'add')."""
    return x / torch.sqrt((x * x).sum(dim=dim, keepdim=True) + _EPS)


def _l2_max(x: torch.Tensor, dim: int) -> torch.Tensor:
    """x / sqrt(max(sum x^2, eps)): tf.nn.l2_normalize (OpenVINO eps_mode 'max')."""
    return x / torch.sqrt(torch.clamp((x * x).sum(dim=dim, keepdim=True), min=_EPS))


class NetVladHead(nn.Module):
    """Local features (B, n, C), L2-normalised per location -> descriptors (B, dim)."""

    def __init__(self, params: NetVladParams) -> None:
        super().__init__()
        assignment, assignment_bias = params.soft_assignment()

        def parameter(value: np.ndarray) -> nn.Parameter:
            return nn.Parameter(torch.from_numpy(np.array(value, np.float32)))

        self.assignment = parameter(assignment)  # (C, K)
        self.assignment_bias = parameter(assignment_bias)  # (K,)
        self.centers = parameter(params.centers)  # (K, C)
        self.whitening = parameter(params.whitening)  # (dim, C*K)
        self.bias = parameter(params.bias)  # (dim,)
        self._template = params

    def vlad(self, features: torch.Tensor) -> torch.Tensor:
        """Intra-normalised, L2-normalised VLAD (B, C*K), flattened d-major (c*K + k)."""
        soft = torch.softmax(features @ self.assignment + self.assignment_bias, dim=-1)  # (B,n,K)
        weighted = features.transpose(1, 2) @ soft  # (B, C, K)
        residual = weighted - self.centers.T * soft.sum(dim=1, keepdim=True)
        intra = _l2_add(residual, dim=1)
        return _l2_add(intra.reshape(len(features), -1), dim=1)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return _l2_max(self.vlad(features) @ self.whitening.T + self.bias, dim=1)

    def to_params(self, info: dict[str, str]) -> NetVladParams:
        """The current values as :class:`NetVladParams` (for ``lite.refit_lite_model``)."""

        def value(p: torch.Tensor) -> np.ndarray:
            return p.detach().cpu().numpy().astype(np.float32)

        template = self._template
        return NetVladParams(
            template.tap,
            value(self.centers),
            template.alpha,
            value(self.whitening),
            value(self.bias),
            {**template.info, **info},
            assignment=value(self.assignment),
            assignment_bias=value(self.assignment_bias),
        )
