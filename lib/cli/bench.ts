// `tensorkern bench [gemm|w4a4|spmm|attention|all] [--device cpu|cuda] [--sizes 256,1024] [--runs N] [--threads N] [--json file]`
// --sizes: the square sizes for gemm and w4a4; the N values (columns of B) for spmm; the sequence
// lengths for attention.
import * as fs from 'fs';
import * as path from 'path';
import { cpuLabel, resolveDevice } from '../device';
import { setNumThreads } from '../device';

interface BenchArgs {
  ops: string[];
  device: string;
  sizes?: number[];
  runs?: number;
  json?: string;
}

const OPS = ['gemm', 'w4a4', 'spmm', 'attention'];

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
      r.sizes = val().split(',').map((s) => Number(s));
      if (r.sizes.some((n) => !Number.isInteger(n) || n < 1)) throw new Error(`--sizes takes positive integers, got ${args[i]}`);
    } else if (a === '--runs') r.runs = Number(val());
    else if (a === '--threads') setNumThreads(Number(val()));
    else if (a === '--json') r.json = val();
    else if (a === 'all') r.ops.push(...OPS);
    else if (OPS.includes(a)) r.ops.push(a);
    else throw new Error(`unknown bench argument "${a}" (ops: ${OPS.join(', ')}, all)`);
  }
  if (r.ops.length === 0) r.ops = [...OPS];
  return r;
}

export async function runBench(argv: string[]): Promise<number> {
  const args = parse(argv);
  const device = resolveDevice(args.device, '--device');
  // Loaded here so `tensorkern info` does not pay for the bench modules.
  /* eslint-disable @typescript-eslint/no-require-imports */
  const { machineInfo } = require('../../bench/harness') as typeof import('../../bench/harness');
  const { benchGemm } = require('../../bench/gemm') as typeof import('../../bench/gemm');
  const { benchSpmm } = require('../../bench/spmm') as typeof import('../../bench/spmm');
  const { benchAttention } = require('../../bench/attention') as typeof import('../../bench/attention');
  const { benchW4A4 } = require('../../bench/w4a4') as typeof import('../../bench/w4a4');
  /* eslint-enable @typescript-eslint/no-require-imports */
  const machine = machineInfo();
  const log = (s: string) => process.stdout.write(s + '\n');
  log(`tensorkern ${machine.tensorkern} bench on ${device}: ${cpuLabel({ name: machine.cpu.model, brand: machine.cpu.brand })} (${machine.cpu.isa}), ${machine.cpu.threads} threads, Node ${machine.node}`);
  const report: Record<string, unknown> = { machine, device };
  if (device !== 'cpu') {
    // The GPU benches: gemm, w4a4 (vs cuBLAS), spmm (vs cuSPARSE, and cuBLAS dense for pruned weights), attention
    // (vs cuBLAS GEMM -> softmax -> GEMM, materialized).
    const { benchGemmCuda } = require('../../bench/gemm_cuda') as typeof import('../../bench/gemm_cuda'); // eslint-disable-line @typescript-eslint/no-require-imports
    const { benchAttentionCuda } = require('../../bench/attention_cuda') as typeof import('../../bench/attention_cuda'); // eslint-disable-line @typescript-eslint/no-require-imports
    for (const op of args.ops) {
      if (op === 'gemm') report.gemm = benchGemmCuda({ device, sizes: args.sizes, runs: args.runs, log });
      else if (op === 'spmm') {
        const { benchSpmmCuda } = require('../../bench/spmm_cuda') as typeof import('../../bench/spmm_cuda'); // eslint-disable-line @typescript-eslint/no-require-imports
        report.spmm = benchSpmmCuda({ device, sizes: args.sizes, runs: args.runs, log });
      } else if (op === 'w4a4') {
        const { benchW4A4Cuda } = require('../../bench/w4a4_cuda') as typeof import('../../bench/w4a4_cuda'); // eslint-disable-line @typescript-eslint/no-require-imports
        report.w4a4 = benchW4A4Cuda({ device, sizes: args.sizes, runs: args.runs, log });
      } else if (op === 'attention') report.attention = benchAttentionCuda({ device, sizes: args.sizes, runs: args.runs, log });
      else log(`bench ${op} --device ${device}: skipped (the ${op} CUDA kernels are not built yet; run it with --device cpu)`);
    }
  }
  for (const op of device === 'cpu' ? args.ops : []) {
    if (op === 'gemm') report.gemm = benchGemm({ device, sizes: args.sizes, runs: args.runs, log });
    if (op === 'spmm') report.spmm = benchSpmm({ device, sizes: args.sizes, runs: args.runs, log });
    if (op === 'attention') report.attention = await benchAttention({ device, sizes: args.sizes, runs: args.runs, log });
    if (op === 'w4a4') report.w4a4 = await benchW4A4({ sizes: args.sizes, runs: args.runs, log });
  }
  if (args.json) {
    fs.mkdirSync(path.dirname(path.resolve(args.json)), { recursive: true });
    fs.writeFileSync(args.json, JSON.stringify(report, null, 2) + '\n');
    log(`wrote ${args.json}`);
  }
  return 0;
}
