// Memory of the fused path, in a fresh process (RSS is per process).
import { testIf } from './helpers/backends';
import { runNode } from './helpers/child';

// Memory: S = 32768, D = 64, one head, causal, in a fresh process: the peak RSS over the call, beyond
// the inputs and the (preallocated, touched) output, stays under 64 MB. The score matrix alone would
// be 4 GB; the fused kernel needs O(tile) per thread.
const sanitizer = process.env.TK_SANITIZER;
describe('attention memory', () => {
  testIf(
    !sanitizer,
    `attention memory bound under ${sanitizer}: its allocator keeps freed memory in quarantine, so RSS does not measure the op`,
  )('S = 32768, D = 64, one head (causal): under 64 MB of extra memory', () => {
    const code = `
      const tk = require('tensorkern');
      const S = 32768, D = 64;
      const fill = (n, s) => { const a = new Float32Array(n); for (let i = 0; i < n; i++) { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; a[i] = s / 4294967296 - 0.5; } return a; };
      const q = tk.Tensor.from(fill(S * D, 1), [1, 1, S, D]), k = tk.Tensor.from(fill(S * D, 2), [1, 1, S, D]), v = tk.Tensor.from(fill(S * D, 3), [1, 1, S, D]);
      const out = tk.Tensor.from(new Float32Array(S * D).fill(1), [1, 1, S, D]);
      tk.attentionSync(tk.Tensor.zeros([1, 1, 64, D]), tk.Tensor.zeros([1, 1, 64, D]), tk.Tensor.zeros([1, 1, 64, D])); // code and pool warm
      global.gc && global.gc();
      // Linux: reset the peak-RSS mark (VmHWM) to the current RSS, so the peak read after the call is
      // the peak during it (maxRSS alone also holds whatever peak came before).
      const fs = require('fs');
      const hwm = () => { try { return Number(/VmHWM:\\s+(\\d+) kB/.exec(fs.readFileSync('/proc/self/status', 'utf8'))[1]) * 1024; } catch { return process.resourceUsage().maxRSS * 1024; } };
      try { fs.writeFileSync('/proc/self/clear_refs', '5'); } catch {}
      const before = process.memoryUsage().rss;
      const t0 = Date.now();
      tk.attentionSync(q, k, v, { causal: true, out });
      const ms = Date.now() - t0;
      const peak = hwm();
      const o = out.toArraySync();
      let finite = true;
      for (let i = 0; i < o.length; i++) if (!Number.isFinite(o[i])) finite = false;
      // Spot check against float64: a few rows, each over all its visible keys.
      let err = 0;
      const Q = q.toArraySync(), K = k.toArraySync(), V = v.toArraySync();
      for (const i of [0, 100, 20000, S - 1]) {
        const sc = new Float64Array(i + 1);
        let m = -Infinity;
        for (let j = 0; j <= i; j++) { let d = 0; for (let t = 0; t < D; t++) d += Q[i * D + t] * K[j * D + t]; sc[j] = d / 8; if (sc[j] > m) m = sc[j]; }
        let l = 0; for (let j = 0; j <= i; j++) l += (sc[j] = Math.exp(sc[j] - m));
        for (let t = 0; t < D; t++) { let a = 0; for (let j = 0; j <= i; j++) a += sc[j] * V[j * D + t]; err = Math.max(err, Math.abs(a / l - o[i * D + t])); }
      }
      process.stdout.write(JSON.stringify({ extra: peak - before, ms, finite, err }));
    `;
    const r = runNode(code, {}, ['--expose-gc']);
    expect(r.stderr).toBe('');
    const res = JSON.parse(r.stdout) as { extra: number; ms: number; finite: boolean; err: number };
    process.stderr.write(`attention S=32768 D=64 causal: ${(res.extra / 2 ** 20).toFixed(1)} MB above the inputs, ${res.ms} ms\n`);
    expect(res.finite).toBe(true);
    expect(res.err).toBeLessThan(1e-5); // |v| <= 0.5: a few 1e-7 in practice
    expect(res.extra).toBeLessThan(64 * 2 ** 20);
  });
});
