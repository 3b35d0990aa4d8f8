// MatrixMarket reader and writer (https://math.nist.gov/MatrixMarket/formats.html): coordinate
// (real, integer, pattern) and array (real, integer) formats, general / symmetric / skew-symmetric,
// plain text or gzip. Every error names the line it is on.
import { gunzipSync } from 'zlib';
import { invalidArg } from '../errors';
import { Csr, cooToCsr } from './csr';

type Field = 'real' | 'integer' | 'pattern';
type Symmetry = 'general' | 'symmetric' | 'skew-symmetric';

function mmError(line: number, expected: string, got: string): RangeError {
  return invalidArg(`MatrixMarket input (line ${line})`, expected, got, 'value', { described: true }) as RangeError;
}

function quote(s: string): string {
  return JSON.stringify(s.length > 60 ? s.slice(0, 57) + '...' : s);
}

/** The text of a MatrixMarket file given as a string, a Buffer / Uint8Array, or gzip bytes. */
function textOf(input: unknown): string {
  if (typeof input === 'string') return input;
  if (input instanceof Uint8Array) {
    let bytes: Uint8Array = input;
    if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) {
      try {
        bytes = gunzipSync(bytes);
      } catch (e) {
        throw invalidArg('MatrixMarket input', 'valid gzip data', `gzip data that does not decompress (${(e as Error).message})`, 'value', {
          described: true,
        });
      }
    }
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
  }
  throw invalidArg('MatrixMarket input', 'a string, a Buffer or a Uint8Array (gzip accepted)', input);
}

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eEdD][+-]?\d+)?$|^[+-]?(inf|infinity|nan)$/i;

function parseValue(tok: string | undefined, field: Field, line: number): number {
  if (tok === undefined) throw mmError(line, `a ${field} value`, 'a line without one');
  if (field === 'integer') {
    if (!/^[+-]?\d+$/.test(tok)) throw mmError(line, 'an integer value', quote(tok));
    return Number(tok);
  }
  if (!NUMBER.test(tok)) throw mmError(line, 'a real value', quote(tok));
  const t = tok.toLowerCase().replace('d', 'e');
  if (t.endsWith('nan')) return NaN;
  if (t.endsWith('inf') || t.endsWith('infinity')) return t.startsWith('-') ? -Infinity : Infinity;
  return Number(t);
}

function parseIndex(tok: string | undefined, limit: number, what: string, line: number): number {
  if (tok === undefined || !/^\d+$/.test(tok))
    throw mmError(line, `a ${what} index`, tok === undefined ? 'a line without one' : quote(tok));
  const v = Number(tok);
  if (v < 1 || v > limit) throw mmError(line, `a ${what} index in [1, ${limit}]`, tok);
  return v - 1;
}

/** Parses a MatrixMarket file into CSR (symmetric storage expanded, duplicates summed). */
export function parseMatrixMarket(input: unknown): Csr {
  const text = textOf(input);
  let pos = 0;
  let lineNo = 0;
  const nextLine = (): string | undefined => {
    if (pos >= text.length) return undefined;
    let end = text.indexOf('\n', pos);
    if (end < 0) end = text.length;
    const s = text.slice(pos, end);
    pos = end + 1;
    lineNo++;
    return s;
  };
  const banner = nextLine();
  const head =
    banner
      ?.trim()
      .split(/\s+/)
      .map((s) => s.toLowerCase()) ?? [];
  if (head[0] !== '%%matrixmarket' || head[1] !== 'matrix') {
    throw mmError(
      1,
      'a "%%MatrixMarket matrix <format> <field> <symmetry>" header',
      banner === undefined ? 'an empty input' : quote(banner),
    );
  }
  const [format, field, symmetry] = [head[2], head[3], head[4]];
  if (format !== 'coordinate' && format !== 'array') throw mmError(1, 'the format coordinate or array', quote(String(format)));
  if (field !== 'real' && field !== 'integer' && field !== 'pattern' && field !== 'double') {
    throw mmError(1, 'the field real, integer or pattern (complex is not supported)', quote(String(field)));
  }
  if (symmetry !== 'general' && symmetry !== 'symmetric' && symmetry !== 'skew-symmetric') {
    throw mmError(1, 'the symmetry general, symmetric or skew-symmetric (hermitian is not supported)', quote(String(symmetry)));
  }
  const fld: Field = field === 'double' ? 'real' : field;
  const sym = symmetry as Symmetry;
  if (format === 'array' && fld === 'pattern') throw mmError(1, 'a real or integer field for the array format', quote('pattern'));

  // Skip comments and blank lines up to the size line.
  let sizeLine: string | undefined;
  while ((sizeLine = nextLine()) !== undefined) {
    const t = sizeLine.trim();
    if (t !== '' && !t.startsWith('%')) break;
  }
  if (sizeLine === undefined) throw mmError(lineNo + 1, 'a size line', 'the end of the input');
  const sizeToks = sizeLine.trim().split(/\s+/);
  const want = format === 'coordinate' ? 3 : 2;
  if (sizeToks.length !== want || sizeToks.some((t) => !/^\d+$/.test(t) || !Number.isSafeInteger(Number(t)))) {
    throw mmError(lineNo, format === 'coordinate' ? 'a size line "rows cols entries"' : 'a size line "rows cols"', quote(sizeLine));
  }
  const [rows, cols] = [Number(sizeToks[0]), Number(sizeToks[1])];
  if (sym !== 'general' && rows !== cols) throw mmError(lineNo, `a square matrix for ${sym} storage`, `${rows} x ${cols}`);
  const entries =
    format === 'coordinate'
      ? Number(sizeToks[2])
      : sym === 'general'
        ? rows * cols
        : sym === 'symmetric'
          ? (rows * (rows + 1)) / 2
          : (rows * (rows - 1)) / 2;

  // Every entry takes a line of at least one character and a separator, so a count beyond what the
  // rest of the input can hold is a truncated (or lying) file: say so before allocating for it (a
  // 60-byte file claiming 10^15 entries used to ask for petabytes; found by fuzzing).
  const room = Math.floor((text.length - Math.min(pos, text.length) + 1) / 2);
  if (entries > room)
    throw mmError(lineNo, `${entries} entries (the size line's count)`, `an input with room for at most ${room} more (truncated)`);
  const cap = sym === 'general' ? entries : 2 * entries;
  const ri = new Float64Array(cap),
    ci = new Float64Array(cap);
  const vals = new Float32Array(cap);
  let n = 0;
  const push = (r: number, c: number, v: number) => {
    ri[n] = r;
    ci[n] = c;
    vals[n++] = v;
    if (r !== c && sym !== 'general') {
      ri[n] = c;
      ci[n] = r;
      vals[n++] = sym === 'skew-symmetric' ? -v : v;
    }
  };
  let read = 0;
  let line: string | undefined;
  while (read < entries) {
    line = nextLine();
    if (line === undefined) throw mmError(lineNo, `${entries} entries`, `a file that ends after ${read} (truncated)`);
    const t = line.trim();
    if (t === '' || t.startsWith('%')) continue;
    const toks = t.split(/\s+/);
    if (format === 'coordinate') {
      const r = parseIndex(toks[0], rows, 'row', lineNo);
      const c = parseIndex(toks[1], cols, 'column', lineNo);
      const v = fld === 'pattern' ? 1 : parseValue(toks[2], fld, lineNo);
      const extra = fld === 'pattern' ? 2 : 3;
      if (toks.length > extra) throw mmError(lineNo, `${extra} fields`, quote(t));
      if (sym === 'skew-symmetric' && r === c)
        throw mmError(lineNo, 'no diagonal entry in a skew-symmetric matrix', `(${r + 1}, ${c + 1})`);
      push(r, c, v);
    } else {
      if (toks.length !== 1) throw mmError(lineNo, 'one value per line', quote(t));
      const v = parseValue(toks[0], fld, lineNo);
      // Column-major; symmetric storage lists the lower triangle (strictly lower when skew).
      let c = 0,
        k = read;
      if (sym === 'general') {
        c = Math.floor(k / rows);
        k -= c * rows;
      } else {
        const off = sym === 'symmetric' ? 0 : 1;
        while (k >= rows - c - off) {
          k -= rows - c - off;
          c++;
        }
        k += c + off;
      }
      if (v !== 0) push(k, c, v);
    }
    read++;
  }
  while ((line = nextLine()) !== undefined) {
    const t = line.trim();
    if (t !== '' && !t.startsWith('%')) throw mmError(lineNo, `exactly ${entries} entries (the size line's count)`, `more: ${quote(t)}`);
  }
  return cooToCsr(
    rows,
    cols,
    (i) => ri[i],
    (i) => ci[i],
    vals.subarray(0, n),
    false,
    ['row index', 'column index'],
  );
}

/** The shortest decimal that reads back as the same float32. */
export function formatFloat32(v: number): string {
  if (!Number.isFinite(v)) return Number.isNaN(v) ? 'nan' : v > 0 ? 'inf' : '-inf';
  if (Object.is(v, -0)) return '-0'; // String(-0) is "0": the sign would be lost (found by fuzzing)
  for (let p = 1; p < 9; p++) {
    const s = v.toPrecision(p);
    if (Math.fround(Number(s)) === v) return String(Number(s));
  }
  return String(Number(v.toPrecision(9)));
}

/** Writes coordinate real general storage, 1-based, one entry per line. */
export function formatMatrixMarket(m: Csr, comment?: string): string {
  const nnz = m.colIdx.length;
  const out: string[] = ['%%MatrixMarket matrix coordinate real general'];
  if (comment) for (const l of comment.split('\n')) out.push(`% ${l}`);
  out.push(`${m.rows} ${m.cols} ${nnz}`);
  const rp = m.rowPtr,
    ci = m.colIdx;
  for (let r = 0; r < m.rows; r++) {
    for (let p = Number(rp[r]); p < Number(rp[r + 1]); p++) out.push(`${r + 1} ${Number(ci[p]) + 1} ${formatFloat32(m.values[p])}`);
  }
  return out.join('\n') + '\n';
}
