// describe/test for suites that must also run without node_modules (the GPU machine has Node but no
// registry): jest's globals when jest runs them, else node:test (`node --test` over the compiled
// files, see scripts/gpu-check.sh). Such suites assert with node:assert, not expect().
/* eslint-disable @typescript-eslint/no-require-imports */
export type Body = () => void | Promise<void>;
export type TestFn = (name: string, fn: Body, timeout?: number) => void;
interface Runner {
  (name: string, fn: Body, timeout?: number): void;
  skip: TestFn;
}
const g = globalThis as unknown as { describe?: Runner; test?: Runner };
const nodeTest = g.test ? undefined : (require('node:test') as { describe: Runner; test: Runner });

export const describe: Runner = g.describe ?? nodeTest!.describe;
export const test: Runner = g.test ?? nodeTest!.test;
