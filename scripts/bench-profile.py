#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""make bench MODE=profile: where the deterministic mode's instructions go, per function.

bench-profile.py LOG COUNTS OUT-STEM --kernel K
LOG: the guest console of an rpd.profile run (BENCH-PROFILE lines naming each window, the
kernel's /proc/kallsyms text symbols gzip+base64 between BENCH-KALLSYMS-BEGIN/END); COUNTS: the
rpdprof plugin's file (qemu/plugin/rpdprof.c: per window, instructions by block start address).
Writes OUT-STEM.md (per figure: instructions per operation by function, family 18 beside
AF_UNIX and UDP, the largest differences first) and OUT-STEM.json.
"""
import argparse
import base64
import bisect
import gzip
import json
import re
import sys

USER = "[user space]"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("log")
    ap.add_argument("counts")
    ap.add_argument("out")
    ap.add_argument("--kernel", required=True)
    ap.add_argument("--top", type=int, default=30)
    a = ap.parse_args()

    labels, ops, b64, inside, guest = [], [], [], False, None
    with open(a.log, errors="replace") as f:
        for line in f:
            line = line.rstrip("\r\n")
            if line == "BENCH-KALLSYMS-BEGIN":
                inside = True
                continue
            if line == "BENCH-KALLSYMS-END":
                inside = False
                continue
            if inside:
                b64.append(line.strip())
                continue
            if "rust_pf_demo guest: " in line and guest is None:
                guest = line.split("rust_pf_demo guest: ", 1)[1].strip()
            m = re.search(r"BENCH-PROFILE-OPS: (\d+)", line)
            if m:
                ops.append(int(m.group(1)))
            m = re.search(r"BENCH-PROFILE: (.*)\t(\S+)$", line)
            if m:
                labels.append((m.group(1), m.group(2)))
    if not labels or not b64:
        sys.exit(f"bench-profile: no BENCH-PROFILE windows or no kallsyms in {a.log}")
    syms = []
    for line in gzip.decompress(base64.b64decode("".join(b64))).decode(errors="replace").splitlines():
        p = line.split()
        if len(p) < 3:
            continue
        name = p[2] + (" " + p[3] if len(p) > 3 else "")
        syms.append((int(p[0], 16), name))
    syms.sort()
    addrs = [s[0] for s in syms]

    def func(pc):
        if pc < 0x800000000000:
            return USER
        i = bisect.bisect_right(addrs, pc) - 1
        return syms[i][1] if i >= 0 else "?"

    windows = []
    cur = None
    with open(a.counts) as f:
        for line in f:
            if line.startswith("window "):
                cur = {}
                windows.append(cur)
                continue
            pc, n = line.split()
            fn = func(int(pc, 16))
            cur[fn] = cur.get(fn, 0) + int(n)
    if len(windows) != len(labels) or len(ops) != len(labels):
        sys.exit(f"bench-profile: {len(windows)} windows counted, {len(labels)} named, {len(ops)} op counts")

    figures = {}
    floors = {}
    order = []
    for (metric, kind), n, w in zip(labels, ops, windows):
        if metric not in figures:
            figures[metric] = {}
            order.append(metric)
        figures[metric][kind] = {fn: c / n for fn, c in w.items()}

    kinds = ("pf_demo", "af_unix", "udp")
    lines = [
        "<!-- SPDX-License-Identifier: GPL-2.0 -->",
        f"Where the instructions go (`make bench MODE=profile`), kernel {a.kernel} ({guest}): guest instructions "
        "per operation by function, counted by QEMU's rpdprof plugin (qemu/plugin/rpdprof.c) over one block "
        "of the deterministic mode's loop per figure and kind; each translation block is counted whole under "
        "the function it starts in (a block cut short by an interrupt or fault counts whole: a few percent "
        "above the icount figures). `[module]` names rust_pf_demo's and rust_pf_demo_seqpacket's functions. "
        f"The {a.top} functions with the largest differences against AF_UNIX first.",
    ]
    for metric in order:
        fig = figures[metric]
        ks = [k for k in kinds if k in fig]
        lines += ["", f"### {metric}", "",
                  "| function | " + " | ".join(ks) + (" | pf_demo − af_unix |" if "af_unix" in ks and "pf_demo" in ks else " |"),
                  "|---|" + "---|" * len(ks) + ("---|" if "af_unix" in ks and "pf_demo" in ks else "")]
        tot = {k: sum(fig[k].values()) for k in ks}
        mod = {k: sum(v for fn, v in fig[k].items() if "[rust_pf_demo" in fn) for k in ks}
        diffcol = "af_unix" in ks and "pf_demo" in ks

        def row(name, vals):
            cells = " | ".join(f"{vals.get(k, 0):,.0f}" for k in ks)
            d = f" | {vals.get('pf_demo', 0) - vals.get('af_unix', 0):+,.0f}" if diffcol else ""
            return f"| {name} | {cells}{d} |"

        lines.append(row("**total**", tot))
        if diffcol:
            # What both run (each function's smaller count) and what each runs beyond it: the
            # floor of the ratio is what family 18 would cost with nothing of its own.
            fa, fb = fig["pf_demo"], fig["af_unix"]
            both = sum(min(fa.get(fn, 0), fb.get(fn, 0)) for fn in set(fa) | set(fb))
            split = {"pf_demo": tot["pf_demo"] - both, "af_unix": tot["af_unix"] - both}
            lines.append(row("run by both (each function's smaller count)", {"pf_demo": both, "af_unix": both}))
            lines.append(row("run beyond that", split))
            floors[metric] = {"both": both, "pf_demo_beyond": split["pf_demo"], "af_unix_beyond": split["af_unix"],
                              "floor": both / tot["af_unix"], "ratio": tot["pf_demo"] / tot["af_unix"]}
        lines.append(row("of which the modules' functions", mod))
        lines.append(row("of which user space", {k: fig[k].get(USER, 0) for k in ks}))
        fns = set().union(*(fig[k].keys() for k in ks))
        ref = "af_unix" if diffcol else ks[0]
        key = (lambda fn: -abs(fig["pf_demo"].get(fn, 0) - fig["af_unix"].get(fn, 0))) if diffcol \
            else (lambda fn: -fig[ref].get(fn, 0))
        for fn in sorted(fns - {USER}, key=key)[:a.top]:
            lines.append(row(f"`{fn}`", {k: fig[k].get(fn, 0) for k in ks}))
    if floors:
        lines[2:2] = ["", "Per figure: family 18's instructions over AF_UNIX's, and the floor: the instructions both run "
                      "(the socket layer, syscalls, skb allocation and copies, scheduling) over AF_UNIX's total, i.e. the "
                      "ratio family 18 would have if its own code and everything only it calls cost nothing.", "",
                      "| figure | pf_demo / af_unix | run by both | pf_demo beyond | af_unix beyond | floor |",
                      "|---|---|---|---|---|---|"] + [
            f"| {m} | {v['ratio']:.3f} | {v['both']:,.0f} | {v['pf_demo_beyond']:,.0f} | {v['af_unix_beyond']:,.0f} | "
            f"{v['floor']:.3f} |" for m, v in floors.items()]
    # The JSON keeps the functions of half an instruction per operation or more.
    kept = {m: {k: {fn: round(v, 2) for fn, v in fns.items() if v >= 0.5} for k, fns in fig.items()}
            for m, fig in figures.items()}
    with open(a.out + ".json", "w") as f:
        json.dump({"kernel": a.kernel, "guest": guest, "floors": floors, "figures": kept}, f, indent=0)
    with open(a.out + ".md", "w") as f:
        f.write("\n".join(lines) + "\n")
    print(f"bench-profile: {a.out}.md")


if __name__ == "__main__":
    main()
