#!/usr/bin/env python3
"""The paper's workflow with lemmse: denoise a test image with LE-MMSE and show, for one pixel,
the training patches its value comes from (top-k keys: image, position, weight).

    PYTHONPATH=python python3 python/examples/denoise_and_sources.py [--dataset fashion-mnist] [--out sources.png]

Writes a PNG: noisy | estimate | clean, then the k source patches of the chosen pixel (brightest
border = largest weight). Uses FashionMNIST when Debian's dataset-fashion-mnist is installed,
the built-in dataset otherwise.
"""
import argparse
import os
import struct
import zlib

import numpy as np

import lemmse


def write_png(path, img):
    """Minimal greyscale PNG writer (img: 2-D float array in [0, 1])."""
    a = (np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8)
    raw = b"".join(b"\x00" + row.tobytes() for row in a)

    def chunk(tag, data):
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", a.shape[1], a.shape[0], 8, 0, 0, 0, 0))
    png += chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")
    with open(path, "wb") as f:
        f.write(png)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    fm = os.path.exists("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz")
    ap.add_argument("--dataset", default="fashion-mnist" if fm else "builtin")
    ap.add_argument("--train-count", type=int, default=1000)
    ap.add_argument("--test-index", type=int, default=0)
    ap.add_argument("--patch", type=int, default=5)
    ap.add_argument("--sigma", type=float, default=0.2)
    ap.add_argument("--topk", type=int, default=8)
    ap.add_argument("--pixel", type=int, nargs=2, default=None, help="row col (default: the image centre)")
    ap.add_argument("--out", default="sources.png")
    args = ap.parse_args()

    clean = lemmse.read_dataset(args.dataset, split="test", first=args.test_index, count=1)
    _, c, h, w = clean.shape
    with lemmse.Context() as ctx:
        ctx.set_training(dataset=args.dataset, count=args.train_count)
        ctx.set_problem("denoise")
        y = ctx.simulate(clean, sigma=args.sigma, seed=1)
        out = ctx.estimate(y, "le-mmse", patch=args.patch, sigma=args.sigma, topk=args.topk,
                           effective_count=True,
                           progress=lambda done, total: print(f"\r{100 * done / total:5.1f}%", end="", flush=True))
    print()
    psnr = lambda a: 10 * np.log10(1 / np.mean((a - clean) ** 2))  # noqa: E731
    print(f"{args.dataset}: N = {args.train_count}, P = {args.patch}, σ = {args.sigma}: "
          f"PSNR noisy {psnr(y):.2f} dB -> LE-MMSE {psnr(out.estimate):.2f} dB ({out.seconds:.1f} s)")

    i, j = args.pixel if args.pixel else (h // 2, w // 2)
    print(f"pixel ({i}, {j}): estimate {out.estimate[0, :, i, j].round(4)}, "
          f"effective number of patches {out.effective_count[0, 0, i, j]:.1f}")
    train_images = lemmse.read_dataset(args.dataset, split="train", first=0, count=args.train_count)
    a = (args.patch - 1) // 2
    tiles = []
    for k in range(args.topk):
        b, n = out.topk_image[0, k, i, j], out.topk_position[0, k, i, j]
        wgt = out.topk_weight[0, k, i, j]
        ni, nj = divmod(int(n), w)
        rows = [(ni - a + u) % h for u in range(args.patch)]
        cols = [(nj - a + v) % w for v in range(args.patch)]
        patch = train_images[b, 0][np.ix_(rows, cols)]
        print(f"  source {k}: training image {b}, position ({ni}, {nj}), weight {wgt:.4f}, "
              f"centre value {train_images[b, 0, ni, nj]:.3f}")
        tile = np.pad(patch, 1, constant_values=min(1.0, wgt / out.topk_weight[0, 0, i, j]))
        tiles.append(np.kron(tile, np.ones((4, 4))))
    top = np.kron(np.concatenate([y[0, 0], out.estimate[0, 0], clean[0, 0]], axis=1), np.ones((3, 3)))
    strip = np.concatenate(tiles, axis=1)
    canvas = np.zeros((top.shape[0] + 4 + strip.shape[0], max(top.shape[1], strip.shape[1])))
    canvas[: top.shape[0], : top.shape[1]] = top
    canvas[top.shape[0] + 4 :, : strip.shape[1]] = strip
    write_png(args.out, canvas)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
