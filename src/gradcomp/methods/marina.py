"""MARINA (Gorbunov et al. 2021; paper cq Algorithm 1) and MARINA with a combinatorial
compressor (cq Algorithm 4), one class: the compressor decides which.

.. math::

    x^{k+1} = x^k - \\gamma g^k, \\qquad
    g^{k+1} = \\begin{cases} \\frac1n \\sum_i \\nabla f_i(x^{k+1}) & c_k = 1 \\\\
              g^k + \\frac1n \\sum_i C_i\\big(\\nabla f_i(x^{k+1}) - \\nabla f_i(x^k)\\big) & c_k = 0
              \\end{cases}

with one coin ``c_k ~ Bernoulli(p)`` shared by all clients (the authors' MiniFL draws it
from one seed on the server and the clients). Round 0 sends the full gradients
``g^0 = grad f(x^0)``; the bits of that round are charged to the first round. An independent
unbiased compressor makes this Algorithm 1; a joint one (CQ, PermK, PermK+CQ, ISCC) the
"combinatorial" Algorithm 4, ``g^{k+1} = g^k + C(Delta_1, ..., Delta_n)``: our compressors
return per-client messages whose mean is ``C``, so the update is the same line.

``p``: ``method.p``, or null for p* minimising the communication complexity
(bits per round) / gamma(p) with the problem's L_-, L_+, L_pm and the compressor's A, B
(cq D.2.1; :func:`gradcomp.theory.cq.optimal_p`). ``method.ab_constants`` chooses the
compressors' constants (``paper`` or ``exact``, spec A.1; :meth:`ab_constants`).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Optional

import numpy as np

from ..config import MethodConf, choice
from ..registry import ConfigError
from ..theory.cq import marina_gamma, optimal_p
from .base import METHODS, Method, stepsize_rule


class ABConstants(enum.Enum):
    paper = "paper"
    exact = "exact"


@dataclass
class MarinaConf(MethodConf):
    #: the probability of a synchronisation round; null: p* (cq D.2.1)
    p: Optional[float] = None
    #: the compressors' AB constants in the stepsize and in p*: paper cq's or the exact ones
    ab_constants: ABConstants = ABConstants.paper


@METHODS.register("marina")
class Marina(Method):
    schema, schema_name = MarinaConf, "base_marina"
    needs = "mean_unbiased"

    @classmethod
    def check(cls, cfg: dict) -> None:
        p = cfg.get("p")
        if p is not None and not 0.0 < float(p) <= 1.0:
            raise ConfigError(f"method {cfg['name']!r}: method.p={p} must lie in (0, 1] (or null for p*)")
        if cfg["sampling"] != "full" or cfg["shifts"] != "none":
            raise ConfigError(f"method {cfg['name']!r}: MARINA uses full local gradients and no shifts "
                              "(method.sampling=full, method.shifts=none)")

    def __init__(self, setup):
        super().__init__(setup)
        c, q = setup.constants, self.compressor
        if c.L_plus is None or c.L_pm is None:
            raise ConfigError(f"MARINA's stepsize needs L_+ and L_pm: problem {type(self.problem).__name__} "
                              "does not state them")
        self.convention = choice(setup.cfg["ab_constants"])
        self.A, self.B = (float(v) for v in q.ab_constants(self.M, self.convention))
        weighted = q.sampling_weights is not None
        self.L_plus, self.L_pm = (c.L_plus_w, c.L_pm_w) if weighted else (c.L_plus, c.L_pm)
        self.sync_bits = float(self.d * setup.bits_per_float)
        p = setup.cfg.get("p")
        self.p = float(p) if p is not None else optimal_p(
            self.d, self._bits, c.L, self.A, self.B, self.L_plus, self.L_pm, setup.bits_per_float)
        R = setup.R
        self.G = np.repeat(self.problem.client_grads(setup.x0)[None], R, axis=0)   # (R, n, d) at x^k
        self.g = self.G.mean(axis=1)                                                 # (R, d) g^k
        self._first = True

    def round(self, X, steps):
        batch, _ = self.sampler.next_round()
        X -= steps["gamma"][:, None] * self.g
        G_new = self.problem.batch_grads(batch, X)
        sync = self.rng.random() < self.p
        if sync:
            self.g = G_new.mean(axis=1)
            sent = self.sync_bits
        else:
            self.g += self.send(G_new - self.G).mean(axis=1)
            sent = self.bits()
        self.G = G_new
        if self._first:
            sent += self.sync_bits       # round 0: every client sent grad f_i(x^0)
            self._first = False
        return batch.n_rows, sent

    def keep(self, mask):
        self.G, self.g = self.G[mask], self.g[mask]

    def info(self) -> dict:
        return {"p": self.p, "A": self.A, "B": self.B, "ab_constants": self.convention,
                "L_plus_used": self.L_plus, "L_pm_used": self.L_pm}


@stepsize_rule("marina")
def gamma_marina(c, q, m) -> float:
    """MARINA's theorem (Szlendak et al. 2021; cq Theorem 2 with the weighted constants):
    ``1 / (L_- + sqrt((1 - p)/p ((A - B) L_+^2 + B L_pm^2)))``; p = 1 gives GD's 1/L_-."""
    return marina_gamma(m.p, c.L, m.A, m.B, m.L_plus, m.L_pm)
