// The event loop stays free while large async ops run. A plain node child (test/workloads/event-loop.js; jest's
// sandbox and large heap would add GC pauses of their own) fires a 1 ms timer chain through alternating idle and
// busy windows: idle windows measure this host's own timer jitter at that moment, busy windows run large async
// GEMM, SpMM, attention and W4A4 calls on every core. `npm test` runs this suite on its own, after the others.
// Every one of five runs is judged against its own idle windows (a run over its bounds is repeated once, and the
// repeat must pass: this host pauses the VM now and then for 5-15 ms, idle or not):
//  - the p99 gap within 3 ms (or the idle p99 + 1 ms on a host whose own jitter is worse);
//  - the longest gap in which the JavaScript thread was running or waiting for a core, less V8's own collector
//    pauses inside it (reported by the runtime, and printed), within 10 ms (or the idle windows' longest + 2 ms);
//  - gaps in which it was blocked (neither running nor runnable: the VM paused, or a blocking call) no more
//    frequent in busy windows than in idle ones (+ 2): a library that blocked the loop would show here.
// The library's part is what the busy windows add: pool threads below the JavaScript thread's priority
// (TENSORKERN_POOL_NICE), large async ops on a low-priority runner, no zero-filling or fresh-page faults of
// outputs on the JavaScript thread.
import { runNode } from './helpers/child';
import * as path from 'path';

interface Gaps {
  max: number;
  p99: number;
  p50: number;
  ticks: number;
  cpuMax: number;
  blocked: number;
  gcMax: number;
}
interface Result {
  idle: Gaps;
  busy: Gaps;
  wait: { busyMs: number; runqueueMs: number };
  tiny: Record<string, number>;
}

function measure(): Result {
  const r = runNode(`require(${JSON.stringify(path.join(__dirname, 'workloads', 'event-loop.js'))})`);
  if (r.status !== 0) throw new Error(`event-loop child failed (${r.status}):\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as Result;
}

const fmt = (g: Gaps) =>
  `longest ${g.max.toFixed(2)} ms (${g.cpuMax.toFixed(2)} ms on or waiting for a core less V8's collector pauses, the longest of which in a gap was ${g.gcMax.toFixed(1)} ms; ${g.blocked} blocked gaps), p99 ${g.p99.toFixed(2)} ms, median ${g.p50.toFixed(2)} ms (${g.ticks} ticks)`;
const MAX_BOUND = 10,
  P99_BOUND = 3;

/** The bounds one run is held to: the goal, or the host's own idle jitter in that run plus a margin where it is worse. */
function boundsFor(idle: Gaps): { max: number; p99: number; blocked: number } {
  return { max: Math.max(MAX_BOUND, idle.cpuMax + 2), p99: Math.max(P99_BOUND, idle.p99 + 1), blocked: idle.blocked + 2 };
}

test('the bounds follow the idle host', () => {
  const g = (cpuMax: number, p99: number, blocked: number): Gaps => ({ max: cpuMax, p99, p50: 1.1, ticks: 700, cpuMax, blocked, gcMax: 0 });
  expect(boundsFor(g(2.5, 1.3, 0))).toEqual({ max: 10, p99: 3, blocked: 2 });
  expect(boundsFor(g(14, 2.5, 1))).toEqual({ max: 16, p99: 3.5, blocked: 3 });
});

test('a 1 ms timer keeps firing while large async ops of every kind run: every run judged against its idle windows; tiny-op overhead reported', () => {
  const runs = process.env.TK_SANITIZER ? 1 : 5;
  const failures: string[] = [];
  let last: Result | undefined;
  const judge = (r: Result): string | null => {
    const b = boundsFor(r.idle);
    if (r.busy.cpuMax <= b.max && r.busy.p99 <= b.p99 && r.busy.blocked <= b.blocked) return null;
    return `busy longest ${r.busy.cpuMax.toFixed(2)} (bound ${b.max.toFixed(1)}), p99 ${r.busy.p99.toFixed(2)} (bound ${b.p99.toFixed(1)}), blocked ${r.busy.blocked} (bound ${b.blocked})`;
  };
  const show = (label: string, r: Result) => {
    const b = boundsFor(r.idle);
    const wait =
      r.wait.runqueueMs >= 0
        ? `; the JavaScript thread waited ${r.wait.runqueueMs.toFixed(0)} ms for a core in ${r.wait.busyMs.toFixed(0)} ms of busy windows`
        : '';
    console.log(
      `event loop, ${label}: idle ${fmt(r.idle)}; busy ${fmt(r.busy)}${wait}; bounds: longest ${b.max.toFixed(1)} ms, p99 ${b.p99.toFixed(1)} ms, ${b.blocked} blocked gaps`,
    );
  };
  for (let attempt = 1; attempt <= runs; attempt++) {
    const r = measure();
    last = r;
    show(`run ${attempt}`, r);
    expect(r.busy.ticks).toBeGreaterThan(500); // the busy windows were long enough to matter
    const why = judge(r);
    if (why === null || process.env.TK_SANITIZER) continue;
    // One repeat tells a blip of this host (a VM pause, another process) from the library: a library that held
    // the loop would fail the repeat too (before the pool ran below the JavaScript thread, every run did).
    const again = measure();
    show(`run ${attempt} over its bounds (${why}), repeated`, again);
    const why2 = judge(again);
    if (why2 !== null) failures.push(`run ${attempt}: ${why}; repeated: ${why2}`);
  }
  const t = last!.tiny;
  console.log(
    `tiny-op latency (mean of 3000, plain node): 4x4 gemm async ${t.gemmAsync.toFixed(1)} us vs sync ${t.gemmSync.toFixed(1)} us; ` +
      `16-element cast async ${t.castAsync.toFixed(1)} us vs sync ${t.castSync.toFixed(1)} us; a 1-byte crypto.randomFill on the libuv pool ` +
      `${t.libuvBaseline.toFixed(1)} us; 3000 gemms in flight at once ${t.overlapped.toFixed(1)} us each`,
  );
  expect(Object.values(t).every((x) => x > 0 && Number.isFinite(x))).toBe(true);
  if (process.env.TK_SANITIZER) {
    console.log(
      `SKIP the gap bounds under ${process.env.TK_SANITIZER}: instrumented code runs several times slower; the figures above are reported, not judged`,
    );
    return;
  }
  expect(failures).toEqual([]);
}, 240000);
