"""Python binding of lemmse (ctypes over the C API in include/lemmse/lemmse.h).

Closed-form constrained MMSE estimators (MMSE, E-MMSE, LE-MMSE, L-MMSE) for imaging inverse
problems. Arrays are N×C×H×W: numpy arrays (uint8 0–255, float32 or float64 on the [0,1] scale,
any strides; passed without copies) or CUDA arrays exposing ``__cuda_array_interface__`` (torch
CUDA tensors, CuPy), whose device pointer is handed to the library as is. Results are numpy arrays.

    import lemmse
    ctx = lemmse.Context()
    ctx.set_training(dataset="fashion-mnist", count=1000)
    clean = lemmse.read_dataset("fashion-mnist", split="test", first=0, count=1)
    y = ctx.simulate(clean, sigma=0.2, seed=0)
    out = ctx.estimate(y, estimator="le-mmse", patch=5, sigma=0.2, topk=10)
    out.estimate, out.topk_image, out.topk_position

Errors raise subclasses of LemmseError carrying the library's message.
"""
from ._capi import (  # noqa: F401
    CancelledError,
    FormatError,
    InternalError,
    InvalidArgumentError,
    LemmseError,
    LemmseIOError,
    NumericalError,
    UnsupportedError,
    cuda_device_count,
    library_path,
    version,
)
from .context import Context, Result, read_dataset, dataset_shape  # noqa: F401

__all__ = [
    "Context", "Result", "read_dataset", "dataset_shape", "version", "cuda_device_count", "library_path",
    "LemmseError", "InvalidArgumentError", "LemmseIOError", "FormatError", "UnsupportedError",
    "NumericalError", "CancelledError", "InternalError",
]
