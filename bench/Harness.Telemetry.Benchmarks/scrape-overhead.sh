#!/bin/bash
# Does a Prometheus scrape every second move resnet18's p50? Runs the real harness alternately with
# --metrics (scraped by a real Prometheus at 1 s) and without, N times each, and prints each run's p50
# with its 95% CI. Needs prometheus on the PATH. Usage: scrape-overhead.sh [runs] [duration]
set -eu
RUNS=${1:-3}; DUR=${2:-20s}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
HARNESS="$ROOT/src/Harness.Cli/bin/Release/net10.0/harness"
[ -x "$HARNESS" ] || dotnet build "$ROOT/src/Harness.Cli" -c Release -v q
TMP=$(mktemp -d); PORT=19464; PROM=19090
trap 'kill $PROM_PID 2>/dev/null; rm -rf "$TMP"' EXIT
cat > "$TMP/prometheus.yml" <<YML
global: { scrape_interval: 1s, scrape_timeout: 900ms }
scrape_configs: [ { job_name: harness, static_configs: [ { targets: ['127.0.0.1:$PORT'] } ] } ]
YML
prometheus --config.file="$TMP/prometheus.yml" --storage.tsdb.path="$TMP/data" --web.listen-address=127.0.0.1:$PROM > "$TMP/prom.log" 2>&1 &
PROM_PID=$!
sleep 6 # Prometheus hands targets to its scrapers every 5 s
for i in $(seq 1 "$RUNS"); do
  for mode in scraped plain; do
    extra=(); [ $mode = scraped ] && extra=(--metrics 127.0.0.1:$PORT)
    "$HARNESS" run resnet18 -d "$DUR" --warmup 3s --min-requests 1 -o "$TMP/$mode-$i.json" "${extra[@]}" > /dev/null 2>&1 || true
    python3 -c "import json,sys; m=json.load(open(sys.argv[1]))['metrics']; l=m['latency_ms']; print(f\"{sys.argv[2]:8} run {sys.argv[3]}: p50 {l['p50']:.3f} ms (95% CI {l['median_ci_low']:.3f}-{l['median_ci_high']:.3f}), {l['count']} requests\")" "$TMP/$mode-$i.json" $mode $i
  done
done
echo "scrapes of the harness endpoint: $(curl -s "http://127.0.0.1:$PROM/api/v1/query?query=count_over_time(up%7Bjob%3D%22harness%22%7D%5B1h%5D)" | python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else 0)')"
