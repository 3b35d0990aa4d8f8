// narrow() / slice(): zero-copy views along the first dimension of a host tensor; an op's `out` can
// be one (writing one position of a KV cache); disposal of views and of the tensor they come from.
import { Tensor, TensorkernError, attentionSync, castSync, gemmSync } from '../lib';
import { HOST_POOL_MIN_BYTES } from '../lib/host-memory';
import { gpuSkipReason } from './helpers/backends';
import { makeData } from './helpers/data';
import { expectError } from './helpers/errors';
import { refAttention } from './reference/attention';

const { abs, max } = Math;

describe('Tensor views', () => {
  test('narrow and slice share storage along dim 0', () => {
    const data = Float32Array.from({ length: 24 }, (_, i) => i);
    const t = Tensor.from(data, [4, 3, 2]);
    const v = t.narrow(1, 2);
    expect(v.shape).toEqual([2, 3, 2]);
    const a = v.toArraySync() as Float32Array;
    expect(a.buffer).toBe(data.buffer);
    expect(Array.from(a)).toEqual(Array.from({ length: 12 }, (_, i) => i + 6));
    a[0] = -1;
    expect(data[6]).toBe(-1);
    expect(Array.from(t.slice(3).toArraySync() as Float32Array)).toEqual(Array.from({ length: 6 }, (_, i) => i + 18));
    expect(Array.from(t.slice(1, 2).toArraySync() as Float32Array)).toEqual(Array.from(data.subarray(6, 12)));
    expect(t.narrow(4, 0).shape).toEqual([0, 3, 2]);
    expect(t.narrow(2, 2).narrow(1, 1).toArraySync()).toEqual(data.subarray(18, 24));
    // int4: rows of whole bytes; rank 1 (half a byte per row) is refused
    const q = Tensor.from([1, -1, 7, -8, 0, 3], [3, 2], { dtype: 'int4' });
    expect(Array.from(q.narrow(1, 2).toArraySync() as Uint8Array)).toEqual([0x87, 0x30]);
    expectError(
      () => Tensor.from([1, 2], [2], { dtype: 'int4' }).narrow(0, 1),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      'Expected rows of whole bytes for narrow() of an int4 tensor (an even number of elements per row) for this but received shape [2]',
    );
  });

  test('bad start / length / end name the argument', () => {
    const t = Tensor.zeros([5, 2]);
    expectError(
      () => t.narrow(6, 0),
      RangeError,
      'ERR_OUT_OF_RANGE',
      'Expected an integer in [0, 5] (the size of dim 0) for start but received 6',
    );
    expectError(
      () => t.narrow(-1, 1),
      RangeError,
      'ERR_OUT_OF_RANGE',
      'Expected an integer in [0, 5] (the size of dim 0) for start but received -1',
    );
    expectError(
      () => t.narrow(3, 3),
      RangeError,
      'ERR_OUT_OF_RANGE',
      'Expected an integer in [0, 2] (rows from 3 to the end of dim 0, 5) for length but received 3',
    );
    expectError(() => t.narrow(1.5 as number, 1), RangeError, 'ERR_OUT_OF_RANGE', /for start but received 1\.5$/);
    expectError(
      () => t.narrow('1' as never, 1),
      TypeError,
      'ERR_INVALID_ARG_TYPE',
      'Expected an integer for start but received type string ("1")',
    );
    expectError(
      () => t.narrow(0, undefined as never),
      TypeError,
      'ERR_INVALID_ARG_TYPE',
      'Expected an integer for length but received undefined',
    );
    expectError(
      () => t.slice(3, 2),
      RangeError,
      'ERR_OUT_OF_RANGE',
      'Expected an integer in [3, 5] (start to the size of dim 0) for end but received 2',
    );
    expectError(() => t.slice(0, 6), RangeError, 'ERR_OUT_OF_RANGE', /for end but received 6$/);
    expectError(
      () => Tensor.zeros([]).narrow(0, 1),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      'Expected a tensor with at least one dimension for narrow() for this but received shape []',
    );
  });

  test('an op writing into a view of a KV cache writes those rows and nothing else', () => {
    const [maxSeq, H, D, C, pos] = [6, 2, 4, 5, 3];
    const cache = Tensor.zeros([maxSeq, H, D]);
    (cache.toArraySync() as Float32Array).fill(7);
    const x = makeData('float32', C, 1),
      wk = makeData('float32', H * D * C, 2);
    const y = gemmSync(Tensor.from(x.data, [1, C]), Tensor.from(wk.data, [H * D, C]), {
      transB: true,
      out: cache.narrow(pos, 1).reshape([1, H * D]),
      device: 'cpu',
    });
    expect(y.shape).toEqual([1, H * D]);
    const c = cache.toArraySync() as Float32Array;
    for (let i = 0; i < c.length; i++) {
      const row = Math.floor(i / (H * D)),
        n = i % (H * D);
      if (row !== pos) {
        expect(c[i]).toBe(7);
        continue;
      }
      let want = 0;
      for (let k = 0; k < C; k++) want += x.values[k] * wk.values[n * C + k];
      expect(abs(c[i] - want)).toBeLessThanOrEqual(1e-6 * (1 + abs(want)));
    }
    // cast into a view
    const half = Tensor.zeros([3, 4], { dtype: 'float16' });
    castSync(Tensor.from([1, 2, 3, 4], [1, 4]), 'float16', { out: half.slice(2, 3) });
    expect(Array.from(half.toArraySync() as Uint16Array)).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0x3c00, 0x4000, 0x4200, 0x4400]);
  });

  test('attention reads a prefix of a cache and writes its output into a view', () => {
    // 'bshd' caches [maxSeq, H, D] (batch 1 folded away) filled up to pos + 1
    const [maxSeq, H, D, pos] = [8, 2, 4, 5];
    const k = makeData('float32', maxSeq * H * D, 3),
      v = makeData('float32', maxSeq * H * D, 4),
      q = makeData('float32', H * D, 5);
    const kc = Tensor.from(k.data, [maxSeq, H, D]),
      vc = Tensor.from(v.data, [maxSeq, H, D]);
    const outs = Tensor.zeros([maxSeq, H, D]);
    const n = (pos + 1) * H * D;
    attentionSync(
      Tensor.from(q.data, [1, 1, H, D]),
      kc.narrow(0, pos + 1).reshape([1, pos + 1, H, D]),
      vc.narrow(0, pos + 1).reshape([1, pos + 1, H, D]),
      { layout: 'bshd', out: outs.narrow(pos, 1).reshape([1, 1, H, D]) },
    );
    const want = refAttention({
      q: q.values,
      k: k.values.subarray(0, n),
      v: v.values.subarray(0, n),
      B: 1,
      Hq: H,
      Hkv: H,
      Sq: 1,
      Sk: pos + 1,
      D,
      layout: 'bshd',
    }).out;
    const o = outs.toArraySync() as Float32Array;
    let worst = 0;
    for (let i = 0; i < o.length; i++) {
      const inRow = i >= pos * H * D && i < (pos + 1) * H * D;
      worst = max(worst, inRow ? abs(o[i] - want[i - pos * H * D]) : abs(o[i]));
    }
    expect(worst).toBeLessThan(1e-6);
  });

  test('disposal: a view drops only itself; the parent (pooled or not) takes its views with it', () => {
    const rows = 64,
      big = HOST_POOL_MIN_BYTES / 4 / rows; // [64, 256] float32 = 64 KiB: pooled storage
    for (const shape of [
      [rows, big],
      [4, 2],
    ]) {
      const parent = Tensor.zeros(shape);
      const view = parent.narrow(1, 2);
      const again = parent.narrow(1, 2).reshape([2 * shape[1]]);
      view.dispose();
      expect(view.disposed).toBe(true);
      expect(parent.disposed).toBe(false);
      expect(again.disposed).toBe(false);
      const a = parent.toArraySync() as Float32Array;
      a[shape[1]] = 3; // still the parent's live storage
      expect((again.toArraySync() as Float32Array)[0]).toBe(3);
      expectError(() => view.toArraySync(), TensorkernError, 'ERR_TK_DISPOSED', 'Expected a live tensor for this but it was disposed');
      parent.dispose();
      if (shape[0] === rows) expect(a.length).toBe(0); // pooled: the storage went back (its buffer detached)
      expect(again.disposed).toBe(true);
      expect(String(again)).toContain('disposed');
      expectError(
        () => gemmSync(again.reshape([2, shape[1]]), Tensor.zeros([shape[1], 1])),
        TensorkernError,
        'ERR_TK_DISPOSED',
        /it was disposed/,
      );
    }
  });

  test('device tensors: views are not supported yet', () => {
    const skip = gpuSkipReason();
    if (skip) return console.log(`views of device tensors: ${skip}`);
    const d = Tensor.zeros([4, 2], { device: 'cuda' });
    try {
      expectError(
        () => d.narrow(0, 1),
        TensorkernError,
        'ERR_TK_UNSUPPORTED',
        /^narrow\(\) of a tensor on cuda:0: views of device tensors are not supported yet/,
      );
      expectError(() => d.slice(0, 1), TensorkernError, 'ERR_TK_UNSUPPORTED', /^slice\(\) of a tensor on cuda:0/);
    } finally {
      d.dispose();
    }
  });
});
