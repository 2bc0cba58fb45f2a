#!/usr/bin/env python3
"""Projects every decode-proxy run measured on one card to the other with 'harness project' and
compares with what was measured there.
Usage: accuracy.py HARNESS_BINARY eager|graph [harness project options] >> results/projection-accuracy.md"""
import glob, json, os, statistics, subprocess, sys, tempfile

harness, kind, extra = sys.argv[1], sys.argv[2], sys.argv[3:]
prefix = "decode-proxy-graph_" if kind == "graph" else "decode-proxy_"
cards = {"h200": "results/nvidia-h200-x1", "h100-sxm": "results/nvidia-h100-80gb-hbm3-x1"}
rows, errs = [], {"ttft": [], "tpot": [], "tps": []}
inside = {"tpot": 0, "tps": 0}
for src, tgt in (("h200", "h100-sxm"), ("h100-sxm", "h200")):
    for path in sorted(glob.glob(os.path.join(cards[src], prefix + "*.json"))):
        other = os.path.join(cards[tgt], os.path.basename(path))
        measured = json.load(open(other))["metrics"]
        with tempfile.TemporaryDirectory() as d:
            out = os.path.join(d, "p.json")
            # The decoder answer: the run is compared with the same decoder measured on the other card.
            subprocess.run([harness, "project", path, "--to", tgt, "--answer", "decoder", "--out", out] + extra, check=True, capture_output=True)
            p = json.load(open(out))["metrics"]
        m = {"ttft": measured["ttft_ms"]["p50"], "tpot": measured["tpot_ms"]["p50"], "tps": measured["output_tokens_per_s"]}
        q = {"ttft": p["ttft_ms"], "tpot": p["tpot_ms"], "tps": p["output_tokens_per_s"]}
        e = {k: q[k]["value"] / m[k] - 1 for k in m}
        for k in e:
            errs[k].append(abs(e[k]))
        for k in inside:
            inside[k] += q[k]["low"] <= m[k] <= q[k]["high"]
        name = os.path.basename(path)[len(prefix):-5]
        rows.append(f"| {src} -> {tgt} | {name} | {m['ttft']:.1f} | {q['ttft']['value']:.1f} | {100*e['ttft']:+.0f}% | "
                    f"{m['tpot']:.2f} | {q['tpot']['value']:.2f} ({q['tpot']['low']:.2f}-{q['tpot']['high']:.2f}) | {100*e['tpot']:+.0f}% | "
                    f"{m['tps']:,.0f} | {q['tps']['value']:,.0f} | {100*e['tps']:+.0f}% |")
n = len(rows)
what = ("decode_proxy_graph.py: each decode step replayed from a CUDA graph, attention over the whole masked cache (GPU-bound)"
        if kind == "graph" else "decode_proxy.py: eager PyTorch, one host sync per token (host-launch-bound)")
print(f"### {kind}: {what}\n")
print("bf16, random weights of Llama-1B/8B and Qwen-14B shapes, prompt 512, 64 new tokens, 4 measured requests each (p50 = 2nd of 4).")
print(f"Regenerate: `python3 scripts/decode-proxy/accuracy.py HARNESS {kind}`" + (f" with {' '.join(extra)}" if extra else "") + ".\n")
print("| projection | model, batch | TTFT meas ms | TTFT proj | err | TPOT meas ms | TPOT proj (range) | err | tok/s meas | tok/s proj | err |")
print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
print("\n".join(rows))
print()
for k, label in (("ttft", "TTFT p50"), ("tpot", "TPOT p50 (decode)"), ("tps", "output tokens/s")):
    within = sum(x <= 0.15 for x in errs[k])
    print(f"- {label}: mean |error| {100*statistics.fmean(errs[k]):.1f}%, median {100*statistics.median(errs[k]):.1f}%, "
          f"max {100*max(errs[k]):.1f}%; {within}/{n} within 15%" + (f"; measured value inside the projected range {inside[k]}/{n}" if k in inside else ""))
