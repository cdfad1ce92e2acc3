"""Context: the training set, operator, pre-inverse and estimator settings of a computation."""
import ctypes
from dataclasses import dataclass
from typing import Optional

import numpy as np

from . import _capi as C

_BACKENDS = {"auto": 0, "reference": 1, "cpu": 2, "cuda": 3}
_ESTIMATORS = {"mmse": 0, "e-mmse": 1, "le-mmse": 2, "l-mmse": 3}
_PREINVERSES = {"identity": 0, "mask": 1, "eps-mask": 2, "inverse": 3}
_COMPAT = {"consistent": 0, "reference": 1}
_SPLITS = {"train": 0, "test": 1}
_DTYPES = {np.dtype(np.uint8): 0, np.dtype(np.float32): 1, np.dtype(np.float64): 2}
_CAI_DTYPES = {"|u1": 0, "<u1": 0, "<f4": 1, "<f8": 2}


def _choice(table, value, what):
    try:
        return table[value]
    except KeyError:
        raise C.InvalidArgumentError(1, f"unknown {what} {value!r} (one of {', '.join(table)})") from None


def _as_c_array(x):
    """(ctypes Array, keep-alive object) for a numpy/array-like or a CUDA array, without copying
    when the dtype is uint8/float32/float64. 2-D is one H×W image, 3-D is N×H×W (grey), 4-D N×C×H×W."""
    cai = getattr(x, "__cuda_array_interface__", None)
    if cai is not None:
        shape = tuple(cai["shape"])
        if cai["typestr"] not in _CAI_DTYPES:
            raise C.InvalidArgumentError(1, f"CUDA array dtype {cai['typestr']} (uint8, float32 or float64 needed)")
        item = int(cai["typestr"][2:])
        strides = cai.get("strides")
        elem = [s // item for s in strides] if strides else None
        dtype, ptr, memory, keep = _CAI_DTYPES[cai["typestr"]], cai["data"][0], 1, x
    else:
        a = np.asarray(x)
        if a.dtype not in _DTYPES:
            a = a.astype(np.float64)
        if any(s % a.itemsize for s in a.strides):
            a = np.ascontiguousarray(a)
        shape, elem = a.shape, [s // a.itemsize for s in a.strides]
        dtype, ptr, memory, keep = _DTYPES[a.dtype], a.ctypes.data, 0, a
    if len(shape) == 2:
        shape, elem = (1, 1) + tuple(shape), ([0, 0] + list(elem)) if elem else None
    elif len(shape) == 3:
        shape, elem = (shape[0], 1) + tuple(shape[1:]), ([elem[0], 0] + list(elem[1:])) if elem else None
    elif len(shape) != 4:
        raise C.InvalidArgumentError(1, f"expected an image array of 2, 3 or 4 dimensions (N×C×H×W), got shape {shape}")
    arr = C.Array()
    arr.data = ptr
    arr.dtype = dtype
    arr.memory = memory
    for i in range(4):
        arr.shape[i] = int(shape[i])
        arr.strides[i] = int(elem[i]) if elem else 0
    if elem and not any(elem):  # a single-element array: contiguous
        for i in range(4):
            arr.strides[i] = 0
    return arr, keep


def _enc(s):
    return None if s is None else str(s).encode()


def dataset_shape(dataset, split="test", data_dir=None, variant=None):
    """(count, C, H, W) of a dataset split."""
    vals = [ctypes.c_int64() for _ in range(4)]
    C.check(C.lib.lemmse_dataset_shape(_enc(dataset), _enc(data_dir), _enc(variant), _choice(_SPLITS, split, "split"),
                                       *[ctypes.byref(v) for v in vals]))
    return tuple(v.value for v in vals)


def read_dataset(dataset, split="test", first=0, count=1, data_dir=None, variant=None):
    """Images first … first+count−1 of a split as a float64 array (count, C, H, W) on [0, 1]."""
    _, c, h, w = dataset_shape(dataset, split, data_dir, variant)
    out = np.empty((count, c, h, w), dtype=np.float64)
    C.check(C.lib.lemmse_dataset_read(_enc(dataset), _enc(data_dir), _enc(variant), _choice(_SPLITS, split, "split"),
                                      first, count, out.ctypes.data_as(C.c_double_p)))
    return out


@dataclass
class Result:
    """Outputs of Context.estimate (numpy arrays; None when not requested)."""
    estimate: np.ndarray
    log_density: Optional[np.ndarray] = None
    variance: Optional[np.ndarray] = None
    effective_count: Optional[np.ndarray] = None
    topk_log_weight: Optional[np.ndarray] = None
    topk_weight: Optional[np.ndarray] = None
    topk_image: Optional[np.ndarray] = None
    topk_position: Optional[np.ndarray] = None
    seconds: float = 0.0
    pairs: float = 0.0


class Context:
    """A computation context (not thread-safe: one per thread). backend: auto | reference | cpu | cuda."""

    def __init__(self, backend="auto", device=0, threads=0):
        self._ptr = ctypes.c_void_p()
        C.check(C.lib.lemmse_context_create(_choice(_BACKENDS, backend, "backend"), device, threads,
                                            ctypes.byref(self._ptr)))

    def close(self):
        if self._ptr:
            C.lib.lemmse_context_destroy(self._ptr)
            self._ptr = ctypes.c_void_p()

    def __del__(self):
        self.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def set_stream(self, stream):
        """CUDA stream (an int handle, or an object with .cuda_stream such as torch.cuda.Stream)."""
        handle = getattr(stream, "cuda_stream", stream)
        C.check(C.lib.lemmse_context_set_stream(self._ptr, ctypes.c_void_p(int(handle))))

    def set_training(self, images=None, *, dataset=None, count=None, indices=None, data_dir=None, variant=None):
        """Training set from an array (N×C×H×W; copied) or from a dataset (first `count` images of
        its train split, or the listed `indices`)."""
        if images is not None:
            arr, keep = _as_c_array(images)
            C.check(C.lib.lemmse_set_training_images(self._ptr, ctypes.byref(arr)))
            del keep
            return self
        if dataset is None:
            raise C.InvalidArgumentError(1, "give either images or dataset")
        idx = None if indices is None else np.ascontiguousarray(indices, dtype=np.int64)
        C.check(C.lib.lemmse_set_training_dataset(
            self._ptr, _enc(dataset), _enc(data_dir), _enc(variant), int(count or 0),
            None if idx is None else idx.ctypes.data_as(C.c_i64_p), 0 if idx is None else len(idx)))
        return self

    @property
    def training_shape(self):
        vals = [ctypes.c_int64() for _ in range(4)]
        C.check(C.lib.lemmse_training_shape(self._ptr, *[ctypes.byref(v) for v in vals]))
        return tuple(v.value for v in vals)

    def set_problem(self, problem="denoise", *, mask=None, kernel=None, mask_seed=1234):
        """Forward operator A: a spec ("denoise", "inpaint-box:15", "blur-gaussian:1", ...), or an
        H×W 0/1 `mask`, or a blur `kernel` (kh×kw, centre at (kh//2, kw//2))."""
        if mask is not None:
            arr, keep = _as_c_array(np.asarray(mask, dtype=np.float64)[None, None] if np.ndim(mask) == 2 else mask)
            C.check(C.lib.lemmse_set_problem_mask(self._ptr, ctypes.byref(arr)))
        elif kernel is not None:
            arr, keep = _as_c_array(np.asarray(kernel, dtype=np.float64)[None, None] if np.ndim(kernel) == 2 else kernel)
            C.check(C.lib.lemmse_set_problem_kernel(self._ptr, ctypes.byref(arr)))
        else:
            C.check(C.lib.lemmse_set_problem(self._ptr, _enc(problem), int(mask_seed)))
        return self

    def set_preinverse(self, kind="identity", eps=1e-3, *, kernel=None):
        """Pre-inverse B: "identity", "mask", "eps-mask" (with `eps`), "inverse", or "filter" with
        your own stationary `kernel` (kh×kw, centre at (kh//2, kw//2), invertible) for a blur problem."""
        if kind == "filter":
            if kernel is None:
                raise ValueError('set_preinverse("filter") needs kernel=')
            arr, keep = _as_c_array(np.asarray(kernel, dtype=np.float64)[None, None] if np.ndim(kernel) == 2 else kernel)
            C.check(C.lib.lemmse_set_preinverse_filter(self._ptr, ctypes.byref(arr)))
            return self
        C.check(C.lib.lemmse_set_preinverse(self._ptr, _choice(_PREINVERSES, kind, "pre-inverse"), float(eps)))
        return self

    def set_compat(self, compat="consistent"):
        C.check(C.lib.lemmse_set_compat(self._ptr, _choice(_COMPAT, compat, "compat")))
        return self

    def simulate(self, clean, sigma, seed=0, first_index=0):
        """y = A x + σ e (float64 array of clean's N×C×H×W shape)."""
        arr, keep = _as_c_array(clean)
        out = np.empty(tuple(arr.shape), dtype=np.float64)
        C.check(C.lib.lemmse_simulate(self._ptr, ctypes.byref(arr), float(sigma), int(seed), int(first_index),
                                      out.ctypes.data_as(C.c_double_p)))
        return out

    def estimate(self, y, estimator="le-mmse", patch=5, sigma=0.1, topk=0, log_density=False, variance=False,
                 effective_count=False, mask_tolerance=1e-4, progress=None):
        """Runs an estimator on measurements y (N×C×H×W as measured). progress(done, total) may
        return True to cancel (CancelledError)."""
        arr, keep = _as_c_array(y)
        n, c, h, w = (int(v) for v in arr.shape)
        p = C.Params()
        C.lib.lemmse_params_init(ctypes.byref(p))
        p.estimator = _choice(_ESTIMATORS, estimator, "estimator")
        p.patch, p.sigma, p.topk, p.mask_tolerance = int(patch), float(sigma), int(topk), float(mask_tolerance)
        res = Result(estimate=np.empty((n, c, h, w)))
        out = C.Outputs()
        dp = C.c_double_p
        out.estimate = res.estimate.ctypes.data_as(dp)
        if log_density:
            res.log_density = np.empty((n, 1, h, w))
            out.log_density = res.log_density.ctypes.data_as(dp)
        if variance:
            res.variance = np.empty((n, c, h, w))
            out.variance = res.variance.ctypes.data_as(dp)
        if effective_count:
            res.effective_count = np.empty((n, 1, h, w))
            out.effective_count = res.effective_count.ctypes.data_as(dp)
        if topk > 0:
            res.topk_log_weight = np.empty((n, topk, h, w))
            res.topk_weight = np.empty((n, topk, h, w))
            res.topk_image = np.empty((n, topk, h, w), dtype=np.int64)
            res.topk_position = np.empty((n, topk, h, w), dtype=np.int64)
            out.topk_log_weight = res.topk_log_weight.ctypes.data_as(dp)
            out.topk_weight = res.topk_weight.ctypes.data_as(dp)
            out.topk_image = res.topk_image.ctypes.data_as(C.c_i64_p)
            out.topk_position = res.topk_position.ctypes.data_as(C.c_i64_p)
        callback = None
        if progress is not None:
            def _cb(done, total, _user):
                try:
                    return 1 if progress(done, total) else 0
                except Exception:  # an exception in the callback cancels the run
                    return 1
            callback = C.PROGRESS_FN(_cb)
        C.check(C.lib.lemmse_set_progress(self._ptr, callback or C.PROGRESS_FN(), None))
        try:
            C.check(C.lib.lemmse_estimate(self._ptr, ctypes.byref(p), ctypes.byref(arr), ctypes.byref(out)))
        finally:
            C.lib.lemmse_set_progress(self._ptr, C.PROGRESS_FN(), None)
        del keep
        res.seconds, res.pairs = out.seconds, out.pairs
        return res
