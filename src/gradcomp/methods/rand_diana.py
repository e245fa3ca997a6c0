"""Rand-DIANA: shifts refreshed with the uncompressed gradient at random rounds
(shift paper, eq. (12), Theorem 4; spec-shift-paper.md 2.5).

.. math::

    h_m^k = \\nabla f_m(w_m^k), \\qquad
    w_m^{k+1} = x^k \\text{ with probability } p_m, \\text{ else } w_m^k,

and the step of DCGD-SHIFT, ``x <- x - gamma 1/M sum_m (h_m + Q(grad f_m(x) - h_m))``. When
its coin comes up, client m also sends ``grad f_m(x^k)`` uncompressed, so that the server
keeps ``h`` (Table 2: ``h <- h + B_p(grad f_m - h)``).

Our choices where the paper is silent (spec section 6, marked in the configs): the coins
are independent per client (``coin: per_client``; ``shared`` draws one coin for all, as
Tyurin et al.'s code), ``w_m^0 = x^0`` so ``h_m^0 = grad f_m(x^0)``, whose upload (d floats
per client) is counted in the first round, and a refresh costs d floats of
``compressor.bits_per_float`` bits (``count_refresh: false`` counts neither).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Optional

import numpy as np
from omegaconf import MISSING

from ..config import MethodConf, choice
from ..registry import ConfigError
from ..seeding import stream
from .base import METHODS, Method, stepsize_rule
from .shifts import Shifts


class Coin(enum.Enum):
    per_client = "per_client"
    shared = "shared"


@dataclass
class RandDianaConf(MethodConf):
    #: refresh probability p_m = p; null: 1 / (omega + 1) (the paper's runs, section 4.1)
    p: Optional[float] = None
    coin: Coin = MISSING
    #: Theorem 4's Lyapunov weight M = lyapunov_b 2 omega / (n p_M), b > 1 ...
    lyapunov_b: float = MISSING
    #: ... with p_M = lyapunov_p, or the run's own p when null (M recomputed for each p)
    lyapunov_p: Optional[float] = None
    #: count the uncompressed shift uploads (refreshes and h^0) in the bits; false: only the
    #: compressed messages (a reading of the paper's unstated bit model)
    count_refresh: bool = True


@METHODS.register("rand_diana")
class RandDiana(Method):
    schema, schema_name = RandDianaConf, "base_rand_diana"

    @classmethod
    def check(cls, cfg: dict) -> None:
        if cfg["shifts"] != "client":
            raise ConfigError(f"method {cfg['name']!r}: Rand-DIANA keeps one shift per client (method.shifts=client)")
        for key in ("p", "lyapunov_p"):
            v = cfg.get(key)
            if v is not None and not 0.0 < float(v) <= 1.0:
                raise ConfigError(f"method {cfg['name']!r}: method.{key}={v} is not a probability in (0, 1]")

    def __init__(self, setup):
        super().__init__(setup)
        cfg = setup.cfg
        omega = self.compressor.client_omega
        self.p = float(cfg["p"]) if cfg.get("p") is not None else 1.0 / (omega + 1.0)
        self.p_lyap = float(cfg["lyapunov_p"]) if cfg.get("lyapunov_p") is not None else self.p
        self.M_lyap = float(cfg["lyapunov_b"]) * 2.0 * omega / (self.M * self.p_lyap)
        self.shared = choice(cfg["coin"]) == "shared"
        self.coins = stream(setup.seed, "rand_diana/coins")
        self.shifts = Shifts(setup.R, self.M, self.d)
        self.started = False
        self.dense_bits = float(self.d * setup.bits_per_float) if cfg["count_refresh"] else 0.0

    def round(self, X, steps):
        batch, _ = self.sampler.next_round()
        G = self.problem.batch_grads(batch, X)
        bits = 0.0
        if not self.started:                     # h_m^0 = grad f_m(x^0), sent once
            self.shifts.h[0] = G
            self.started = True
            bits += self.dense_bits
        g_hat, _ = self.shifts.estimate(G, self.send)
        bits += self.bits()
        X -= steps["gamma"][:, None] * g_hat
        if self.shared:
            refresh = np.full(self.M, self.coins.random() < self.p)
        else:
            refresh = self.coins.random(self.M) < self.p
        if refresh.any():
            self.shifts.h[0][:, refresh] = G[:, refresh]
        return batch.n_rows, bits + self.dense_bits * float(refresh.mean())

    def keep(self, mask):
        self.shifts.keep(mask)

    def info(self):
        return {"p": self.p, "lyapunov_M": self.M_lyap, "lyapunov_p": self.p_lyap}


@stepsize_rule("shift_thm4")
def gamma_shift_thm4(c, q, m) -> float:
    """Rand-DIANA, shift paper Theorem 4: ``gamma = 1 / ((1 + 2 omega / n) L_max + M max_m(p_m L_m))``
    with ``M = b 2 omega / (n p_M)`` (the theorem needs M > 2 omega / (n p_min): b > 1 when
    p_M = p) and L_max = max_m L_m."""
    n, L_max = c.M, max(c.L_m)
    return 1.0 / ((1.0 + 2.0 * q.client_omega / n) * L_max + m.M_lyap * m.p * L_max)
