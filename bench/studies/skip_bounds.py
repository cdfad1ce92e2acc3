#!/usr/bin/env python3
"""How many (query pixel, key) pairs cheap lower bounds on the patch distance could rule out.

DESIGN.md §4 names "skipping the distance work too" (bounds instead of distances) as the step to
sub-linear LE-MMSE at small σ. This measures, on real CIFAR-10 patches (numpy, fp64, circular
windows as the engines use), the fraction of pairs each bound leaves alive against the pairs that
are truly live (within skip_nats_for(keys) nats of the pixel's best key, the CPU engine's rule):

  mean       D ≥ P² Σ_c (mean_c(q) − mean_c(k))²
  mean+norm  D ≥ Σ_c P² Δmean_c² + (‖q̃_c‖ − ‖k̃_c‖)²     (q̃, k̃: patches less their means)
  rows       the mean+norm bound per window row, summed over the P rows

Usage: python3 bench/studies/skip_bounds.py DATA_DIR/cifar-10 [train_count] [P ...]
(needs numpy; every 8th query pixel of two query images, σ = 0.01 … 0.2).
"""
import gzip
import sys

import numpy as np


def load(path):
    raw = gzip.open(path + "/test_batch.bin.gz").read()
    return np.frombuffer(raw, np.uint8).reshape(-1, 3073)[:, 1:].reshape(-1, 3, 32, 32)


def patches(x, P):  # (n, 3, 32, 32) → (n·1024, 3, P, P), circular windows centred on each pixel
    h = P // 2
    out = np.empty(x.shape[:1] + (32, 32, 3, P, P))
    for a, du in enumerate(range(-h, P - h)):
        for b, dv in enumerate(range(-h, P - h)):
            out[..., a, b] = np.roll(x, (-du, -dv), axis=(2, 3)).transpose(0, 2, 3, 1)
    return out.reshape(-1, 3, P, P)


def moments(p, axes):  # means and centred norms over `axes`
    m = p.mean(axis=axes, keepdims=True)
    return np.squeeze(m, axis=axes), np.sqrt(((p - m) ** 2).sum(axis=axes))


def main():
    raw = load(sys.argv[1])
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    Ps = [int(a) for a in sys.argv[3:]] or [5, 11]
    train = raw[:n].astype(np.float64) / 255.0
    rng = np.random.default_rng(0)
    skip = np.log(n * 1024.0) + 38.0
    print("P  sigma  query  live      mean      mean+norm  rows")
    for P in Ps:
        K = patches(train, P)
        km, kn = moments(K, (2, 3))
        krm, krn = moments(K, (3,))
        for qi in (n + 5, n + 77):
            for sigma in (0.01, 0.05, 0.1, 0.2):
                y = raw[qi:qi + 1].astype(np.float64) / 255.0
                Q = patches(y + sigma * rng.standard_normal(y.shape), P)
                qm, qn = moments(Q, (2, 3))
                qrm, qrn = moments(Q, (3,))
                cnt = np.zeros(4)
                for p in range(0, 1024, 8):
                    D = ((K - Q[p]) ** 2).sum(axis=(1, 2, 3))
                    cut = D.min() + 2 * sigma**2 * skip
                    lb1 = P * P * ((km - qm[p]) ** 2).sum(-1)
                    lb2 = lb1 + ((kn - qn[p]) ** 2).sum(-1)
                    lb3 = (P * (krm - qrm[p]) ** 2 + (krn - qrn[p]) ** 2).sum(axis=(1, 2))
                    cnt += [(D <= cut).sum(), (lb1 <= cut).sum(), (lb2 <= cut).sum(), (lb3 <= cut).sum()]
                f = cnt / (128.0 * K.shape[0])
                print(f"{P:<2} {sigma:<6} {qi:<6} {f[0]:.2e}  {f[1]:.2e}  {f[2]:.2e}   {f[3]:.2e}")


if __name__ == "__main__":
    main()
