// monarchMatmul(x, w1, w2): x times a Monarch matrix -- two block-diagonal products with a fixed
// permutation between them (docs/monarch.md), the contract of the Monarch authors'
// blockdiag_butterfly_multiply (version 2):
//   x [..., n], w1 [k, q, p] with n = k * p, w2 [l, s, r] with l * r = k * q  ->  out [..., l * s]
//   u[b, i*q + j] = sum_t w1[i, j, t] x[b, i*p + t];   y[b, d*l + a] = sum_c w2[a, d, c] u[b, c*l + a]
// float32 / float16 / bfloat16 inputs accumulate in float32; the result is float32 unless `out` says
// otherwise. Runs where x is (CUDA: opt-in until the kernel has run on a GPU).
// projectMonarch(w, { blocks }): the closest Monarch factors of a dense [nOut, nIn] weight (an
// nn.Linear weight: y = x w^T) and the relative Frobenius error they cost; on the CPU.
import { native } from '../binding';
import { DType } from '../dtype';
import { invalidArg, withArticle } from '../errors';
import { Tensor, checkTensor, nativeOf } from '../tensor';
import { checkOptions, shapeStr } from '../validate';
import { callAsync, callSync, overlaps } from './common';

export interface MonarchOptions {
  /** Where to write the result: x's leading dims then l * s; float32, float16 or bfloat16, on x's device. */
  out?: Tensor;
}

export interface ProjectMonarchOptions {
  /** Blocks on each side: divides both dims of w. w1 is [blocks, blocks, nIn / blocks], w2 [blocks, nOut / blocks, blocks]. */
  blocks: number;
}

export interface MonarchFactors {
  w1: Tensor<'float32'>;
  w2: Tensor<'float32'>;
  /** ||w - M||_F / ||w||_F of the Monarch matrix M the factors make (0 for a zero w). */
  error: number;
}

const FLOATS: readonly DType[] = ['float32', 'float16', 'bfloat16'];

function checkFloatTensor(t: unknown, name: string): Tensor {
  const T = checkTensor(t, name);
  if (!FLOATS.includes(T.dtype))
    throw invalidArg(name, 'a float32, float16 or bfloat16 tensor', `${withArticle(T.dtype)} tensor`, 'type', { described: true });
  return T;
}

function prepare(x: unknown, w1: unknown, w2: unknown, opts: unknown) {
  const X = checkFloatTensor(x, 'x');
  const W1 = checkFloatTensor(w1, 'w1');
  const W2 = checkFloatTensor(w2, 'w2');
  const o = checkOptions<MonarchOptions>(opts, 'options', ['out']);
  if (X.ndim < 1)
    throw invalidArg('x', 'a tensor of rank 1 or more ([..., n])', `shape ${shapeStr(X.shape)}`, 'value', { described: true });
  if (W1.ndim !== 3) throw invalidArg('w1', 'a rank-3 tensor [k, q, p]', `shape ${shapeStr(W1.shape)}`, 'value', { described: true });
  if (W2.ndim !== 3) throw invalidArg('w2', 'a rank-3 tensor [l, s, r]', `shape ${shapeStr(W2.shape)}`, 'value', { described: true });
  const n = X.shape[X.ndim - 1];
  const [k, q, p] = W1.shape;
  const [l, s, r] = W2.shape;
  if (k * p !== n) {
    throw invalidArg('w1', `[k, q, p] with k * p = ${n} (the last dim of x)`, `shape ${shapeStr(W1.shape)} (k * p = ${k * p})`, 'value', {
      described: true,
    });
  }
  if (l * r !== k * q) {
    throw invalidArg('w2', `[l, s, r] with l * r = ${k * q} (k * q of w1)`, `shape ${shapeStr(W2.shape)} (l * r = ${l * r})`, 'value', {
      described: true,
    });
  }
  for (const [t, name] of [
    [W1, 'w1'],
    [W2, 'w2'],
  ] as const) {
    if (t.device !== X.device)
      throw invalidArg(name, `a tensor on ${X.device} (the device of x)`, `a tensor on ${t.device}`, 'value', { described: true });
  }
  const outShape = [...X.shape.slice(0, -1), l * s];
  let out: Tensor;
  if (o.out !== undefined) {
    out = checkFloatTensor(o.out, 'options.out');
    if (out.ndim !== outShape.length || out.shape.some((d, i) => d !== outShape[i]))
      throw invalidArg('options.out', `shape ${shapeStr(outShape)}`, `shape ${shapeStr(out.shape)}`, 'value', { described: true });
    if (out.device !== X.device)
      throw invalidArg('options.out', `a tensor on ${X.device} (the device of x)`, `a tensor on ${out.device}`, 'value', {
        described: true,
      });
    for (const [t, name] of [
      [X, 'x'],
      [W1, 'w1'],
      [W2, 'w2'],
    ] as const) {
      if (overlaps(out, t))
        throw invalidArg('options.out', `memory that does not overlap ${name}`, 'an overlapping tensor', 'value', { described: true });
    }
  } else {
    out = Tensor.empty(outShape, 'float32', X.device);
  }
  const params = { x: nativeOf(X, 'x'), w1: nativeOf(W1, 'w1'), w2: nativeOf(W2, 'w2'), out: nativeOf(out, 'options.out') };
  return { params, out };
}

/** x @ M^T for the Monarch matrix M of (w1, w2), computed off the event loop. */
export async function monarchMatmul(x: Tensor, w1: Tensor, w2: Tensor, opts?: MonarchOptions): Promise<Tensor> {
  return callAsync(monarchMatmul, async () => {
    const p = prepare(x, w1, w2, opts);
    await native.ops.monarch(p.params, true);
    return p.out;
  });
}

/** Synchronous monarchMatmul, for small products (it blocks the event loop while it runs). */
export function monarchMatmulSync(x: Tensor, w1: Tensor, w2: Tensor, opts?: MonarchOptions): Tensor {
  const p = prepare(x, w1, w2, opts);
  callSync(() => native.ops.monarch(p.params, false));
  return p.out;
}

function prepareProject(w: unknown, opts: unknown) {
  const W = checkFloatTensor(w, 'w');
  if (opts === undefined) throw invalidArg('options', 'an object { blocks }', opts);
  const o = checkOptions<ProjectMonarchOptions>(opts, 'options', ['blocks']);
  if (W.ndim !== 2) throw invalidArg('w', 'a rank-2 tensor [nOut, nIn]', `shape ${shapeStr(W.shape)}`, 'value', { described: true });
  if (W.device !== 'cpu')
    throw invalidArg('w', 'a host tensor (projectMonarch runs on the CPU)', `a tensor on ${W.device}`, 'value', { described: true });
  const [nOut, nIn] = W.shape;
  const b = o.blocks;
  if (typeof b !== 'number') throw invalidArg('options.blocks', 'a number', b);
  if (!Number.isInteger(b) || b < 1 || nIn % b !== 0 || nOut % b !== 0) {
    throw invalidArg('options.blocks', `a whole number >= 1 dividing both dims of w ${shapeStr(W.shape)}`, b, 'value');
  }
  const w1 = Tensor.empty([b, b, nIn / b], 'float32', 'cpu');
  const w2 = Tensor.empty([b, nOut / b, b], 'float32', 'cpu');
  const err = Tensor.empty([1], 'float32', 'cpu');
  const params = { w: nativeOf(W, 'w'), blocks: b, w1: nativeOf(w1, 'w1'), w2: nativeOf(w2, 'w2'), err: nativeOf(err, 'err') };
  const result = (): MonarchFactors => ({ w1, w2, error: (err.toArraySync() as Float32Array)[0] });
  return { params, result };
}

/**
 * The closest Monarch factors of w [nOut, nIn] (Frobenius norm; one rank-one SVD per block pair), so
 * that monarchMatmul(x, w1, w2) approximates x @ w^T; computed off the event loop.
 */
export async function projectMonarch(w: Tensor, opts: ProjectMonarchOptions): Promise<MonarchFactors> {
  return callAsync(projectMonarch, async () => {
    const p = prepareProject(w, opts);
    await native.ops.monarchProject(p.params, true);
    return p.result();
  });
}

/** Synchronous projectMonarch (it blocks the event loop while it runs). */
export function projectMonarchSync(w: Tensor, opts: ProjectMonarchOptions): MonarchFactors {
  const p = prepareProject(w, opts);
  callSync(() => native.ops.monarchProject(p.params, false));
  return p.result();
}
