#!/usr/bin/env bash
# quant-profile.sh - issue 32 item 6: where a quantized decode step's time goes. For each format, `harness run generate`
# on onnx:cpu with ONNX Runtime's profiler on (--set ort_profile=PATH: raw profile + per-op summary of the measured
# decode steps beside the result) and the same run without it (what the profiler costs), between two
# `run copy --set mode=read` runs (the host's read bandwidth, the bound of a bandwidth-bound step), all in one job.
#
#   bench/quant-profile.sh                  # llama-1b int4 and int8, batch 1, 64-token prompt, 32 new tokens, 2 threads
# Scale (environment): MODEL=llama-1b FORMATS="int4 int8" PROMPT=64 NEW=32 DURATION=4 MIN_REQUESTS=2 THREADS=<all cores>
#   EXTRA="--set spin=0"   (options of every generate run)
#   HARNESS="dotnet path/to/harness.dll"  (default: build src/Harness.Cli in Release and run it)
#   OUT=<file>   default results/<harness hw --label>/quant-profile_<model>_<UTC date>-raw.md (raw files in the folder beside it)
# Smallest proof run: MODEL=tiny-llama-test PROMPT=8 NEW=4 DURATION=1 MIN_REQUESTS=1
set -euo pipefail
cd "$(dirname "$0")/.."
MODEL=${MODEL:-llama-1b}; FORMATS=${FORMATS:-int4 int8}; PROMPT=${PROMPT:-64}; NEW=${NEW:-32}
DURATION=${DURATION:-4}; MIN_REQUESTS=${MIN_REQUESTS:-2}; THREADS=${THREADS:-$(nproc)}; EXTRA=${EXTRA:---set spin=0}
if [ -z "${HARNESS:-}" ]; then
  dotnet build src/Harness.Cli -c Release -nologo -v quiet -clp:ErrorsOnly >&2
  HARNESS="dotnet src/Harness.Cli/bin/Release/net10.0/harness.dll"
fi
H() { $HARNESS "$@"; }
LABEL=$(H hw --label)
OUT=${OUT:-results/$LABEL/quant-profile_${MODEL}_$(date -u +%Y%m%d)-raw.md}
RAW=${OUT%.md}; mkdir -p "$RAW"

copy() { H run copy -b onnx:cpu --set mode=read --threads "$THREADS" --allow-noisy -o "$RAW/copy-read-$1.json" >"$RAW/copy-read-$1.log" 2>&1 \
  || [ -s "$RAW/copy-read-$1.json" ] || echo "copy $1 failed: $(tail -n 1 "$RAW/copy-read-$1.log")" >&2; }
gen() { # tag, dtype, then more options
  local tag=$1 dtype=$2; shift 2
  # shellcheck disable=SC2086
  H run generate -b onnx:cpu --model-config "$MODEL" --dtype "$dtype" --batch 1 --prompt-tokens "$PROMPT" --new-tokens "$NEW" \
    --threads "$THREADS" --duration "${DURATION}s" --min-requests "$MIN_REQUESTS" --warmup-requests 1 --tail p50 --allow-noisy \
    $EXTRA "$@" -o "$RAW/$tag.json" >"$RAW/$tag.log" 2>&1 || [ -s "$RAW/$tag.json" ] || echo "$tag failed: $(tail -n 1 "$RAW/$tag.log")" >&2
}

uptime >"$RAW/uptime.txt"
copy start
for fmt in $FORMATS; do
  echo "$fmt: plain, then profiled" >&2
  gen "$fmt-plain" "$fmt"
  gen "$fmt-profiled" "$fmt" --set "ort_profile=$RAW/$fmt-profiled"
done
copy end
uptime >>"$RAW/uptime.txt"

python3 - "$RAW" "$OUT" "$MODEL" "$FORMATS" "$PROMPT" "$NEW" "$THREADS" "$EXTRA" <<'PY'
import json, os, sys
raw, out, model, formats, prompt, new, threads, extra = sys.argv[1:9]
def load(name):
    p = os.path.join(raw, name)
    return json.load(open(p)) if os.path.exists(p) else None
copies = [d["metrics"].get("achieved_bytes_per_s") for d in
          (load("copy-read-start.json"), load("copy-read-end.json")) if d]
copies = [c for c in copies if c]
bw = max(copies) / 1e9 if copies else None
load_avg = "; ".join(l.split("load average:")[-1].strip() for l in open(os.path.join(raw, "uptime.txt")))
lines = [f"# Where the decode step's time goes ({model}, batch 1)", "",
         f"`run generate -b onnx:cpu --model-config {model} --dtype F`, {prompt}-token prompt, {new} new tokens, {threads} threads, "
         f"`{extra}`; each format plain, then with `--set ort_profile=...`. Load averages at start and end: {load_avg}.",
         "Copy read bandwidth (`run copy -b onnx:cpu --set mode=read`), start / end: "
         + " / ".join(f"{c / 1e9:.1f} GB/s" for c in copies) + ".", ""]
for fmt in formats.split():
    plain, prof = load(f"{fmt}-plain.json"), load(f"{fmt}-profiled.json")
    s = os.path.join(raw, f"{fmt}-profiled.ort-summary.json")
    if not (plain and prof and os.path.exists(s)):
        lines.append(f"{fmt}: missing runs or summary"); continue
    tp = lambda d: (d["metrics"].get("tpot_ms") or {}).get("mean")
    dps = lambda d: d["metrics"].get("decode_tokens_per_s")
    summ = json.load(open(s)); d = summ["decode"]
    lines += [f"## {fmt}", "", f"Decode tok/s plain {dps(plain):.3g}, profiled {dps(prof):.3g}; "
              f"mean TPOT plain {tp(plain):.2f} ms, profiled {tp(prof):.2f} ms; profiled step wall (model_run) "
              f"{d['wall_us_per_run'] / 1e3:.2f} ms, kernels {d['kernel_us_per_run'] / 1e3:.2f} ms, gap "
              f"{summ['gap_us_per_run'] / 1e3:.2f} ms ({d['runs']} decode steps; {summ['selection']}).", "",
              "| op | calls/step | µs/step | share of step |", "|---|---:|---:|---:|"]
    for o in d["ops"]:
        lines.append(f"| {o['op']} | {o['calls_per_run']:.3g} | {o['us_per_run']:.0f} | {o['share_of_run'] * 100:.1f}% |")
    lines += ["", "| matrix | K x N | µs/step | MB/step stored | GB/s stored | GB/s packed | x copy (packed) |",
              "|---|---:|---:|---:|---:|---:|---:|"]
    for m in summ["matrices"]:
        gp = m.get("packed_gb_per_s")
        lines.append(f"| {m['matrix']} | {m['k']} x {m['n']} | {m['us_per_step']:.0f} | "
                     f"{m['stored_bytes_per_call'] * m['calls_per_step'] / 1e6:.1f} | {m['stored_gb_per_s']:.1f} | "
                     f"{'-' if gp is None else f'{gp:.1f}'} | {'-' if gp is None or not bw else f'{gp / bw:.2f}'} |")
    lines.append("")
lines.append(f"Raw files: {raw}/")
open(out, "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
PY
