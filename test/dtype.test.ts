// lib/dtype.ts mirrors native/core/dtype.h: same codes, names and widths.
import { native } from '../lib/binding';
import { DTYPES } from '../lib/dtype';

test('the JS and native dtype tables agree', () => {
  const nat = native.runtime.probe().dtypes;
  const js = Object.entries(DTYPES).map(([name, d]) => ({ code: d.code, name, bits: d.bits }));
  expect(nat).toEqual(js);
});
