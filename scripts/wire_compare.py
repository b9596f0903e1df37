#!/usr/bin/env python3
"""Both halves of the attack over the wire side by side: for each harvest, budget and seed, the in-process and
the over-HTTP student's agreement and KL(teacher || student), their difference, and whether the two rows'
costs are equal; then the largest differences per harvest. Reads the two results.csv files; standard library.

    python3 scripts/wire_compare.py results/wire-inprocess/results.csv results/wire-endpoint/results.csv
"""
import csv
import sys


def rows(path):
    with open(path, newline="") as f:
        return {(r["attack.harvest"], int(r["budget"]), int(r["seed"])): r for r in csv.DictReader(f)}


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: wire_compare.py IN_PROCESS/results.csv OVER_HTTP/results.csv")
    a, b = rows(sys.argv[1]), rows(sys.argv[2])
    if set(a) != set(b):
        sys.exit(f"the two files hold different cells: {sorted(set(a) ^ set(b))}")
    costs = ["queries", "tokens", "dollars", "teacher_inference_flops", "attacker_flops"]
    print("| harvest | budget | seed | agreement in-process | over HTTP | Δ | KL in-process | over HTTP | Δ | costs equal |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    worst = {}
    for key in sorted(a, key=lambda k: (k[0], k[1], k[2])):
        x, y = a[key], b[key]
        da = float(y["agreement"]) - float(x["agreement"])
        dk = float(y["kl_teacher_student"]) - float(x["kl_teacher_student"])
        same = all(x[c] == y[c] for c in costs)
        w = worst.setdefault(key[0], [0.0, 0.0, 0.0, True])
        w[0] = max(w[0], abs(da))
        w[1] = max(w[1], abs(dk))
        w[2] = max(w[2], abs(dk) / float(x["kl_teacher_student"]))
        w[3] = w[3] and same
        print(f"| {key[0]} | {key[1]} | {key[2]} | {float(x['agreement']):.4f} | {float(y['agreement']):.4f} | "
              f"{da:+.2e} | {float(x['kl_teacher_student']):.6f} | {float(y['kl_teacher_student']):.6f} | {dk:+.2e} | "
              f"{'yes' if same else 'no'} |")
    print()
    for h, (da, dk, rel, same) in sorted(worst.items()):
        print(f"{h}: largest |Δ agreement| {da:.2e}, largest |Δ KL| {dk:.2e} ({rel:.2e} relative); "
              f"costs equal in every row: {'yes' if same else 'no'}")


if __name__ == "__main__":
    main()
