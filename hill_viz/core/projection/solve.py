"""Latent targets through a non-linear view map P: R^d -> R^2.

For a latent z and a view target t the teacher wants the z* nearest z with P(z*) = t. For
a linear P that is z + P^+ (t - P z); for a network it is found by damped Gauss-Newton
steps z <- z + J^T (J J^T + eps I)^-1 (t - P(z)) with J the local 2 x d Jacobian: each
step is the least-norm move that fixes the residual to first order, so the path stays
close to z (the `eps |z* - z|^2` term of the objective acts as the damping). A step that
does not reduce a row's residual is halved for that row.
"""
from __future__ import annotations

from typing import Callable

import torch

Map = Callable[[torch.Tensor], torch.Tensor]  # (B, d) -> (B, 2)


def jacobian(fn: Map, z: torch.Tensor) -> torch.Tensor:
    """Per-row Jacobians (B, 2, d) of a row-wise map (rows do not interact)."""
    z = z.detach().requires_grad_(True)
    with torch.enable_grad():
        y = fn(z)
        rows = [torch.autograd.grad(y[:, i].sum(), z, retain_graph=i == 0)[0] for i in range(y.shape[1])]
    return torch.stack(rows, dim=1)


def gauss_newton_targets(fn: Map, z: torch.Tensor, t: torch.Tensor, eps: float = 1e-6,
                         steps: int = 30, tol: float = 1e-4, halvings: int = 6) -> torch.Tensor:
    """z* (B, d) with fn(z*) close to t (B, 2), starting at z and moving as little as it can.

    Stops when every row's residual is below `tol` (in view units) or after `steps`.
    """
    z_star = z.detach().clone()
    with torch.no_grad():
        residual = t - fn(z_star)                                          # (B, 2)
    for _ in range(steps):
        err = residual.norm(dim=1)
        active = err > tol
        if not bool(active.any()):
            break
        za, ra = z_star[active], residual[active]
        j = jacobian(fn, za)                                               # (A, 2, d)
        gram = j @ j.transpose(1, 2)                                       # (A, 2, 2)
        damping = eps * (gram.diagonal(dim1=1, dim2=2).sum(1) / 2).clamp(min=1e-12)
        gram = gram + damping[:, None, None] * torch.eye(2, dtype=z.dtype)
        step = (j.transpose(1, 2) @ torch.linalg.solve(gram, ra.unsqueeze(2))).squeeze(2)  # (A, d)
        z_new, r_new = _accept_improving(fn, za, t[active], ra, step, halvings)
        z_star[active], residual[active] = z_new, r_new
    return z_star


def _accept_improving(fn: Map, z: torch.Tensor, t: torch.Tensor, r: torch.Tensor, step: torch.Tensor,
                      halvings: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Take `step` where it lowers the residual; elsewhere try half of it, and so on."""
    err = r.norm(dim=1)
    scale = torch.ones(len(z), dtype=z.dtype)
    pending = torch.ones(len(z), dtype=torch.bool)
    z_out, r_out = z.clone(), r.clone()
    with torch.no_grad():
        for _ in range(halvings + 1):
            cand = z[pending] + scale[pending, None] * step[pending]
            r_cand = t[pending] - fn(cand)
            better = r_cand.norm(dim=1) < err[pending]
            where = pending.nonzero().squeeze(1)
            z_out[where[better]], r_out[where[better]] = cand[better], r_cand[better]
            pending[where[better]] = False
            scale[pending] /= 2
            if not bool(pending.any()):
                break
    return z_out, r_out


def null_space_part(j: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """(I - J^+ J) v per row: the part of displacements v (B, d) that the map's local
    Jacobians j (B, 2, d) do not see."""
    gram = j @ j.transpose(1, 2)                                           # (B, 2, 2)
    seen = torch.linalg.pinv(gram) @ (j @ v.unsqueeze(2))                  # (B, 2, 1)
    return v - (j.transpose(1, 2) @ seen).squeeze(2)
