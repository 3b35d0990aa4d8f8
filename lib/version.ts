import * as path from 'path';
import { nativeFile } from './binding';
import { probe } from './device';
import { PACKAGE_ROOT } from './root';

// eslint-disable-next-line @typescript-eslint/no-require-imports
export const version: string = (require(path.join(PACKAGE_ROOT, 'package.json')) as { version: string }).version;

/** Which native binary is loaded and how it was built. */
export function nativeInfo(): { file: string; cuda: boolean; cudaArchitectures: string[]; compiler: string; napiVersion: number } {
  const b = probe().build;
  return {
    file: nativeFile,
    cuda: b.cuda,
    cudaArchitectures: b.cudaArchitectures ? b.cudaArchitectures.split(',') : [],
    compiler: b.compiler,
    napiVersion: b.napiVersion,
  };
}
