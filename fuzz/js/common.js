// Shared by the Jazzer.js targets: the library's documented errors (lib/errors.ts) are the only
// exceptions a target may let through quietly; anything else is re-thrown, and Jazzer reports it.
'use strict';
const path = require('path');

const dist = (p) => require(path.join(__dirname, '..', '..', 'dist', 'lib', p));
const { TensorkernError } = dist('errors.js');

const ARG_CODES = new Set(['ERR_INVALID_ARG_TYPE', 'ERR_INVALID_ARG_VALUE', 'ERR_OUT_OF_RANGE']);

/** True for TypeError / RangeError with a Node-style argument code, or TensorkernError with an ERR_TK_ code. */
function isDocumented(e) {
  if (e instanceof TensorkernError) return typeof e.code === 'string' && e.code.startsWith('ERR_TK_');
  if (e instanceof TypeError) return e.code === 'ERR_INVALID_ARG_TYPE';
  if (e instanceof RangeError) return ARG_CODES.has(e.code);
  return false;
}

/** Runs fn; a documented error is an accepted outcome (returns undefined), anything else is a finding. */
function expectDocumented(fn) {
  try {
    return fn();
  } catch (e) {
    if (isDocumented(e)) {
      if (typeof e.message !== 'string' || !e.message.startsWith('Expected ')) throw new Error(`finding: a documented error without the "Expected ..." message: ${e.message}`);
      return undefined;
    }
    const err = new Error(`finding: an undocumented exception ${e && e.constructor ? e.constructor.name : typeof e}${e && e.code ? ` (code ${e.code})` : ''}: ${e && e.message}`);
    err.cause = e;
    throw err;
  }
}

function check(cond, what) {
  if (!cond) throw new Error(`finding: ${what}`);
}

module.exports = { dist, isDocumented, expectDocumented, check };
