// Jazzer.js target: Int4Weights.fromBuffer on any bytes (as a Uint8Array at any offset, or as an
// ArrayBuffer). It may only throw the library's documented errors; what it accepts must be
// self-consistent (the constructor's invariants) and survive toBuffer() -> fromBuffer() unchanged.
'use strict';
const { dist, expectDocumented, check } = require('./common');
const { Int4Weights } = dist('quant/int4-weights.js');

function same(a, b, name) {
  if (a === undefined || b === undefined) return check(a === b, `${name}: present on one side only`);
  check(a.length === b.length, `${name}: length`);
  for (let i = 0; i < a.length; i++) check(Object.is(a[i], b[i]) || (Number.isNaN(a[i]) && Number.isNaN(b[i])), `${name}[${i}]`);
}

module.exports.fuzz = function fuzz(data) {
  // Half the time the buffer starts with a well-formed header prefix, so the fuzzer spends its time
  // past the magic and version checks; the first byte chooses the way the bytes are handed over.
  const mode = data.length > 0 ? data[0] : 0;
  let bytes = new Uint8Array(data.subarray(1));
  if (mode & 2) {
    const withHeader = new Uint8Array(8 + bytes.length);
    withHeader.set([0x54, 0x4b, 0x57, 0x34, 1, 0, 0, 0]);
    withHeader.set(bytes, 8);
    bytes = withHeader;
  }
  let arg = bytes;
  if (mode & 4) arg = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  else if (mode & 8) { // at an odd offset inside a larger buffer
    const big = new Uint8Array(bytes.length + 3);
    big.set(bytes, 3);
    arg = big.subarray(3);
  }
  const w = expectDocumented(() => Int4Weights.fromBuffer(arg));
  if (!w) return;
  const { N, K, groupSize, groups } = w;
  check(Number.isSafeInteger(N) && Number.isSafeInteger(K) && K % 2 === 0, 'N / K');
  check(w.packed.length === (N * K) / 2 && w.scales.length === N * groups, 'packed / scales lengths');
  check(K === 0 || (K % groupSize === 0 && groupSize >= 2), 'groupSize');
  const back = expectDocumented(() => Int4Weights.fromBuffer(w.toBuffer()));
  check(back !== undefined, 'toBuffer() does not read back');
  for (const k of ['N', 'K', 'groupSize', 'perChannel', 'rotate', 'rotationBlock']) check(Object.is(w[k], back[k]), `round trip changed ${k}`);
  for (const k of ['packed', 'scales', 'zeroPoints', 'outlierChannels', 'outlierWeights', 'outlierScales']) same(w[k], back[k], k);
};
