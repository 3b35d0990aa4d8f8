// require() and import both work and both get types; the ES module names equal the CommonJS ones.
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { ROOT, runNode } from './helpers/child';

test('require and import expose the same names', () => {
  const cjs = runNode("process.stdout.write(JSON.stringify(Object.keys(require('tensorkern')).sort()))");
  expect(cjs.stderr).toBe('');
  const esm = runNode(
    "import('tensorkern').then((m) => process.stdout.write(JSON.stringify(Object.keys(m).filter((k) => k !== 'default').sort())))",
  );
  expect(esm.stderr).toBe('');
  const names = JSON.parse(cjs.stdout) as string[];
  expect(names).toEqual(
    expect.arrayContaining(['Tensor', 'cast', 'devices', 'defaultDevice', 'whyNoGpu', 'setNumThreads', 'TensorkernError']),
  );
  expect(JSON.parse(esm.stdout)).toEqual(names);
});

test('an ES module can run an op through import', () => {
  const r = runNode(
    "import('tensorkern').then(async ({ Tensor, cast }) => { const y = await cast(Tensor.from([1, 2.5], [2]), 'float16'); process.stdout.write(Array.from(await y.toArray()).join(',')); })",
  );
  expect(r.stderr).toBe('');
  expect(r.stdout).toBe('15360,16640');
});

test('TypeScript resolves types for both entries (node16 resolution through "exports")', () => {
  const tsc = require.resolve('typescript/bin/tsc', { paths: [ROOT] });
  // Throws with tsc's diagnostics on stdout if the consumers do not type-check (including unused
  // expect-error directives, which would mean a wrong type got through).
  execFileSync(process.execPath, [tsc, '-p', path.join(ROOT, 'test', 'fixtures', 'types', 'tsconfig.json')], { encoding: 'utf8' });
});

test('@internal members stay out of the shipped declarations (stripInternal)', () => {
  const dts = (f: string) => fs.readFileSync(path.join(ROOT, 'dist', 'lib', f), 'utf8');
  const tensor = dts('tensor.d.ts');
  expect(tensor).toMatch(/static from\(/); // the file is the real one
  for (const internal of ['@internal', 'static empty(', 'nativeOf', 'checkTensor', 'NativeDeviceBuffer'])
    expect(tensor).not.toContain(internal);
  expect(tensor).toContain('private constructor();');
  const packed = dts(path.join('ops', 'packed-weights.d.ts'));
  expect(packed).toMatch(/class PackedWeights/);
  expect(packed).not.toContain('packedData');
  expect(dts('host-memory.d.ts')).not.toMatch(/allocHostStorage|releaseHostStorage/);
  // but the compiled JavaScript still has them: other modules of the package use them
  expect(require(path.join(ROOT, 'dist', 'lib', 'tensor.js')).nativeOf).toBeInstanceOf(Function);
});
