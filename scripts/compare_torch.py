#!/usr/bin/env python3
"""Side-by-side throughput and memory: `distill-lab bench` against scripts/torch_bench.py.
Each (config, mode) runs as its own process for both implementations, alternating, for several
rounds, so both see the same machine; it reports medians, the ratio, and each process's peak RSS.
The rival is PyTorch eager for train and infer (torch.compile with --compile) and Hugging Face
transformers' generate() for decode. Configs: tiny, small, tiny-b8, nanogpt, bpe (see torch_bench.py).
It measures; it does not judge (the ratios go into BENCHMARKS.md with this command line).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(here)


def run(cmd):
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def rival(mode, compiled):
    if mode == "decode":
        return "HF generate()"
    return "torch.compile" if compiled else "PyTorch eager"


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--binary", default=os.path.join(root, ".build/release/distill-lab"))
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--seconds", type=float, default=6)
    p.add_argument("--configs", default="tiny,small")
    p.add_argument("--modes", default="train,infer", help="comma-separated: train, infer, decode")
    p.add_argument("--compile", action="store_true", help="PyTorch train/infer through torch.compile (inductor)")
    p.add_argument("--json", action="store_true")
    a = p.parse_args()
    rows = {}
    for r in range(a.rounds):
        for cfg in a.configs.split(","):
            for mode in a.modes.split(","):
                ours = run([a.binary, "bench", "--config", cfg, "--mode", mode, "--threads", str(a.threads),
                            "--seconds", str(a.seconds), "--json"])[0]
                c = ours["configs"][0]
                res = c["results"][0]
                rows.setdefault((cfg, mode, "distill-lab"), []).append(
                    dict(tps=res["tokens_per_second"], rss=c["peak_rss_mebibytes"], frac=res["fraction_of_peak"],
                         gflops=res["gflops"], peak=ours["sgemm_peak_gflops"], kernel=ours["kernel"]))
                theirs = run([sys.executable, os.path.join(here, "torch_bench.py"), "--config", cfg, "--mode", mode,
                              "--threads", str(a.threads), "--seconds", str(a.seconds), "--json"]
                             + (["--compile"] if a.compile else []))[0]
                rows.setdefault((cfg, mode, "pytorch"), []).append(
                    dict(tps=theirs["tokens_per_s"], rss=theirs["peak_rss_mib"], gflops=theirs["gflops"]))
                print(f"round {r + 1}: {cfg} {mode}: distill-lab {res['tokens_per_second']:.0f} tok/s, "
                      f"{rival(mode, a.compile)} {theirs['tokens_per_s']:.0f} tok/s", file=sys.stderr, flush=True)
    summary = []
    for cfg in a.configs.split(","):
        for mode in a.modes.split(","):
            ours, theirs = rows[(cfg, mode, "distill-lab")], rows[(cfg, mode, "pytorch")]
            o = statistics.median(x["tps"] for x in ours)
            t = statistics.median(x["tps"] for x in theirs)
            summary.append(dict(config=cfg, mode=mode, rival=rival(mode, a.compile), threads=a.threads, rounds=a.rounds,
                                distill_lab_tokens_per_s=o, pytorch_tokens_per_s=t, ratio=o / t,
                                distill_lab_all=[round(x["tps"]) for x in ours], pytorch_all=[round(x["tps"]) for x in theirs],
                                distill_lab_gflops=statistics.median(x["gflops"] for x in ours),
                                fraction_of_sgemm_peak=statistics.median(x["frac"] for x in ours),
                                sgemm_peak_gflops=statistics.median(x["peak"] for x in ours),
                                distill_lab_peak_rss_mib=max(x["rss"] for x in ours),
                                pytorch_peak_rss_mib=max(x["rss"] for x in theirs), kernel=ours[0]["kernel"]))
    if a.json:
        for s in summary:
            print(json.dumps(s))
        return
    print(f"| config | mode | rival | distill-lab tok/s | rival tok/s | ratio | distill-lab GFLOP/s (of sgemm peak) | peak RSS distill-lab / rival (MiB) |")
    print("|---|---|---|---:|---:|---:|---:|---:|")
    for s in summary:
        print(f"| {s['config']} | {s['mode']} | {s['rival']} | {s['distill_lab_tokens_per_s']:,.0f} | {s['pytorch_tokens_per_s']:,.0f} | "
              f"{s['ratio']:.2f}× | {s['distill_lab_gflops']:.0f} ({100 * s['fraction_of_sgemm_peak']:.0f}% of {s['sgemm_peak_gflops']:.0f}) | "
              f"{s['distill_lab_peak_rss_mib']:.0f} / {s['pytorch_peak_rss_mib']:.0f} |")
    print(f"\nthreads {a.threads}, {a.rounds} alternating rounds, medians; all runs: " +
          "; ".join(f"{s['config']} {s['mode']}: ours {s['distill_lab_all']} torch {s['pytorch_all']}" for s in summary))


if __name__ == "__main__":
    main()
