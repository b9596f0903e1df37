#!/usr/bin/env python3
"""Tables of mean ± std over seeds from `distill-lab attack --out DIR` runs.

Reads each run's curve.json (written by the lab, not recomputed here) and prints one Markdown table per
metric: a row per condition, a column per budget milestone, cells "mean ± std" over the condition's seeds
(sample std, n − 1). Not an experiment runner: it only formats what the runs measured.

usage: aggregate.py METRIC[,METRIC...] LABEL=DIR[,DIR...] [LABEL=DIR...]
metrics: agreement, kl_teacher_student, total_variation, student_perplexity, exact_match (fidelity),
         queries, input_tokens, cost_picodollars, student_training_flops, flop_ratio (cost)
"""
import json
import statistics
import sys

FIDELITY = {"agreement", "kl_teacher_student", "total_variation", "student_perplexity", "exact_match"}


def value(point, metric):
    block = point["fidelity"] if metric in FIDELITY else point["cost"]
    return block.get(metric)


def cell(values, metric):
    values = [v for v in values if v is not None]
    if not values:
        return "—"
    fmt = "{:.4f}" if metric in FIDELITY else "{:.4g}"
    mean = statistics.fmean(values)
    if len(values) == 1:
        return fmt.format(mean)
    return fmt.format(mean) + " ± " + fmt.format(statistics.stdev(values))


def main(argv):
    if len(argv) < 3:
        sys.exit(__doc__)
    metrics = argv[1].split(",")
    rows = []
    for arg in argv[2:]:
        label, _, dirs = arg.partition("=")
        curves = [json.load(open(d.rstrip("/") + "/curve.json")) for d in dirs.split(",")]
        rows.append((label, curves))
    unit = rows[0][1][0]["attack"]["budget"]["unit"]
    milestones = rows[0][1][0]["attack"]["budget"]["milestones"]
    for metric in metrics:
        n = sorted({len(c) for _, c in rows})
        print(f"**{metric}** (mean ± std over {'/'.join(map(str, n))} seeds)\n")
        print("| condition | " + " | ".join(f"{m:g} {unit}" for m in milestones) + " |")
        print("|---|" + "---|" * len(milestones))
        for label, curves in rows:
            cells = [cell([value(c["points"][i], metric) for c in curves], metric) for i in range(len(milestones))]
            print(f"| {label} | " + " | ".join(cells) + " |")
        print()


if __name__ == "__main__":
    main(sys.argv)
