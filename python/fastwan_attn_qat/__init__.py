"""Attn-QAT's trainable FP4 attention for PyTorch: `attn_qat(q, k, v, ...)` on [B, H, N, D] tensors.

A pure-Python package: it loads libfastwan_attn_qat.so (include/fastwan/attn_qat.h) with ctypes on first use.
See python/README.md and docs/attn_qat.md.
"""
from .op import MODES, ForwardOutputs, attn_qat, forward_outputs

__version__ = "0.1.0"
__all__ = ["attn_qat", "forward_outputs", "ForwardOutputs", "MODES", "__version__"]
