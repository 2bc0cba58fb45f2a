// Reads harness result files and bench.mjs outputs; prints their p50s and the ratio harness / node.
//   node report.mjs --round N [--load L] HARNESS.json NODE.json   one round (L: the 1-minute load average)
//   node report.mjs --pooled H1.json H2.json -- N1.json N2.json   all rounds' samples pooled
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { nearestRank } from './nearest-rank.mjs';

const read = (f) => JSON.parse(readFileSync(f, 'utf8'));

function harnessSamples(file) {
  const doc = read(file);
  const samples = doc.samples?.latency_ms ?? [];
  if ((doc.samples?.stride ?? 1) !== 1 || samples.length !== doc.metrics.requests_ok) {
    throw new Error(`${file} does not hold every sample (stride ${doc.samples?.stride}); use fewer --runs`);
  }
  return { doc, samples };
}

function p50(samples) {
  return nearestRank(Float64Array.from(samples).sort(), 0.5);
}

function line(label, harnessMs, nodeMs) {
  const ratio = harnessMs / nodeMs;
  const verdict = Math.abs(ratio - 1) <= 0.03 ? 'within 3%' : 'NOT within 3%';
  return `${label}: harness p50 ${harnessMs.toFixed(3)} ms, onnxruntime-node p50 ${nodeMs.toFixed(3)} ms, ratio ${ratio.toFixed(4)} (${verdict})`;
}

const args = process.argv.slice(2);
if (args[0] === '--round') {
  const round = args[1];
  const load = args[2] === '--load' ? args[3] : null;
  const files = load === null ? args.slice(2) : args.slice(4);
  const { doc } = harnessSamples(files[0]);
  const node = read(files[1]);
  if (!doc.valid) {
    const failed = doc.validity.filter((v) => !v.passed).map((v) => v.name).join(', ');
    console.log(`round ${round}: warning: the harness result is invalid (${failed})`);
  }
  const suffix = load === null ? '' : `; load average ${load} on ${os.availableParallelism()} cores`;
  console.log(line(`round ${round}`, doc.metrics.latency_ms.p50, node.p50_ms) + suffix);
} else if (args[0] === '--pooled') {
  const sep = args.indexOf('--');
  const hFiles = args.slice(1, sep);
  const nFiles = args.slice(sep + 1);
  const h = hFiles.flatMap((f) => harnessSamples(f).samples);
  const n = nFiles.flatMap((f) => read(f).samples_ms);
  const first = harnessSamples(hFiles[0]).doc;
  const ortCs = Object.entries(first.hardware?.packages ?? {}).find(([k]) => k.toLowerCase().includes('onnxruntime'))?.[1] ?? '?';
  console.log(`versions: harness ONNX Runtime ${ortCs}; onnxruntime-node ${read(nFiles[0]).version}`);
  console.log(line(`all ${hFiles.length} rounds (${h.length} + ${n.length} runs)`, p50(h), p50(n)));
} else {
  console.error('usage: report.mjs --round N HARNESS.json NODE.json | --pooled H... -- N...');
  process.exit(2);
}
