"""Local methods: n local steps on every client, then one compressed communication.

One round, for every replica r (a pair of client stepsize gamma_r and server stepsize
eta_r) and every client m at once, on arrays of shape (R, M, d):

.. math::

    w_{m}^{0} = x, \\quad
    w_{m}^{i+1} = w_{m}^{i} - \\gamma \\nabla f_{m,B_i}(\\cdot), \\quad i = 0..n-1, \\quad
    \\Delta_m = x - w_m^{n},

then each client sends ``Q(v_m)`` (or, with DIANA shifts, ``Q(v_m - h_m)``) and the server
steps ``x <- x - s * 1/M sum_m ghat_m``:

* NASTYA (rr paper, Algorithms 3 and 4): ``v_m = Delta_m / (gamma n)``, ``s = eta``.
  Q-NASTYA is Algorithm 3; DIANA-NASTYA (Algorithm 4) adds one DIANA shift per client,
  ``ghat_m = h_m + Q(v_m - h_m)``, ``h_m <- h_m + alpha Q(v_m - h_m)``. NASTYA is Q-NASTYA
  with the identity compressor. Minibatches are random-reshuffling slots, so a round is
  one epoch.
* FedCOM (Haddadpour et al. 2021, the authors' fedcom.py): ``v_m = Delta_m / gamma``,
  ``s = gamma eta`` (eta is FedCOM's server stepsize gamma_s).
* FedPAQ (Reisizadeh et al. 2020, the authors' fedpaq.py): ``v_m = Delta_m``, ``s = eta``
  (eta = 1 in the authors' runs). Their code sends ``Q(w_m - x)`` and adds it; for a
  compressor with ``Q(-v) = -Q(v)`` (Rand-k, the identity) that is the same update.

Where the local gradient is taken is the switch ``local_gradient_at`` (spec 6.1):
``local_iterate`` evaluates it at ``w_m^i`` (the paper's algorithms, FedCOM, FedPAQ);
``server`` at the server point ``x`` (the authors' q-nastya.py and diana-nastya.py), so
``w_m^n = x - gamma sum_i grad f_{m,B_i}(x)`` in closed form and, for NASTYA's message,
``v_m = 1/n sum_i grad f_{m,B_i}(x)``: gamma cancels (spec 6.1). That message is computed
in one weighted pass over the epoch's rows (:meth:`~gradcomp.problems.rows.RowProblem.mean_batch_grads`),
and it does not involve gamma at all, so the iterates of a (gamma, eta) pair depend on eta
only (gamma is a free axis, :attr:`LocalMethod.free_axes`); the loop then runs one replica per distinct eta and
shares its trajectory with every gamma. The authors' loop, ``w -= gamma grad f(x)`` then
``(x - w) / (gamma n)``, gives the same iterates up to rounding.

With a sparsifier (Rand-k) the message is needed only at the k coordinates each client
sends, so it is formed there only (the coordinate path).
Local iterates are kept with the replica axis last, ``WT`` of shape (M d, R), so that the
sparse products of a local step read and write contiguous arrays.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from omegaconf import MISSING

from ..config import LocalGradientAt, MethodConf, choice
from ..registry import ConfigError
from .base import METHODS, Method, stepsize_rule
from .coords import client_mean_scatter
from .diana import diana_alpha
from .shifts import Shifts


@dataclass
class LocalConf(MethodConf):
    local_gradient_at: LocalGradientAt = MISSING


class LocalMethod(Method):
    """n local steps per round (n = ``constants.n_steps`` minibatches), then one message
    ``v_m`` per client, compressed (with a DIANA shift when ``shifts=client``), and a server
    step with eta. Subclasses set ``message``: ``nastya``, ``fedcom`` or ``fedpaq``.
    """

    schema, schema_name = LocalConf, "base_local"
    axes = ("gamma", "eta")
    message: str

    @classmethod
    def check(cls, cfg: dict) -> None:
        if cfg["shifts"] not in ("none", "client"):
            raise ConfigError(f"method {cfg['name']!r}: local methods take shifts=none or shifts=client "
                              "(one DIANA shift per client)")
        if cfg["shifts"] == "client" and cfg.get("alpha_scale") is None:
            raise ConfigError(f"method {cfg['name']!r}: DIANA shifts need method.alpha_scale")

    def __init__(self, setup):
        super().__init__(setup)
        cfg = setup.cfg
        self.local_steps = int(setup.constants.n_steps)
        self.at_local_iterate = choice(cfg["local_gradient_at"]) == "local_iterate"
        self.alpha = None
        self.shifts = None
        if cfg["shifts"] == "client":
            self.alpha = diana_alpha(float(cfg["alpha_scale"]), self.compressor.client_omega)
            self.shifts = Shifts(setup.R, self.M, self.d)

    @classmethod
    def free_axes_for(cls, cfg: dict) -> tuple[str, ...]:
        """gamma, when the iterates do not depend on the client stepsize (only on eta).

        True for NASTYA's message with gradients at the server point: ``v_m`` is then
        ``1/n sum_i grad f_{m,B_i}(x)`` exactly, and gamma appears nowhere in the update.
        """
        at_server = choice(cfg["local_gradient_at"]) == "server"
        return ("gamma",) if at_server and cls.message == "nastya" else ()

    def _messages(self, X: np.ndarray, batches: list, gamma: np.ndarray, S) -> np.ndarray:
        """``v_m`` of every replica and client before compression: (R, M, d), or (R, M, k) at ``S``."""
        prob = self.problem
        n = len(batches)
        if not self.at_local_iterate:
            # w_m^n = x - gamma sum_i grad f_{m,B_i}(x): Delta_m = gamma n mean_i grad f_{m,B_i}(x)
            v = prob.mean_batch_grads(batches, X, S)
            if self.message == "fedcom":      # Delta_m / gamma
                v *= n
            elif self.message == "fedpaq":    # Delta_m
                v *= (n * gamma)[:, None, None]
            return v
        R, d = X.shape
        M = self.M
        XT = np.ascontiguousarray(X.T)     # (d, R)
        WT = np.tile(XT, (M, 1))           # (M d, R): every client starts at x
        for batch in batches:
            prob.local_step(batch, WT, gamma)
        if S is None:
            D = np.subtract(np.tile(XT, (M, 1)), WT, out=WT).reshape(M, d, R).transpose(2, 0, 1)
        else:
            D = np.moveaxis(XT[S] - WT[np.arange(M)[:, None] * d + S], 2, 0)  # (R, M, k)
        if self.message == "nastya":       # Delta_m / (gamma n)
            c = 1.0 / (gamma * n)
        elif self.message == "fedcom":     # Delta_m / gamma
            c = 1.0 / gamma
        else:                              # Delta_m
            return np.ascontiguousarray(D)
        return D * c[:, None, None]

    def round(self, X, steps):
        """One communication round: n local steps, the messages, the server step (``X`` in place).

        With a sparsifier the messages are formed at its coordinates only; it draws the same
        random numbers as ``compressor.compress``, so both paths give the same iterates (to
        rounding).
        """
        gamma, eta = steps["gamma"], steps["eta"]
        batches = [self.sampler.next_round()[0] for _ in range(self.local_steps)]
        q, rng = self.compressor, self.rng
        M, d = self.M, X.shape[1]
        s = gamma * eta if self.message == "fedcom" else eta
        if not self.uses_coordinates:
            v = self._messages(X, batches, gamma, None)
            if self.shifts is None:
                g_hat = self.send(v).mean(axis=1)
            else:
                g_hat, delta = self.shifts.estimate(v, self.send)
                self.shifts.learn(delta, self.alpha)
        else:
            S = q.sample(rng, M)
            v = self._messages(X, batches, gamma, S)  # (R, M, k): v_m at S_m
            if self.shifts is None:
                g_hat = client_mean_scatter(q.scale * v, S, d)
            else:
                g_hat, delta, delta_bar, hS = self.shifts.estimate_at(v, S, q.scale)
                self.shifts.learn_at(S, hS, delta, delta_bar, self.alpha)
        X -= s[:, None] * g_hat
        return sum(b.n_rows for b in batches), self.bits()

    def keep(self, mask):
        if self.shifts is not None:
            self.shifts.keep(mask)

    def info(self):
        return {"alpha": self.alpha}


@METHODS.register("nastya")
class Nastya(LocalMethod):
    """NASTYA, Q-NASTYA (Algorithm 3) and DIANA-NASTYA (Algorithm 4) of the rr paper."""

    message = "nastya"
    only_hint = " (with compression it is Q-NASTYA: use method=q_nastya)"


@METHODS.register("fedcom")
class FedCOM(LocalMethod):
    message = "fedcom"


@METHODS.register("fedpaq")
class FedPAQ(LocalMethod):
    message = "fedpaq"


@stepsize_rule("q_nastya", axes=("gamma", "eta"))
def steps_q_nastya(c, q, m) -> tuple[float, float]:
    """Q-NASTYA, rr paper Theorem 2.3 (E.1) and the authors' q-nastya.py:
    ``gamma = 1 / (5 n L_max)``, ``eta = 1 / (16 L_max (1 + omega / M))``."""
    return (1.0 / (5.0 * c.n_steps * c.L_max),
            1.0 / (16.0 * c.L_max * (1.0 + q.client_omega / c.M)))


@stepsize_rule("diana_nastya", axes=("gamma", "eta"))
def steps_diana_nastya(c, q, m) -> tuple[float, float]:
    """DIANA-NASTYA, rr paper Theorem 2.4 (E.2) and the authors' diana-nastya.py:
    ``gamma = 1 / (16 n L_max)``, ``eta = min(alpha / (2 mu), 1 / (16 L_max (1 + 9 omega / M)))``."""
    return (1.0 / (16.0 * c.n_steps * c.L_max),
            min(m.alpha / (2.0 * c.mu), 1.0 / (16.0 * c.L_max * (1.0 + 9.0 * q.client_omega / c.M))))


@stepsize_rule("fedcom", axes=("gamma", "eta"))
def steps_fedcom(c, q, m) -> tuple[float, float]:
    """FedCOM (Haddadpour et al. 2021) as the authors' fedcom.py computes it (spec 2.9):
    server ``eta = gamma_s = M``, client ``gamma = 1 / (2 max_m L_m (1 + omega / M) gamma_s n)``."""
    gamma_s = float(c.M)
    return (1.0 / (2.0 * max(c.L_m) * (1.0 + q.client_omega / c.M) * gamma_s * c.n_steps), gamma_s)


@stepsize_rule("fedpaq", axes=("gamma", "eta"))
def steps_fedpaq(c, q, m) -> tuple[float, float]:
    """FedPAQ (Reisizadeh et al. 2020) as the authors' fedpaq.py computes it (spec 2.9):
    client ``gamma = 4 / (mu (k_0 n + 1))`` with ``k_0 = max(L/mu, 4 (B_1/mu^2 + 1), 1/n,
    4 M / (n mu^2))``, ``B_1 = 2 L^2 omega / M``, ``L = max_m L_m`` (the first value of
    FedPAQ's decaying schedule, used as a constant); server ``eta = 1``."""
    L, mu, n, M = max(c.L_m), c.mu, c.n_steps, c.M
    B1 = 2.0 * L**2 * q.client_omega / M
    k0 = max(L / mu, 4.0 * (B1 / mu**2 + 1.0), 1.0 / n, 4.0 * M / (n * mu**2))
    return 4.0 / (mu * (k0 * n + 1.0)), 1.0
