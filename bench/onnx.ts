// onnxruntime-node as a CPU baseline for the W4A4 and attention benches: its contrib ops MatMulNBits
// (4-bit weights) and MultiHeadAttention, in one-node models this file builds itself (bench/onnx/proto.ts).
// onnxruntime-node is not a dependency (its install downloads binaries, which CI must not do): it is
// loaded when installed (`npm install --no-save --ignore-scripts onnxruntime-node`) or from the path
// in TENSORKERN_ORT, and a missing runtime is reported, not an error.
import * as fs from 'fs';
import * as Module from 'module';
import * as path from 'path';
import * as vm from 'vm';
import { PACKAGE_ROOT } from '../lib/root';
import { GraphDef, InitializerDef, encodeModel } from './onnx/proto';

export { encodeModel } from './onnx/proto';
export type { GraphDef, InitializerDef, NodeDef, ValueInfoDef, AttrValue } from './onnx/proto';

// The slice of onnxruntime-node's API used here (its types are not available without the package).
interface OrtTensor {
  data: unknown;
  dims: readonly number[];
  type: string;
}
interface OrtSessionHandle {
  run(feeds: Record<string, OrtTensor>): Promise<Record<string, OrtTensor>>;
  release(): Promise<void>;
}
interface OrtModule {
  env: { versions?: Record<string, string> };
  Tensor: new (type: 'float32', data: Float32Array, dims: readonly number[]) => OrtTensor;
  InferenceSession: { create(model: Uint8Array, options: Record<string, unknown>): Promise<OrtSessionHandle> };
}

export type OrtStatus = { available: true; version: string; path: string } | { available: false; why: string };

let loaded: { status: OrtStatus; mod?: OrtModule } | undefined;

/** Finds and loads onnxruntime-node (TENSORKERN_ORT first, then the package root); never throws. */
export function loadOrt(): OrtStatus {
  if (loaded) return loaded.status;
  const env = process.env.TENSORKERN_ORT;
  let file: string;
  try {
    file = env ? require.resolve(path.resolve(env)) : require.resolve('onnxruntime-node', { paths: [PACKAGE_ROOT] });
  } catch (e) {
    const why = env
      ? `TENSORKERN_ORT=${env} does not resolve to a module: ${(e as Error).message.split('\n')[0]}`
      : `onnxruntime-node is not installed under ${PACKAGE_ROOT} (install it with: npm install --no-save --ignore-scripts onnxruntime-node)`;
    loaded = { status: { available: false, why } };
    return loaded.status;
  }
  try {
    // Node's own loader, not the caller's `require`: under jest, modules load into a sandbox realm
    // whose typed-array constructors differ from those of the native binding's outputs, and
    // onnxruntime-common rejects such outputs by `instanceof`. Loaded this way ORT lives in the main
    // realm, and feeds are copied into that realm's Float32Array when they come from another.
    const mod = mainRealmRequire(file)(file) as OrtModule;
    if (typeof mod.InferenceSession?.create !== 'function' || typeof mod.Tensor !== 'function')
      throw new Error('it does not export InferenceSession and Tensor');
    loaded = { status: { available: true, version: mod.env?.versions?.node ?? packageVersion(file), path: file }, mod };
  } catch (e) {
    loaded = { status: { available: false, why: `${file} failed to load: ${(e as Error).message.split('\n')[0]}` } };
  }
  return loaded.status;
}

/**
 * Node's createRequire of the main realm: under jest, both `require('module')` and the sandbox's
 * process.getBuiltinModule give jest's registry, so the main realm's `process` is reached through vm.
 */
function mainRealmRequire(file: string): NodeJS.Require {
  const mainProcess = vm.runInThisContext('process') as { getBuiltinModule?: (id: string) => unknown };
  const real = mainProcess.getBuiltinModule?.('module') as typeof Module | undefined; // Node >= 20.16
  return (real ?? Module).createRequire(file);
}

function packageVersion(file: string): string {
  for (let dir = path.dirname(file); dir !== path.dirname(dir); dir = path.dirname(dir)) {
    const pj = path.join(dir, 'package.json');
    if (fs.existsSync(pj)) return (JSON.parse(fs.readFileSync(pj, 'utf8')) as { version?: string }).version ?? 'unknown';
  }
  return 'unknown';
}

function ort(): OrtModule {
  const s = loadOrt();
  if (!s.available) throw new Error(`onnxruntime-node is unavailable: ${s.why}`);
  return loaded!.mod!;
}

/** Opset versions: ONNX 17 for the standard ops, com.microsoft 1 for the contrib ops. */
const OPSETS = { '': 17, 'com.microsoft': 1 };

export interface MatMulNBitsSpec {
  K: number;
  N: number;
  blockSize: number;
  /** 0: unset (float compute), 1 fp32, 2 fp16, 3 bf16, 4 int8 activations. */
  accuracyLevel: number;
  bits: 4;
  /** [N, K / blockSize, blockSize / 2]: two values per byte, even k in the low nibble. */
  packedB: Uint8Array;
  /** [N * K / blockSize], row n's blocks consecutive. */
  scales: Float32Array;
  /** [N * ceil(K / blockSize / 2)] packed 4-bit zero points, low nibble first; default 8. */
  zeroPoints?: Uint8Array;
}

/** Y[M, N] = A[M, K] x dequant(B)^T with com.microsoft.MatMulNBits; A's M is dynamic. Inputs: A; output: Y. */
export function matMulNBitsModel(s: MatMulNBitsSpec): Uint8Array {
  const { K, N, blockSize } = s;
  if (s.bits !== 4) throw new Error(`matMulNBitsModel: bits must be 4, got ${s.bits}`);
  if (K % blockSize !== 0 || blockSize < 16 || (blockSize & (blockSize - 1)) !== 0) {
    throw new Error(`matMulNBitsModel: blockSize must be a power of two >= 16 dividing K = ${K}, got ${blockSize}`);
  }
  const kBlocks = K / blockSize;
  const inits: InitializerDef[] = [
    { name: 'B', dtype: 'uint8', dims: [N, kBlocks, blockSize / 2], data: s.packedB },
    { name: 'scales', dtype: 'float32', dims: [N * kBlocks], data: s.scales },
  ];
  const inputs = ['A', 'B', 'scales'];
  if (s.zeroPoints) {
    inits.push({ name: 'zero_points', dtype: 'uint8', dims: [N * Math.ceil(kBlocks / 2)], data: s.zeroPoints });
    inputs.push('zero_points');
  }
  const g: GraphDef = {
    nodes: [
      {
        opType: 'MatMulNBits',
        domain: 'com.microsoft',
        inputs,
        outputs: ['Y'],
        attrs: { K, N, bits: 4, block_size: blockSize, accuracy_level: s.accuracyLevel },
      },
    ],
    initializers: inits,
    inputs: [{ name: 'A', dtype: 'float32', dims: ['M', K] }],
    outputs: [{ name: 'Y', dtype: 'float32', dims: ['M', N] }],
  };
  return encodeModel(g, { opsets: OPSETS });
}

export interface MhaSpec {
  B: number;
  /** Query length. */
  S: number;
  /** Key/value length. */
  Sk: number;
  numHeads: number;
  headDim: number;
  causal: boolean;
}

/**
 * com.microsoft.MultiHeadAttention with 3-D inputs query [B, S, H*D], key and value [B, Sk, H*D]
 * (head h in columns h*D..h*D+D-1), scale 1/sqrt(D); output [B, S, H*D]. Causal masking uses the
 * op's `unidirectional` attribute, checked against a float64 reference for S == Sk
 * (test/onnx-baseline.test.ts). With S != Sk, ORT 1.30 masks neither top-left nor bottom-right: row i
 * sees keys 0..i except the last query row, which sees every key (measured with uniform scores), so
 * causal models require S == Sk.
 */
export function multiHeadAttentionModel(s: MhaSpec): Uint8Array {
  if (s.causal && s.S !== s.Sk)
    throw new Error(
      `multiHeadAttentionModel: causal needs S == Sk (ORT's unidirectional mask is inconsistent otherwise), got S=${s.S}, Sk=${s.Sk}`,
    );
  const hd = s.numHeads * s.headDim;
  const g: GraphDef = {
    nodes: [
      {
        opType: 'MultiHeadAttention',
        domain: 'com.microsoft',
        inputs: ['query', 'key', 'value'],
        outputs: ['output'],
        attrs: { num_heads: s.numHeads, ...(s.causal ? { unidirectional: 1 } : {}) },
      },
    ],
    inputs: [
      { name: 'query', dtype: 'float32', dims: [s.B, s.S, hd] },
      { name: 'key', dtype: 'float32', dims: [s.B, s.Sk, hd] },
      { name: 'value', dtype: 'float32', dims: [s.B, s.Sk, hd] },
    ],
    outputs: [{ name: 'output', dtype: 'float32', dims: [s.B, s.S, hd] }],
  };
  return encodeModel(g, { opsets: OPSETS });
}

/** Y[M, N] = A[M, K] x B[K, N] (plain float32 MatMul, B an initializer); A's M is dynamic. */
export function matMulModel(s: { K: number; N: number; b: Float32Array }): Uint8Array {
  const g: GraphDef = {
    nodes: [{ opType: 'MatMul', inputs: ['A', 'B'], outputs: ['Y'] }],
    initializers: [{ name: 'B', dtype: 'float32', dims: [s.K, s.N], data: s.b }],
    inputs: [{ name: 'A', dtype: 'float32', dims: ['M', s.K] }],
    outputs: [{ name: 'Y', dtype: 'float32', dims: ['M', s.N] }],
  };
  return encodeModel(g, { opsets: OPSETS });
}

/** A float32 feed: the data and its shape. */
export interface Feed {
  data: Float32Array;
  dims: number[];
}

export interface OrtSession {
  /** Runs the model; returns each output's data (float32 outputs only). */
  run(feeds: Record<string, Feed>): Promise<Record<string, Float32Array>>;
  /** A prepared run over fixed feeds (the ORT tensors are built once), for timing. */
  prepare(feeds: Record<string, Feed>): () => Promise<Record<string, Float32Array>>;
  release(): Promise<void>;
}

/**
 * An InferenceSession on the CPU with `threads` intra-op threads, no inter-op parallelism and all
 * graph optimizations. ORT's pool spins after its work (allow_spinning is left at its default, as a
 * user would run it); the bench harness warms each implementation before timing it for that reason.
 */
/** The main realm's Float32Array (the one ORT checks feeds against; see loadOrt). */
const MainFloat32Array = vm.runInThisContext('Float32Array') as Float32ArrayConstructor;

export async function ortSession(model: Uint8Array, threads: number): Promise<OrtSession> {
  const o = ort();
  const session = await o.InferenceSession.create(model, {
    executionProviders: ['cpu'],
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    // ORT's pool threads spin-wait after each run by default (session.intra_op.allow_spinning = 1),
    // longer than the harness's 10 ms warm phase: on a 2-core machine that halved the speed of
    // whatever the bench timed next (measured: tensorkern's W4A4 decode 84 -> 29 GOP/s). TENSORKERN_ORT_SPIN=1
    // keeps ORT's default.
    ...(process.env.TENSORKERN_ORT_SPIN === '1' ? {} : { extra: { session: { intra_op: { allow_spinning: '0' } } } }),
  });
  const tensors = (feeds: Record<string, Feed>) => {
    const t: Record<string, OrtTensor> = {};
    for (const [k, f] of Object.entries(feeds))
      t[k] = new o.Tensor('float32', f.data instanceof MainFloat32Array ? f.data : new MainFloat32Array(f.data), f.dims);
    return t;
  };
  const outputs = (r: Record<string, OrtTensor>) => {
    const out: Record<string, Float32Array> = {};
    for (const [k, t] of Object.entries(r)) {
      if (t.type !== 'float32') throw new Error(`ORT output ${k} is ${t.type}, expected float32`);
      out[k] = t.data as Float32Array;
    }
    return out;
  };
  return {
    run: async (feeds) => outputs(await session.run(tensors(feeds))),
    prepare: (feeds) => {
      const t = tensors(feeds);
      return async () => outputs(await session.run(t));
    },
    release: () => session.release(),
  };
}
