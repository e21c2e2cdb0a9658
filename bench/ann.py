"""Benchmark: where would an approximate nearest-neighbour index (hnswlib, usearch) start to pay
against the worker's matrix scan (recommend/matrix.py)?

    .venv/bin/pip install hnswlib usearch      # not dependencies of the service
    .venv/bin/python bench/ann.py [--sizes 20000,100000,300000] [--queries 300]

Synthetic unit vectors of 512 dimensions clustered like sentence vectors of news (cosine ~0.4
within a topic, ~0 across). Per size, on one BLAS thread (as a web worker): the exact scan
(float32, one matrix-vector product), the service's projected scan (128 main axes, then the best
400 ranked exactly from int8), hnswlib (M=16, ef_construction=100, ef=64) and usearch (M=16,
int8 vectors, expansion 64): build time, memory, query time p50 / p95, recall@10 against the
exact scan. Query times are interleaved across methods, one query at a time.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from share_service.recommend import vectors  # noqa: E402
from share_service.recommend.matrix import SlotVectors, single_threaded_blas  # noqa: E402


def clustered(n: int, dim: int = 512, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((max(6, n // 500), dim)).astype(np.float32)
    out = np.empty((n, dim), dtype=np.float32)
    for start in range(0, n, 20000):
        m = min(20000, n - start)
        out[start:start + m] = centres[rng.integers(0, len(centres), m)] + \
            1.2 * rng.standard_normal((m, dim)).astype(np.float32)
    out /= np.linalg.norm(out, axis=1, keepdims=True)
    return out


def pct(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))] * 1000


def projected_matrix(x: np.ndarray) -> SlotVectors:
    """The service's own structure, filled without Redis."""
    mat = SlotVectors("bench", "bench", exact_max=20000, coarse_dims=128)
    mat.grow(len(x))
    for start in range(0, len(x), 20000):
        part = x[start:start + 20000]
        mat._set_rows(np.arange(start, start + len(part)),  # noqa: SLF001
                      vectors.pack_many(part, [b"\0" * 8] * len(part)))
    mat._choose_mode()  # noqa: SLF001
    return mat


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="20000,100000,300000")
    parser.add_argument("--queries", type=int, default=300)
    args = parser.parse_args()
    single_threaded_blas()
    try:
        import hnswlib
    except ImportError:
        hnswlib = None
    try:
        from usearch import index as usearch_index
    except ImportError:
        usearch_index = None
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}; "
          f"hnswlib {'yes' if hnswlib else 'not installed'}, "
          f"usearch {'yes' if usearch_index else 'not installed'}")
    for n in [int(s) for s in args.sizes.split(",")]:
        x = clustered(n)
        rng = np.random.default_rng(n)
        queries = rng.integers(0, n, args.queries)
        methods = {}
        methods["exact f32 scan"] = (lambda q, x=x: np.argpartition(-(x @ x[q]), 11)[:11],
                                     x.nbytes, 0.0)
        t = time.perf_counter()
        mat = projected_matrix(x)
        build = time.perf_counter() - t
        mask = np.ones(n, dtype=bool)

        def projected(q, mat=mat, mask=mask):
            mask[q] = False
            got, _ = mat.similar(int(q), mask, 10)
            mask[q] = True
            return list(got)

        methods[f"projected {mat.width} + exact top 400 ({mat.mode})"] = (
            projected, mat.nbytes(), build)
        if hnswlib:
            t = time.perf_counter()
            h = hnswlib.Index(space="ip", dim=x.shape[1])
            h.init_index(max_elements=n, M=16, ef_construction=100, random_seed=1)
            h.set_num_threads(1)
            h.add_items(x, np.arange(n))
            h.set_ef(64)
            build = time.perf_counter() - t
            size = n * (x.shape[1] * 4 + 16 * 2 * 4 + 8)   # vectors + level-0 links (approx.)
            methods["hnswlib M=16 ef=64 (float32)"] = (
                lambda q, h=h, x=x: h.knn_query(x[q], k=11)[0][0], size, build)
        if usearch_index:
            t = time.perf_counter()
            u = usearch_index.Index(ndim=x.shape[1], metric="ip", dtype="i8", connectivity=16,
                       expansion_add=100, expansion_search=64)
            u.add(np.arange(n), x, threads=1)
            build = time.perf_counter() - t
            methods["usearch M=16 ef=64 (int8)"] = (
                lambda q, u=u, x=x: u.search(x[q], 11, threads=1).keys, u.memory_usage, build)
        truth = {int(q): set(np.argsort(-(x @ x[q]))[1:11].tolist()) for q in queries}
        times = {name: [] for name in methods}
        found = dict.fromkeys(methods, 0)
        for q in queries:
            for name, (fn, _, _) in methods.items():
                t = time.perf_counter()
                got = fn(q)
                times[name].append(time.perf_counter() - t)
                got = [int(g) for g in got if int(g) != int(q)][:10]
                found[name] += len(truth[int(q)] & set(got))
        print(f"{n:>9,} vectors")
        for name, (_, size, build) in methods.items():
            print(f"          {name:48} build {build:6.1f} s  memory {size / 1e6:6.0f} MB  "
                  f"query p50 {pct(times[name], 50):6.2f} ms  p95 {pct(times[name], 95):6.2f} ms"
                  f"  recall@10 {found[name] / (10 * len(queries)):.3f}")
    print(f"load average now {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
