"""What a run records of where it was computed."""

import numpy as np  # noqa: F401  (loads the BLAS that threadpoolctl reports)
import pytest

from gradcomp.pipeline.provenance import provenance


def test_provenance_names_the_blas_kernels():
    # the same code gives last-bit differences under different OpenBLAS kernels, so a run
    # must say which ones it used
    prov = provenance("numpy", note="x")
    assert prov["backend"] == "numpy" and prov["note"] == "x"
    openblas = [b for b in prov["blas"] if b["internal_api"] == "openblas"]
    if not openblas:
        pytest.skip(f"NumPy is not linked to OpenBLAS here: {prov['blas']}")
    assert all(b["architecture"] for b in openblas)
