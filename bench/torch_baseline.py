#!/usr/bin/env python3
"""PyTorch baseline for LE-MMSE denoising (B = identity), written the way a user would write it:
circularly padded patches by F.unfold, fp32 distances by the ||q||² + ||k||² − 2 q·k expansion
(torch.addmm, TF32 off) over chunks of training patches, and an online log-sum-exp across chunks.
The training patches are formed once, outside the timed region (in the baseline's favour).

Reads what `lemmse_bench --dump-dir DIR` writes: DIR/train.npy and DIR/<row>_y.npy,
DIR/<row>_estimate.npy (lemmse's estimate, held to the fp64 reference by the test suite).
Prints one line per row and writes JSON:
  python3 bench/torch_baseline.py --dump-dir DIR --rows le-mmse_P5_s0.100000 --patch 5 --sigma 0.1 --json out.json
"""
import argparse
import json
import sys
import os
import time

import numpy as np
import torch
import torch.nn.functional as F


def patches(x, P):
    """(n, C, H, W) → (n·H·W, C·P·P): the P×P patch centred on every pixel, circular boundary."""
    a = P // 2
    u = F.unfold(F.pad(x, (a, P - 1 - a, a, P - 1 - a), mode="circular"), P)  # n, C·P², H·W
    return u.permute(0, 2, 1).reshape(-1, u.shape[1])


def lemmse_torch(keys, kn, vals, y, P, sigma, chunk):
    C, H, W = y.shape[1:]
    return lemmse_torch_vectors(patches(y, P), keys, kn, vals, C, H, W, sigma, chunk)


def whitening(R, P):
    """G⁻¹ (d×d, fp64) for the patch covariance S[(u,w),(u',w')] = R(u'−u, w'−w) of the inverse filter."""
    H, W = R.shape
    i = torch.arange(P * P)
    du = (i[None, :] // P - i[:, None] // P) % H
    dv = (i[None, :] % P - i[:, None] % P) % W
    S = R[du, dv]
    G = torch.linalg.cholesky(S)
    return torch.linalg.solve_triangular(G, torch.eye(P * P, dtype=torch.float64), upper=False)


def whitened_patches(x, P, Ginv):
    """(n, C, H, W) → (n·H·W, C·P²): every patch, each channel whitened by Ginv (fp32 matmul)."""
    C = x.shape[1]
    p = patches(x, P).reshape(-1, C, P * P)
    return (p @ Ginv.T).reshape(-1, C * P * P)


def lemmse_torch_vectors(q, keys, kn, vals, C, H, W, sigma, chunk):
    """Chunked fp32 expansion ||q||² + ||k||² − 2 q·k and online log-sum-exp over query vectors q."""
    qn = (q * q).sum(1)
    m = torch.full((q.shape[0],), -float("inf"), device=q.device)
    s = torch.zeros_like(m)
    acc = torch.zeros((q.shape[0], C), device=q.device)
    inv = 1.0 / (2.0 * sigma * sigma)
    for k0 in range(0, keys.shape[0], chunk):
        k, v = keys[k0:k0 + chunk], vals[k0:k0 + chunk]
        logit = torch.addmm(qn[:, None] + kn[None, k0:k0 + chunk], q, k.T, alpha=-2.0).mul_(-inv)
        nm = torch.maximum(m, logit.max(1).values)
        sc = torch.exp(m - nm)
        w = torch.exp(logit.sub_(nm[:, None]))
        s = s * sc + w.sum(1)
        acc = acc * sc[:, None] + w @ v
        m = nm
    return (acc / s[:, None]).T.reshape(1, C, H, W)


def cpu_blas():
    """The BLAS library the process has mapped (after a matmul), e.g. '.../openblas-pthread/libblas.so.3'.
    Debian's default is the reference BLAS (.../blas/libblas.so.3), ~10x slower at these GEMMs than
    OpenBLAS (apt-get install libopenblas0-pthread): a baseline on it flatters every ratio."""
    torch.ones(64, 64) @ torch.ones(64, 64)
    try:
        with open("/proc/self/maps") as f:
            libs = {line.split()[-1] for line in f if "blas" in line or "mkl" in line}
    except OSError:
        return "unknown"
    return ", ".join(sorted(libs)) or "built in"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dump-dir", required=True)
    ap.add_argument("--rows", nargs="+", required=True, help="row tags, e.g. le-mmse_P5_s0.100000")
    ap.add_argument("--patch", type=int, nargs="+", required=True, help="P of each row")
    ap.add_argument("--sigma", type=float, nargs="+", required=True, help="σ of each row")
    ap.add_argument("--chunk", type=int, default=131072, help="training patches per chunk")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--whitened", action="store_true",
                    help="inverse-filter rows: whiten patches of B y and B A x (DIR/<row>_v.npy, _keys.npy, _autocorr.npy)")
    ap.add_argument("--json")
    a = ap.parse_args()
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.set_float32_matmul_precision("highest")
    dev = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    blas = "cuBLAS"
    if dev.type == "cpu":
        torch.set_num_threads(os.cpu_count() or 1)  # every core, as lemmse's CPU engine uses
        blas = cpu_blas()
        if "/blas/libblas" in blas:
            print(f"warning: PyTorch runs on the reference BLAS ({blas}); install libopenblas0-pthread "
                  "for a fair baseline", file=sys.stderr)
    train = torch.from_numpy(np.load(f"{a.dump_dir}/train.npy").astype(np.float32)).to(dev)
    vals = train.permute(0, 2, 3, 1).reshape(-1, train.shape[1])
    out = []
    for tag, P, sigma in zip(a.rows, a.patch, a.sigma):
        y = torch.from_numpy(np.load(f"{a.dump_dir}/{tag}_y.npy").astype(np.float32)).to(dev)
        ref = np.load(f"{a.dump_dir}/{tag}_estimate.npy")
        if a.whitened:
            Ginv = whitening(torch.from_numpy(np.load(f"{a.dump_dir}/{tag}_autocorr.npy")), P).float().to(dev)
            kimg = torch.from_numpy(np.load(f"{a.dump_dir}/{tag}_keys.npy").astype(np.float32)).to(dev)
            keys = whitened_patches(kimg, P, Ginv)
            y = torch.from_numpy(np.load(f"{a.dump_dir}/{tag}_v.npy").astype(np.float32)).to(dev)
            del kimg
        else:
            keys = patches(train, P)
        kn = (keys * keys).sum(1)
        C, H, W = y.shape[1:]

        def one(yi):
            if a.whitened:  # the query's whitening is part of the timed work, as a user's would be
                return lemmse_torch_vectors(whitened_patches(yi, P, Ginv), keys, kn, vals, C, H, W, sigma, a.chunk)
            return lemmse_torch(keys, kn, vals, yi, P, sigma, a.chunk)
        times = []
        for r in range(a.repeat + 1):  # the first run warms up
            if dev.type == "cuda":
                torch.cuda.synchronize()
            t0 = time.perf_counter()
            est = torch.cat([one(y[i:i + 1]) for i in range(y.shape[0])])
            if dev.type == "cuda":
                torch.cuda.synchronize()
            if r:
                times.append(time.perf_counter() - t0)
        ms = 1e3 * float(np.median(times)) / y.shape[0]
        mse = float(np.mean((est.double().cpu().numpy() - ref) ** 2))
        psnr = float("inf") if mse == 0 else 10 * np.log10(1.0 / mse)
        name = torch.cuda.get_device_name() if dev.type == "cuda" else f"cpu, {torch.get_num_threads()} threads"
        print(f"torch fp32 {'whitened ' if a.whitened else ''}{tag:24s} P={P:2d} sigma={sigma:<6g} {ms:9.1f} ms/image  PSNR vs lemmse {psnr:6.1f} dB  ({name})")
        out.append({"row": tag, "patch": P, "sigma": sigma, "ms_per_image": ms, "psnr_vs_lemmse": psnr, "device": name,
                    "train_count": int(train.shape[0]), "chunk": a.chunk, "whitened": a.whitened, "blas": blas})
        del keys, kn
    if a.json:
        with open(a.json, "w") as f:
            json.dump(out, f, indent=2)


if __name__ == "__main__":
    main()
