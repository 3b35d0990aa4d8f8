// A minimal protobuf writer and an ONNX ModelProto encoder, enough for the one-node graphs the
// baselines need (no python `onnx` package here, and no dependency for CI to download). Field numbers
// are those of onnx/onnx.proto (proto2); repeated scalars are written unpacked, which every protobuf
// parser accepts.

/** Protobuf wire types. */
const VARINT = 0,
  FIXED32 = 5,
  LEN = 2;

/** Appends fields to a growing list of chunks; `finish()` concatenates them. */
export class PbWriter {
  private chunks: Uint8Array[] = [];
  private size = 0;

  private push(b: Uint8Array): void {
    this.chunks.push(b);
    this.size += b.length;
  }

  private rawVarint(v: number | bigint): void {
    // int64 fields: negative values take the 10-byte two's complement form.
    let x = BigInt.asUintN(64, BigInt(v));
    const out: number[] = [];
    do {
      let byte = Number(x & 0x7fn);
      x >>= 7n;
      if (x) byte |= 0x80;
      out.push(byte);
    } while (x);
    this.push(Uint8Array.from(out));
  }

  private tag(field: number, wire: number): void {
    this.rawVarint((field << 3) | wire);
  }

  /** int32/int64/enum/bool field. */
  varint(field: number, v: number | bigint): this {
    if (typeof v === 'number' && !Number.isSafeInteger(v)) throw new Error(`protobuf varint field ${field}: ${v} is not a safe integer`);
    this.tag(field, VARINT);
    this.rawVarint(v);
    return this;
  }

  /** float field (fixed32, little-endian). */
  float(field: number, v: number): this {
    this.tag(field, FIXED32);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, v, true);
    this.push(b);
    return this;
  }

  /** bytes, string or embedded message (length-delimited). */
  bytes(field: number, b: Uint8Array): this {
    this.tag(field, LEN);
    this.rawVarint(b.length);
    this.push(b);
    return this;
  }

  string(field: number, s: string): this {
    return this.bytes(field, new TextEncoder().encode(s));
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.size);
    let o = 0;
    for (const c of this.chunks) {
      out.set(c, o);
      o += c.length;
    }
    return out;
  }
}

/** TensorProto.DataType values. */
export const ONNX_DTYPE = { float32: 1, uint8: 2, int32: 6 } as const;
export type OnnxDtype = keyof typeof ONNX_DTYPE;

export interface InitializerDef {
  name: string;
  dtype: OnnxDtype;
  dims: number[];
  data: Float32Array | Uint8Array | Int32Array;
}

export interface ValueInfoDef {
  name: string;
  dtype: OnnxDtype;
  /** A number is a fixed dimension, a string a named dynamic one (dim_param). */
  dims: (number | string)[];
}

/** An attribute value: integer, integers, string, or `{ f }` for a float. */
export type AttrValue = number | number[] | string | { f: number };

export interface NodeDef {
  opType: string;
  domain?: string;
  inputs: string[];
  outputs: string[];
  attrs?: Record<string, AttrValue>;
}

export interface GraphDef {
  name?: string;
  nodes: NodeDef[];
  initializers?: InitializerDef[];
  inputs: ValueInfoDef[];
  outputs: ValueInfoDef[];
}

export interface ModelOptions {
  irVersion?: number;
  /** Operator set versions by domain ('' is the default ONNX domain). */
  opsets?: Record<string, number>;
}

function tensorProto(t: InitializerDef): Uint8Array {
  const n = t.dims.reduce((a, b) => a * b, 1);
  if (n !== t.data.length) throw new Error(`initializer ${t.name}: dims [${t.dims}] hold ${n} elements, data has ${t.data.length}`);
  const w = new PbWriter();
  for (const d of t.dims) w.varint(1, d); // dims
  w.varint(2, ONNX_DTYPE[t.dtype]); // data_type
  w.string(8, t.name); // name
  // raw_data: fixed width, little-endian (this encoder only runs on little-endian hosts).
  w.bytes(9, new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  return w.finish();
}

function valueInfo(v: ValueInfoDef): Uint8Array {
  const shape = new PbWriter();
  for (const d of v.dims) {
    const dim = new PbWriter();
    if (typeof d === 'number')
      dim.varint(1, d); // dim_value
    else dim.string(2, d); // dim_param
    shape.bytes(1, dim.finish()); // TensorShapeProto.dim
  }
  const tensorType = new PbWriter().varint(1, ONNX_DTYPE[v.dtype]).bytes(2, shape.finish()); // elem_type, shape
  const type = new PbWriter().bytes(1, tensorType.finish()); // TypeProto.tensor_type
  return new PbWriter().string(1, v.name).bytes(2, type.finish()).finish(); // name, type
}

/** AttributeProto.AttributeType values. */
const ATTR_FLOAT = 1,
  ATTR_INT = 2,
  ATTR_STRING = 3,
  ATTR_INTS = 7;

function attribute(name: string, v: AttrValue): Uint8Array {
  const w = new PbWriter().string(1, name);
  if (typeof v === 'number') w.varint(3, v).varint(20, ATTR_INT);
  else if (typeof v === 'string') w.string(4, v).varint(20, ATTR_STRING);
  else if (Array.isArray(v)) {
    for (const x of v) w.varint(8, x);
    w.varint(20, ATTR_INTS);
  } else w.float(2, v.f).varint(20, ATTR_FLOAT);
  return w.finish();
}

function nodeProto(n: NodeDef, i: number): Uint8Array {
  const w = new PbWriter();
  for (const x of n.inputs) w.string(1, x);
  for (const x of n.outputs) w.string(2, x);
  w.string(3, `${n.opType}_${i}`).string(4, n.opType);
  for (const [k, v] of Object.entries(n.attrs ?? {})) w.bytes(5, attribute(k, v));
  if (n.domain) w.string(7, n.domain);
  return w.finish();
}

/** Serializes a one-graph ModelProto. */
export function encodeModel(g: GraphDef, o: ModelOptions = {}): Uint8Array {
  const graph = new PbWriter();
  g.nodes.forEach((n, i) => graph.bytes(1, nodeProto(n, i)));
  graph.string(2, g.name ?? 'graph');
  for (const t of g.initializers ?? []) graph.bytes(5, tensorProto(t));
  for (const v of g.inputs) graph.bytes(11, valueInfo(v));
  for (const v of g.outputs) graph.bytes(12, valueInfo(v));
  const model = new PbWriter().varint(1, o.irVersion ?? 9).string(2, 'tensorkern-bench'); // ir_version, producer_name
  model.bytes(7, graph.finish()); // graph
  for (const [domain, version] of Object.entries(o.opsets ?? { '': 17, 'com.microsoft': 1 })) {
    model.bytes(8, new PbWriter().string(1, domain).varint(2, version).finish()); // opset_import
  }
  return model.finish();
}
