// Argument validation shared by Tensor and every op (docs/design.md, Errors): each failure names the argument,
// what was expected and what was received.
import { DType, DTYPES, isDType } from './dtype';
import { invalidArg } from './errors';

export const MAX_DIMS = 8;

/** Validates a shape: an array of at most 8 non-negative safe integers whose product is a safe integer. */
export function checkShape(shape: unknown, name = 'shape'): number[] {
  if (!Array.isArray(shape)) throw invalidArg(name, 'an array of non-negative integers', shape);
  if (shape.length > MAX_DIMS)
    throw invalidArg(name, `at most ${MAX_DIMS} dimensions`, `${shape.length} dimensions`, 'range', { described: true });
  let n = 1;
  shape.forEach((d, i) => {
    if (typeof d !== 'number') throw invalidArg(`${name}[${i}]`, 'a non-negative integer', d);
    if (!Number.isInteger(d) || d < 0) throw invalidArg(`${name}[${i}]`, 'a non-negative integer', d, 'range');
    n *= d;
  });
  if (!Number.isSafeInteger(n)) throw invalidArg(name, 'a shape with at most 2^53 - 1 elements', shape, 'range');
  return shape.slice();
}

export function numelOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export function shapeStr(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

export function checkOptions<T extends object>(opts: unknown, name: string, keys: readonly string[]): Partial<T> {
  if (opts === undefined || opts === null) return {};
  if (typeof opts !== 'object' || Array.isArray(opts)) throw invalidArg(name, 'an options object', opts);
  for (const k of Object.keys(opts)) {
    if (!keys.includes(k)) throw invalidArg(name, `only the keys ${keys.join(', ')}`, `key "${k}"`, 'value', { described: true });
  }
  return opts as Partial<T>;
}

export function checkDType(dtype: unknown, name: string): DType {
  if (!isDType(dtype)) {
    throw invalidArg(name, `one of ${Object.keys(DTYPES).join(', ')}`, dtype, typeof dtype === 'string' ? 'value' : 'type');
  }
  return dtype;
}
