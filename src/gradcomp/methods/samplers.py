"""Which rows each client uses in each round (``method.sampling``).

* ``with_replacement``: every round, client m draws b_m rows uniformly with replacement
  (QSGD, DIANA; the authors' ``rs_sgd.choice(n_m, b_m, replace=True)``).
* ``rr``: random reshuffling. Each epoch (or once) every client permutes its rows; step
  j = 0..n-2 uses permutation slots [j b_m, (j+1) b_m) and the last step takes all
  remaining rows (the authors' batching, spec 2.3).
* ``full``: every client uses all its rows every round (full local gradients, the shift
  paper's setting); no randomness.

``next_round()`` returns ``(batch, slot)``: the round's batch of all clients (built by the
problem, :meth:`~gradcomp.problems.rows.RowProblem.batch`) and the minibatch slot j (used by
per-slot shifts; 0 without RR).
"""

from __future__ import annotations

import numpy as np

from ..registry import ConfigError, Registry

#: Every sampler, by ``method.sampling``.
SAMPLERS = Registry("sampling")


def build_sampler(mcfg: dict, prob, constants, rng: np.random.Generator):
    return SAMPLERS[str(mcfg["sampling"])].from_config(mcfg, prob, constants, rng)


def _no_slot_shifts(mcfg: dict) -> None:
    if mcfg["shifts"] == "slot":
        raise ConfigError(f"method {mcfg.get('name')!r}: per-slot shifts (method.shifts=slot) need sampling=rr")


@SAMPLERS.register("with_replacement")
class WithReplacement:
    check = staticmethod(_no_slot_shifts)

    @classmethod
    def from_config(cls, mcfg, prob, constants, rng):
        return cls(prob, constants.b_m, rng)

    def __init__(self, prob, b_m: np.ndarray, rng: np.random.Generator):
        self.prob, self.rng = prob, rng
        b_m = np.asarray(b_m, dtype=np.int64)
        self._start = np.repeat(prob.offsets[:-1], b_m)
        # Runs of consecutive clients with the same n_m, (n_m, draws): one
        # ``integers(0, n_m, size)`` per run draws what ``integers(0, np.repeat(n_m, b_m))``
        # draws, in the same order from the same stream (both take NumPy's bounded 32-bit
        # Lemire draw per entry; tests/test_samplers.py), at half its cost.
        new_run = np.flatnonzero(np.diff(prob.n_m)) + 1
        self._runs = [(int(prob.n_m[c[0]]), int(b_m[c].sum())) for c in np.split(np.arange(prob.M), new_run)]
        self._layout = None

    def next_round(self):
        offset = np.concatenate([self.rng.integers(0, n, size=k) for n, k in self._runs])
        batch = self.prob.batch(self._start + offset, like=self._layout)
        if self._layout is None:
            self._layout = batch
        return batch, 0


@SAMPLERS.register("rr")
class Reshuffling:
    @staticmethod
    def check(mcfg: dict) -> None:
        if mcfg["reshuffle"] not in ("once", "every_epoch"):
            raise ConfigError(f"method {mcfg.get('name')!r}: sampling=rr needs method.reshuffle=once or every_epoch")

    @classmethod
    def from_config(cls, mcfg, prob, constants, rng):
        return cls(prob, constants.b_m, constants.n_steps, rng, every_epoch=mcfg["reshuffle"] == "every_epoch")

    def __init__(self, prob, b_m: np.ndarray, n_steps: int, rng: np.random.Generator, every_epoch: bool):
        self.prob, self.rng, self.n_steps, self.every_epoch = prob, rng, n_steps, every_epoch
        self.b_m = np.asarray(b_m, dtype=np.int64)
        if np.any(self.b_m * (n_steps - 1) >= prob.n_m):
            raise ValueError("batch size too large for the number of RR steps per epoch")
        n, M, client = n_steps, prob.M, prob.client_of_row
        # Where each place of the clients' permutations goes in the slot-major, client-minor
        # layout (a counting sort). Place k of the sorted order belongs to client
        # client_of_row[k], so this does not depend on the draw: computed once.
        pos = np.arange(prob.N) - prob.offsets[client]  # position within the client's permutation
        b = self.b_m[client]
        slot = np.minimum(pos // b, n - 1)
        # sizes[j, m] rows of client m in slot j; dest = start of block (j, m) + offset in it
        sizes = np.tile(self.b_m, (n, 1))
        sizes[-1] = prob.n_m - (n - 1) * self.b_m
        start = np.concatenate([[0], np.cumsum(sizes.ravel())[:-1]]).reshape(n, M)
        self._dest = start[slot, client] + pos - slot * b
        self._bounds = np.concatenate([start[:, 0], [prob.N]])
        self._batches = None
        self._slot = 0

    def _draw_epoch(self) -> list:
        prob, n = self.prob, self.n_steps
        # Independent uniform permutations of every client's rows in one sort: the keys
        # client + U[0, 1) keep clients apart and shuffle within each.
        order = np.argsort(prob.client_of_row + self.rng.random(prob.N))
        by_slot = np.empty_like(order)
        by_slot[self._dest] = order
        rows = [by_slot[self._bounds[j]:self._bounds[j + 1]] for j in range(n)]
        if not self.every_epoch:   # one permutation for the whole run: each batch is used every epoch
            return [prob.batch(r).compact() for r in rows]
        # slot j holds the same clients in the same places every epoch: its layout is reused
        like = self._batches or [None] * n
        return [prob.batch(r, like=b) for r, b in zip(rows, like)]

    def next_round(self):
        if self._slot == 0 and (self._batches is None or self.every_epoch):
            self._batches = self._draw_epoch()
        j = self._slot
        self._slot = (j + 1) % self.n_steps
        return self._batches[j], j


@SAMPLERS.register("full")
class Full:
    """Every row of every client, every round: ``grad f_m(x)`` itself (one batch, built once)."""

    check = staticmethod(_no_slot_shifts)

    @classmethod
    def from_config(cls, mcfg, prob, constants, rng):
        return cls(prob)

    def __init__(self, prob):
        self.batch = prob.batch(np.arange(prob.N)).compact()

    def next_round(self):
        return self.batch, 0
