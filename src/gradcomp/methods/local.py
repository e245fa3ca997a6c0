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
in one weighted pass over the epoch's rows (:meth:`LogisticRegression.mean_batch_grads`),
and it does not involve gamma at all, so the iterates of a (gamma, eta) pair depend on eta
only (:attr:`LocalMethod.gamma_free`); the loop then runs one replica per distinct eta and
shares its trajectory with every gamma. The authors' loop, ``w -= gamma grad f(x)`` then
``(x - w) / (gamma n)``, gives the same iterates up to rounding.

With a sparsifier (Rand-k) the message is needed only at the k coordinates each client
sends, so it is formed there only (the coordinate path of :func:`~gradcomp.methods.loop.optimize`).
Local iterates are kept with the replica axis last, ``WT`` of shape (M d, R), so that the
sparse products of a local step read and write contiguous arrays.
"""

from __future__ import annotations

import numpy as np

from .coords import client_mean_scatter

MESSAGES = ("nastya", "fedcom", "fedpaq")


class LocalMethod:
    """One of :data:`MESSAGES` with ``local_steps`` local steps per round.

    Parameters
    ----------
    R, M, d : int
        Replicas, clients, dimension.
    local_steps : int
        n, the local steps (minibatches) per round.
    message : {"nastya", "fedcom", "fedpaq"}
    at_local_iterate : bool
        ``local_gradient_at == "local_iterate"``.
    alpha : float or None
        DIANA shift stepsize; None for no shifts.
    """

    def __init__(self, R: int, M: int, d: int, local_steps: int, message: str,
                 at_local_iterate: bool, alpha: float | None = None):
        if message not in MESSAGES:
            raise ValueError(f"unknown local method {message!r}; valid: {', '.join(MESSAGES)}")
        self.M, self.local_steps, self.message = M, int(local_steps), message
        self.at_local_iterate = at_local_iterate
        self.alpha = alpha
        self.h = np.zeros((R, M, d)) if alpha is not None else None
        # 1/M sum_m h_m, kept up to date by the coordinate path (which never forms h.mean).
        self.h_bar = np.zeros((R, d)) if alpha is not None else None

    @property
    def gamma_free(self) -> bool:
        """Whether the iterates do not depend on the client stepsize gamma (only on eta).

        True for NASTYA's message with gradients at the server point: ``v_m`` is then
        ``1/n sum_i grad f_{m,B_i}(x)`` exactly, and gamma appears nowhere in the update.
        """
        return not self.at_local_iterate and self.message == "nastya"

    def _messages(self, X: np.ndarray, batches: list, prob, gamma: np.ndarray, S) -> np.ndarray:
        """``v_m`` of every replica and client before compression: (R, M, d), or (R, M, k) at ``S``."""
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

    def round(self, X: np.ndarray, batches: list, prob, compressor, rng: np.random.Generator,
              gamma: np.ndarray, eta: np.ndarray, coordinate_path: bool = False) -> None:
        """One communication round: update ``X`` (R, d) in place.

        ``batches`` holds the n minibatches (all clients) of the local steps; ``gamma`` and
        ``eta`` (R,) the client and server stepsizes of every replica. With
        ``coordinate_path`` the compressor is a sparsifier (it has ``sample``) and the
        messages are formed at its coordinates only; it draws the same random numbers as
        ``compressor.compress``, so both paths give the same iterates (to rounding).
        """
        M, d = self.M, X.shape[1]
        s = gamma * eta if self.message == "fedcom" else eta
        if not coordinate_path:
            v = self._messages(X, batches, prob, gamma, None)
            if self.h is None:
                g_hat = compressor.compress(v, rng).mean(axis=1)
            else:
                delta = compressor.compress(v - self.h, rng)
                g_hat = self.h.mean(axis=1)
                g_hat += delta.mean(axis=1)
                self.h += self.alpha * delta
        else:
            S = compressor.sample(rng, M)
            v = self._messages(X, batches, prob, gamma, S)  # (R, M, k): v_m at S_m
            if self.h is None:
                g_hat = client_mean_scatter(compressor.scale * v, S, d)
            else:
                clients = np.arange(M)[:, None]
                hS = self.h[:, clients, S]
                delta = compressor.scale * (v - hS)        # nonzeros of Q(v_m - h_m)
                delta_bar = client_mean_scatter(delta, S, d)
                g_hat = self.h_bar + delta_bar
                self.h[:, clients, S] = hS + self.alpha * delta
                self.h_bar += self.alpha * delta_bar
        X -= s[:, None] * g_hat

    def keep(self, mask: np.ndarray) -> None:
        """Drop the shifts of replicas where ``mask`` is False (frozen replicas)."""
        if self.h is not None:
            self.h = np.ascontiguousarray(self.h[mask])
            self.h_bar = np.ascontiguousarray(self.h_bar[mask])
