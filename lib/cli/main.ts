#!/usr/bin/env node
// `tensorkern` command: info (devices, ISA, threads, why no GPU) and bench (the ops, and a llama model).
import { runBench } from './bench';
import { runInfo } from './info';

const USAGE = `Usage: tensorkern <command> [options]

Commands:
  info [--json]     the native binary, CPU (ISA, threads), GPUs, and why no GPU is used
  bench [gemm|w4a4|spmm|attention|all] [--device cpu|cuda] [--sizes 256,1024,4096] [--runs N] [--threads N] [--json file]
                    time the ops against every baseline found on this machine (oneDNN, OpenBLAS,
                    the plain loop), median of N runs after warm-up; no op = all of them
  bench llama [--model FILE|stories260K|random:110M] [--prompt-ids 1,2,3] [--steps N] [--weights f32|bf16|int4]
              [--threads T] [--runs R] [--modes graph,graph-async,ops] [--no-c] [--json file]
                    decode a llama2.c checkpoint (greedy) and print prefill / decode tokens per
                    second beside hand-written C (cc -O3 -march=native) on the same model
  help              this text

Environment:
  TENSORKERN_DEVICE       auto | cpu | cuda | cuda:N   (default device for ops)
  TENSORKERN_NUM_THREADS  CPU compute threads          (default: physical cores)
  TENSORKERN_ISA          auto | scalar | avx2 | avx512 | neon   (cap the CPU kernels)
  TENSORKERN_BF16_DOT     auto | on | off   (bfloat16 products on vdpbf16ps or widened to float32)
  TENSORKERN_BINARY       path of a tensorkern .node file to load
`;

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case 'info':
      return runInfo(rest);
    case 'bench':
      return runBench(rest);
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE);
      return cmd === undefined ? 1 : 0;
    default:
      process.stderr.write(`tensorkern: unknown command "${cmd}"\n\n${USAGE}`);
      return 2;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: Error) => {
      process.stderr.write(`tensorkern: ${err.message}\n`);
      process.exitCode = 1;
    },
  );
}
