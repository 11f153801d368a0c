"""attn_qat: Attn-QAT's trainable FP4 attention as a differentiable PyTorch op (docs/attn_qat.md).

The passes (include/fastwan/attn_qat.h):
  forward:  q^, k^, v^ = φ(q), φ(k), φ(v);  o, o', lse, row_max = forward(q^, k^, v^)
  backward: dq, dk, dv = backward(q^, k^, v^, o' or o, lse, row_max, do)  (straight-through φ)

CUDA tensors (bf16 only) run the library's kernels on the current stream. CPU tensors (any float dtype) run its
double-precision reference on float32 copies: slow, for tests and tiny runs. With torch >= 2.4 the passes are
the custom ops fastwan::attn_qat_forward / fastwan::attn_qat_backward (so torch.compile can trace through them);
older torch gets the same passes as a torch.autograd.Function.
"""
import collections
import ctypes
import math
import typing

import torch

from . import _lib

MODES = ("attn_qat", "drop_in", "exact")
_V_AXIS = {"tokens": _lib.V_TOKENS, "head_dim": _lib.V_HEAD_DIM}
_D_FROM = {"o_prime": _lib.D_FROM_O_PRIME, "o": _lib.D_FROM_O}
_DV_P = {"fq_normalized": _lib.DV_FQ_NORMALIZED, "fq_row_max": _lib.DV_FQ_ROW_MAX, "exact": _lib.DV_EXACT}
_CUDA_HEAD_DIMS = (64, 128)
_INT_MAX = 2**31 - 1

ForwardOutputs = collections.namedtuple("ForwardOutputs", "o o_prime lse row_max")


# --- arguments --------------------------------------------------------------------------------------------

def _choice(name, value, table):
    if value not in table:
        raise ValueError(f"attn_qat: {name} must be one of {', '.join(map(repr, table))}; got {value!r}")
    return table[value] if isinstance(table, dict) else value


def _check_inputs(q, k, v):
    """Raises ValueError unless q [B, H, Nq, D], k and v [B, H, Nk, D] suit the device; returns them contiguous."""
    for name, t in (("q", q), ("k", k), ("v", v)):
        if not isinstance(t, torch.Tensor):
            raise ValueError(f"attn_qat: {name} must be a torch.Tensor; got {type(t).__name__}")
        if t.dim() != 4:
            raise ValueError(f"attn_qat: {name} must be 4-D [batch, heads, tokens, head_dim]; got shape "
                             f"{tuple(t.shape)}")
        if any(n == 0 or n > _INT_MAX for n in t.shape):
            raise ValueError(f"attn_qat: {name} has an empty or over-long dimension: {tuple(t.shape)}")
    if not (q.device == k.device == v.device):
        raise ValueError(f"attn_qat: q, k, v must be on one device; got {q.device}, {k.device}, {v.device}")
    if not (q.dtype == k.dtype == v.dtype):
        raise ValueError(f"attn_qat: q, k, v must have one dtype; got {q.dtype}, {k.dtype}, {v.dtype}")
    (b, h, _, d), (bk, hk, nk, dk), (bv, hv, nv, dv) = q.shape, k.shape, v.shape
    if not (b == bk == bv and h == hk == hv):
        raise ValueError(f"attn_qat: batch and heads must match (no broadcasting, no grouped heads); got q "
                         f"{tuple(q.shape)}, k {tuple(k.shape)}, v {tuple(v.shape)}")
    if nk != nv:
        raise ValueError(f"attn_qat: k and v must have the same number of tokens; got {nk} and {nv}")
    if not (d == dk == dv):
        raise ValueError(f"attn_qat: q, k, v must have one head_dim; got {d}, {dk}, {dv}")
    if q.device.type == "cuda":
        # No silent conversion: the kernels are bf16 and a cast would hide an extra copy and a rounding.
        if q.dtype != torch.bfloat16:
            raise ValueError(f"attn_qat: CUDA tensors must be torch.bfloat16 (got {q.dtype}); convert with "
                             f".to(torch.bfloat16)")
        if d not in _CUDA_HEAD_DIMS:
            raise ValueError(f"attn_qat: the CUDA kernels take head_dim 64 or 128; got {d}")
    elif q.device.type == "cpu":
        if not q.dtype.is_floating_point:
            raise ValueError(f"attn_qat: q, k, v must be floating point; got {q.dtype}")
        if d % 16:
            raise ValueError(f"attn_qat: head_dim must be a multiple of 16 (the NVFP4 block); got {d}")
    else:
        raise ValueError(f"attn_qat: tensors must be on CUDA or the CPU; got {q.device}")
    return q.contiguous(), k.contiguous(), v.contiguous()


def _options(q, causal, sm_scale, v_axis, d_from, dv_p, mode):
    """The op's scalar arguments: (causal, sm_scale, v_axis, d_from, dv_p, mode) with the enums as ints."""
    if sm_scale is None:
        sm_scale = 1.0 / math.sqrt(q.shape[-1])
    sm_scale = float(sm_scale)
    if not (math.isfinite(sm_scale) and sm_scale > 0):
        raise ValueError(f"attn_qat: sm_scale must be a positive finite number; got {sm_scale}")
    return (bool(causal), sm_scale, _choice("v_axis", v_axis, _V_AXIS), _choice("d_from", d_from, _D_FROM),
            _choice("dv_p", dv_p, _DV_P), _choice("mode", mode, MODES))


def _params(q, k, causal, sm_scale, v_axis, d_from, dv_p, quantize):
    b, h, nq, d = q.shape
    return _lib.Params(b, h, nq, k.shape[2], d, sm_scale, int(causal), v_axis, d_from, dv_p, int(quantize),
                       int(quantize))


def _backward_params(q, k, causal, sm_scale, v_axis, d_from, dv_p, mode):
    if mode == "attn_qat":
        return _params(q, k, causal, sm_scale, v_axis, d_from, dv_p, True)
    # exact: the exact gradient. drop_in (reference §3.2): the exact gradient of the ORIGINAL q, k, v except
    # that D = rowsum(dO ∘ O_fp4): the FP4 output stands in for O.
    d_from = _lib.D_FROM_O if mode == "drop_in" else _lib.D_FROM_O_PRIME
    return _params(q, k, causal, sm_scale, v_axis, d_from, _lib.DV_EXACT, False)


# --- the passes on each device ----------------------------------------------------------------------------

def _ptr(t):
    return ctypes.c_void_p(t.data_ptr())


def _dense(t):
    """Contiguous and 16-byte aligned, as the library requires (a contiguous view can start anywhere)."""
    t = t.contiguous()
    return t if t.data_ptr() % 16 == 0 else t.clone()


def _host_f32(t):
    return _dense(t.detach().to(device="cpu", dtype=torch.float32))


def _empty_f32(shape):  # explicit: a changed default dtype or device must not reach the reference's float*
    return torch.empty(shape, dtype=torch.float32, device="cpu")


def _stream(device):
    return ctypes.c_void_p(torch.cuda.current_stream(device).cuda_stream)


def _forward_impl(q, k, v, causal, sm_scale, v_axis, d_from, dv_p, mode):
    """Returns (o, o', lse, row_max, q^, k^, v^). q^, k^, v^ are what the backward must get in place of q, k,
    v, or empty where it takes q, k, v themselves (CUDA exact and drop_in, and the CPU reference, which
    applies φ itself): returning views of the inputs is not allowed for a custom op."""
    q, k, v = _dense(q), _dense(k), _dense(v)
    params = _params(q, k, causal, sm_scale, v_axis, d_from, dv_p, mode != "exact")
    exact = _params(q, k, causal, sm_scale, v_axis, d_from, dv_p, False)
    b, h, nq, _ = q.shape
    stats = lambda: torch.empty((b, h, nq), dtype=torch.float32, device=q.device)  # noqa: E731
    none = [q.new_empty(0) for _ in range(3)]
    if q.device.type == "cuda":
        with torch.cuda.device(q.device):  # the library launches on the current device
            stream = _stream(q.device)
            hats = (q, k, v)
            if mode != "exact":
                hats = [torch.empty_like(t) for t in (q, k, v)]
                _lib.call("fastwan_attn_qat_quantize", ctypes.byref(params), *map(_ptr, (q, k, v, *hats)),
                          stream)
            o, o_prime, lse, row_max = torch.empty_like(q), torch.empty_like(q), stats(), stats()
            _lib.call("fastwan_attn_qat_forward", ctypes.byref(params),
                      *map(_ptr, (*hats, o, o_prime, lse, row_max)), stream)
            if mode == "drop_in":  # its exact backward needs the lse of the exact forward (O is the FP4 one)
                scratch = [torch.empty_like(q), torch.empty_like(q)]
                _lib.call("fastwan_attn_qat_forward", ctypes.byref(exact),
                          *map(_ptr, (q, k, v, *scratch, lse, row_max)), stream)
        return (o, o_prime, lse, row_max, *(hats if mode == "attn_qat" else none))
    f32 = [_host_f32(t) for t in (q, k, v)]
    o, o_prime, lse = _empty_f32(q.shape), _empty_f32(q.shape), stats()
    _lib.call("fastwan_attn_qat_reference_forward", ctypes.byref(params), *map(_ptr, (*f32, o, o_prime, lse)))
    if mode == "drop_in":
        scratch = [_empty_f32(q.shape), _empty_f32(q.shape)]
        _lib.call("fastwan_attn_qat_reference_forward", ctypes.byref(exact), *map(_ptr, (*f32, *scratch, lse)))
    row_max = torch.zeros((b, h, nq), dtype=torch.float32, device="cpu")  # the reference recomputes its own
    return (o.to(q.dtype), o_prime.to(q.dtype), lse, row_max, *none)


def _backward_impl(q, k, v, o_for_d, lse, row_max, d_o, causal, sm_scale, v_axis, d_from, dv_p, mode):
    """dq, dk, dv. q, k, v: the q^, k^, v^ of the forward, or the inputs where it returned none."""
    q, k, v, o_for_d, d_o = (_dense(t) for t in (q, k, v, o_for_d, d_o))
    params = _backward_params(q, k, causal, sm_scale, v_axis, d_from, dv_p, mode)
    if q.device.type == "cuda":
        with torch.cuda.device(q.device):
            dq, dk, dv = torch.empty_like(q), torch.empty_like(k), torch.empty_like(v)
            workspace = torch.empty(max(1, _lib.backward_workspace(params)), dtype=torch.uint8, device=q.device)
            assert workspace.data_ptr() % 16 == 0  # the caching allocator's blocks are 512-byte aligned
            _lib.call("fastwan_attn_qat_backward", ctypes.byref(params),
                      *map(_ptr, (q, k, v, o_for_d, lse, row_max, d_o.to(q.dtype), dq, dk, dv, workspace)),
                      _stream(q.device))
        return dq, dk, dv
    f32 = [_host_f32(t) for t in (q, k, v, o_for_d, lse, d_o)]
    grads = [_empty_f32(t.shape) for t in (q, k, v)]
    qf, kf, vf, of, lf, dof = f32
    # Only the one of o / o' that params.d_from names is read: o_for_d is passed as both.
    _lib.call("fastwan_attn_qat_reference_backward", ctypes.byref(params),
              *map(_ptr, (qf, kf, vf, of, of, lf, dof, *grads)))
    return tuple(g.to(t.dtype) for g, t in zip(grads, (q, k, v)))


# --- autograd ---------------------------------------------------------------------------------------------

def _save(ctx, inputs, output):  # setup_context: torch passes these by keyword
    q, k, v, causal, sm_scale, v_axis, d_from, dv_p, mode = inputs
    o, o_prime, lse, row_max, q_hat, k_hat, v_hat = output
    qkv = (q_hat, k_hat, v_hat) if q_hat.numel() else (q, k, v)
    o_for_d = o if (mode == "drop_in" or (mode == "attn_qat" and d_from == _lib.D_FROM_O)) else o_prime
    ctx.save_for_backward(*qkv, o_for_d, lse, row_max)
    ctx.options = (causal, sm_scale, v_axis, d_from, dv_p, mode)


def _grads(ctx, d_o, backward):
    if d_o is None:  # O took no part in the loss
        return (None,) * 9
    dq, dk, dv = backward(*ctx.saved_tensors, d_o.contiguous(), *ctx.options)
    return (dq, dk, dv) + (None,) * 6


_HAS_CUSTOM_OP = hasattr(torch.library, "custom_op") and hasattr(torch.library, "register_autograd")

if _HAS_CUSTOM_OP:
    T = torch.Tensor

    @torch.library.custom_op("fastwan::attn_qat_forward", mutates_args=())
    def _forward_op(q: T, k: T, v: T, causal: bool, sm_scale: float, v_axis: int, d_from: int, dv_p: int,
                    mode: str) -> typing.Tuple[T, T, T, T, T, T, T]:
        return _forward_impl(q, k, v, causal, sm_scale, v_axis, d_from, dv_p, mode)

    @_forward_op.register_fake
    def _(q, k, v, causal, sm_scale, v_axis, d_from, dv_p, mode):
        stats = [q.new_empty(q.shape[:3], dtype=torch.float32) for _ in range(2)]
        saves_hats = q.device.type == "cuda" and mode == "attn_qat"
        hats = [torch.empty_like(t) if saves_hats else q.new_empty(0) for t in (q, k, v)]
        return (torch.empty_like(q), torch.empty_like(q), *stats, *hats)

    @torch.library.custom_op("fastwan::attn_qat_backward", mutates_args=())
    def _backward_op(q: T, k: T, v: T, o_for_d: T, lse: T, row_max: T, d_o: T, causal: bool, sm_scale: float,
                     v_axis: int, d_from: int, dv_p: int, mode: str) -> typing.Tuple[T, T, T]:
        return _backward_impl(q, k, v, o_for_d, lse, row_max, d_o, causal, sm_scale, v_axis, d_from, dv_p, mode)

    @_backward_op.register_fake
    def _(q, k, v, o_for_d, lse, row_max, d_o, *options):
        return torch.empty_like(q), torch.empty_like(k), torch.empty_like(v)

    def _backward_op_autograd(ctx, d_o, *_unused_output_grads):  # only O is the op's result
        return _grads(ctx, d_o, _backward_op)

    _forward_op.register_autograd(_backward_op_autograd, setup_context=_save)

else:
    class _AttnQatFunction(torch.autograd.Function):
        @staticmethod
        def forward(ctx, q, k, v, causal, sm_scale, v_axis, d_from, dv_p, mode):
            outputs = _forward_impl(q, k, v, causal, sm_scale, v_axis, d_from, dv_p, mode)
            _save(ctx, (q, k, v, causal, sm_scale, v_axis, d_from, dv_p, mode), outputs)
            return outputs[0]

        @staticmethod
        @torch.autograd.function.once_differentiable
        def backward(ctx, d_o):
            return _grads(ctx, d_o, _backward_impl)


# --- public -----------------------------------------------------------------------------------------------

def attn_qat(q, k, v, *, causal=False, sm_scale=None, v_axis="tokens", d_from="o_prime", dv_p="fq_normalized",
             mode="attn_qat"):
    """Attention of q [B, H, Nq, D] over k, v [B, H, Nk, D] (SDPA's layout), differentiable.

    mode: "attn_qat" (FP4 forward, the Attn-QAT backward), "drop_in" (FP4 forward, the exact backward of the
    original q, k, v with D from the FP4 output: the unstable baseline of reference §3.2) or "exact" (no
    quantization). causal: key j > query i masked, top-left aligned. sm_scale: default 1 / sqrt(D).
    The ablation switches (reference §7) apply to mode "attn_qat": v_axis ("tokens" | "head_dim"): V quantized
    per 16 tokens of a channel or per 16 channels of a token; d_from ("o_prime" | "o"): D = rowsum(dO ∘ O') or
    rowsum(dO ∘ O); dv_p ("fq_normalized" | "fq_row_max" | "exact"): the P of dV.
    CUDA tensors must be bf16 (head_dim 64 or 128); CPU tensors of any float dtype run the double-precision
    reference on float32 copies (head_dim a multiple of 16) and get outputs and gradients in their dtype.
    """
    q, k, v = _check_inputs(q, k, v)
    options = _options(q, causal, sm_scale, v_axis, d_from, dv_p, mode)
    if _HAS_CUSTOM_OP:
        return _forward_op(q, k, v, *options)[0]
    return _AttnQatFunction.apply(q, k, v, *options)


@torch.no_grad()
def forward_outputs(q, k, v, **kwargs):
    """The forward's every output, no autograd: ForwardOutputs(o, o_prime, lse, row_max). lse is base 2 in
    units of sm_scale * log2(e)-scaled scores (in mode drop_in: of the extra exact forward, as its backward
    needs); row_max is the kernel's (zeros on the CPU, whose reference does not return it). For tests and
    inspection; kwargs as attn_qat's."""
    q, k, v = _check_inputs(q, k, v)
    options = _options(q, **{"causal": False, "sm_scale": None, "v_axis": "tokens", "d_from": "o_prime",
                             "dv_p": "fq_normalized", "mode": "attn_qat", **kwargs})
    return ForwardOutputs(*_forward_impl(q, k, v, *options)[:4])
