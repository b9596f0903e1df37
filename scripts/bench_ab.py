#!/usr/bin/env python3
"""Two builds of distill-lab side by side: `bench` from binary A and binary B, alternating, for several rounds.
Build the older commit elsewhere first (for example `git worktree add /tmp/old <commit>` and
`swift build -c release` there). It reports each (config, mode)'s medians and the ratio B / A.
It measures; it does not judge.
"""
import argparse
import json
import statistics
import subprocess


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("a", help="binary A (the baseline)")
    p.add_argument("b", help="binary B")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seconds", type=float, default=3)
    p.add_argument("--config", default="tiny", help="passed to bench --config (A must know the names)")
    p.add_argument("--mode", default="train,infer", help="passed to bench --mode")
    a = p.parse_args()
    runs = {}
    for r in range(a.rounds):
        for label, binary in (("A", a.a), ("B", a.b)):
            out = subprocess.run(
                [binary, "bench", "--config", a.config, "--mode", a.mode, "--threads", str(a.threads),
                 "--seconds", str(a.seconds), "--json"], capture_output=True, text=True, check=True).stdout
            report = json.loads(next(line for line in out.splitlines() if line.startswith("{")))
            for c in report["configs"]:
                for res in c["results"]:
                    runs.setdefault((c["config"], res["mode"], label), []).append(round(res["tokens_per_second"]))
    print("| config | mode | A tok/s (median) | B tok/s (median) | B / A | all runs A; B |")
    print("|---|---|---:|---:|---:|---|")
    for (cfg, mode, label), values in runs.items():
        if label != "A":
            continue
        b = runs[(cfg, mode, "B")]
        ma, mb = statistics.median(values), statistics.median(b)
        print(f"| {cfg} | {mode} | {ma:,.0f} | {mb:,.0f} | {mb / ma:.2f}× | {values}; {b} |")
    print(f"\nthreads {a.threads}, {a.rounds} alternating rounds of {a.seconds} s per measurement")


if __name__ == "__main__":
    main()
