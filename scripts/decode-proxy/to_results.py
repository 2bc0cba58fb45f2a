#!/usr/bin/env python3
"""Turns the raw output of decode_proxy.py (run on a lent GPU) into harness result files (schema 1).

The proxy is a plain PyTorch eager decode loop (bf16, random weights of Llama/Qwen shapes, KV cache
preallocated, cuDNN SDPA off, one host sync per token), not a harness workload: it stands in until
the project's own decode workloads have runs on both cards. decode_proxy_graph.py is the same model with each decode step captured in a CUDA graph over a
fixed-length, masked KV cache (no host launch overhead; attention reads the whole cache).
Usage: to_results.py RAW.json OUT_DIR [graph]
"""
import json, math, os, statistics, sys

def dist(xs):
    s = sorted(xs)
    n = len(s)
    rank = lambda p: s[min(n, max(1, math.ceil(p * n - 1e-9))) - 1]
    mean = statistics.fmean(s)
    return {"count": n, "p50": rank(.5), "p90": rank(.9), "p95": rank(.95), "p99": rank(.99), "p999": rank(.999),
            "mean": mean, "stdev": statistics.stdev(s) if n > 1 else 0.0, "min": s[0], "max": s[-1],
            "median_ci_low": None, "median_ci_high": None, "source": "exact"}

def params_of(L, H, nh, kv, inter, vocab):
    hd = H // nh
    return L * (H * (nh + 2 * kv) * hd + nh * hd * H + 2 * H * inter + inter * H) + 2 * vocab * H

def main(raw_path, out_dir, variant=""):
    raw = json.load(open(raw_path))
    graph = variant == "graph"
    workload = "pytorch-decode-proxy-graph" if graph else "pytorch-decode-proxy"
    name, driver, power, uuid = [x.strip() for x in raw["smi"].split(",")]
    os.makedirs(out_dir, exist_ok=True)
    for r in raw["runs"]:
        if "error" in r:
            continue
        L, H, nh, kv, inter, vocab = r["cfg"]
        B, P, N = r["batch"], r["prompt"], r["new"]
        params = r.get("params") or params_of(L, H, nh, kv, inter, vocab)
        kv_bytes = 2 * L * kv * (H // nh) * 2
        context = P + N if graph else P + N / 2  # the graph reads the whole masked cache every step
        step_bytes = 2 * (params - vocab * H) + B * context * kv_bytes  # the embedding table is not read in decode
        wall = statistics.median(r["wall"])
        doc = {
            "schema_version": 1, "harness_version": "proxy", "workload": workload, "backend": "pytorch:cuda",
            "scenario": "single", "started_utc": "2026-11-26T00:00:00Z", "valid": False, "cancelled": False, "stop_reason": "completed",
            "validity": [{"name": "min_requests", "passed": False,
                          "detail": f"{len(r['ttft'])} measured requests after 1 warm-up: a PyTorch proxy (scripts/decode-proxy), not a harness run"}],
            "config": {"model": r["model"], "model_config": {"name": r["model"], "num_hidden_layers": L, "hidden_size": H,
                       "num_attention_heads": nh, "num_key_value_heads": kv, "intermediate_size": inter, "vocab_size": vocab},
                       "batch": B, "prompt_tokens": P, "new_tokens": N, "dtype": "bf16", "params": params, "bytes_per_decode_step": step_bytes, "tp": 1, "cuda_graph": graph,
                       "torch": raw["torch"], "script": "scripts/decode-proxy/" + ("decode_proxy_graph.py" if graph else "decode_proxy.py")},
            "hardware": {"cpu": {"model": "not recorded by the proxy", "logical_cores": 16, "features": []}, "memory_bytes": 0,
                         "os": "lent GPU machine image 'cuda'", "kernel": "", "glibc": None, "dotnet": "none (PyTorch proxy)",
                         "hostname": "", "packages": {"torch": raw["torch"]},
                         "gpus": [{"index": 0, "name": name, "uuid": uuid, "driver": driver, "memory_bytes": raw["mem"],
                                   "power_limit_w": float(power.split()[0])}], "gpu_note": None},
            "metrics": {"requests_ok": len(r["ttft"]), "requests_failed": 0, "duration_s": sum(r["wall"]),
                        "throughput_per_s": B * N / wall, "throughput_unit": "tokens", "requests_per_s": 1 / wall,
                        "input_units": B * P * len(r["ttft"]), "output_units": B * N * len(r["ttft"]),
                        "latency_ms": dist([w * 1000 for w in r["wall"]]), "ttft_ms": dist(r["ttft"]), "tpot_ms": dist(r["tpot"]),
                        "output_tokens_per_s": B * N / wall, "prefill_tokens_per_s": B * P / (statistics.median(r["ttft"]) / 1000)},
            "metric_definitions": {"ttft_ms": "prefill forward of the whole batch until the first tokens are on the host",
                                   "tpot_ms": "(request end - first token) / (new_tokens - 1), one host sync per token",
                                   "output_tokens_per_s": "batch x new_tokens / median request wall time"},
        }
        path = os.path.join(out_dir, f"{'decode-proxy-graph' if graph else 'decode-proxy'}_{r['model']}_bs{B}.json")
        json.dump(doc, open(path, "w"), indent=2)
        print(path)

if __name__ == "__main__":
    main(*sys.argv[1:4])
