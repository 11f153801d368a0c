"""ctypes binding of libfastwan_attn_qat.so (the C ABI of include/fastwan/attn_qat.h).

The library is loaded lazily, on the first call that needs it, so that `import fastwan_attn_qat` works (and the
tests can skip with a reason) on a machine where it has not been built.
"""
import ctypes
import os
import pathlib

LIB_NAME = "libfastwan_attn_qat.so"
ENV_VAR = "FASTWAN_ATTN_QAT_LIB"

# Values of the switches, as the header's enums.
V_TOKENS, V_HEAD_DIM = 0, 1
D_FROM_O_PRIME, D_FROM_O = 0, 1
DV_FQ_NORMALIZED, DV_FQ_ROW_MAX, DV_EXACT = 0, 1, 2


class Params(ctypes.Structure):
    """fastwan_attn_qat_params, field for field."""

    _fields_ = [
        ("batch", ctypes.c_int),
        ("heads", ctypes.c_int),
        ("seq_q", ctypes.c_int),
        ("seq_k", ctypes.c_int),
        ("head_dim", ctypes.c_int),
        ("sm_scale", ctypes.c_float),
        ("causal", ctypes.c_int),
        ("v_axis", ctypes.c_int),
        ("d_from", ctypes.c_int),
        ("dv_p", ctypes.c_int),
        ("quantize_qkv", ctypes.c_int),
        ("quantize_p", ctypes.c_int),
    ]

    def __repr__(self):
        return "Params(" + ", ".join(f"{n}={getattr(self, n)}" for n, _ in self._fields_) + ")"


class LibraryNotFoundError(OSError):
    pass


def candidate_paths(env=None, package_dir=None):
    """Where the library is looked for, in order: $FASTWAN_ATTN_QAT_LIB, next to the package, then the build
    outputs of the repository the package sits in (<repo>/python/fastwan_attn_qat/ -> <repo>)."""
    env = os.environ.get(ENV_VAR) if env is None else env
    package_dir = pathlib.Path(__file__).resolve().parent if package_dir is None else pathlib.Path(package_dir)
    if env:
        return [pathlib.Path(env)]  # an explicit choice is not second-guessed by the fallbacks
    repo = package_dir.parent.parent
    return [package_dir / LIB_NAME, repo / "build" / "bin" / LIB_NAME, repo / ".gpu" / "lib" / LIB_NAME]


def find_library(env=None, package_dir=None):
    paths = candidate_paths(env, package_dir)
    for path in paths:
        if path.is_file():
            return path
    raise LibraryNotFoundError(
        f"{LIB_NAME} not found (tried: {', '.join(str(p) for p in paths)}); build it with "
        f"`cmake --build build --target fastwan_attn_qat` or set {ENV_VAR}")


_P = ctypes.POINTER(Params)
_ptr = ctypes.c_void_p  # device and host buffers alike: the ABI takes plain pointers, we pass data_ptr()s
_SIGNATURES = {
    "fastwan_attn_qat_default_params": (Params, [ctypes.c_int] * 5),
    "fastwan_attn_qat_block_n": (ctypes.c_int, []),
    "fastwan_attn_qat_last_error": (ctypes.c_char_p, []),
    "fastwan_attn_qat_quantize": (ctypes.c_int, [_P] + [_ptr] * 7),
    "fastwan_attn_qat_forward": (ctypes.c_int, [_P] + [_ptr] * 8),
    "fastwan_attn_qat_backward_workspace": (ctypes.c_size_t, [_P]),
    "fastwan_attn_qat_backward": (ctypes.c_int, [_P] + [_ptr] * 12),
    "fastwan_attn_qat_reference_forward": (ctypes.c_int, [_P] + [_ptr] * 6),
    "fastwan_attn_qat_reference_backward": (ctypes.c_int, [_P] + [_ptr] * 10),
}

_lib = None


def lib():
    """The loaded library, every entry with its signature."""
    global _lib
    if _lib is None:
        handle = ctypes.CDLL(str(find_library()))
        for name, (restype, argtypes) in _SIGNATURES.items():
            fn = getattr(handle, name)
            fn.restype, fn.argtypes = restype, argtypes
        _lib = handle
    return _lib


def available():
    try:
        lib()
        return True
    except OSError:
        return False


def last_error():
    msg = lib().fastwan_attn_qat_last_error()
    return msg.decode("utf-8", "replace") if msg else "unknown error"


def call(name, *args):
    """Calls an entry that returns a status; non-zero raises RuntimeError with the library's message."""
    rc = getattr(lib(), name)(*args)
    if rc != 0:
        raise RuntimeError(last_error())  # the message names the entry


def default_params(batch, heads, seq_q, seq_k, head_dim):
    return lib().fastwan_attn_qat_default_params(batch, heads, seq_q, seq_k, head_dim)


def block_n():
    return lib().fastwan_attn_qat_block_n()


def backward_workspace(params):
    return lib().fastwan_attn_qat_backward_workspace(ctypes.byref(params))
