#!/usr/bin/env python3
"""Projects published per-GPU throughput from one card to another with 'harness project' and compares
with what was published for the other card, in the same table (one software round).
Data: results/published/tensorrt-llm-perf-overview.json (every cell pinned to a repository, file and commit);
which cells calibrate and which validate: results/published/split.json (decided before any fitting).
Usage: accuracy.py HARNESS_BINARY [validation|calibration|all] [HARNESS PROJECT OPTIONS...] > section.md   (default: validation)"""
import statistics, sys, tempfile
from published import kv, pairs, project

harness = sys.argv[1]
which = sys.argv[2] if len(sys.argv) > 2 else "validation"
extra = sys.argv[3:]
rows, groups = [], {}
with tempfile.TemporaryDirectory() as d:
    for table, lengths, src, tgt, cls in pairs(which):
        s, t = table["cards"][src], table["cards"][tgt]
        a, b, p = project(harness, d, table, lengths, src, tgt, extra)
        est = p["metrics"]["output_tokens_per_s_per_gpu"]
        dec = p["calibration"]["decode"]["efficiency_of_ceiling"]["value"]
        pre = p["calibration"]["prefill"]["efficiency_of_ceiling"]["value"]
        err = est["value"] / b - 1
        inside = est["low"] <= b <= est["high"]
        groups.setdefault(cls, []).append((err, inside))
        rows.append(
            f"| {table['source']} | {table['model']} | {lengths} | {src} TP{s['tp']} {s['dtype']}/{kv(table, src)} -> {tgt} TP{t['tp']} {t['dtype']}/{kv(table, tgt)} "
            f"| {a:,.0f} | {p['source']['batch']} -> {p['target']['batch']} | {pre:.2f} / {dec:.2f} "
            f"| {est['value'] / a:.2f} ({est['low'] / a:.2f}-{est['high'] / a:.2f}) | {b / a:.2f} | {b:,.0f} | {100 * err:+.1f}% | {'yes' if inside else 'no'} |")

print(f"Set: {which} (results/published/split.json){', options ' + ' '.join(extra) if extra else ''}.\n")
print("| class | projections | within 15% | share within 15% | mean abs error | median | max | published inside the bars | target (>= 80% where >= 5 points) |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---|")
for cls in sorted(groups):
    v = groups[cls]
    errs = [abs(e) for e, _ in v]
    within = sum(e <= 0.15 for e in errs)
    share = within / len(v)
    target = "n/a (< 5 points)" if len(v) < 5 else ("met" if share >= 0.8 else f"missed by {100 * (0.8 - share):.0f} points")
    print(f"| {cls} | {len(v)} | {within} | {100 * share:.0f}% | {100 * statistics.fmean(errs):.1f}% | {100 * statistics.median(errs):.1f}% | "
          f"{100 * max(errs):.1f}% | {sum(i for _, i in v)}/{len(v)} | {target} |")
allv = [abs(e) for v in groups.values() for e, _ in v]
print(f"\nAll: {len(allv)} projections, {sum(e <= 0.15 for e in allv)} within 15%, mean |error| {100 * statistics.fmean(allv):.1f}%.\n")
print("| source | model | ISL/OSL | from -> to (TP, weights/KV) | input tok/s/GPU | batch from -> to | source prefill / decode efficiency | projected ratio (range) | published ratio | published tok/s/GPU | error | inside the bars |")
print("|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---|")
print("\n".join(rows))
