// ResNet-18 (or any fixed-shape float model) through onnxruntime-node: the independent reference for
// harness's p50. Same settings as `harness run resnet18 --threads 2 --inter-op-threads 1`: CPU EP,
// intra-op 2, inter-op 1, graph optimization all, sequential execution, one request at a time.
//
// node bench.mjs --model PATH [--threads 2] [--warmup 250] [--runs 1000] [--seed 42] [--out FILE.json]
// Prints one JSON line: { p50_ms, runs, warmup, samples_ms? } (samples go to --out when given).
import { writeFileSync } from 'node:fs';
import ort from 'onnxruntime-node';
import { nearestRank } from './nearest-rank.mjs';

function parseArgs(argv) {
  const args = { threads: 2, warmup: 250, runs: 1000, seed: 42, model: null, out: null };
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i].replace(/^--/, '');
    if (!(key in args) || argv[i + 1] === undefined) {
      throw new Error(`unknown or incomplete option '${argv[i]}'`);
    }
    args[key] = ['model', 'out'].includes(key) ? argv[i + 1] : Number(argv[i + 1]);
  }
  if (!args.model) throw new Error('--model PATH is required');
  if (!(args.runs >= 1) || !(args.warmup >= 0) || !(args.threads >= 1)) throw new Error('--runs, --threads >= 1 and --warmup >= 0');
  return args;
}

// mulberry32: a small seeded generator, so every run feeds the same image.
function seeded(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const session = await ort.InferenceSession.create(args.model, {
    executionProviders: ['cpu'],
    intraOpNumThreads: args.threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
  });

  // One float input of fixed shape (ResNet-18: Input247 1x3x224x224), uniform in [-1, 1) like harness's.
  const meta = session.inputMetadata[0];
  const dims = meta.shape.map((d) => (typeof d === 'number' && d > 0 ? d : 1));
  const count = dims.reduce((a, b) => a * b, 1);
  const rand = seeded(args.seed);
  const data = new Float32Array(count);
  for (let i = 0; i < count; i++) data[i] = rand() * 2 - 1;
  const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', data, dims) };

  for (let i = 0; i < args.warmup; i++) await session.run(feeds);

  const ms = new Float64Array(args.runs);
  for (let i = 0; i < args.runs; i++) {
    const start = process.hrtime.bigint();
    await session.run(feeds);
    ms[i] = Number(process.hrtime.bigint() - start) / 1e6;
  }

  await session.release();
  const sorted = Float64Array.from(ms).sort();
  const result = {
    runtime: 'onnxruntime-node',
    version: ort.env.versions?.node ?? ort.env.versions?.common ?? 'unknown',
    model: args.model,
    threads: args.threads,
    warmup: args.warmup,
    runs: args.runs,
    p50_ms: nearestRank(sorted, 0.5),
    p90_ms: nearestRank(sorted, 0.9),
    mean_ms: ms.reduce((a, b) => a + b, 0) / ms.length,
  };
  if (args.out) writeFileSync(args.out, JSON.stringify({ ...result, samples_ms: Array.from(ms) }));
  console.log(JSON.stringify(result));
}

main().catch((e) => {
  console.error(`bench.mjs: ${e.message}`);
  process.exit(1);
});
