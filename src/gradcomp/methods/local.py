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
``v_m = 1/n sum_i grad f_{m,B_i}(x)`` and gamma cancels.
"""

from __future__ import annotations

import numpy as np

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

    def round(self, X: np.ndarray, batches: list, prob, compress, gamma: np.ndarray,
              eta: np.ndarray) -> None:
        """One communication round: update ``X`` (R, d) in place.

        ``batches`` holds the n minibatches (all clients) of the local steps;
        ``gamma`` and ``eta`` (R,) the client and server stepsizes of every replica.
        """
        g = gamma[:, None, None]
        W = np.repeat(X[:, None, :], self.M, axis=1)  # (R, M, d): every client starts at x
        for batch in batches:
            if self.at_local_iterate:
                W -= g * prob.batch_grads_local(batch, W)
            else:
                W -= g * prob.batch_grads(batch, X)
        D = np.subtract(X[:, None, :], W, out=W)  # Delta_m = x - w_m^n
        if self.message == "nastya":
            v, s = D / (g * len(batches)), eta
        elif self.message == "fedcom":
            v, s = D / g, gamma * eta
        else:
            v, s = D, eta
        if self.h is None:
            g_hat = compress(v).mean(axis=1)
        else:
            delta = compress(v - self.h)
            g_hat = self.h.mean(axis=1)
            g_hat += delta.mean(axis=1)
            self.h += self.alpha * delta
        X -= s[:, None] * g_hat

    def keep(self, mask: np.ndarray) -> None:
        """Drop the shifts of replicas where ``mask`` is False (frozen replicas)."""
        if self.h is not None:
            self.h = np.ascontiguousarray(self.h[mask])
