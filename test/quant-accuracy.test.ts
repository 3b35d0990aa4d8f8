// End to end on the real stories260K model (bench/quant_accuracy.ts, the table): texts
// sampled from the float32 model and read back teacher-forced with every projection quantized.
// Three texts of 128 tokens (the bench reads five of 256; this keeps the test to a few seconds).
import * as fs from 'fs';
import { QUANT_FORMATS, quantAccuracy } from '../bench/quant_accuracy';
import { STORIES_PATH } from '../bench/stories';
import { testIf } from './helpers/backends';

const fmt = (name: string) => QUANT_FORMATS.find((f) => f.name === name)!;

describe('quantized stories260K', () => {
  testIf(fs.existsSync(STORIES_PATH), `stories260K: ${STORIES_PATH} is absent`)(
    'W8A8 (int8Matmul) stays near float32 perplexity; W4A4 per channel does not',
    () => {
      const r = quantAccuracy({
        tokens: 128,
        seeds: [1, 2, 3],
        formats: [fmt('float32'), fmt('w8a8'), fmt('w4a4-channel'), fmt('w4a4-outliers4')],
      });
      const [f32, w8, w4, w4o] = r.rows;
      process.stderr.write(
        `quant accuracy (${r.seeds.length} x ${r.tokens} tokens): float32 ${f32.perplexity.toFixed(2)}, w8a8 ${w8.perplexity.toFixed(2)} ` +
          `(${w8.ratioToFloat32.toFixed(3)}x, top-1 ${(w8.top1Agreement * 100).toFixed(0)}%), w4a4 ${w4.perplexity.toFixed(0)}, ` +
          `w4a4 + 4 calibrated outlier channels ${w4o.perplexity.toFixed(0)}\n`,
      );
      expect(f32.top1Agreement).toBe(1);
      // The bench measured 1.059x over its five texts of 256 tokens (1.025x..1.10x per text): the 5% goal holds on some
      // texts, not pooled; this bound catches a broken quantizer or product, which costs far more.
      expect(w8.ratioToFloat32).toBeLessThan(1.1);
      expect(w8.top1Agreement).toBeGreaterThan(0.7);
      expect(w4.ratioToFloat32).toBeGreaterThan(10);
      // The calibration text's outlier channels reach the quantizer: at int8 they take a large share
      // of W4A4's loss away (2177 -> 1150 on two texts when this was written).
      expect(w4o.perplexity).toBeLessThan(0.8 * w4.perplexity);
    },
  );
});
