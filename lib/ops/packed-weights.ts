// packWeights(w, { transB }): a weight matrix packed once into the layout the CPU GEMM kernels read,
// used as `b` in gemm / gemmSync so a steady state of calls skips packing B (oneDNN's reordered
// weights, for this library). The packed copy is host memory from the warm pool; dispose() returns it.
//
// The source tensor stays the truth: the handle keeps a reference to it, and any call the packed
// layout does not serve -- few rows (the skinny kernels stream the source unpacked), another ISA or
// block config or bfloat16 kernel than the one it was packed for (setCpuIsa, TENSORKERN_GEMM_BLOCKS,
// TENSORKERN_BF16_DOT), a GPU -- reads
// the source instead. A stale packing costs speed, never a wrong answer. Not serialized: packing
// takes milliseconds (a 4096 x 4096 float32 weight, 2 threads: see README), and a saved packing
// would only be valid on the same CPU family.
import { native } from '../binding';
import { DType, DTYPES } from '../dtype';
import { disposedError, invalidArg, withArticle } from '../errors';
import { Tensor, checkTensor, nativeOf } from '../tensor';
import { checkOptions, shapeStr } from '../validate';
import { callAsync, callSync, checkBool } from './common';

export interface PackWeightsOptions {
  /** w is stored [N, K] (the nn.Linear layout), as gemm's transB. The packing fixes it: gemm calls with this handle take the same transB. */
  transB?: boolean;
}

const FLOATS_AND_INT8: readonly DType[] = ['float32', 'float16', 'bfloat16', 'int8'];
const CREATE = Symbol('PackedWeights.create');
const disposeSymbol: symbol = (Symbol as { dispose?: symbol }).dispose ?? Symbol.for('nodejs.dispose');

/** Weights packed for the CPU GEMM kernels (packWeights); pass as gemm's `b`. */
export class PackedWeights {
  /** The weights as given (kept: calls the packed layout does not serve read them). */
  readonly source: Tensor;
  /** op(B) = source^T: source is [N, K]. */
  readonly transB: boolean;
  readonly K: number;
  readonly N: number;
  /** The kernel and blocks it was packed for (e.g. "avx512 f32 12x32 float32 kc1024 nc2048 nr32"). */
  readonly layout: string;
  #data: Tensor | undefined;

  /** Use packWeights() / packWeightsSync(): the key is private to this module. */
  constructor(key: symbol, source: Tensor, transB: boolean, layout: string, data: Tensor) {
    if (key !== CREATE) throw new TypeError('PackedWeights are made by packWeights() / packWeightsSync()');
    this.source = source;
    this.transB = transB;
    [this.K, this.N] = transB ? [source.shape[1], source.shape[0]] : [source.shape[0], source.shape[1]];
    this.layout = layout;
    this.#data = data;
  }

  get dtype(): DType {
    return this.source.dtype;
  }
  /** Bytes of the packed copy (0 once disposed). */
  get packedBytes(): number {
    return this.#data ? this.#data.size : 0;
  }
  get disposed(): boolean {
    return this.#data === undefined;
  }
  /** Returns the packed copy to the warm pool; the source is the caller's and stays. Idempotent. */
  dispose(): void {
    this.#data?.dispose();
    this.#data = undefined;
  }
  [disposeSymbol](): void {
    this.dispose();
  }
  toString(): string {
    return `PackedWeights(${this.dtype}, K=${this.K}, N=${this.N}${this.transB ? ', transB' : ''}, ${this.disposed ? 'disposed' : this.layout})`;
  }

  /** @internal The packed bytes for gemm; `name` is the argument that carried the handle. */
  packedData(name: string): Tensor {
    if (!this.#data) throw disposedError(`${name} (packed weights)`);
    return this.#data;
  }
}

function prepare(w: unknown, opts: unknown): { source: Tensor; transB: boolean; layout: string; data: Tensor } {
  const W = checkTensor(w, 'w');
  const o = checkOptions<PackWeightsOptions>(opts, 'options', ['transB']);
  const transB = checkBool(o.transB, 'options.transB', false);
  if (W.ndim !== 2) throw invalidArg('w', 'a rank-2 tensor', `shape ${shapeStr(W.shape)}`, 'value', { described: true });
  if (!FLOATS_AND_INT8.includes(W.dtype)) {
    throw invalidArg('w', 'a float32, float16, bfloat16 or int8 tensor', `${withArticle(W.dtype)} tensor`, 'type', { described: true });
  }
  if (W.device !== 'cpu') {
    throw invalidArg(
      'w',
      'a host (cpu) tensor (packing serves the CPU kernels; GPU weights are used as they are)',
      `a tensor on ${W.device}`,
      'value',
      { described: true },
    );
  }
  const [K, N] = transB ? [W.shape[1], W.shape[0]] : [W.shape[0], W.shape[1]];
  const l = native.ops.gemmPackLayout(DTYPES[W.dtype].code, K, N);
  const data = Tensor.empty([l.bytes], 'int8', 'cpu');
  return { source: W, transB, layout: l.layout, data };
}

/**
 * Packs w (op(B) of a gemm: [K, N], or [N, K] with transB) once for the CPU GEMM kernels, off the
 * event loop. Use the handle as gemm's `b`.
 */
export async function packWeights(w: Tensor, opts?: PackWeightsOptions): Promise<PackedWeights> {
  return callAsync(packWeights, async () => {
    const p = prepare(w, opts);
    try {
      await native.ops.gemmPackB({ b: nativeOf(p.source, 'w'), transB: p.transB, dst: nativeOf(p.data, 'packed'), layout: p.layout }, true);
    } catch (e) {
      p.data.dispose();
      throw e;
    }
    return new PackedWeights(CREATE, p.source, p.transB, p.layout, p.data);
  });
}

/** Synchronous packWeights (blocks the event loop while it packs). */
export function packWeightsSync(w: Tensor, opts?: PackWeightsOptions): PackedWeights {
  const p = prepare(w, opts);
  try {
    callSync(() =>
      native.ops.gemmPackB({ b: nativeOf(p.source, 'w'), transB: p.transB, dst: nativeOf(p.data, 'packed'), layout: p.layout }, false),
    );
  } catch (e) {
    p.data.dispose();
    throw e;
  }
  return new PackedWeights(CREATE, p.source, p.transB, p.layout, p.data);
}
