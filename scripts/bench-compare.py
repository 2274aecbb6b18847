#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The deterministic benchmarks' regression check (.ci/run, RPD_CI_BENCH=1):

bench-compare.py COMMITTED.json NEW.json [--limit 0.05]

Both are results/icount-KERNEL.json files of the same kernel (`make bench MODE=icount`). Exit 1
when one of family 18's figures got worse by more than the limit (default 5 %): more
instructions per operation, or a larger scaling ratio. An instruction count under -icount is
not a timed assertion: it repeats to the last digit for one build (README, "Deterministic
mode"); a change elsewhere in the binaries moves unchanged paths by about 1 %, hence 5 %.
"""
import argparse
import json
import sys


def figures(path):
    with open(path) as f:
        d = json.load(f)
    out = {}
    for r in d["results"]:
        v = r["runs"].get("pf_demo")
        if v:
            out[r["metric"]] = v["median_of_runs"]
    return d["kernel"], out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("committed")
    ap.add_argument("new")
    ap.add_argument("--limit", type=float, default=0.05)
    a = ap.parse_args()
    k1, old = figures(a.committed)
    k2, new = figures(a.new)
    if k1 != k2:
        sys.exit(f"bench-compare: kernels differ: {k1} (committed) and {k2}")
    bad = 0
    for m, o in old.items():
        n = new.get(m)
        if n is None:
            print(f"bench-compare: {k1}: {m}: not measured")
            continue
        change = (n - o) / o
        worse = change > a.limit
        bad += worse
        print(f"bench-compare: {k1}: {m}: {o:,.3f} -> {n:,.3f} ({change * 100:+.2f} %)"
              + ("  REGRESSION" if worse else ""))
    print(f"bench-compare: {k1}: {bad} regression(s) over {a.limit * 100:.0f} %")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
