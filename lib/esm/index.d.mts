export * from '../index.js';
import * as tensorkern from '../index.js';
export default tensorkern;
