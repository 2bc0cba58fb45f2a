#!/usr/bin/env python3
"""Fits fp4's compute and bandwidth efficiency shares (ProjectionPriors.Fp4ComputeEfficiency / Fp4BandwidthEfficiency)
on the CALIBRATION set of results/published/split.json only: the changed-precision pairs (fp8 -> fp4) of that set.
A published input has no host overhead, so a projection's request time is A / fc + B / fb + C (prefill work at the
compute efficiency, decode work at the bandwidth efficiency, collectives); three projections per pair, at (1, 1),
(0.5, 1) and (1, 0.5), give A, B and C. The fit minimises the sum of squared log errors over a 0.005 grid.
Usage: calibrate.py HARNESS_BINARY"""
import math, sys, tempfile
from published import pairs, project

harness = sys.argv[1]
points = []
with tempfile.TemporaryDirectory() as d:
    for table, lengths, src, tgt, cls in pairs("calibration"):
        if "changed precision" not in cls:
            continue
        runs = {}
        for fc, fb in [(1, 1), (0.5, 1), (1, 0.5)]:
            a, b, p = project(harness, d, table, lengths, src, tgt, ["--fp4-compute-efficiency", str(fc), "--fp4-bandwidth-efficiency", str(fb)])
            runs[(fc, fb)] = 1 / p["metrics"]["output_tokens_per_s_per_gpu"]["value"]
        r1 = runs[(1, 1)]
        A, B = runs[(0.5, 1)] - r1, runs[(1, 0.5)] - r1
        points.append((table["source"], table["model"], lengths, src, tgt, A, B, r1 - A - B, b))

best = None
grid = [0.2 + 0.005 * i for i in range(261)]
for fc in grid:
    for fb in grid:
        loss = sum(math.log((1 / (A / fc + B / fb + C)) / pub) ** 2 for *_, A, B, C, pub in points)
        if best is None or loss < best[0]:
            best = (loss, fc, fb)
loss, fc, fb = best
print(f"calibration points: {len(points)}; fitted fp4 compute share {fc:.3f}, bandwidth share {fb:.3f} (sum of squared log errors {loss:.4f})")
print("| source | model | ISL/OSL | from -> to | prefill share of request time | error before | error after |")
print("|---|---|---|---|---:|---:|---:|")
for source, model, lengths, src, tgt, A, B, C, pub in points:
    before, after = 1 / (A + B + C) / pub - 1, 1 / (A / fc + B / fb + C) / pub - 1
    print(f"| {source} | {model} | {lengths} | {src} -> {tgt} | {A / (A + B + C):.2f} | {100 * before:+.1f}% | {100 * after:+.1f}% |")
