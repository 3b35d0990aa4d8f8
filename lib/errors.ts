// One error factory for the whole facade (docs/design.md, Errors). Argument errors are TypeError / RangeError
// with a Node-style `code`; runtime failures are TensorkernError with an ERR_TK_* code.

export type TensorkernErrorCode =
  | 'ERR_TK_NO_GPU'
  | 'ERR_TK_CUDA'
  | 'ERR_TK_OUT_OF_MEMORY'
  | 'ERR_TK_UNSUPPORTED'
  | 'ERR_TK_DISPOSED'
  | 'ERR_TK_NATIVE_LOAD'
  | 'ERR_TK_INTERNAL';

export class TensorkernError extends Error {
  readonly code: TensorkernErrorCode;
  constructor(code: TensorkernErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TensorkernError';
    this.code = code;
  }
}

export type ArgErrorKind = 'type' | 'value' | 'range';

/** Short, readable description of a received value for error messages. */
export function describe(v: unknown): string {
  if (v === undefined) return 'undefined';
  if (v === null) return 'null';
  if (typeof v === 'string') return `type string (${JSON.stringify(v.length > 40 ? v.slice(0, 37) + '...' : v)})`;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') {
    return typeof v === 'number' ? String(v) : `type ${typeof v} (${String(v)})`;
  }
  if (typeof v === 'function') return 'a function';
  if (Array.isArray(v)) {
    const items = v.slice(0, 8).map((x) => (typeof x === 'number' ? String(x) : describe(x)));
    return `[${items.join(', ')}${v.length > 8 ? ', ...' : ''}]`;
  }
  if (ArrayBuffer.isView(v))
    return `an instance of ${v.constructor.name} (length ${(v as unknown as { length?: number }).length ?? v.byteLength})`;
  const ctor = (v as object).constructor;
  return ctor && ctor.name && ctor.name !== 'Object' ? `an instance of ${ctor.name}` : 'an object';
}

/** `word` with its indefinite article: 'an int8', 'an Int8Array', 'a float32', 'a Uint8Array'. */
export function withArticle(word: string): string {
  return `${/^[aeio]/i.test(word) ? 'an' : 'a'} ${word}`;
}

/**
 * The error factory: "Expected <expected> for <name> but received <actual>".
 * kind 'type' -> TypeError ERR_INVALID_ARG_TYPE; 'value' -> RangeError ERR_INVALID_ARG_VALUE;
 * 'range' -> RangeError ERR_OUT_OF_RANGE. `actual` is described unless it is already a string
 * description (pass `{ described: true }`).
 */
export function invalidArg(
  name: string,
  expected: string,
  actual: unknown,
  kind: ArgErrorKind = 'type',
  opts: { described?: boolean } = {},
): TypeError | RangeError {
  const got = opts.described ? String(actual) : describe(actual);
  const message = `Expected ${expected} for ${name} but received ${got}`;
  const err = kind === 'type' ? new TypeError(message) : new RangeError(message);
  (err as TypeError & { code: string }).code =
    kind === 'type' ? 'ERR_INVALID_ARG_TYPE' : kind === 'value' ? 'ERR_INVALID_ARG_VALUE' : 'ERR_OUT_OF_RANGE';
  return err;
}

export function disposedError(what: string): TensorkernError {
  return new TensorkernError('ERR_TK_DISPOSED', `Expected a live tensor for ${what} but it was disposed`);
}

/**
 * Re-wraps an error thrown or rejected by the native binding so the caller sees its own JS stack
 * (captured before the call) and the right class: argument errors stay TypeError / RangeError, the
 * rest become TensorkernError.
 */
export function wrapNative(err: unknown, callerStack?: string): Error {
  // Errors made by the addon may come from another realm (a vm context, a worker's parent), where
  // instanceof fails: recognize them by shape and class name.
  if (typeof err !== 'object' || err === null || typeof (err as Error).message !== 'string') {
    return new TensorkernError('ERR_TK_INTERNAL', `native failure: ${String(err)}`);
  }
  const e = err as Error & { code?: string };
  const code = typeof e.code === 'string' ? e.code : 'ERR_TK_INTERNAL';
  const kind = e.name || e.constructor?.name;
  let out: Error;
  if (code.startsWith('ERR_TK_')) {
    out = new TensorkernError(code as TensorkernErrorCode, e.message);
  } else if (kind === 'TypeError') {
    out = Object.assign(new TypeError(e.message), { code });
  } else if (kind === 'RangeError') {
    out = Object.assign(new RangeError(e.message), { code });
  } else {
    out = new TensorkernError('ERR_TK_INTERNAL', e.message);
  }
  if (callerStack) out.stack = `${out.name}: ${out.message}\n${callerStack.split('\n').slice(1).join('\n')}`;
  return out;
}

/** Captures the caller's stack now, for an error that may surface later in a Promise. */
export function captureStack(skip: (...args: never[]) => unknown): string {
  const holder: { stack?: string } = {};
  Error.captureStackTrace(holder, skip);
  return holder.stack ?? '';
}
