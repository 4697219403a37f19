"""Model FLOPs and model-FLOPs utilization (MFU) of a decoder-only transformer training step.

Formula (Chowdhery et al., PaLM, appendix B; the one nanoGPT and most MFU figures use):

    FLOPs per token = 6 * N_matmul + 12 * n_layer * d_attn * seq_len

N_matmul is the number of weights that take part in matrix multiplies: every nn.Linear weight,
the LM head included (tied or not), embeddings lookups and norms excluded. 6 = 2 (multiply-add)
x 3 (forward + backward for activations and weights). The second term is attention's QK^T and
AV products (d_attn = n_heads * head_dim), counted at full T x T as the convention does, even
though causal kernels skip half. Activation recomputation is not counted (that would be HFU).

MFU = tokens/s * FLOPs per token / peak dense bf16 FLOP/s of the device(s).
"""

from __future__ import annotations

from torch import nn

# Dense (no sparsity) bf16 tensor-core peaks from the vendor data sheets, FLOP/s.
PEAK_BF16_FLOPS = {
    "H100 80GB HBM3": 989.4e12,  # H100 SXM5
    "H100 SXM": 989.4e12,
    "H100 NVL": 835.0e12,
    "H100 PCIe": 756.0e12,
    "H200": 989.4e12,
    "GH200": 989.4e12,
    "A100": 312.0e12,
    "L40S": 362.05e12,
    "L4": 121.0e12,
    "A10": 125.0e12,
}


def matmul_params(model: nn.Module) -> int:
    return sum(m.weight.numel() for m in model.modules() if isinstance(m, nn.Linear))


def flops_per_token(n_matmul: int, n_layer: int, d_attn: int, seq_len: int) -> float:
    return 6.0 * n_matmul + 12.0 * n_layer * d_attn * seq_len


def peak_flops_for(device_name: str) -> float | None:
    """Peak bf16 FLOP/s for a CUDA device name such as 'NVIDIA H100 80GB HBM3'; None if unknown."""
    for key in sorted(PEAK_BF16_FLOPS, key=len, reverse=True):  # most specific first
        if key in device_name:
            return PEAK_BF16_FLOPS[key]
    return None


def mfu(tokens_per_s: float, per_token: float, peak: float | None) -> float | None:
    if not peak:
        return None
    return tokens_per_s * per_token / peak
