"""Named random streams: one NumPy Generator per (root seed, purpose).

A stream depends on its *name*, not on the order in which streams are created, so adding
a new source of randomness never changes the others (Sacred's hierarchical seeding).
Each stream draws for all clients at once, in client order.
"""

from __future__ import annotations

import hashlib

import numpy as np


def stream(seed: int, purpose: str) -> np.random.Generator:
    """The Generator of stream ``purpose`` under root ``seed``."""
    key = int.from_bytes(hashlib.sha256(purpose.encode()).digest()[:8], "little")
    ss = np.random.SeedSequence(entropy=int(seed), spawn_key=(key,))
    return np.random.Generator(np.random.PCG64(ss))
