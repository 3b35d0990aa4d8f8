// The README's first example of each op runs as written (against this build) and gives the numbers it
// implies, checked against float64 by hand-sized cases: the front door says only what is true.
import * as fs from 'fs';
import * as path from 'path';

const ROOT = path.join(__dirname, '..');

function firstCallBlock(): string {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const at = readme.indexOf('## A first call of each op');
  expect(at).toBeGreaterThan(0);
  const m = /```js\n([\s\S]*?)```/.exec(readme.slice(at));
  expect(m).not.toBeNull();
  return m![1];
}

test('README: "A first call of each op" runs and its results are right', async () => {
  const code = firstCallBlock().replace("require('tensorkern')", `require(${JSON.stringify(ROOT)})`);
  const logged: unknown[] = [];
  const log = (...xs: unknown[]) => logged.push(xs[0]);
  // The block as the body of an async function, with the names it defines returned for checking.
  const fn = new Function('require', 'console', `return (async () => {\n${code}\nreturn { y, z, o, lo, state, ym, y4, step };\n})();`);
  const r = await fn(require, { log });
  // y = x Wᵀ: 64 products of 0.5 * 0.01 per element
  const y = r.y.toArraySync() as Float32Array;
  expect(r.y.shape).toEqual([4, 32]);
  for (const v of y) expect(v).toBeCloseTo(64 * 0.5 * 0.01, 5);
  // spmm: row 0 = 1 * w[5, :], row 2 = 2 * w[63, :] of w viewed as [64, 32] (all 0.01); row 1 empty
  const z = r.z.toArraySync() as Float32Array;
  expect(r.z.shape).toEqual([3, 32]);
  for (let j = 0; j < 32; j++) {
    expect(z[j]).toBeCloseTo(0.01, 6);
    expect(z[32 + j]).toBe(0);
    expect(z[64 + j]).toBeCloseTo(0.02, 6);
  }
  // attention over identical keys: every output is the common value 0.1
  for (const v of r.o.toArraySync() as Float32Array) expect(v).toBeCloseTo(0.1, 5);
  // linear attention over constant q = k = v = 0.1 (D 64): o_t = (64 * 0.01) * 0.1 * sum_{j <= t} 0.9^j,
  // and the state sum_s 0.9^(15 - s) k_s^T v_s = 0.01 * sum_{j < 16} 0.9^j
  const geo = (n: number) => (1 - 0.9 ** n) / 0.1;
  const lo = r.lo.toArraySync() as Float32Array;
  expect(r.lo.shape).toEqual([1, 8, 16, 64]);
  for (let h = 0; h < 8; h++) for (let t = 0; t < 16; t++) expect(lo[(h * 16 + t) * 64 + 7]).toBeCloseTo(0.064 * geo(t + 1), 5);
  expect(r.state.shape).toEqual([1, 8, 64, 64]);
  for (const v of r.state.toArraySync() as Float32Array) expect(v).toBeCloseTo(0.01 * geo(16), 5);
  // Monarch: u = 16 * 0.1 * 0.5 = 0.8 in every slot, y = 16 * 0.1 * 0.8 = 1.28
  expect(r.ym.shape).toEqual([4, 64]);
  for (const v of r.ym.toArraySync() as Float32Array) expect(v).toBeCloseTo(1.28, 4);
  // W4A4: constant inputs quantize exactly: the same 0.32
  for (const v of r.y4.toArraySync() as Float32Array) expect(v).toBeCloseTo(0.32, 3);
  // the graph: rmsNorm of a constant row is 1 everywhere (weight 1), then 64 * 1 * 0.01
  for (const v of r.step.result.toArraySync() as Float32Array) expect(v).toBeCloseTo(0.64, 3);
  expect(logged.length).toBe(2);
});
