"""Shared by accuracy.py and calibrate.py: the published cells, the split (split.json) and one projection per pair."""
import json, os, subprocess

ROOT = os.path.join(os.path.dirname(__file__), "..", "..", "results", "published")
data = json.load(open(os.path.join(ROOT, "tensorrt-llm-perf-overview.json")))
split = json.load(open(os.path.join(ROOT, "split.json")))
SAME = [("h200", "h100-sxm"), ("h100-sxm", "h200"), ("b200", "gb200"), ("gb200", "b200")]
CHANGE = [("h200", "gb200"), ("h200", "b200")]


def set_of(source):
    return "calibration" if source in split["calibration"] else "validation" if source in split["validation"] else None


def per_gpu(table, card, value):
    c = table["cards"][card]
    return value / c["tp"] if c.get("total_over_tp") else value


def kv(table, card):
    return table["cards"][card].get("kv_dtype", data["kv_dtype_default"])


def pairs(which):
    """Every (table, ISL/OSL, source card, target card, class) of the named set ('calibration', 'validation' or 'all')."""
    for table in data["tables"]:
        if which != "all" and set_of(table["source"]) != which:
            continue
        for lengths, cells in table["rows"].items():
            for src, tgt in SAME + CHANGE:
                if src not in cells or tgt not in cells:
                    continue
                s, t = table["cards"][src], table["cards"][tgt]
                same = s.get("label", s["dtype"]) == t.get("label", t["dtype"])
                if ((src, tgt) in SAME) != same:
                    continue
                kind = "MoE" if table["model"].startswith("gpt-oss") else "dense"
                gpus = "several GPUs" if max(s["tp"], t["tp"]) > 1 else "one GPU"
                cls = f"{kind}, {'same precision' if same else 'changed precision'}, {gpus}"
                yield table, lengths, src, tgt, cls


def project(harness, d, table, lengths, src, tgt, extra=()):
    isl, osl = (int(x) for x in lengths.split("/"))
    s, t = table["cards"][src], table["cards"][tgt]
    info = data["sources"][table["source"]]
    value = per_gpu(table, src, table["rows"][lengths][src])
    figure = {
        "kind": "published_throughput",
        "source": f"{info['repo']}:{info['path']} @ {info['commit'][:12]}, table '{table['table']}', {isl}/{osl}, {src} TP{s['tp']} ({s['dtype'].upper()})",
        "card": src, "model": table["model"], "dtype": s["dtype"], "kv_dtype": kv(table, src), "tp": s["tp"],
        "prompt_tokens": isl, "new_tokens": osl, "output_tokens_per_s_per_gpu": value,
    }
    path, out = os.path.join(d, "figure.json"), os.path.join(d, "projection.json")
    json.dump(figure, open(path, "w"))
    subprocess.run([harness, "project", path, "--to", tgt, "--tp", str(t["tp"]), "--batch", "max",
                    "--dtype", t["dtype"], "--kv-dtype", kv(table, tgt), "--out", out, *extra], check=True, capture_output=True)
    return value, per_gpu(table, tgt, table["rows"][lengths][tgt]), json.load(open(out))
