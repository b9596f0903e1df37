#!/usr/bin/env python3
"""Queries needed to reach a fidelity level, read off the anytime curves of an `attack` experiment's results.csv.

For each arm (a label of one grid axis) and seed, the budget at which the curve first reaches each level is
interpolated between the two milestones that bracket the crossing: linear in log(queries) against the metric
(agreement), or against log(metric) for KL-like metrics where smaller is better. A level already met at the
first milestone is reported as "≤ first"; one never met as "> last". Prints a markdown table: mean ± sample
std over seeds when every seed reached the level, with the ratio to a reference arm.
Not a replacement for the runner's tables: it only post-processes results.csv, and computes nothing new.

  python3 results/queries_to_reach.py results/repro-truncation/results.csv --axis defences --reference full \
      --level "agreement>=0.8" --level "agreement>=0.9" --level "kl_teacher_student<=0.1"
  python3 results/queries_to_reach.py --check      # the interpolation against hand-computed values
"""
import argparse
import csv
import math
import shlex
import statistics
import sys


def parse_level(text):
    """'agreement>=0.9' -> ('agreement', '>=', 0.9); '>=' means larger is better, '<=' smaller."""
    for op in (">=", "<="):
        if op in text:
            name, value = text.split(op)
            return name.strip(), op, float(value)
    raise ValueError(f"level '{text}': write metric>=value or metric<=value")


def reached(value, op, level):
    return value >= level if op == ">=" else value <= level


def crossing(curve, op, level):
    """curve: [(queries, value)] by increasing queries. Returns (queries, how): how is 'at', 'first' or 'never'."""
    for i, (q, v) in enumerate(curve):
        if not reached(v, op, level):
            continue
        if i == 0:
            return q, "first"
        q0, v0 = curve[i - 1]
        if op == "<=":  # KL spans orders of magnitude: interpolate its logarithm
            v0, v, target = math.log(v0), math.log(v), math.log(level)
        else:
            target = level
        t = (v0 - target) / (v0 - v) if v != v0 else 1.0
        return math.exp(math.log(q0) + t * (math.log(q) - math.log(q0))), "at"
    return curve[-1][0], "never"


def read_curves(path, axis, x):
    curves = {}
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            key = (row[axis], row["seed"])
            curves.setdefault(key, []).append(row)
    return curves


def table(path, axis, x, levels, reference):
    curves = read_curves(path, axis, x)
    arms = list(dict.fromkeys(k[0] for k in curves))
    seeds = list(dict.fromkeys(k[1] for k in curves))
    parsed = [parse_level(l) for l in levels]
    results = {}
    for arm in arms:
        for name, op, level in parsed:
            found = []
            for seed in seeds:
                rows = sorted(curves[(arm, seed)], key=lambda r: float(r[x]))
                curve = [(float(r[x]), float(r[name])) for r in rows]
                found.append(crossing(curve, op, level))
            results[(arm, name, op, level)] = found
    lines = [f"Queries ({x}) needed to reach each level, from `{path}`: interpolated between milestones (log queries;"
             " log KL), mean ± sample std over seeds " + ", ".join(seeds) + f"; × = ratio to `{reference}`.", "",
             f"| {axis} | " + " | ".join(f"{n} {op} {lv:g}" for n, op, lv in parsed) + " |",
             "|---|" + "---:|" * len(parsed)]
    for arm in arms:
        cells = []
        for name, op, level in parsed:
            found = results[(arm, name, op, level)]
            hows = {h for _, h in found}
            if hows == {"never"}:
                cells.append(f"> {found[0][0]:.0f} (never)")
            elif "never" in hows:
                at = [f"{q:.0f}" for q, h in found if h != "never"]
                last = max(q for q, _ in found)
                cells.append(f"{len(at)}/{len(found)} seeds (at {', '.join(at)}); the others > {last:.0f}")
            elif hows == {"first"}:
                cells.append(f"≤ {found[0][0]:.0f}")
            else:
                qs = [q for q, _ in found]
                mean = statistics.mean(qs)
                std = statistics.stdev(qs) if len(qs) > 1 else 0.0
                text = f"{mean:.0f} ± {std:.0f}" + (" (≤ first for some seeds)" if "first" in hows else "")
                ref = results.get((reference, name, op, level))
                if ref and arm != reference and all(h == "at" for _, h in ref):
                    text += f" ({mean / statistics.mean(q for q, _ in ref):.1f}×)"
                cells.append(text)
        lines.append(f"| {arm} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def check():
    """The interpolation against values worked out by hand."""
    # agreement 0.5 at 1000, 0.9 at 4000: 0.7 is half-way, so log q is half-way: 1000·√4 = 2000.
    q, how = crossing([(1000, 0.5), (4000, 0.9)], ">=", 0.7)
    assert how == "at" and abs(q - 2000) < 1e-9, q
    # 0.6 is a quarter of the way: 1000·4^0.25 = 1414.2136.
    q, _ = crossing([(1000, 0.5), (4000, 0.9)], ">=", 0.6)
    assert abs(q - 1414.2135623730951) < 1e-6, q
    # KL 0.4 at 1000, 0.1 at 4000: log 0.2 is half-way between log 0.4 and log 0.1, so 2000.
    q, how = crossing([(1000, 0.4), (4000, 0.1)], "<=", 0.2)
    assert how == "at" and abs(q - 2000) < 1e-9, q
    # The first crossing counts, not a later dip: 0.8 first reached between 2000 and 4000.
    q, _ = crossing([(1000, 0.5), (2000, 0.7), (4000, 0.9), (8000, 0.75)], ">=", 0.8)
    assert abs(q - 2000 * 2 ** 0.5) < 1e-6, q
    assert crossing([(1000, 0.95), (2000, 0.97)], ">=", 0.9) == (1000, "first")
    assert crossing([(1000, 6.0), (2000, 5.5)], "<=", 0.1) == (2000, "never")
    assert parse_level("kl_teacher_student<=0.03") == ("kl_teacher_student", "<=", 0.03)
    print("ok: interpolation matches the hand-computed values")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("csv", nargs="?")
    p.add_argument("--level", action="append", dest="levels", default=[], help="metric>=value or metric<=value (repeat)")
    p.add_argument("--axis", help="the grid axis whose labels are the arms")
    p.add_argument("--x", default="queries", help="the cost column (default queries)")
    p.add_argument("--reference", help="the arm the ratios are taken against")
    p.add_argument("--check", action="store_true")
    a = p.parse_args()
    if a.check:
        check()
        return
    if not a.csv or not a.axis or not a.levels:
        p.error("give results.csv, --axis and at least one level (or --check)")
    print("Written by `python3 " + " ".join(shlex.quote(arg) for arg in sys.argv) + "`.\n")
    print(table(a.csv, a.axis, a.x, a.levels, a.reference))


if __name__ == "__main__":
    sys.exit(main())
