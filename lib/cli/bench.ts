// `tensorkern bench [gemm|w4a4|spmm|attention|monarch|all] [--device cpu|cuda] [--sizes 256,1024] [--runs N] [--threads N] [--json file]`
// `tensorkern bench llama ...` (bench/llama.ts): a llama2.c checkpoint decoded on tensorkern beside hand-written C.
// `tensorkern bench linear-attention [--sizes 8192,65536] [--runs N]` (bench/linear_attention.ts): only when named, not by `all`.
// `tensorkern bench int8mm [--sizes 1024,4096]` (bench/int8mm.ts), `tensorkern bench quant-accuracy` (bench/quant_accuracy.ts): only when named.
// `tensorkern bench lut [--sizes 4096] [--runs N]` (bench/lut.ts): lutMatmul vs int4Matmul at M = 1, 8, 256; only when named.
// `tensorkern bench bitmm [--sizes 2048,4096] [--runs N]` (bench/bitmm.ts): only when named, not by `all`.
// --sizes: the square sizes for gemm and w4a4; the N values (columns of B) for spmm; the sequence
// lengths for attention; n for monarch (blocks = sqrt(n), batch 1024).
import * as fs from 'fs';
import * as path from 'path';
import { Device, cpuLabel, resolveDevice } from '../device';
import { setNumThreads } from '../device';

interface BenchArgs {
  ops: string[];
  device: string;
  sizes?: number[];
  runs?: number;
  json?: string;
}

const OPS = ['gemm', 'w4a4', 'spmm', 'attention', 'monarch'];
/** Benches run only when named (not by `all`): linear-attention runs softmax attention at S = 8192, minutes of work. */
const NAMED_OPS = ['linear-attention', 'int8mm', 'quant-accuracy', 'lut', 'bitmm'];

function parse(args: string[]): BenchArgs {
  const r: BenchArgs = { ops: [], device: 'auto' };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const val = () => {
      const v = args[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--device') r.device = val();
    else if (a === '--sizes') {
      r.sizes = val()
        .split(',')
        .map((s) => Number(s));
      if (r.sizes.some((n) => !Number.isInteger(n) || n < 1)) throw new Error(`--sizes takes positive integers, got ${args[i]}`);
    } else if (a === '--runs') r.runs = Number(val());
    else if (a === '--threads') setNumThreads(Number(val()));
    else if (a === '--json') r.json = val();
    else if (a === 'all') r.ops.push(...OPS);
    else if (OPS.includes(a)) r.ops.push(a);
    else if (NAMED_OPS.includes(a)) r.ops.push(a);
    else throw new Error(`unknown bench argument "${a}" (ops: ${OPS.join(', ')}, all)`);
  }
  if (r.ops.length === 0) r.ops = [...OPS];
  return r;
}

const LLAMA_USAGE =
  'tensorkern bench llama [--model FILE|stories260K|random:110M] [--prompt-ids 1,2,3] [--steps N] [--weights f32|bf16|int4|int8] [--threads T] [--runs R] [--modes graph,graph-async,ops] [--no-c] [--json out]';

async function runLlama(argv: string[]): Promise<number> {
  const { benchLlama } = require('../../bench/llama') as typeof import('../../bench/llama'); // eslint-disable-line @typescript-eslint/no-require-imports
  const o = {
    model: 'stories260K',
    promptIds: [1],
    steps: 64,
    weights: 'f32' as 'f32' | 'bf16' | 'int4' | 'int8',
    runs: 3,
    modes: ['graph', 'graph-async', 'ops'] as ('graph' | 'graph-async' | 'ops')[],
    c: true,
  };
  let json: string | undefined;
  const ints = (flag: string, v: string, min: number) => {
    const xs = v.split(',').map(Number);
    if (xs.length === 0 || xs.some((n) => !Number.isInteger(n) || n < min))
      throw new Error(`${flag} takes integers >= ${min} (comma-separated), got "${v}"`);
    return xs;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value (usage: ${LLAMA_USAGE})`);
      return v;
    };
    if (a === '--model') o.model = val();
    else if (a === '--prompt-ids') o.promptIds = ints(a, val(), 0);
    else if (a === '--steps') o.steps = ints(a, val(), 2)[0];
    else if (a === '--runs') o.runs = ints(a, val(), 1)[0];
    else if (a === '--threads') setNumThreads(ints(a, val(), 1)[0]);
    else if (a === '--weights') {
      const w = val();
      if (w !== 'f32' && w !== 'bf16' && w !== 'int4' && w !== 'int8')
        throw new Error(`--weights takes f32, bf16, int4 or int8, got "${w}"`);
      o.weights = w;
    } else if (a === '--modes') {
      const ms = val().split(',');
      const bad = ms.find((m) => !['graph', 'graph-async', 'ops'].includes(m));
      if (bad !== undefined || ms.length === 0) throw new Error(`--modes takes graph, graph-async and ops (comma-separated), got "${bad}"`);
      o.modes = ms as typeof o.modes;
    } else if (a === '--no-c') o.c = false;
    else if (a === '--json') json = val();
    else throw new Error(`unknown bench llama argument "${a}" (usage: ${LLAMA_USAGE})`);
  }
  const { machineInfo } = require('../../bench/harness') as typeof import('../../bench/harness'); // eslint-disable-line @typescript-eslint/no-require-imports
  const machine = machineInfo();
  const log = (s: string) => process.stdout.write(s + '\n');
  log(
    `tensorkern ${machine.tensorkern} bench llama on cpu: ${cpuLabel({ name: machine.cpu.model, brand: machine.cpu.brand })} (${machine.cpu.isa}), ${machine.cpu.threads} threads, Node ${machine.node}`,
  );
  const report = await benchLlama({ ...o, log });
  if (json) {
    fs.mkdirSync(path.dirname(path.resolve(json)), { recursive: true });
    fs.writeFileSync(json, JSON.stringify({ machine, llama: report }, null, 2) + '\n');
    log(`wrote ${json}`);
  }
  return 0;
}

/** What each bench gets: the device, --sizes, --runs, and where to print. */
interface BenchRun {
  device: Device;
  sizes?: number[];
  runs?: number;
  log: (s: string) => void;
}

/* eslint-disable @typescript-eslint/no-require-imports */
// Each bench module is loaded only when its op is asked for (`tensorkern info` pays for none of them); the key is
// the report field its result goes under.
const CPU_BENCHES: Record<string, { key: string; run(o: BenchRun): unknown }> = {
  gemm: { key: 'gemm', run: (o) => (require('../../bench/gemm') as typeof import('../../bench/gemm')).benchGemm(o) },
  spmm: { key: 'spmm', run: (o) => (require('../../bench/spmm') as typeof import('../../bench/spmm')).benchSpmm(o) },
  attention: {
    key: 'attention',
    run: (o) => (require('../../bench/attention') as typeof import('../../bench/attention')).benchAttention(o),
  },
  w4a4: { key: 'w4a4', run: (o) => (require('../../bench/w4a4') as typeof import('../../bench/w4a4')).benchW4A4(o) },
  'linear-attention': {
    key: 'linearAttention',
    run: (o) => (require('../../bench/linear_attention') as typeof import('../../bench/linear_attention')).benchLinearAttention(o),
  },
  int8mm: { key: 'int8mm', run: (o) => (require('../../bench/int8mm') as typeof import('../../bench/int8mm')).benchInt8Mm(o) },
  bitmm: { key: 'bitmm', run: (o) => (require('../../bench/bitmm') as typeof import('../../bench/bitmm')).benchBitmm(o) },
  'quant-accuracy': {
    key: 'quantAccuracy',
    run: (o) => (require('../../bench/quant_accuracy') as typeof import('../../bench/quant_accuracy')).benchQuantAccuracy(o),
  },
  lut: { key: 'lut', run: (o) => (require('../../bench/lut') as typeof import('../../bench/lut')).benchLut(o) },
  monarch: { key: 'monarch', run: (o) => (require('../../bench/monarch') as typeof import('../../bench/monarch')).benchMonarch(o) },
};

// The GPU benches: gemm, w4a4 (vs cuBLAS), spmm (vs cuSPARSE, and cuBLAS dense for pruned weights), attention
// (vs cuBLAS GEMM -> softmax -> GEMM, materialized).
const CUDA_BENCHES: Record<string, { key: string; run(o: BenchRun): unknown }> = {
  gemm: { key: 'gemm', run: (o) => (require('../../bench/gemm_cuda') as typeof import('../../bench/gemm_cuda')).benchGemmCuda(o) },
  spmm: { key: 'spmm', run: (o) => (require('../../bench/spmm_cuda') as typeof import('../../bench/spmm_cuda')).benchSpmmCuda(o) },
  w4a4: { key: 'w4a4', run: (o) => (require('../../bench/w4a4_cuda') as typeof import('../../bench/w4a4_cuda')).benchW4A4Cuda(o) },
  attention: {
    key: 'attention',
    run: (o) => (require('../../bench/attention_cuda') as typeof import('../../bench/attention_cuda')).benchAttentionCuda(o),
  },
};
/* eslint-enable @typescript-eslint/no-require-imports */

export async function runBench(argv: string[]): Promise<number> {
  if (argv[0] === 'llama') return runLlama(argv.slice(1));
  const args = parse(argv);
  const device = resolveDevice(args.device, '--device');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { machineInfo } = require('../../bench/harness') as typeof import('../../bench/harness');
  const machine = machineInfo();
  const log = (s: string) => process.stdout.write(s + '\n');
  log(
    `tensorkern ${machine.tensorkern} bench on ${device}: ${cpuLabel({ name: machine.cpu.model, brand: machine.cpu.brand })} (${machine.cpu.isa}), ${machine.cpu.threads} threads, Node ${machine.node}`,
  );
  const report: Record<string, unknown> = { machine, device };
  const o: BenchRun = { device, sizes: args.sizes, runs: args.runs, log };
  const table = device === 'cpu' ? CPU_BENCHES : CUDA_BENCHES;
  for (const op of args.ops) {
    const b = table[op];
    if (b) report[b.key] = await b.run(o);
    else log(`bench ${op} --device ${device}: skipped (the ${op} CUDA kernels are not built yet; run it with --device cpu)`);
  }
  if (args.json) {
    fs.mkdirSync(path.dirname(path.resolve(args.json)), { recursive: true });
    fs.writeFileSync(args.json, JSON.stringify(report, null, 2) + '\n');
    log(`wrote ${args.json}`);
  }
  return 0;
}
