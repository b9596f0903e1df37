#!/usr/bin/env python3
"""PyTorch CPU reference benchmark: the same tiny GPT-2 as DistillLab's Swift engine, to run side by side with `distill-lab bench`.
Training and full-sequence inference run the model below in eager mode, or through torch.compile with --compile; decode runs
Hugging Face transformers' GPT2LMHeadModel.generate() (KV cache, sampling at temperature 1, same shapes as the engine's decode).
It is a throughput/memory yardstick only, not a trainer, not a correctness oracle (no data, no checkpoints).
"""

import argparse
import json
import math
import os
import resource
import statistics
import sys
import time

# The same shapes as `distill-lab bench --config NAME` (BenchmarkConfig in Sources/LabModel/Benchmark.swift).
CONFIGS = {
    "tiny": dict(V=96, T=64, C=128, L=4, NH=4, B=32),
    "small": dict(V=96, T=128, C=256, L=6, NH=8, B=16),
    # Student-sized batches: tiny at batch 8, and nanoGPT's shakespeare_char CPU recipe (65 symbols, batch 12).
    "tiny-b8": dict(V=96, T=64, C=128, L=4, NH=4, B=8),
    "nanogpt": dict(V=65, T=64, C=128, L=4, NH=4, B=12),
    # A byte-level BPE vocabulary: the unembedding (C x V) is as large as all four blocks together.
    "bpe": dict(V=2048, T=128, C=128, L=4, NH=4, B=16),
}

LR = 3e-4
WEIGHT_DECAY = 0.1
BETAS = (0.9, 0.95)
WARMUP_STEPS = 3
MIN_TIMED_STEPS = 5
SEED = 1234
N_BATCHES = 8  # pre-generated random batches, cycled (generation is outside the timed region)


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--config", choices=[*CONFIGS, "all"], default="all")
    p.add_argument("--threads", type=int, required=True, help="torch intra-op threads")
    p.add_argument("--mode", choices=["train", "infer", "decode", "all"], default="all")
    p.add_argument("--compile", action="store_true", help="train/infer through torch.compile (inductor) instead of eager")
    p.add_argument("--seconds", type=float, default=10.0, help="minimum timed seconds per (config, mode)")
    p.add_argument("--json", action="store_true", help="one JSON object per line instead of a table")
    return p.parse_args()


def current_rss_mib():
    """Resident set size right now (Linux /proc), in MiB."""
    try:
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / (1024 * 1024)
    except (OSError, ValueError, IndexError):
        return float("nan")


def peak_rss_mib():
    """Process high-water RSS so far (ru_maxrss is KiB on Linux, bytes on macOS)."""
    r = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return r / (1024 * 1024) if sys.platform == "darwin" else r / 1024


args = parse_args()

import torch  # noqa: E402  (imported after argparse so --help is instant)
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

# Thread settings must precede any torch work (interop can only be set once, before use).
torch.set_num_threads(args.threads)
torch.set_num_interop_threads(1)

RSS_AFTER_IMPORT = current_rss_mib()


class Block(nn.Module):
    def __init__(self, C, NH):
        super().__init__()
        self.nh = NH
        self.ln_1 = nn.LayerNorm(C, eps=1e-5)
        self.c_attn = nn.Linear(C, 3 * C, bias=True)
        self.attn_proj = nn.Linear(C, C, bias=True)
        self.ln_2 = nn.LayerNorm(C, eps=1e-5)
        self.c_fc = nn.Linear(C, 4 * C, bias=True)
        self.mlp_proj = nn.Linear(4 * C, C, bias=True)

    def forward(self, x):
        B, T, C = x.shape
        q, k, v = self.c_attn(self.ln_1(x)).split(C, dim=2)
        hs = C // self.nh
        q = q.view(B, T, self.nh, hs).transpose(1, 2)
        k = k.view(B, T, self.nh, hs).transpose(1, 2)
        v = v.view(B, T, self.nh, hs).transpose(1, 2)
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        y = y.transpose(1, 2).contiguous().view(B, T, C)
        x = x + self.attn_proj(y)
        x = x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate="tanh"))
        return x


class GPT2(nn.Module):
    def __init__(self, V, T, C, L, NH):
        super().__init__()
        self.wte = nn.Parameter(torch.empty(V, C))
        self.wpe = nn.Parameter(torch.empty(T, C))
        self.blocks = nn.ModuleList([Block(C, NH) for _ in range(L)])
        self.ln_f = nn.LayerNorm(C, eps=1e-5)
        self._init(L)

    @torch.no_grad()
    def _init(self, L):
        nn.init.normal_(self.wte, 0.0, 0.02)
        nn.init.normal_(self.wpe, 0.0, 0.02)
        resid_std = 0.02 / math.sqrt(2 * L)
        for blk in self.blocks:
            for lin in (blk.c_attn, blk.attn_proj, blk.c_fc, blk.mlp_proj):
                std = resid_std if lin in (blk.attn_proj, blk.mlp_proj) else 0.02
                nn.init.normal_(lin.weight, 0.0, std)
                nn.init.zeros_(lin.bias)
        # LayerNorms keep PyTorch's default (weight 1, bias 0).

    def forward(self, idx):
        B, T = idx.shape
        x = self.wte[idx] + self.wpe[:T]
        for blk in self.blocks:
            x = blk(x)
        x = self.ln_f(x)
        return x @ self.wte.t()  # tied output head: (B, T, V)


def flops_per_token(cfg, mode):
    V, T, C, L = cfg["V"], cfg["T"], cfg["C"], cfg["L"]
    N = 12 * L * C * C + C * V
    if mode == "train":
        return 6 * N + 12 * L * C * T
    if mode == "decode":
        return 2 * N + 4 * L * C * (T // 2)
    return 2 * N + 4 * L * C * T


def make_batches(cfg):
    g = torch.Generator().manual_seed(SEED)
    out = []
    for _ in range(N_BATCHES):
        toks = torch.randint(0, cfg["V"], (cfg["B"], cfg["T"] + 1), generator=g)
        out.append((toks[:, :-1].contiguous(), toks[:, 1:].contiguous()))
    return out


def timed_loop(step_fn, seconds):
    for i in range(WARMUP_STEPS):
        step_fn(i)
    times = []
    start = time.perf_counter()
    i = 0
    while True:
        t0 = time.perf_counter()
        step_fn(WARMUP_STEPS + i)
        times.append(time.perf_counter() - t0)
        i += 1
        if time.perf_counter() - start >= seconds and i >= MIN_TIMED_STEPS:
            break
    return times


def hf_generate_step(cfg):
    """One timed call: B one-token prompts, T - 1 new tokens each, sampled at temperature 1 with the KV cache."""
    from transformers import GPT2Config, GPT2LMHeadModel  # noqa: E402  (only decode needs transformers)

    config = GPT2Config(vocab_size=cfg["V"], n_positions=cfg["T"], n_embd=cfg["C"], n_layer=cfg["L"],
                        n_head=cfg["NH"], activation_function="gelu_new", resid_pdrop=0, embd_pdrop=0,
                        attn_pdrop=0, bos_token_id=0, eos_token_id=None, pad_token_id=0)
    model = GPT2LMHeadModel(config).eval()
    g = torch.Generator().manual_seed(SEED)
    prompts = torch.randint(0, cfg["V"], (cfg["B"], 1), generator=g)
    new = cfg["T"] - 1

    def step(i):
        with torch.inference_mode():
            out = model.generate(prompts, attention_mask=torch.ones_like(prompts), do_sample=True, temperature=1.0,
                                 top_k=0, top_p=1.0, max_new_tokens=new, min_new_tokens=new, use_cache=True)
        assert out.shape == (cfg["B"], cfg["T"])

    return step


def run(name, cfg, mode, seconds):
    torch.manual_seed(SEED)
    model = GPT2(cfg["V"], cfg["T"], cfg["C"], cfg["L"], cfg["NH"])
    batches = make_batches(cfg)
    baseline = current_rss_mib()
    extra = {}
    forward = torch.compile(model) if args.compile else model

    if mode == "decode":
        times = timed_loop(hf_generate_step(cfg), seconds)
    elif mode == "train":
        model.train()
        decay = [p for p in model.parameters() if p.dim() == 2]
        no_decay = [p for p in model.parameters() if p.dim() != 2]
        opt = torch.optim.AdamW(
            [{"params": decay, "weight_decay": WEIGHT_DECAY},
             {"params": no_decay, "weight_decay": 0.0}],
            lr=LR, betas=BETAS,
        )
        V = cfg["V"]
        losses = []

        def step(i):
            x, y = batches[i % N_BATCHES]
            opt.zero_grad(set_to_none=True)
            logits = forward(x)
            loss = F.cross_entropy(logits.view(-1, V), y.view(-1))
            loss.backward()
            opt.step()
            losses.append(loss.detach())

        times = timed_loop(step, seconds)
        extra["first_loss"] = float(losses[0])
        extra["last_loss"] = float(losses[-1])
    else:
        model.eval()

        def step(i):
            x, _ = batches[i % N_BATCHES]
            with torch.no_grad() if args.compile else torch.inference_mode():
                logits = forward(x)
            assert logits.shape == (cfg["B"], cfg["T"], cfg["V"])

        times = timed_loop(step, seconds)

    peak = peak_rss_mib()
    # Decode produces T - 1 tokens per sequence and averages its attention over T / 2 positions (as the engine's).
    tokens = cfg["B"] * (cfg["T"] - 1 if mode == "decode" else cfg["T"])
    med = statistics.median(times)
    mean = sum(times) / len(times)
    tps_med = tokens / med
    tps_mean = tokens / mean
    fpt = flops_per_token(cfg, mode)
    return dict(
        impl="pytorch",
        torch=torch.__version__,
        config=name,
        threads=args.threads,
        mode=mode,
        compiled=args.compile and mode != "decode",
        tokens_per_s=round(tps_med, 1),
        tokens_per_s_mean=round(tps_mean, 1),
        step_ms=round(med * 1e3, 3),
        step_ms_mean=round(mean * 1e3, 3),
        steps=len(times),
        gflops=round(fpt * tps_med / 1e9, 3),
        peak_rss_mib=round(peak, 1),
        baseline_rss_mib=round(baseline, 1),
        mkl=torch.backends.mkl.is_available(),
        **extra,
    )


def blas_summary():
    lines = []
    for line in torch.__config__.show().splitlines():
        s = line.strip().lstrip("- ").strip()
        if "Math Kernel Library" in s or "OpenBLAS" in s or "BLIS" in s:
            lines.append(s)
        if "BLAS_INFO=" in s:
            for part in s.split(","):
                part = part.strip()
                if part.startswith("BLAS_INFO=") or part.startswith("LAPACK_INFO="):
                    lines.append(part)
    return "; ".join(lines) or "unknown"


def main():
    configs = ["tiny", "small"] if args.config == "all" else [args.config]
    modes = ["train", "infer", "decode"] if args.mode == "all" else [args.mode]

    if not args.json:
        print(f"torch {torch.__version__}  threads={torch.get_num_threads()} "
              f"interop={torch.get_num_interop_threads()}  mkl={torch.backends.mkl.is_available()}")
        print(f"BLAS: {blas_summary()}")
        print(f"RSS after import torch: {RSS_AFTER_IMPORT:.1f} MiB")
        hdr = (f"{'config':<6} {'mode':<5} {'steps':>5} {'step ms(med)':>12} {'step ms(mean)':>13} "
               f"{'tok/s(med)':>11} {'tok/s(mean)':>11} {'GFLOP/s':>8} {'base MiB':>9} {'peak MiB':>9}")
        print(hdr)
        print("-" * len(hdr))

    for name in configs:
        for mode in modes:
            r = run(name, CONFIGS[name], mode, args.seconds)
            if args.json:
                print(json.dumps(r), flush=True)
            else:
                loss = (f"  loss {r['first_loss']:.3f}->{r['last_loss']:.3f}" if mode == "train" else "")
                print(f"{name:<6} {mode:<5} {r['steps']:>5} {r['step_ms']:>12.2f} {r['step_ms_mean']:>13.2f} "
                      f"{r['tokens_per_s']:>11.0f} {r['tokens_per_s_mean']:>11.0f} {r['gflops']:>8.2f} "
                      f"{r['baseline_rss_mib']:>9.1f} {r['peak_rss_mib']:>9.1f}{loss}", flush=True)

    if not args.json:
        print("base MiB = RSS just after import torch + model creation; peak MiB = process ru_maxrss so far "
              "(cumulative: run one --config/--mode per process for an isolated peak).")


if __name__ == "__main__":
    main()
