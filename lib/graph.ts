// Op graphs: record a sequence of Sync ops once, replay it with one native call.
//
//   const step = recordGraph(() => {
//     const h = rmsNormSync(x, g);
//     return gemmSync(h, w, { transB: true });      // returns the output tensor, allocated once
//   });
//   step.run();              // computes every recorded op, in order, on the tensors bound at recording
//   await step.runAsync();   // the same off the event loop: one hop for the whole sequence
//
// While the callback runs, each Sync op checks its arguments, allocates its output and is recorded
// instead of run (outputs hold no values until the first replay). A replay unwraps and validates
// nothing again and allocates nothing in JavaScript; it reads the bound tensors' current contents, so
// a caller changes inputs by writing into them (x.toArraySync().set(...), a position tensor's [0]).
// Ops that take indices from tensors (embedding ids, rope positions, kvAppend positions, attention
// kvLengths given as an int32 tensor) check them on every replay. Awaited ops cannot be recorded.
import { NativeGraph, native } from './binding';
import { TensorkernError, invalidArg, wrapNative } from './errors';
import { isRecording, setRecording } from './ops/common';

const CREATE = Symbol('tensorkern.graph');
const disposeSymbol: symbol = (Symbol as { dispose?: symbol }).dispose ?? Symbol.for('nodejs.dispose');

export class OpGraph<T = unknown> {
  /** What the recording callback returned (typically the output tensors). */
  readonly result: T;
  #g: NativeGraph | null;

  /** Made by recordGraph only. */
  constructor(token: symbol, g: NativeGraph, result: T) {
    if (token !== CREATE) throw new TypeError('OpGraph has no public constructor: use recordGraph(fn)');
    this.#g = g;
    this.result = result;
  }

  /** How many ops were recorded. */
  get length(): number {
    return this.#live().length;
  }

  /** The recorded ops' names, in order (e.g. 'tensorkern:gemm'). */
  get ops(): string[] {
    return this.#live().names;
  }

  /**
   * Replays every op synchronously, in order. Fails (running nothing) when a tensor the graph uses
   * was disposed, and stops at the first op that fails, naming it.
   */
  run(): void {
    const g = this.#live();
    try {
      g.run(false);
    } catch (e) {
      throw wrapNative(e);
    }
  }

  /**
   * Replays every op off the event loop with one hop to a worker thread for the whole sequence. A
   * graph whose last replay took under 200 microseconds runs inline instead and returns a settled
   * Promise: the hop (30-50 us) would add a fifth or more to such a step.
   */
  runAsync(): Promise<void> {
    // No captured stack here (Error.captureStackTrace costs microseconds, a tenth of a tiny model's
    // step): a failure names the graph step that failed instead.
    let g: NativeGraph;
    try {
      g = this.#live();
      return g.run(true).catch((e: unknown) => {
        throw wrapNative(e);
      });
    } catch (e) {
      return Promise.reject(wrapNative(e));
    }
  }

  /** Nanoseconds the last replay took, or -1 before the first. */
  get lastRunNs(): number {
    return this.#live().lastRunNs;
  }

  get disposed(): boolean {
    return this.#g === null;
  }

  /** Drops the recorded ops and the references they hold to tensors (not the tensors themselves). */
  dispose(): void {
    if (this.#g === null) return;
    try {
      this.#g.dispose();
    } catch (e) {
      throw wrapNative(e);
    }
    this.#g = null;
  }

  [disposeSymbol](): void {
    this.dispose();
  }

  #live(): NativeGraph {
    if (this.#g === null) throw new TensorkernError('ERR_TK_DISPOSED', 'Expected a live op graph but it was disposed');
    return this.#g;
  }
}

/**
 * Records the Sync ops `fn` calls into an OpGraph (nothing is computed now) and returns it, with
 * fn's return value as `graph.result`. Recordings do not nest; fn must be synchronous.
 */
export function recordGraph<T>(fn: () => T): OpGraph<T> {
  if (typeof fn !== 'function') throw invalidArg('fn', 'a function that calls Sync ops', fn);
  if (isRecording())
    throw invalidArg('fn', 'no recordGraph already running (recordings do not nest)', 'a nested recordGraph', 'value', { described: true });
  const g = new native.runtime.Graph();
  let result: T;
  setRecording(g);
  try {
    result = fn();
  } catch (e) {
    g.dispose();
    throw e;
  } finally {
    setRecording(null);
  }
  if (result instanceof Promise) {
    g.dispose();
    result.catch(() => undefined); // its own failure (an awaited op refused) is reported here instead
    throw invalidArg('fn', 'a synchronous function (Sync ops only: an awaited op is not recorded)', 'an async function', 'value', {
      described: true,
    });
  }
  return new OpGraph(CREATE, g, result);
}
