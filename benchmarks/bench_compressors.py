"""Throughput of every compressor against the machine's copy bandwidth on the same array.

    python benchmarks/bench_compressors.py [--dims 20 24] [--clients 1 16] [--repeat 5]
                                           [--only NAME ...] [--out results/bench_compressors.md]
                                           [--backend numpy|cupy]

For each compressor (built from its ``conf/compressor/*.yaml``, with the settings shown in
the table), each d = 2^p and each number of clients M, the input is a float64 batch
(M, d); throughput is input bytes per second of ``compress`` (best of ``--repeat`` calls
after one warm-up call), and the ratio is ``numpy.copyto`` time on the same array over
compress time (1.0 = as fast as copying the input once). Then Rand-k at fixed k with
growing d (M = 1): its time should not grow with d.

Not a test: the numbers depend on the machine and on what else runs on it. One BLAS
thread. At d = 2^24 with M = 16 (2 GiB per float64 array) only the elementwise quantizers
and the identity run (one output array each, no temporaries); the other compressors hold
several temporaries of that size and run there only with ``--big``. The row ``uniform
draws`` times ``Generator.random((M, d))``: the float64 uniforms every drawing elementwise
quantizer consumes, into a new array as ``compress`` returns one; a floor on its time as
long as its draws stay NumPy's (``x draws`` is the quantizer's time over it). ``uniform
draws in place`` fills one reused array instead (no page faults of a new one).

``--backend cupy``: the input lives on the GPU (a CuPy array), ``compress`` is timed to the
end of its GPU work (``Device.synchronize()`` after each call), and the copy reference is
``cupy.copyto`` of the same device array (throughput counts the input bytes 8 M d, as on the
CPU; a copy reads and writes that many). The ``uniform draws`` row stays the host NumPy draw
of the same count: the device path draws on the host and moves the draws to the GPU; the
row ``host->device`` times ``cupy.asarray`` of a host (M, d) float64 array. The table (with
``--out``) is rewritten after every row, so a run cut short keeps the rows it finished.
"""

from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_v] = "1"

import argparse  # noqa: E402
import gc  # noqa: E402
import platform  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from gradcomp import compressors  # noqa: E402
from gradcomp.config import composer, to_plain  # noqa: E402
from gradcomp.seeding import stream  # noqa: E402

# (label, config overrides, family). The elementwise quantizers that draw one uniform per
# entry (``DRAWING``) carry the CPU target: within 1.5x of the time of those draws alone.
CASES = [
    ("identity", ["compressor=identity"], "copy"),
    ("uniform draws", None, "reference"),
    ("uniform draws in place", None, "reference"),
    ("qsgd s=1 l2", ["compressor=qsgd"], "elementwise"),
    ("qsgd s=16 linf", ["compressor=qsgd", "compressor.s=16", "compressor.norm=linf"], "elementwise"),
    ("terngrad", ["compressor=terngrad"], "elementwise"),
    ("natural", ["compressor=natural"], "elementwise"),
    ("natural_dithering s=8", ["compressor=natural_dithering", "compressor.s=8"], "elementwise"),
    ("iq", ["compressor=iq"], "elementwise"),
    ("scaled_sign", ["compressor=scaled_sign"], "elementwise"),
    ("randk k/d=1%", ["compressor=randk", "compressor.k_fraction=0.01"], "sparse"),
    ("scaled_randk k/d=1%", ["compressor=scaled_randk", "compressor.k_fraction=0.01"], "sparse"),
    ("topk k/d=1%", ["compressor=topk", "compressor.k_fraction=0.01"], "sparse"),
    ("sparse_dithering k/d=25% s=2", ["compressor=sparse_dithering"], "sparse"),
    ("induced topk+randk 1%", ["compressor=induced", "compressor.contractive.k_fraction=0.01",
                               "compressor.unbiased.k_fraction=0.01"], "sparse"),
    ("cq (uniform perm)", ["compressor=cq"], "correlated"),
    ("cq (cyclic shift)", ["compressor=cq", "compressor.permutation=cyclic"], "correlated"),
    ("permk", ["compressor=permk"], "correlated"),
    ("permk_cq b=2", ["compressor=permk_cq"], "correlated"),
    ("iscc(drive)", ["compressor=iscc"], "correlated"),
    ("drive (hadamard)", ["compressor=drive"], "rotation"),
    ("spherical", ["compressor=spherical"], "codebook"),
]

DRAWING = {"qsgd s=1 l2", "qsgd s=16 linf", "terngrad", "natural", "natural_dithering s=8", "iq"}
DRAWS_TARGET = 1.5


class Host:
    """The CPU: NumPy arrays, nothing to wait for."""

    name, xp, sync = "numpy", np, None

    def put(self, a: np.ndarray):
        return a

    def machine(self) -> str:
        return f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, numpy {np.__version__}"

    def free(self) -> None:
        pass


class Device(Host):
    """The GPU through CuPy: device arrays, timed to the end of their GPU work."""

    name = "cupy"

    def __init__(self):
        try:
            import cupy
        except ImportError:
            raise SystemExit("--backend cupy needs CuPy and a CUDA GPU (pip install 'gradcomp[cuda]')") from None
        self.xp = cupy
        self.sync = cupy.cuda.Device().synchronize

    def put(self, a: np.ndarray):
        out = self.xp.asarray(a)
        self.sync()
        return out

    def machine(self) -> str:
        cp = self.xp
        gpu = cp.cuda.runtime.getDeviceProperties(0)["name"]
        gpu = gpu.decode() if isinstance(gpu, bytes) else str(gpu)
        rt = cp.cuda.runtime.runtimeGetVersion()
        return (f"GPU {gpu} (CuPy {cp.__version__}, CUDA runtime {rt // 1000}.{rt % 1000 // 10}); host "
                f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, numpy {np.__version__}")

    def free(self) -> None:
        self.xp.get_default_memory_pool().free_all_blocks()


def best_time(fn, repeat: int, sync=None) -> float:
    fn()  # warm-up: page faults, caches (on a GPU: kernel compilation)
    if sync is not None:
        sync()
    ts = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        if sync is not None:
            sync()  # the GPU work the call queued, not only its launch
        ts.append(time.perf_counter() - t)
    return min(ts)


def copy_time(v, repeat: int, be: Host = Host()) -> float:
    dst = be.xp.empty_like(v)
    return best_time(lambda: be.xp.copyto(dst, v), repeat, be.sync)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dims", nargs="+", type=int, default=[20, 24], help="log2 d")
    ap.add_argument("--clients", nargs="+", type=int, default=[1, 16])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--only", nargs="+", help="labels (prefixes) of the compressors to run")
    ap.add_argument("--big", action="store_true",
                    help="at d = 2^24 with M = 16 also the compressors with large temporaries (needs > 20 GiB)")
    ap.add_argument("--randk-k", type=int, default=1024, help="fixed k of the Rand-k scaling table")
    ap.add_argument("--randk-dims", nargs="+", type=int, default=[17, 18, 19, 20, 21, 22, 23, 24])
    ap.add_argument("--out")
    ap.add_argument("--backend", choices=["numpy", "cupy"], default="numpy",
                    help="cupy: inputs on the GPU, compress timed with device synchronisation")
    a = ap.parse_args()
    be = Device() if a.backend == "cupy" else Host()
    cases = [c for c in CASES if not a.only or any(c[0].startswith(o) for o in a.only)]
    if be.name == "cupy":
        at = next((i + 1 for i, c in enumerate(cases) if c[0] == "uniform draws"), 0)
        cases.insert(at, ("host->device", None, "reference"))
    machine = be.machine()  # before the runs: a GPU it cannot reach fails now

    rows, skipped, scaling = [], [], []

    def save() -> str:
        text = table(a, be, machine, rows, skipped, scaling)
        if a.out:
            os.makedirs(os.path.dirname(a.out) or ".", exist_ok=True)
            with open(a.out, "w") as fh:
                fh.write(text)
        return text

    with composer() as comp:
        for p in a.dims:
            d = 2**p
            for M in a.clients:
                huge = p >= 24 and M >= 16 and not a.big
                if huge:
                    skipped.append(f"d = 2^{p}, M = {M}: all but the elementwise quantizers and the identity")
                v = be.put(stream(0, "bench-input").standard_normal((M, d)))
                for label, ov, family in cases:
                    if huge and family not in ("copy", "reference", "elementwise"):
                        continue
                    tc = copy_time(v, a.repeat, be)  # again per case: the machine's load drifts
                    rng = stream(0, "bench-compressor")
                    if label == "host->device":  # moving an (M, d) host array to the GPU
                        h = np.ones((M, d))
                        t = best_time(lambda: be.xp.asarray(h), a.repeat, be.sync)
                        del h
                    elif label == "uniform draws":  # the draws alone, into a new array as compress returns one
                        t = best_time(lambda: rng.random((M, d)), a.repeat)
                    elif ov is None:  # the same into one reused array: no page faults of a new one
                        u = np.empty((M, d))
                        t = best_time(lambda: rng.random(out=u), a.repeat)
                        del u
                    else:
                        cfg = to_plain(comp(ov))["compressor"]
                        try:
                            c = compressors.build(cfg, d, M)
                        except ValueError as exc:  # e.g. a codebook too large for this d
                            rows.append((label, family, p, M, None, tc, str(exc).split(";")[0]))
                            save()
                            continue
                        t = best_time(lambda: c.compress(v, rng), a.repeat, be.sync)
                    rows.append((label, family, p, M, t, tc, ""))
                    save()
                    print(f"d=2^{p:<2d} M={M:<3d} {label:30s} {t * 1e3:9.2f} ms  "
                          f"{v.nbytes / t / 1e9:6.2f} GB/s  copy {v.nbytes / tc / 1e9:6.2f} GB/s  "
                          f"ratio {tc / t:6.3f}", flush=True)
                del v
                gc.collect()
                be.free()

    # Rand-k at fixed k, growing d: the sampling and the whole compress call.
    k = a.randk_k
    for p in a.randk_dims:
        d = 2**p
        v = be.put(stream(0, "bench-input").standard_normal((1, d)))
        rk = compressors.RandK(d, k, compressors.BitCost(32, False))
        rng = stream(0, "bench-compressor")
        ts = best_time(lambda: rk.sample(rng, 1), a.repeat)
        tcmp = best_time(lambda: rk.compress(v, rng), a.repeat, be.sync)
        tc = copy_time(v, a.repeat, be)
        scaling.append((p, k, ts, tcmp, tc))
        save()
        print(f"Rand-k k={k} d=2^{p}: sample {ts * 1e6:.0f} us, compress {tcmp * 1e6:.0f} us, "
              f"copy {tc * 1e6:.0f} us", flush=True)
        del v

    print(save())


def table(a, be: Host, machine: str, rows, skipped, scaling) -> str:
    """The markdown report of the rows measured so far."""
    load = os.getloadavg()
    k = a.randk_k
    if be.name == "numpy":
        how = ("Throughput = input bytes (8 M d) per second of `compress`; copy = the same for "
               "`numpy.copyto` on the same array, timed next to it. Ratio = copy time / compress time "
               "(1.0 = copying the input once). `uniform draws`: `Generator.random((M, d))` alone, the M d "
               "uniforms each drawing elementwise quantizer consumes, into a new array as `compress` "
               "returns one (`in place`: into one reused array, without the page faults of a new one); "
               f"`x draws` = compress time / `uniform draws`. Target on CPU: `x draws` <= {DRAWS_TARGET} "
               "(the draws are a floor as long as they stay NumPy's named Generator streams).")
    else:
        how = ("On the GPU (`--backend cupy`): the input is a CuPy array on the device, and each call "
               "is timed to the end of its GPU work (`cupy.cuda.Device().synchronize()`). Throughput = "
               "input bytes (8 M d) per second of `compress`; copy = the same for `cupy.copyto` of the "
               "same device array, timed next to it (input bytes, as the CPU table: the copy reads and "
               "writes 8 M d bytes each). Ratio = copy time / compress time (1.0 = copying the input "
               "once on the GPU). `uniform draws`: host NumPy `Generator.random` filling an (M, d) "
               "array, the draws the device path makes on the host and then moves to the GPU; "
               "`host->device`: `cupy.asarray` of a host (M, d) float64 array (pageable memory).")
    lines = [
        "# Compressor throughput",
        "",
        f"Machine: {machine}; float64 input (M, d); best of {a.repeat} calls after a warm-up; one BLAS "
        f"thread. Load average at the end: {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} (a shared "
        "machine: timings are contended).",
        "",
        how,
        "",
        "| compressor | family | d | M | ms | GB/s | copy GB/s | ratio to copy | x draws |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    draws = {(p, M): t for label, _, p, M, t, _, _ in rows if label == "uniform draws"}
    for label, family, p, M, t, tc, note in rows:
        cbs = 8 * M * 2**p / tc / 1e9
        if t is None:
            lines.append(f"| {label} | {family} | 2^{p} | {M} | - | - | {cbs:.2f} | skipped: {note} | - |")
            continue
        gbs = 8 * M * 2**p / t / 1e9
        xd = f"{t / draws[p, M]:.2f}" if label in DRAWING and (p, M) in draws else "-"
        lines.append(f"| {label} | {family} | 2^{p} | {M} | {t * 1e3:.2f} | {gbs:.2f} | {cbs:.2f} | {tc / t:.3f} "
                     f"| {xd} |")
    if skipped:
        lines += ["", "Skipped: " + "; ".join(skipped) + " (2 GiB per float64 array and several "
                  "temporaries per compressor; run with --big on a machine with the memory)."]
    lines += [
        "",
        f"## Rand-k at fixed k = {k}, growing d (M = 1)",
        "",
        "`sample` draws the k coordinates (what the methods' coordinate path uses); `compress` also "
        + ("builds the dense output (a lazily zeroed array: only the pages it writes are touched)."
           if be.name == "numpy" else
           "moves them to the GPU and builds the dense output there (`cupy.zeros`, then the k values); "
           "`sample` runs on the host."),
        "",
        "| d | k/d | sample us | compress us | copy of the input us |",
        "|---|---|---|---|---|",
    ]
    lines += [f"| 2^{p} | {k / 2**p:.2%} | {ts * 1e6:.0f} | {tcmp * 1e6:.0f} | {tc * 1e6:.0f} |"
              for p, k, ts, tcmp, tc in scaling]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
