#!/usr/bin/env python3
"""Golden vectors of Attn-QAT's training attention (forward and backward) from the independent PyTorch
reference ../shared/reference/py/attn_qat_ref.py (qat_forward_ref, qat_backward_ref), for the C++ reference
quant/attn_qat.h.

    python3 scripts/golden/make_attn_qat_case.py [--ref /work/shared/reference/py/attn_qat_ref.py]
                                                 [--out tests/data/golden/attn_qat_small]

Writes OUT/case.json and OUT/io.safetensors (float32, tensors in the repo's [S, heads, D] layout, the base-2
LSE `m` as [Sq, heads]). Nothing of the reference is copied; two shims adapt it, and only from the outside:
  - e4m3_rne: the reference casts to torch.float8_e4m3fn, which PyTorch 1.13 lacks; the shim rounds to E4M3
    (round to nearest even, subnormals below 2^-6 on a 2^-9 grid, saturating at 448) with fp32 arithmetic,
    which gives the same values. Used only when torch has no float8_e4m3fn.
  - fq_nvfp4: the reference reshapes into 16-blocks, so it needs lengths that are multiples of 16; the shim
    pads the quantized axis with zeros (which change no block's amax and quantize to 0) and cuts the padding
    off again. With it a ragged last KV tile simply has fewer keys, in the forward and in the backward, which
    is the masking that attn_qat.md §7 recommends (the published backward lets padded keys into the block).
The reference has no causal mask. The causal case is made from its non-causal functions row by row: query i
sees keys [0, i] (top-left aligned), and its forward is the reference run on that one query and those keys
(same ascending 32-key tiles); its dQ row likewise; dK and dV are the fp32 sums of the per-row bf16 results
(a few 1e-4 of extra rounding). V is quantized along the head dimension there, since V's 16-token blocks would
otherwise see only the keys of each row.
"""
import argparse
import importlib.util
import json
import math
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))


def load_module(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def e4m3_rne_shim(x):
    """E4M3 (fn) round to nearest even, saturating at 448, in fp32 (exact: only power-of-two scalings)."""
    a = x.float().clamp(max=448.0).abs()
    _, e = torch.frexp(a)                     # a = f * 2^e, f in [0.5, 1)
    step = torch.exp2((e - 4).clamp(min=-9).float())  # 3 mantissa bits; the subnormal grid 2^-9 below 2^-6
    r = torch.round(a / step) * step          # torch.round: half to even
    return torch.where(x < 0, -r, r)


def install_shims(ref):
    if not hasattr(torch, "float8_e4m3fn"):
        ref.e4m3_rne = e4m3_rne_shim
    fq = ref.fq_nvfp4

    def fq_padded(x, dim=-1, scale_from_unrounded=False):
        n = x.shape[dim]
        pad = (-n) % 16
        if pad == 0:
            return fq(x, dim=dim, scale_from_unrounded=scale_from_unrounded)
        xm = x.movedim(dim, -1)
        xp = torch.cat([xm, torch.zeros(*xm.shape[:-1], pad, dtype=xm.dtype)], -1)
        return fq(xp, dim=-1, scale_from_unrounded=scale_from_unrounded)[..., :n].movedim(-1, dim)

    ref.fq_nvfp4 = fq_padded


def check_e4m3_shim():
    # Every E4M3 value maps to itself, midpoints go to the even neighbour, large values saturate.
    vals = []
    for e in range(-6, 9):
        for m in range(8):
            vals.append((1 + m / 8) * 2.0 ** e)
    vals += [k * 2.0 ** -9 for k in range(8)]
    v = torch.tensor(sorted(set(vals)))
    v = v[v <= 448]
    assert torch.equal(e4m3_rne_shim(v), v)
    mids = (v[1:] + v[:-1]) / 2
    r = e4m3_rne_shim(mids)
    assert bool(((r == v[1:]) | (r == v[:-1])).all())
    assert e4m3_rne_shim(torch.tensor([1.0625]))[0] == 1.0 and e4m3_rne_shim(torch.tensor([1.1875]))[0] == 1.25
    assert e4m3_rne_shim(torch.tensor([1e4]))[0] == 448.0


def to_layout(t):  # [B=1, H, N, D] -> [N, H, D]; [1, H, N] -> [N, H]
    t = t.float()[0]
    return t.permute(1, 0, 2).contiguous() if t.dim() == 3 else t.transpose(0, 1).contiguous()


def make_inputs(gen, heads, nq, nk, d, k_bias):
    q = torch.randn(1, heads, nq, d, generator=gen).to(torch.bfloat16)
    k = torch.randn(1, heads, nk, d, generator=gen)
    if k_bias:  # a channel bias shared by every key (large on 4 channels), as K smoothing exists for
        bias = 0.5 * torch.randn(d, generator=gen)
        bias[:4] += torch.tensor([6.0, -5.0, 4.0, -8.0])
        k = k + bias
    k = k.to(torch.bfloat16)
    v = torch.randn(1, heads, nk, d, generator=gen).to(torch.bfloat16)
    do = torch.randn(1, heads, nq, d, generator=gen).to(torch.bfloat16)
    return q, k, v, do


def run_case(ref, gen, name, heads, nq, nk, d, v_axis, causal, k_bias, ablations):
    q, k, v, do = make_inputs(gen, heads, nq, nk, d, k_bias)
    sm = 1.0 / math.sqrt(d)
    out = {}
    if not causal:
        O, Op, M, qh, kh, vh = ref.qat_forward_ref(q, k, v, sm, block_n=32, v_axis=v_axis)
        dq, dk, dv, _, _ = ref.qat_backward_ref(qh, kh, vh, Op, M, do, sm)
        if ablations:
            dq_o, dk_o, dv_o, _, _ = ref.qat_backward_ref(qh, kh, vh, O, M, do, sm)
            _, _, dv_p, _, _ = ref.qat_backward_ref(qh, kh, vh, Op, M, do, sm, quant_p=False)
    else:
        assert nq == nk and v_axis == -1
        O, Op, dq = (torch.zeros(1, heads, nq, d) for _ in range(3))
        M = torch.zeros(1, heads, nq)
        dk, dv = torch.zeros(1, heads, nk, d), torch.zeros(1, heads, nk, d)
        dq_o, dk_o, dv_o, dv_p = [torch.zeros_like(t) for t in (dq, dk, dv, dv)]
        for i in range(nq):
            qi, ki, vi, doi = q[:, :, i:i + 1], k[:, :, :i + 1], v[:, :, :i + 1], do[:, :, i:i + 1]
            o_, op_, m_, qh, kh, vh = ref.qat_forward_ref(qi, ki, vi, sm, block_n=32, v_axis=v_axis)
            O[:, :, i:i + 1], Op[:, :, i:i + 1], M[:, :, i:i + 1] = o_.float(), op_.float(), m_
            a, b, c, _, _ = ref.qat_backward_ref(qh, kh, vh, op_, m_, doi, sm)
            dq[:, :, i:i + 1] = a.float()
            dk[:, :, :i + 1] += b.float()
            dv[:, :, :i + 1] += c.float()
            if ablations:
                a, b, c, _, _ = ref.qat_backward_ref(qh, kh, vh, o_, m_, doi, sm)
                dq_o[:, :, i:i + 1] = a.float()
                dk_o[:, :, :i + 1] += b.float()
                dv_o[:, :, :i + 1] += c.float()
                _, _, c, _, _ = ref.qat_backward_ref(qh, kh, vh, op_, m_, doi, sm, quant_p=False)
                dv_p[:, :, :i + 1] += c.float()
    tensors = {"q": q, "k": k, "v": v, "do": do, "o": O, "o_prime": Op, "m": M, "dq": dq, "dk": dk, "dv": dv}
    if ablations:
        tensors.update({"dq_d_from_o": dq_o, "dk_d_from_o": dk_o, "dv_exact_p": dv_p})
    for key, t in tensors.items():
        out[name + "." + key] = to_layout(t)
    info = {"heads": heads, "sq": nq, "sk": nk, "d": d, "sm_scale": sm, "block_n": 32,
            "v_axis": "tokens" if v_axis == -2 else "head_dim", "causal": causal, "k_channel_bias": k_bias,
            "ablations": ablations}
    return out, info


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ref", default="/work/shared/reference/py/attn_qat_ref.py")
    ap.add_argument("--out", default=os.path.join(HERE, "..", "..", "tests", "data", "golden", "attn_qat_small"))
    args = ap.parse_args()
    ref = load_module("attn_qat_ref", args.ref)
    writer = load_module("make_mode_cases", os.path.join(HERE, "make_mode_cases.py"))
    if not hasattr(torch, "float8_e4m3fn"):
        check_e4m3_shim()
    install_shims(ref)
    gen = torch.Generator().manual_seed(1600)
    cases = [("a", dict(heads=2, nq=77, nk=130, d=64, v_axis=-2, causal=False, k_bias=True, ablations=False)),
             ("b", dict(heads=1, nq=33, nk=77, d=128, v_axis=-2, causal=False, k_bias=False, ablations=True)),
             ("c", dict(heads=1, nq=45, nk=45, d=64, v_axis=-1, causal=True, k_bias=False, ablations=True))]
    tensors, infos = {}, {}
    for name, kw in cases:
        t, info = run_case(ref, gen, name, **kw)
        tensors.update(t)
        infos[name] = info
    os.makedirs(args.out, exist_ok=True)
    writer.write_safetensors_f32(os.path.join(args.out, "io.safetensors"), tensors)
    case = {
        "component": "attn_qat",
        "call": "O, O', M = qat_forward_ref(q, k, v, sm_scale, block_n=32, v_axis); "
                "dQ, dK, dV = qat_backward_ref(Q^, K^, V^, O', M, dO, sm_scale) (and the ablations: D from O, "
                "dV from the unquantized P)",
        "cases": infos,
        "layouts": {"<case>.q/k/v/do/o/o_prime/dq/dk/dv/...": "S heads D", "<case>.m": "Sq heads (base-2 LSE)"},
        "tolerance": {"metric": "rel_l2", "max": 0.003, "dv": "looser: Appendix B"},
        "reference": "scripts/golden/make_attn_qat_case.py over ../shared/reference/py/attn_qat_ref.py "
                     "(PyTorch %s, CPU; shims: e4m3 without float8 dtypes, zero padding of ragged 16-blocks; "
                     "causal from per-row runs)" % torch.__version__,
        "dtypes": "inputs bf16 values, outputs bf16 values (m fp32), all stored as float32",
    }
    with open(os.path.join(args.out, "case.json"), "w") as fh:
        json.dump(case, fh, indent=2)
        fh.write("\n")
    print("wrote", args.out, sum(t.numel() for t in tensors.values()) * 4, "bytes of tensors")


if __name__ == "__main__":
    sys.exit(main())
