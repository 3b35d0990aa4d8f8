// `tensorkern bench linear-attention`: linearAttention (Lightning Attention-2, causal, B 1, H 16,
// D = Dv = 64, a decay per head) at S = 8192 and S = 65536, beside, in the same run and interleaved
// round by round: softmax `attention` on the same q, k, v at S = 8192 (causal), and the plain per-token
// recurrence in C (native/bench/linear_attention_loop.c, compiled here with `cc -O3 -march=native`, one
// thread) at S = 8192, whose output must match ours. Medians over the rounds; the ratios the goals name:
//   S 65536 / S 8192 time (linear: 8; goal <= 9), attention / linearAttention (goal >= 10),
//   C loop / linearAttention (goal >= 5), and the same with linearAttention on one thread.
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Tensor, attentionSync, getNumThreads, linearAttentionSync, setNumThreads } from '../lib';
import { native } from '../lib/binding';
import { PACKAGE_ROOT } from '../lib/root';
import { median } from './harness';

export interface LinearAttentionBenchOptions {
  runs?: number;
  /** Sequence lengths [short, long]; default [8192, 65536]. */
  sizes?: number[];
  log: (line: string) => void;
}

export interface LinearAttentionBenchReport {
  shape: { B: number; H: number; D: number; Dv: number; causal: boolean };
  S: number;
  SLong: number;
  threads: number;
  kernel: string;
  /** Median seconds. */
  seconds: { linear: number; linearLong: number; linearOneThread: number; attention: number; cLoop?: number };
  ratios: { longOverShort: number; attentionOverLinear: number; cLoopOverLinear?: number; cLoopOverLinearOneThread?: number };
  c: { available: boolean; why?: string; compiler?: string; maxRelDiff?: number };
}

function fill(n: number, seed: number): Float32Array {
  let s = seed >>> 0 || 1;
  const d = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    d[i] = s / 2147483648 - 1;
  }
  return d;
}

/** The C loop built into a temp folder, or why not. */
function buildC(log: (s: string) => void): { exe: string; compiler: string } | { why: string } {
  const src = path.join(PACKAGE_ROOT, 'native', 'bench', 'linear_attention_loop.c');
  const exe = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tk-linattn-')), 'linear_attention_loop');
  for (const cc of [process.env.CC, 'cc', 'gcc', 'clang'].filter((x): x is string => !!x)) {
    try {
      execFileSync(cc, ['-O3', '-march=native', '-o', exe, src], { stdio: 'pipe' });
      const version = execFileSync(cc, ['--version'], { encoding: 'utf8' }).split('\n')[0];
      log(`baseline C: ${version}, -O3 -march=native, 1 thread (native/bench/linear_attention_loop.c)`);
      return { exe, compiler: `${version} -O3 -march=native` };
    } catch {
      /* try the next compiler */
    }
  }
  return { why: 'no C compiler (cc, gcc, clang) could build native/bench/linear_attention_loop.c' };
}

function time(fn: () => void): number {
  const t = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t) / 1e9;
}

export function benchLinearAttention(o: LinearAttentionBenchOptions): LinearAttentionBenchReport {
  const { log } = o;
  const [B, H, D, Dv] = [1, 16, 64, 64];
  const S = o.sizes?.[0] ?? 8192,
    SLong = o.sizes?.[1] ?? 8 * S;
  const rounds = o.runs ?? 5;
  const scale = 1 / Math.sqrt(D);
  // Decays spread like TransNormerLLM's per-head rates, 1 - 2^-(5 + 8h/H) ... 0.97 to 0.9995.
  const decay = Float32Array.from({ length: H }, (_, h) => 1 - 2 ** -(5 + (8 * h) / H));
  const mk = (n: number, E: number, seed: number) => Tensor.from(fill(B * H * n * E, seed), [B, H, n, E]);
  const q = mk(S, D, 1),
    k = mk(S, D, 2),
    v = mk(S, Dv, 3);
  const ql = mk(SLong, D, 4),
    kl = mk(SLong, D, 5),
    vl = mk(SLong, Dv, 6);
  const threads = getNumThreads();
  log(`linearAttention causal, B ${B}, H ${H}, D ${D}, Dv ${Dv}, S ${S} and ${SLong}, ${threads} threads, ${rounds} rounds (medians)`);

  const report: LinearAttentionBenchReport = {
    shape: { B, H, D, Dv, causal: true },
    S,
    SLong,
    threads,
    kernel: '',
    seconds: { linear: 0, linearLong: 0, linearOneThread: 0, attention: 0 },
    ratios: { longOverShort: 0, attentionOverLinear: 0 },
    c: { available: false },
  };
  const cb = buildC(log);
  let inFile = '',
    outFile = '';
  if ('why' in cb) {
    report.c.why = cb.why;
    log(`baseline C: skipped (${cb.why})`);
  } else {
    report.c = { available: true, compiler: cb.compiler };
    const dir = path.dirname(cb.exe);
    inFile = path.join(dir, 'in.f32');
    outFile = path.join(dir, 'out.f32');
    const parts = [q, k, v].map((t) => t.toArraySync() as Float32Array).concat([decay]);
    fs.writeFileSync(inFile, Buffer.concat(parts.map((p) => Buffer.from(p.buffer, p.byteOffset, p.byteLength))));
  }
  const runC = (): number => {
    if ('why' in cb) return NaN;
    const r = spawnSync(cb.exe, [inFile, outFile, `${B}`, `${H}`, `${S}`, `${D}`, `${Dv}`, `${scale}`, '1'], { encoding: 'utf8' });
    const m = /seconds ([0-9.e-]+)/.exec(r.stdout ?? '');
    if (r.status !== 0 || !m) throw new Error(`linear_attention_loop failed: ${r.stderr}`);
    return Number(m[1]);
  };
  const lin = () => linearAttentionSync(q, k, v, { decay, scale });
  const t: Record<'linear' | 'linearLong' | 'linearOneThread' | 'attention' | 'cLoop', number[]> = {
    linear: [],
    linearLong: [],
    linearOneThread: [],
    attention: [],
    cLoop: [],
  };
  // One untimed round first (page faults, pools, caches), then the rounds, each implementation in turn.
  for (let r = -1; r < rounds; r++) {
    const keep = r >= 0;
    const add = (name: keyof typeof t, s: number) => keep && t[name].push(s);
    add('linear', time(lin));
    add(
      'linearLong',
      time(() => linearAttentionSync(ql, kl, vl, { decay, scale })),
    );
    setNumThreads(1);
    try {
      add('linearOneThread', time(lin));
    } finally {
      setNumThreads(threads);
    }
    add(
      'attention',
      time(() => attentionSync(q, k, v, { causal: true, scale })),
    );
    if (!('why' in cb)) add('cLoop', runC());
    if (keep)
      log(
        `  round ${r + 1}: linear ${(t.linear[r] * 1e3).toFixed(1)} ms, S ${SLong} ${(t.linearLong[r] * 1e3).toFixed(1)} ms, ` +
          `1 thread ${(t.linearOneThread[r] * 1e3).toFixed(1)} ms, attention ${(t.attention[r] * 1e3).toFixed(1)} ms` +
          (t.cLoop.length ? `, C loop ${(t.cLoop[r] * 1e3).toFixed(1)} ms` : ''),
      );
  }
  report.kernel = native.debug.lastKernel('linearAttention', 'cpu');
  const sec = report.seconds;
  sec.linear = median(t.linear);
  sec.linearLong = median(t.linearLong);
  sec.linearOneThread = median(t.linearOneThread);
  sec.attention = median(t.attention);
  report.ratios.longOverShort = sec.linearLong / sec.linear;
  report.ratios.attentionOverLinear = sec.attention / sec.linear;
  if (t.cLoop.length) {
    sec.cLoop = median(t.cLoop);
    report.ratios.cLoopOverLinear = sec.cLoop / sec.linear;
    report.ratios.cLoopOverLinearOneThread = sec.cLoop / sec.linearOneThread;
    // The baseline must compute the same thing: its output against ours, relative to the largest |o|.
    const ours = lin().toArraySync() as Float32Array;
    const buf = fs.readFileSync(outFile);
    const theirs = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
    let diff = 0,
      big = 0;
    for (let i = 0; i < ours.length; i++) {
      diff = Math.max(diff, Math.abs(ours[i] - theirs[i]));
      big = Math.max(big, Math.abs(theirs[i]));
    }
    report.c.maxRelDiff = diff / big;
    fs.rmSync(path.dirname(outFile), { recursive: true, force: true });
  }
  const x = (r: number | undefined) => (r === undefined ? 'n/a' : `${r.toFixed(2)}x`);
  log(`kernel: ${report.kernel}`);
  log(
    `linearAttention S ${S}: ${(sec.linear * 1e3).toFixed(1)} ms (${threads} threads), ${(sec.linearOneThread * 1e3).toFixed(1)} ms (1 thread); ` +
      `S ${SLong}: ${(sec.linearLong * 1e3).toFixed(1)} ms`,
  );
  log(`  S ${SLong} / S ${S} time: ${x(report.ratios.longOverShort)} (goal <= 9x; tokens x${SLong / S})`);
  log(
    `  softmax attention / linearAttention at S ${S}: ${x(report.ratios.attentionOverLinear)} (goal >= 10x; attention ${(sec.attention * 1e3).toFixed(1)} ms)`,
  );
  if (sec.cLoop !== undefined)
    log(
      `  C per-token loop / linearAttention at S ${S}: ${x(report.ratios.cLoopOverLinear)} (goal >= 5x; C loop ${(sec.cLoop * 1e3).toFixed(1)} ms, 1 thread); ` +
        `against linearAttention on 1 thread: ${x(report.ratios.cLoopOverLinearOneThread)}; outputs agree to ${report.c.maxRelDiff!.toExponential(1)} of max |o|`,
    );
  return report;
}
