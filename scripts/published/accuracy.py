#!/usr/bin/env python3
"""Projects published per-GPU throughput from one card to another with 'harness project' and compares
with what was published for the other card, in the same table (one software round).
Data: results/published/tensorrt-llm-perf-overview.json (every cell pinned to a repository, file and commit).
Usage: accuracy.py HARNESS_BINARY > section.md   (the section of results/projection-accuracy.md)"""
import json, os, statistics, subprocess, sys, tempfile

harness = sys.argv[1]
data = json.load(open(os.path.join(os.path.dirname(__file__), "..", "..", "results", "published", "tensorrt-llm-perf-overview.json")))
SAME = [("h200", "h100-sxm"), ("h100-sxm", "h200"), ("b200", "gb200"), ("gb200", "b200")]
CHANGE = [("h200", "gb200"), ("h200", "b200")]


def per_gpu(table, card, value):
    c = table["cards"][card]
    return value / c["tp"] if c.get("total_over_tp") else value


def kv(table, card):
    return table["cards"][card].get("kv_dtype", data["kv_dtype_default"])


def project(table, src, tgt, isl, osl, value, d):
    s, t = table["cards"][src], table["cards"][tgt]
    src_info = data["sources"][table["source"]]
    figure = {
        "kind": "published_throughput",
        "source": f"{src_info['repo']}:{src_info['path']} @ {src_info['commit'][:12]}, table '{table['table']}', {isl}/{osl}, {src} TP{s['tp']} ({s['dtype'].upper()})",
        "card": src, "model": table["model"], "dtype": s["dtype"], "kv_dtype": kv(table, src), "tp": s["tp"],
        "prompt_tokens": isl, "new_tokens": osl, "output_tokens_per_s_per_gpu": value,
    }
    path, out = os.path.join(d, "figure.json"), os.path.join(d, "projection.json")
    json.dump(figure, open(path, "w"))
    subprocess.run([harness, "project", path, "--to", tgt, "--tp", str(t["tp"]), "--batch", "max",
                    "--dtype", t["dtype"], "--kv-dtype", kv(table, tgt), "--out", out], check=True, capture_output=True)
    return json.load(open(out))


rows, groups = [], {}
with tempfile.TemporaryDirectory() as d:
    for table in data["tables"]:
        for lengths, cells in table["rows"].items():
            isl, osl = (int(x) for x in lengths.split("/"))
            for src, tgt in SAME + CHANGE:
                if src not in cells or tgt not in cells:
                    continue
                s, t = table["cards"][src], table["cards"][tgt]
                same = s.get("label", s["dtype"]) == t.get("label", t["dtype"])
                if ((src, tgt) in SAME) != same:
                    continue
                a, b = per_gpu(table, src, cells[src]), per_gpu(table, tgt, cells[tgt])
                p = project(table, src, tgt, isl, osl, a, d)
                est = p["metrics"]["output_tokens_per_s_per_gpu"]
                dec = p["calibration"]["decode"]["efficiency_of_ceiling"]["value"]
                pre = p["calibration"]["prefill"]["efficiency_of_ceiling"]["value"]
                err = est["value"] / b - 1
                inside = est["low"] <= b <= est["high"]
                kind = "MoE" if table["model"].startswith("gpt-oss") else "dense"
                group = f"{kind}, {'same precision' if same else 'precision change'}"
                groups.setdefault(group, []).append((err, inside))
                rows.append(
                    f"| {table['source']} | {table['model']} | {lengths} | {src} TP{s['tp']} {s['dtype']}/{kv(table, src)} -> {tgt} TP{t['tp']} {t['dtype']}/{kv(table, tgt)} "
                    f"| {a:,.0f} | {p['source']['batch']} -> {p['target']['batch']} | {pre:.2f} / {dec:.2f} "
                    f"| {est['value'] / a:.2f} ({est['low'] / a:.2f}-{est['high'] / a:.2f}) | {b / a:.2f} | {b:,.0f} | {100 * err:+.1f}% | {'yes' if inside else 'no'} |")

print("| source | model | ISL/OSL | from -> to (TP, weights/KV) | input tok/s/GPU | batch from -> to | source prefill / decode efficiency | projected ratio (range) | published ratio | published tok/s/GPU | error | inside the bars |")
print("|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---|")
print("\n".join(rows))
print()
for group, v in groups.items():
    errs = [abs(e) for e, _ in v]
    print(f"- {group}: {len(v)} projections, mean |error| {100 * statistics.fmean(errs):.1f}%, median {100 * statistics.median(errs):.1f}%, "
          f"max {100 * max(errs):.1f}%; {sum(e <= 0.15 for e in errs)}/{len(v)} within 15%; published value inside the projected range {sum(i for _, i in v)}/{len(v)}")
