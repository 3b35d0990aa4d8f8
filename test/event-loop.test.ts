// The event loop stays free while large async ops run (issue 11). A plain node child
// (test/workloads/event-loop.js; jest's sandbox and large heap would add GC pauses of their own) measures the
// longest gap of a 1 ms timer chain while big GEMM, SpMM, attention and W4A4 calls are in flight, and the async
// call overhead of tiny ops. The same child first measures the gaps with nothing running: when the host itself
// cannot fire a 1 ms timer within 5 ms (other processes saturating the cores), the run is repeated, and after
// five such runs the test says so and does not judge the library by it. A run over the bound is repeated too
// (on 2 cores, jest's other worker competes with this child's compute threads for the CPU): the bound must
// hold in one of five runs, which a library that blocked the loop itself could never do.
import { runNode } from './helpers/child';
import * as path from 'path';

interface Gaps { max: number; p99: number; ticks: number; ms: number }
interface Result { idle: Gaps; busy: Gaps; tiny: Record<string, number> }

function measure(): Result {
  const r = runNode(`require(${JSON.stringify(path.join(__dirname, 'workloads', 'event-loop.js'))})`);
  if (r.status !== 0) throw new Error(`event-loop child failed (${r.status}):\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as Result;
}

const fmt = (g: Gaps) => `longest ${g.max.toFixed(2)} ms, p99 ${g.p99.toFixed(2)} ms, ${g.ticks} ticks in ${g.ms.toFixed(0)} ms`;

test('a 1 ms timer keeps firing while large async ops of every kind run (longest gap <= 10 ms); tiny-op overhead reported', () => {
  const runs: Result[] = [];
  for (let attempt = 1; attempt <= (process.env.TK_SANITIZER ? 1 : 5); attempt++) {
    const r = measure();
    runs.push(r);
    console.log(`event loop, attempt ${attempt}: idle ${fmt(r.idle)}; busy ${fmt(r.busy)}`);
    if (r.idle.max <= 5 && r.busy.max <= 10) break;
  }
  const last = runs[runs.length - 1];
  const t = last.tiny;
  console.log(
    `tiny-op latency (mean of 3000, plain node): 4x4 gemm async ${t.gemmAsync.toFixed(1)} us vs sync ${t.gemmSync.toFixed(1)} us; ` +
      `16-element cast async ${t.castAsync.toFixed(1)} us vs sync ${t.castSync.toFixed(1)} us; a 1-byte crypto.randomFill on the libuv pool ` +
      `${t.libuvBaseline.toFixed(1)} us; 3000 gemms in flight at once ${t.overlapped.toFixed(1)} us each`,
  );
  expect(last.busy.ms).toBeGreaterThan(20); // the work was long enough to matter
  expect(Object.values(t).every((x) => x > 0 && Number.isFinite(x))).toBe(true);
  if (process.env.TK_SANITIZER) {
    console.log(`SKIP the 10 ms bound under ${process.env.TK_SANITIZER}: instrumented code runs several times slower; the figures above are reported, not judged`);
    return;
  }
  // Judged on the runs where the host itself kept time (idle gaps within 5 ms); the best of them must pass.
  const fair = runs.filter((r) => r.idle.max <= 5);
  if (fair.length === 0) {
    console.log(`SKIP the 10 ms bound: this host could not fire an idle 1 ms timer within 5 ms in ${runs.length} runs (longest idle gaps ${runs.map((r) => r.idle.max.toFixed(1)).join(', ')} ms); the figures above are reported, not judged`);
    return;
  }
  expect(Math.min(...fair.map((r) => r.busy.max))).toBeLessThanOrEqual(10);
});
