// `tensorkern bench llama --model FILE|stories260K|random:110M [--prompt-ids 1,2,3] [--steps N]
//  [--weights f32|bf16] [--threads T] [--runs R] [--modes graph,graph-async,ops] [--no-c] [--json out]`
//
// Loads a llama2.c checkpoint, prefills the prompt (default: token 1) and greedily decodes N tokens
// (default 64) on tensorkern, and prints prefill and decode tokens per second. Beside it, interleaved
// run by run: the hand-written C forward pass (native/bench/llama_run.c, compiled here with
// `cc -O3 -march=native`, one thread) on the same checkpoint, which must generate the same tokens.
// For a model whose weights do not fit in cache, the decode rate is compared with the memory-bandwidth
// bound: measured read bandwidth / weight bytes per token.
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Tensor, gemm, gemmSync, getNumThreads, recordGraph } from '../lib';
import { PACKAGE_ROOT } from '../lib/root';
import { memReadBandwidth } from './gemm';
import { median } from './harness';
import { Checkpoint, SHAPE_110M, parseCheckpoint, randomCheckpoint, readCheckpoint } from './llama/checkpoint';
import { LlamaModel, StepMode, WeightType, generate } from './llama/model';
import { STORIES_PATH } from './stories';

export interface LlamaBenchOptions {
  model: string;
  promptIds: number[];
  steps: number;
  weights: WeightType;
  runs: number;
  modes: StepMode[];
  c: boolean;
  log: (s: string) => void;
}

/** What one tiny op costs by the way it is called (a 64 x 64 matrix-vector product, out given). */
export interface CallCosts {
  syncUs: number;
  asyncUs: number;
  graphUs: number;
  plainJsUs: number;
}

/** Median per-call microseconds of each form, interleaved round by round. */
export async function measureCallCosts(rounds = 7, calls = 2000): Promise<CallCosts> {
  const K = 64,
    N = 64;
  const wd = Float32Array.from({ length: N * K }, (_, i) => ((i * 37) % 11) / 11 - 0.5);
  const x = Tensor.from(new Float32Array(K).fill(0.5), [1, K]),
    w = Tensor.from(wd, [N, K]),
    out = Tensor.zeros([1, N]);
  const ops = 32;
  const g = recordGraph(() => {
    for (let i = 0; i < ops; i++) gemmSync(x, w, { transB: true, out });
  });
  const xd = x.toArraySync() as Float32Array,
    y = new Float32Array(N);
  const plain = () => {
    for (let n = 0; n < N; n++) {
      let acc = 0;
      for (let k = 0; k < K; k++) acc += wd[n * K + k] * xd[k];
      y[n] = acc;
    }
  };
  const forms: [keyof CallCosts, () => void | Promise<unknown>, number][] = [
    ['syncUs', () => void gemmSync(x, w, { transB: true, out }), calls],
    ['asyncUs', () => gemm(x, w, { transB: true, out }), calls / 4],
    ['graphUs', () => g.run(), calls / ops],
    ['plainJsUs', plain, calls],
  ];
  const samples: Record<keyof CallCosts, number[]> = { syncUs: [], asyncUs: [], graphUs: [], plainJsUs: [] };
  for (let r = 0; r < rounds + 1; r++) {
    for (const [name, f, n] of forms) {
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < n; i++) {
        const p = f();
        if (p) await p;
      }
      const us = Number(process.hrtime.bigint() - t0) / 1e3 / (name === 'graphUs' ? n * ops : n);
      if (r > 0) samples[name].push(us); // round 0 warms up
    }
  }
  g.dispose();
  return {
    syncUs: median(samples.syncUs),
    asyncUs: median(samples.asyncUs),
    graphUs: median(samples.graphUs),
    plainJsUs: median(samples.plainJsUs),
  };
}

export interface LlamaRun {
  mode: StepMode | 'c';
  prefillTokensPerSecond: number;
  decodeTokensPerSecond: number;
}

export interface LlamaBenchReport {
  model: string;
  config: Checkpoint['config'];
  weights: WeightType;
  threads: number;
  promptIds: number[];
  steps: number;
  opsPerStep: number;
  generated: number[];
  prefillTokensPerSecond: number;
  decodeTokensPerSecond: number;
  /** Medians per mode over the runs (tensorkern modes and 'c'), and every run. */
  medians: LlamaRun[];
  runs: LlamaRun[];
  c: { available: boolean; why?: string; compiler?: string; generated?: number[]; sameTokens?: boolean; decodeRatio?: number };
  bandwidth?: { readGBps: number; weightBytesPerToken: number; boundTokensPerSecond: number; fraction: number };
  /** Per-call cost of one tiny op (1 x 64 @ 64 x 64) in each form, microseconds. */
  callCosts: CallCosts;
}

/** The C baseline built into a temp folder; null (with why) when no C compiler runs. */
function buildC(log: (s: string) => void): { exe: string; compiler: string } | { why: string } {
  const src = path.join(PACKAGE_ROOT, 'native', 'bench', 'llama_run.c');
  if (!fs.existsSync(src)) return { why: `${src} is missing` };
  const exe = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tk-llama-')), 'llama_run');
  for (const cc of [process.env.CC, 'cc', 'gcc', 'clang'].filter((x): x is string => !!x)) {
    try {
      execFileSync(cc, ['-O3', '-march=native', '-o', exe, src, '-lm'], { stdio: 'pipe' });
      const version = execFileSync(cc, ['--version'], { encoding: 'utf8' }).split('\n')[0];
      log(`baseline C: ${version}, -O3 -march=native, 1 thread (native/bench/llama_run.c)`);
      return { exe, compiler: `${version} -O3 -march=native` };
    } catch {
      /* try the next compiler */
    }
  }
  return { why: 'no C compiler (cc, gcc, clang) could build native/bench/llama_run.c' };
}

function runC(exe: string, file: string, o: LlamaBenchOptions): { generated: number[]; run: LlamaRun } {
  const out = execFileSync(exe, [file, String(o.steps), o.promptIds.join(',')], { encoding: 'utf8' });
  const line = (k: string) =>
    out
      .split('\n')
      .find((l) => l.startsWith(k + ' '))
      ?.slice(k.length + 1) ?? '';
  return {
    generated: line('generated').split(' ').filter(Boolean).map(Number),
    run: { mode: 'c', prefillTokensPerSecond: Number(line('prefill_tok_s')), decodeTokensPerSecond: Number(line('decode_tok_s')) },
  };
}

function loadModel(spec: string): { ckpt: Checkpoint; file?: string; tmp?: string } {
  if (spec === 'stories260K') return { ckpt: readCheckpoint(STORIES_PATH), file: STORIES_PATH };
  if (spec.startsWith('random:')) {
    if (spec !== 'random:110M') throw new Error(`--model ${spec}: the random shape known is random:110M`);
    const bytes = randomCheckpoint(SHAPE_110M);
    const tmp = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tk-llama-')), 'random110M.bin');
    fs.writeFileSync(tmp, bytes); // for the C baseline
    return { ckpt: parseCheckpoint(bytes, spec), file: tmp, tmp };
  }
  return { ckpt: readCheckpoint(spec), file: spec };
}

export async function benchLlama(o: LlamaBenchOptions): Promise<LlamaBenchReport> {
  const { ckpt, file, tmp } = loadModel(o.model);
  const c = ckpt.config;
  const bad = o.promptIds.find((t) => !(Number.isInteger(t) && t >= 0 && t < c.vocab));
  if (bad !== undefined) throw new Error(`--prompt-ids: ${bad} is not a token id of this model (0..${c.vocab - 1})`);
  if (o.promptIds.length + o.steps > c.seqLen)
    throw new Error(`--prompt-ids and --steps: ${o.promptIds.length} + ${o.steps} tokens exceed the model's ${c.seqLen}`);
  const threads = getNumThreads();
  o.log(
    `model ${o.model}: dim ${c.dim}, ${c.layers} layers, ${c.heads} heads (${c.kvHeads} KV), hidden ${c.hidden}, vocab ${c.vocab}; ${o.weights} weights, ${threads} threads`,
  );
  const m = new LlamaModel(ckpt, { weights: o.weights });
  o.log(`one decode step: ${m.opsPerStep} ops recorded as one graph, ${(m.weightBytesPerToken / 1e6).toFixed(1)} MB of weights`);
  const cb = o.c ? buildC(o.log) : { why: 'not requested (--no-c)' };
  const report: LlamaBenchReport = {
    model: o.model,
    config: c,
    weights: o.weights,
    threads,
    promptIds: o.promptIds,
    steps: o.steps,
    opsPerStep: m.opsPerStep,
    generated: [],
    prefillTokensPerSecond: 0,
    decodeTokensPerSecond: 0,
    medians: [],
    runs: [],
    c: { available: 'exe' in cb },
    callCosts: { syncUs: 0, asyncUs: 0, graphUs: 0, plainJsUs: 0 },
  };
  if ('why' in cb) report.c.why = cb.why;
  else report.c.compiler = cb.compiler;
  await generate(m, o.promptIds, Math.min(o.steps, 8)); // warm-up: caches, pools, page faults
  // Interleaved: every round runs each mode and the C program once, in an order rotated round by
  // round (whatever runs first after another process pays for the caches and the sleeping threads).
  const slots: (StepMode | 'c')[] = [...o.modes, ...('exe' in cb && file ? ['c' as const] : [])];
  // Past the caches, the read bandwidth is measured in every round too (it drifts on a shared VM), and
  // the bound uses its median.
  const streams = m.weightBytesPerToken > 32 << 20;
  const bw: number[] = [];
  for (let r = 0; r < o.runs; r++) {
    if (streams) bw.push(memReadBandwidth());
    for (let si = 0; si < slots.length; si++) {
      const mode = slots[(si + r) % slots.length];
      if (mode === 'c') {
        const x = runC((cb as { exe: string }).exe, file!, o);
        report.runs.push(x.run);
        report.c.generated = x.generated;
        continue;
      }
      // Untimed: a few steps in this mode first (whatever ran before -- the C process -- left the
      // caches and the sleeping threads to this one otherwise).
      await generate(m, o.promptIds, 2, { mode });
      const g = await generate(m, o.promptIds, o.steps, {
        mode,
        onToken: (_t, i) => {
          if (i % 16 === 15 || i === o.steps - 1)
            process.stderr.write(`\r\x1b[K[run ${r + 1}/${o.runs}] ${mode}: ${i + 1}/${o.steps} tokens`);
        },
      });
      process.stderr.write('\r\x1b[K');
      if (report.generated.length === 0) report.generated = g.generated;
      else if (g.generated.join() !== report.generated.join())
        throw new Error(`${mode} generated other tokens than the first run: ${g.generated.slice(0, 16).join(' ')} ...`);
      report.runs.push({
        mode,
        prefillTokensPerSecond: o.promptIds.length / (g.prefillMs / 1e3),
        decodeTokensPerSecond: (g.generated.length - 1) / (g.decodeMs / 1e3),
      });
    }
  }
  m.dispose();
  if ('exe' in cb) fs.rmSync(path.dirname(cb.exe), { recursive: true, force: true });
  const modes: (StepMode | 'c')[] = [...o.modes, ...(report.c.available ? ['c' as const] : [])];
  report.medians = modes.map((mode) => {
    const rs = report.runs.filter((x) => x.mode === mode);
    return {
      mode,
      prefillTokensPerSecond: median(rs.map((x) => x.prefillTokensPerSecond)),
      decodeTokensPerSecond: median(rs.map((x) => x.decodeTokensPerSecond)),
    };
  });
  const main = report.medians[0];
  report.prefillTokensPerSecond = main.prefillTokensPerSecond;
  report.decodeTokensPerSecond = main.decodeTokensPerSecond;
  for (const x of report.medians) {
    o.log(
      `${x.mode.padEnd(12)} prefill ${x.prefillTokensPerSecond.toFixed(1).padStart(9)} tok/s   decode ${x.decodeTokensPerSecond.toFixed(1).padStart(9)} tok/s`,
    );
  }
  const cMed = report.medians.find((x) => x.mode === 'c');
  if (cMed) {
    report.c.sameTokens = report.c.generated?.join() === report.generated.join();
    report.c.decodeRatio = main.decodeTokensPerSecond / cMed.decodeTokensPerSecond;
    o.log(
      `decode: tensorkern (${main.mode}) / C = ${report.c.decodeRatio.toFixed(2)}x; same ${report.generated.length} tokens as C: ${report.c.sameTokens ? 'yes' : 'NO'}`,
    );
  } else {
    o.log(`baseline C: skipped (${report.c.why})`);
  }
  if (streams) {
    const readGBps = median(bw);
    const bound = (readGBps * 1e9) / m.weightBytesPerToken;
    report.bandwidth = {
      readGBps,
      weightBytesPerToken: m.weightBytesPerToken,
      boundTokensPerSecond: bound,
      fraction: main.decodeTokensPerSecond / bound,
    };
    o.log(
      `memory bound: ${readGBps.toFixed(1)} GB/s (median of ${bw.map((x) => x.toFixed(1)).join(', ')}, one per round) / ${(m.weightBytesPerToken / 1e6).toFixed(1)} MB per token = ${bound.toFixed(1)} tok/s; decode at ${(100 * report.bandwidth.fraction).toFixed(0)}% of it`,
    );
  }
  report.callCosts = await measureCallCosts();
  const cc = report.callCosts;
  o.log(
    `one tiny op (1x64 @ 64x64, out given): gemmSync ${cc.syncUs.toFixed(2)} us, await gemm ${cc.asyncUs.toFixed(2)} us, in an op graph ${cc.graphUs.toFixed(2)} us; a plain JS loop ${cc.plainJsUs.toFixed(2)} us`,
  );
  o.log(`generated: ${report.generated.slice(0, 24).join(' ')}${report.generated.length > 24 ? ' ...' : ''}`);
  if (tmp) fs.rmSync(path.dirname(tmp), { recursive: true, force: true });
  return report;
}
