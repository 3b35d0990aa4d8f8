// `tensorkern info`: what this process would run on, and why.
import { libc } from '../binding';
import { cpuLabel, defaultDevice, devices, probe, whyNoGpu } from '../device';
import { nativeInfo, version } from '../version';

function gib(bytes: number): string {
  return `${(bytes / 2 ** 30).toFixed(1)} GiB`;
}

export interface InfoReport {
  version: string;
  node: string;
  platform: string;
  native: ReturnType<typeof nativeInfo>;
  devices: ReturnType<typeof devices>;
  defaultDevice: string;
  whyNoGpu: string | null;
  env: Record<string, string | undefined>;
}

export function infoReport(): InfoReport {
  let def: string;
  try {
    def = defaultDevice();
  } catch (e) {
    def = `error: ${(e as Error).message}`;
  }
  return {
    version,
    node: process.versions.node,
    platform: `${process.platform}-${process.arch} ${libc()}`,
    native: nativeInfo(),
    devices: devices(),
    defaultDevice: def,
    whyNoGpu: whyNoGpu(),
    env: {
      TENSORKERN_DEVICE: process.env.TENSORKERN_DEVICE,
      TENSORKERN_NUM_THREADS: process.env.TENSORKERN_NUM_THREADS,
      TENSORKERN_ISA: process.env.TENSORKERN_ISA,
      TENSORKERN_BF16_DOT: process.env.TENSORKERN_BF16_DOT,
      TENSORKERN_BINARY: process.env.TENSORKERN_BINARY,
    },
  };
}

export function runInfo(args: string[]): number {
  const r = infoReport();
  if (args.includes('--json')) {
    process.stdout.write(JSON.stringify(r, null, 2) + '\n');
    return 0;
  }
  const p = probe();
  const out: string[] = [];
  out.push(`tensorkern ${r.version} on Node ${r.node} (${r.platform})`);
  out.push(`native:   ${r.native.file}${r.native.package ? ` (${r.native.package})` : ''}`);
  out.push(
    `          N-API ${r.native.napiVersion}, ${r.native.compiler}, CUDA ${r.native.cuda ? `compiled in (${r.native.cudaArchitectures.join(' ')})` : 'not compiled in'}`,
  );
  for (const d of r.devices) {
    if (d.kind === 'cpu') {
      out.push(`cpu:      ${cpuLabel(d)} (${d.vendor}), ${d.physicalCores} physical cores / ${d.logicalCpus} logical CPUs`);
      out.push(`          kernels: ${d.isa}${d.isa !== d.bestIsa ? ` (capped; best ${d.bestIsa})` : ''}; threads: ${d.threads}`);
      out.push(`          features: ${d.features.join(' ') || 'none detected'}`);
    } else {
      out.push(
        `${d.id}:   ${d.name}, compute capability ${d.computeCapability}, ${gib(d.totalMemory)}, ${d.multiprocessors} SMs, ` +
          `driver CUDA ${d.driverVersion}, runtime ${d.runtimeVersion}`,
      );
    }
  }
  for (const d of p.cuda.devices.filter((x) => !x.usable)) out.push(`cuda:${d.index}:   ${d.name}: not usable: ${d.unusableWhy}`);
  out.push(`default:  ${r.defaultDevice}`);
  if (r.whyNoGpu) out.push(`no GPU:   ${r.whyNoGpu}`);
  const env = Object.entries(r.env).filter(([, v]) => v !== undefined);
  if (env.length) out.push(`env:      ${env.map(([k, v]) => `${k}=${v}`).join(' ')}`);
  process.stdout.write(out.join('\n') + '\n');
  return 0;
}
