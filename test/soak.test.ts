// Leak soak: >= 100k mixed ops of every kind, sync and async, creating and dropping tensors,
// sparse matrices and int4 weights (half of them disposed, half left to the GC), in a plain node child
// (test/workloads/soak.js). After the warm-up (the first 30% of the run) the process's native memory
// (RSS less V8's heap reservation) and V8's live heap must stay flat: a leak of even 64 bytes per op would add
// ~4.5 MB over the remaining 70k ops. Results are also checked against the first run of each op, bit for bit.
import * as path from 'path';
import { runNode } from './helpers/child';

interface Sample {
  rss: number;
  heapTotal: number;
  heapUsed: number;
  external: number;
  native: number;
}

const sanitizer = process.env.TK_SANITIZER;
const OPS = sanitizer ? 10000 : 100000;
process.env.TK_SOAK_OPS = String(OPS);

test(`${OPS} mixed ops keep memory flat after the warm-up`, () => {
  const script = path.join(__dirname, 'workloads', 'soak.js');
  // Two malloc arenas: glibc's per-thread arenas otherwise add a few MB in steps as threads first allocate.
  const r = runNode(`require(${JSON.stringify(script)})`, { MALLOC_ARENA_MAX: '2' }, ['--expose-gc']);
  if (r.status !== 0) throw new Error(`soak child failed (${r.status}):\n${r.stderr}`);
  const res = JSON.parse(r.stdout.trim().split('\n').pop()!) as {
    ops: number;
    seconds: number;
    samples: Sample[];
    mismatches: number;
    errors: number;
  };
  const s = res.samples;
  console.log(
    `soak: ${res.ops} ops in ${res.seconds.toFixed(1)} s; MB at each tenth: native ${s.map((x) => x.native).join(' ')}; ` +
      `V8 heap used ${s.map((x) => x.heapUsed).join(' ')}; rss ${s.map((x) => x.rss).join(' ')}`,
  );
  expect(res.ops).toBeGreaterThanOrEqual(OPS);
  expect(res.mismatches).toBe(0);
  expect(res.errors).toBeGreaterThan(0); // the error path ran too
  expect(s.length).toBe(10);
  if (sanitizer) {
    console.log(
      `SKIP the flat-memory bound under ${sanitizer}: its allocator quarantines freed memory (leaks are LeakSanitizer's job there)`,
    );
    return;
  }
  const warm = s[2],
    last = s[s.length - 1];
  expect(last.native - warm.native).toBeLessThan(6);
  expect(last.heapUsed - warm.heapUsed).toBeLessThan(2);
}, 600000);
