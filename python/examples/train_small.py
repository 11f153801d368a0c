"""Attn-QAT's finding, reproduced small: train one small transformer three times from the same seed, with exact
attention, the "drop-in" FP4 baseline (FP4 forward, bf16 backward: reference attn_qat.md §3.2) and Attn-QAT,
and compare losses and gradient norms.

The task is multi-query associative recall (MQAR): a sequence lists key-value pairs, then asks for the values
of keys drawn from them; only attention can carry a value from its pair to the query. Writes
<out-dir>/train_small.csv (step,mode,loss,grad_norm) and <out-dir>/train_small.png, and prints the final losses
and a stability summary.

  python python/examples/train_small.py                  # on a GPU: 3 x 2000 steps, seq 512
  python python/examples/train_small.py --device cpu --steps 3 --seq 64 --d-model 32 --head-dim 16 --batch 2
"""
import argparse
import csv
import math
import pathlib
import statistics
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))  # python/: runs from a checkout

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from fastwan_attn_qat import MODES, attn_qat  # noqa: E402


def mqar_batch(gen, batch, seq, device):
    """Tokens [batch, seq] and targets (-100 where no loss): pairs k v ... then queries k v ... where each
    query key is one of the pairs' keys and the loss is on predicting its value (the next token)."""
    pairs = max(2, seq // 8)  # the rest of the sequence is queries
    queries = (seq - 2 * pairs) // 2
    n_keys = n_values = max(4 * pairs, 64)  # keys distinct within a sequence; values repeat freely
    keys = torch.rand(batch, n_keys, generator=gen).argsort(-1)[:, :pairs]
    values = n_keys + torch.randint(n_values, (batch, pairs), generator=gen)
    asked = torch.randint(pairs, (batch, queries), generator=gen)
    tokens = torch.zeros(batch, seq, dtype=torch.long)
    tokens[:, 0:2 * pairs:2], tokens[:, 1:2 * pairs:2] = keys, values
    q0 = 2 * pairs
    tokens[:, q0:q0 + 2 * queries:2] = keys.gather(1, asked)
    tokens[:, q0 + 1:q0 + 2 * queries:2] = values.gather(1, asked)
    targets = torch.full_like(tokens, -100)
    targets[:, q0:q0 + 2 * queries:2] = tokens[:, q0 + 1:q0 + 2 * queries:2]
    return tokens.to(device), targets.to(device), n_keys + n_values


class Block(nn.Module):
    def __init__(self, d_model, heads, head_dim):
        super().__init__()
        self.heads, self.head_dim = heads, head_dim
        self.ln1, self.ln2 = nn.LayerNorm(d_model), nn.LayerNorm(d_model)
        self.qkv = nn.Linear(d_model, 3 * heads * head_dim)
        self.out = nn.Linear(heads * head_dim, d_model)
        self.mlp = nn.Sequential(nn.Linear(d_model, 4 * d_model), nn.GELU(), nn.Linear(4 * d_model, d_model))

    def forward(self, x, mode):
        b, n, _ = x.shape
        q, k, v = self.qkv(self.ln1(x)).view(b, n, 3, self.heads, self.head_dim).permute(2, 0, 3, 1, 4)
        if x.is_cuda:  # the kernels take bf16; the rest of the model stays in float32
            o = attn_qat(q.bfloat16(), k.bfloat16(), v.bfloat16(), causal=True, mode=mode).to(x.dtype)
        else:  # the CPU reference takes any float dtype
            o = attn_qat(q, k, v, causal=True, mode=mode)
        x = x + self.out(o.transpose(1, 2).reshape(b, n, -1))
        return x + self.mlp(self.ln2(x))


class Model(nn.Module):
    def __init__(self, vocab, seq, d_model, layers, heads, head_dim):
        super().__init__()
        self.embed, self.pos = nn.Embedding(vocab, d_model), nn.Parameter(0.02 * torch.randn(seq, d_model))
        self.blocks = nn.ModuleList(Block(d_model, heads, head_dim) for _ in range(layers))
        self.ln, self.head = nn.LayerNorm(d_model), nn.Linear(d_model, vocab)

    def forward(self, tokens, mode):
        x = self.embed(tokens) + self.pos[: tokens.shape[1]]
        for block in self.blocks:
            x = block(x, mode)
        return self.head(self.ln(x))


def lr_at(step, args):  # linear warm-up, then cosine to a tenth
    if step < args.warmup:
        return args.lr * (step + 1) / args.warmup
    t = (step - args.warmup) / max(1, args.steps - args.warmup)
    return args.lr * (0.1 + 0.45 * (1 + math.cos(math.pi * t)))


def train(mode, args, device):
    torch.manual_seed(args.seed)  # the same initial weights and the same batches for every mode
    gen = torch.Generator().manual_seed(args.seed)
    vocab = mqar_batch(torch.Generator().manual_seed(0), 1, args.seq, "cpu")[2]
    model = Model(vocab, args.seq, args.d_model, args.layers, args.d_model // args.head_dim, args.head_dim)
    model.to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, betas=(0.9, 0.98), weight_decay=0.1)
    rows, skipped, start = [], 0, time.time()
    for step in range(args.steps):
        tokens, targets, _ = mqar_batch(gen, args.batch, args.seq, device)
        for group in opt.param_groups:
            group["lr"] = lr_at(step, args)
        loss = F.cross_entropy(model(tokens, mode).flatten(0, 1), targets.flatten(), ignore_index=-100)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        # The norm before clipping: what the paper's grad-norm plot shows.
        norm = torch.nn.utils.clip_grad_norm_(model.parameters(), args.clip if args.clip > 0 else float("inf"))
        loss_v, norm_v = loss.item(), norm.item()
        if math.isfinite(norm_v):
            opt.step()
        else:  # a non-finite gradient would wreck the weights: skip the update, keep recording
            skipped += 1
        rows.append((step, mode, loss_v, norm_v))
        if step % args.log_every == 0 or step == args.steps - 1:
            print(f"  [{mode}] step {step:5d}  loss {loss_v:.4f}  grad_norm {norm_v:.3g}  "
                  f"({time.time() - start:.0f} s)", flush=True)
    return rows, skipped, evaluate(model, mode, args, device)


@torch.no_grad()
def evaluate(model, mode, args, device):
    """Accuracy on the query positions of fresh sequences."""
    tokens, targets, _ = mqar_batch(torch.Generator().manual_seed(args.seed + 1), args.batch, args.seq, device)
    pred = model(tokens, mode).argmax(-1)
    asked = targets != -100
    return (pred[asked] == targets[asked]).float().mean().item()


def spike_ratio(norms, warmup, window=50):
    """The largest grad norm over the median of the `window` steps before it, after warm-up."""
    best = 1.0
    for t in range(max(warmup, 1), len(norms)):
        past = [g for g in norms[max(0, t - window):t] if math.isfinite(g)]
        if past and math.isfinite(norms[t]):
            best = max(best, norms[t] / max(statistics.median(past), 1e-12))
        elif not math.isfinite(norms[t]):
            return float("inf")
    return best


def write_plot(path, rows, modes):
    series = lambda col: {m: [(r[0], r[col]) for r in rows if r[1] == m] for m in modes}  # noqa: E731
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        import _png_plot  # next to this script
        _png_plot.plot_png(path, [{"title": "loss", "series": series(2)},
                                  {"title": "grad norm (log)", "log": True, "series": series(3)}])
        return "the built-in PNG writer"
    fig, (ax_loss, ax_norm) = plt.subplots(2, 1, figsize=(10, 7), sharex=True)
    for m, s in series(2).items():
        ax_loss.plot(*zip(*s), label=m, lw=0.8)
    for m, s in series(3).items():
        ax_norm.plot(*zip(*s), label=m, lw=0.8)
    ax_loss.set_ylabel("loss")
    ax_norm.set(ylabel="grad norm (before clipping)", xlabel="step", yscale="log")
    ax_loss.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    return "matplotlib"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--attention", default=",".join(("exact", "drop_in", "attn_qat")),
                    help="comma-separated modes to train, each from the same seed (default: all three)")
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--out-dir", default="out/train_small")
    ap.add_argument("--seq", type=int, default=512, help="sequence length (MQAR: seq/8 pairs, the rest queries)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--d-model", type=int, default=256)
    ap.add_argument("--head-dim", type=int, default=64, help="64 or 128 on CUDA; a multiple of 16 on the CPU")
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--warmup", type=int, default=100)
    ap.add_argument("--clip", type=float, default=1.0, help="gradient clipping norm (0: none)")
    ap.add_argument("--log-every", type=int, default=100)
    args = ap.parse_args()
    modes = [m.strip() for m in args.attention.split(",") if m.strip()]
    if not modes or any(m not in MODES for m in modes):
        ap.error(f"--attention takes modes from {', '.join(MODES)}")
    if args.d_model % args.head_dim:
        ap.error("--d-model must be a multiple of --head-dim")
    if args.seq < 16:
        ap.error("--seq must be at least 16")
    device = torch.device(args.device)
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
    out = pathlib.Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)

    rows, summary = [], {}
    for mode in modes:
        print(f"training with attention {mode} on {device}: {args.steps} steps, seq {args.seq}, batch "
              f"{args.batch}, {args.layers} layers, d_model {args.d_model}, head_dim {args.head_dim}", flush=True)
        mode_rows, skipped, acc = train(mode, args, device)
        rows += mode_rows
        losses, norms = [r[2] for r in mode_rows], [r[3] for r in mode_rows]
        tail = max(1, min(50, len(losses) // 5))
        summary[mode] = dict(loss=statistics.fmean(losses[-tail:]), acc=acc, skipped=skipped,
                             norm=statistics.median(n for n in norms if math.isfinite(n)) if any(
                                 math.isfinite(n) for n in norms) else float("nan"),
                             spike=spike_ratio(norms, args.warmup))

    csv_path, png_path = out / "train_small.csv", out / "train_small.png"
    with open(csv_path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(("step", "mode", "loss", "grad_norm"))
        w.writerows((s, m, f"{l:.6g}", f"{g:.6g}") for s, m, l, g in rows)
    how = write_plot(png_path, rows, modes)
    print(f"\nwrote {csv_path} and {png_path} ({how})")
    print(f"\n{'mode':<10} {'final loss':>10} {'query acc':>9} {'median |g|':>10} {'max spike':>9} {'skipped':>7}")
    for m, s in summary.items():
        print(f"{m:<10} {s['loss']:>10.4f} {s['acc']:>9.3f} {s['norm']:>10.3g} {s['spike']:>8.1f}x "
              f"{s['skipped']:>7d}")
    print(f"(final loss: mean of the last {tail} steps; max spike: the largest grad norm over the median of the "
          f"50 steps before it, after warm-up; skipped: updates with a non-finite gradient)")
    print("summary: " + "; ".join(f"{m} loss {s['loss']:.3f} acc {s['acc']:.2f} spike {s['spike']:.1f}x"
                                  for m, s in summary.items()))


if __name__ == "__main__":
    main()
