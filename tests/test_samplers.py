"""The minibatch samplers draw what the authors' code draws, from the same stream."""

import numpy as np
import pytest
from conftest import make_problem

from gradcomp.methods.samplers import WithReplacement


@pytest.mark.parametrize("N, M, b_m", [(407, 6, [3, 1, 4, 1, 5, 9]),   # n_m = 67, 68 x 5
                                       (10, 4, [2, 2, 1, 3])])          # n_m = 2, 3, 2, 3
def test_with_replacement_draws_the_broadcast_stream(N, M, b_m):
    """One ``integers(0, n_m, size)`` per run of equal n_m draws exactly
    ``integers(0, repeat(n_m, b_m))`` (the authors' ``choice(n_m, b_m, replace=True)`` per
    client), and leaves the stream where it leaves it; every round's batch has the layout
    of a batch built from scratch."""
    prob = make_problem(N=N, d=5, M=M)
    b_m = np.asarray(b_m)
    sampler = WithReplacement(prob, b_m, np.random.default_rng(11))
    ref = np.random.default_rng(11)
    start, size = np.repeat(prob.offsets[:-1], b_m), np.repeat(prob.n_m, b_m)
    for _ in range(4):
        batch, slot = sampler.next_round()
        expected = start + ref.integers(0, size)
        np.testing.assert_array_equal(batch.rows, expected)
        fresh = prob.batch(expected)
        for name in ("client", "client_ptr", "inv_size", "y"):
            np.testing.assert_array_equal(getattr(batch, name), getattr(fresh, name))
        assert slot == 0
    assert sampler.rng.random() == ref.random()


def _reference_rr_epoch(prob, b_m, n, rng):
    """The rows of the n slots of one RR epoch, as the authors batch them (spec 2.3): every
    client permutes its rows; slot j < n - 1 takes places [j b_m, (j+1) b_m), the last slot
    the rest; within a slot, client after client."""
    order = np.argsort(prob.client_of_row + rng.random(prob.N))   # client by client, shuffled within
    perms = [order[prob.offsets[m]:prob.offsets[m + 1]] for m in range(prob.M)]
    return [np.concatenate([perms[m][j * b_m[m]:(j + 1) * b_m[m] if j < n - 1 else None] for m in range(prob.M)])
            for j in range(n)]


@pytest.mark.parametrize("every_epoch", [True, False])
def test_reshuffling_slots_are_the_authors_batches(every_epoch):
    from gradcomp.methods.samplers import Reshuffling

    prob = make_problem(N=407, d=5, M=6)
    b_m, n = np.array([3, 5, 4, 6, 5, 9]), 7
    sampler = Reshuffling(prob, b_m, n, np.random.default_rng(4), every_epoch=every_epoch)
    ref = np.random.default_rng(4)
    for epoch in range(3):
        if epoch == 0 or every_epoch:
            expected = _reference_rr_epoch(prob, b_m, n, ref)
        for j in range(n):
            batch, slot = sampler.next_round()
            assert slot == j
            np.testing.assert_array_equal(batch.rows, expected[j])
            fresh = prob.batch(expected[j])
            for name in ("client", "client_ptr", "inv_size", "y"):
                np.testing.assert_array_equal(getattr(batch, name), getattr(fresh, name))
    assert sampler.rng.random() == ref.random()
