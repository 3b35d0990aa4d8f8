import { nativeFile } from './binding';
import { probe } from './device';
import { packageOf } from './platform';
import { PACKAGE_VERSION } from './root';

export const version: string = PACKAGE_VERSION;

/** Which native binary is loaded and how it was built. */
export function nativeInfo(): {
  file: string;
  /** The platform package the binary came from ('@tensorkern/linux-x64-gnu', ...), or null (a source build, prebuilds/, TENSORKERN_BINARY). */
  package: string | null;
  cuda: boolean;
  cudaArchitectures: string[];
  compiler: string;
  napiVersion: number;
} {
  const b = probe().build;
  return {
    file: nativeFile,
    package: packageOf(nativeFile)?.name ?? null,
    cuda: b.cuda,
    cudaArchitectures: b.cudaArchitectures ? b.cudaArchitectures.split(',') : [],
    compiler: b.compiler,
    napiVersion: b.napiVersion,
  };
}
