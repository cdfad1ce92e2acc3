"""ctypes declarations of the C API and the mapping of status codes to exceptions."""
import ctypes
import ctypes.util
import glob
import os

c_i64 = ctypes.c_int64
c_i64_p = ctypes.POINTER(ctypes.c_int64)
c_double_p = ctypes.POINTER(ctypes.c_double)


class LemmseError(RuntimeError):
    """Base class of every error raised by lemmse; .status is the C status code."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


class InvalidArgumentError(LemmseError, ValueError):
    pass


class LemmseIOError(LemmseError, OSError):
    pass


class FormatError(LemmseError, ValueError):
    pass


class UnsupportedError(LemmseError, NotImplementedError):
    pass


class NumericalError(LemmseError, ArithmeticError):
    pass


class CancelledError(LemmseError):
    pass


class InternalError(LemmseError):
    pass


class _OutOfMemory(LemmseError, MemoryError):
    pass


_ERRORS = {1: InvalidArgumentError, 2: LemmseIOError, 3: FormatError, 4: UnsupportedError,
           5: NumericalError, 6: _OutOfMemory, 7: CancelledError, 8: InternalError}


class Array(ctypes.Structure):
    _fields_ = [("data", ctypes.c_void_p), ("dtype", ctypes.c_int), ("memory", ctypes.c_int),
                ("shape", c_i64 * 4), ("strides", c_i64 * 4)]


class Params(ctypes.Structure):
    _fields_ = [("estimator", ctypes.c_int), ("patch", ctypes.c_int), ("sigma", ctypes.c_double),
                ("topk", ctypes.c_int), ("mask_tolerance", ctypes.c_double)]


class Outputs(ctypes.Structure):
    _fields_ = [("estimate", c_double_p), ("log_density", c_double_p), ("variance", c_double_p),
                ("effective_count", c_double_p), ("topk_log_weight", c_double_p), ("topk_weight", c_double_p),
                ("topk_image", c_i64_p), ("topk_position", c_i64_p), ("seconds", ctypes.c_double),
                ("pairs", ctypes.c_double)]


PROGRESS_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_double, ctypes.c_double, ctypes.c_void_p)


def _find_library():
    env = os.environ.get("LEMMSE_LIBRARY")
    if env:
        return env
    here = os.path.dirname(os.path.abspath(__file__))
    candidates = [
        os.path.join(here, "liblemmse.so"),
        os.path.join(here, "..", "..", "build", "liblemmse.so"),          # source tree, default build dir
        os.path.join(here, "..", "..", "..", "..", "lib", "liblemmse.so"),  # installed: share/lemmse/python/lemmse
    ]
    prefix = os.path.join(here, "..", "..", "..", "..")
    candidates += glob.glob(os.path.join(prefix, "lib*", "*", "liblemmse.so"))  # e.g. lib/x86_64-linux-gnu
    for c in candidates:
        if os.path.exists(c):
            return os.path.abspath(c)
    found = ctypes.util.find_library("lemmse")
    if found:
        return found
    raise ImportError("liblemmse.so not found: build lemmse (scripts/test.sh) or set LEMMSE_LIBRARY to its path")


library_path = _find_library()
lib = ctypes.CDLL(library_path)


def _decl(name, restype, *argtypes):
    f = getattr(lib, name)
    f.restype = restype
    f.argtypes = list(argtypes)
    return f


ctx_p = ctypes.c_void_p
_decl("lemmse_version", ctypes.c_char_p)
_decl("lemmse_last_error", ctypes.c_char_p)
_decl("lemmse_cuda_device_count", ctypes.c_int)
_decl("lemmse_context_create", ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.POINTER(ctx_p))
_decl("lemmse_context_destroy", None, ctx_p)
_decl("lemmse_context_set_stream", ctypes.c_int, ctx_p, ctypes.c_void_p)
_decl("lemmse_dataset_shape", ctypes.c_int, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_int,
      c_i64_p, c_i64_p, c_i64_p, c_i64_p)
_decl("lemmse_dataset_read", ctypes.c_int, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_int,
      c_i64, c_i64, c_double_p)
_decl("lemmse_set_training_dataset", ctypes.c_int, ctx_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, c_i64,
      c_i64_p, c_i64)
_decl("lemmse_set_training_images", ctypes.c_int, ctx_p, ctypes.POINTER(Array))
_decl("lemmse_training_shape", ctypes.c_int, ctx_p, c_i64_p, c_i64_p, c_i64_p, c_i64_p)
_decl("lemmse_set_problem", ctypes.c_int, ctx_p, ctypes.c_char_p, ctypes.c_uint64)
_decl("lemmse_set_problem_mask", ctypes.c_int, ctx_p, ctypes.POINTER(Array))
_decl("lemmse_set_problem_kernel", ctypes.c_int, ctx_p, ctypes.POINTER(Array))
_decl("lemmse_set_preinverse", ctypes.c_int, ctx_p, ctypes.c_int, ctypes.c_double)
_decl("lemmse_set_preinverse_filter", ctypes.c_int, ctx_p, ctypes.POINTER(Array))
_decl("lemmse_set_compat", ctypes.c_int, ctx_p, ctypes.c_int)
_decl("lemmse_simulate", ctypes.c_int, ctx_p, ctypes.POINTER(Array), ctypes.c_double, ctypes.c_uint64, ctypes.c_uint64,
      c_double_p)
_decl("lemmse_set_progress", ctypes.c_int, ctx_p, PROGRESS_FN, ctypes.c_void_p)
_decl("lemmse_estimate", ctypes.c_int, ctx_p, ctypes.POINTER(Params), ctypes.POINTER(Array), ctypes.POINTER(Outputs))
_decl("lemmse_params_init", None, ctypes.POINTER(Params))


def check(status):
    """Raises the exception matching a C status (with the thread's last error message)."""
    if status != 0:
        msg = lib.lemmse_last_error().decode("utf-8", "replace")
        raise _ERRORS.get(status, InternalError)(status, msg)


def version():
    return lib.lemmse_version().decode()


def cuda_device_count():
    return int(lib.lemmse_cuda_device_count())
