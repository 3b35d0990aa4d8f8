// Devices, threads and the default device, checked against what the OS says about this machine.
import { execSync } from 'child_process';
import * as fs from 'fs';
import { Tensor, TensorkernError, defaultDevice, devices, getNumThreads, setNumThreads, whyNoGpu, CpuDeviceInfo } from '../lib';
import { cpuLabel, cpuName } from '../lib/device';
import { gpuSkipReason, printSkip, testIf } from './helpers/backends';
import { runNode } from './helpers/child';
import { native } from '../lib/binding';
import { expectError } from './helpers/errors';

const cpuinfo = process.platform === 'linux' && fs.existsSync('/proc/cpuinfo') ? fs.readFileSync('/proc/cpuinfo', 'utf8') : '';
/** The OS's name for the CPU: the first "model name" (x86, most arm64) or "Model" (boards) line. */
const osModel = cpuinfo.match(/^(?:model name|Model)\s*:\s*(.*)$/m)?.[1]?.trim();

describe('devices()', () => {
  const cpu = devices()[0] as CpuDeviceInfo;

  test('lists the CPU first', () => {
    expect(cpu.kind).toBe('cpu');
    expect(cpu.id).toBe('cpu');
    expect(cpu.threads).toBe(getNumThreads());
    expect(cpu.physicalCores).toBeGreaterThanOrEqual(1);
    expect(cpu.logicalCpus).toBeGreaterThanOrEqual(cpu.physicalCores);
  });

  const x86 = cpuinfo !== '' && process.arch === 'x64';
  testIf(x86, 'ISA features vs /proc/cpuinfo: not an x86-64 Linux machine')('ISA features match /proc/cpuinfo', () => {
    const flags = new Set((cpuinfo.match(/^flags\s*:\s*(.*)$/m)?.[1] ?? '').split(/\s+/));
    const map: Record<string, string> = {
      avx2: 'avx2',
      fma: 'fma',
      f16c: 'f16c',
      bmi2: 'bmi2',
      avx512f: 'avx512f',
      avx512bw: 'avx512bw',
      avx512vl: 'avx512vl',
      avx512dq: 'avx512dq',
      avx512vnni: 'avx512_vnni',
      avx512bf16: 'avx512_bf16',
      avxvnni: 'avx_vnni',
    };
    for (const [ours, linux] of Object.entries(map)) {
      expect([ours, cpu.features.includes(ours)]).toEqual([ours, flags.has(linux)]);
    }
    const best =
      flags.has('avx512f') && flags.has('avx512bw') && flags.has('avx512vl') && flags.has('avx512dq')
        ? 'avx512'
        : flags.has('avx2') && flags.has('fma')
          ? 'avx2'
          : 'scalar';
    expect(cpu.bestIsa).toBe(best);
  });

  test("the CPU name is the OS's where it gives one, else CPUID's brand string; the label shows both where they differ", () => {
    // Hosts differ here (a VM may say "AMD EPYC" in /proc/cpuinfo and "Oxide Virtual Turin-like Processor" in CPUID):
    // every combination is checked on the pure functions, whatever this host is.
    expect(cpuName('AMD EPYC', 'Oxide Virtual Turin-like Processor')).toBe('AMD EPYC');
    expect(cpuName('  Intel(R) Xeon(R) Gold 6338 CPU  ', 'Intel(R) Xeon(R) Gold 6338 CPU')).toBe('Intel(R) Xeon(R) Gold 6338 CPU');
    expect(cpuName('', 'AMD Ryzen 9 7950X 16-Core Processor')).toBe('AMD Ryzen 9 7950X 16-Core Processor');
    expect(cpuName('', '')).toBe('unknown CPU');
    expect(cpuLabel({ name: 'AMD EPYC', brand: 'Oxide Virtual Turin-like Processor' })).toBe(
      'AMD EPYC [CPUID: Oxide Virtual Turin-like Processor]',
    );
    expect(cpuLabel({ name: 'AMD EPYC 9R14', brand: 'AMD EPYC 9R14' })).toBe('AMD EPYC 9R14');
    expect(cpuLabel({ name: 'Neoverse-N1', brand: '' })).toBe('Neoverse-N1');
    expect(typeof cpu.brand).toBe('string');
    expect(cpu.name).toBe(cpuName(osModel ?? '', cpu.brand));
  });

  testIf(cpuinfo !== '', 'CPU model vs /proc/cpuinfo: no /proc/cpuinfo')(
    'model and core count match /proc/cpuinfo and the affinity mask',
    () => {
      if (osModel) expect(cpu.name).toBe(osModel);
      const nproc = Number(execSync('nproc').toString());
      expect(cpu.logicalCpus).toBe(nproc);
      const cores = new Set<string>();
      for (const block of cpuinfo.split(/\n\n+/)) {
        const pkg = block.match(/^physical id\s*:\s*(\d+)/m)?.[1];
        const core = block.match(/^core id\s*:\s*(\d+)/m)?.[1];
        if (pkg !== undefined && core !== undefined) cores.add(`${pkg}:${core}`);
      }
      if (cores.size > 0 && nproc === cpuinfo.match(/^processor\s*:/gm)?.length)
        expect(cpu.physicalCores).toBe(Math.min(cores.size, nproc));
    },
  );

  test('default thread count is the physical cores; setNumThreads changes it', () => {
    if (process.env.TENSORKERN_NUM_THREADS === undefined) expect(getNumThreads()).toBe(cpu.physicalCores);
    const before = getNumThreads();
    setNumThreads(1);
    expect(getNumThreads()).toBe(1);
    expect((devices()[0] as CpuDeviceInfo).threads).toBe(1);
    setNumThreads(before);
    expect(getNumThreads()).toBe(before);
  });
});

describe('environment variables', () => {
  test('TENSORKERN_NUM_THREADS sets the default; a bad value warns and is ignored', () => {
    const ok = runNode("process.stdout.write(String(require('tensorkern').getNumThreads()))", { TENSORKERN_NUM_THREADS: '3' });
    expect(ok.stdout).toBe('3');
    const bad = runNode("process.stdout.write(String(require('tensorkern').getNumThreads()))", { TENSORKERN_NUM_THREADS: 'lots' });
    expect(Number(bad.stdout)).toBe((devices()[0] as CpuDeviceInfo).physicalCores);
    expect(bad.stderr).toMatch(/Expected an integer from 1 to 4096 for TENSORKERN_NUM_THREADS but received "lots"/);
  });

  test('TENSORKERN_ISA caps the kernels', () => {
    const r = runNode("const t=require('tensorkern'); process.stdout.write(t.devices()[0].isa)", { TENSORKERN_ISA: 'scalar' });
    expect(r.stdout).toBe('scalar');
  });

  test('TENSORKERN_BF16_DOT picks how bfloat16 products run; a bad value is a warning', () => {
    // A bfloat16 product big enough for the blocked kernels, then the kernel it ran.
    const code =
      "const t=require('./dist/lib/index.js'); const {native}=require('./dist/lib/binding.js');" +
      "const a=t.castSync(t.Tensor.from(new Float32Array(64*64).fill(0.5),[64,64]),'bfloat16');" +
      "const y=t.gemmSync(a,a); process.stdout.write(y.toArraySync()[0]+' '+native.debug.lastKernel('gemm','cpu'))";
    const hasDot = native.runtime.probe().cpu.features.avx512bf16 && (devices()[0] as CpuDeviceInfo).isa === 'avx512';
    for (const mode of ['on', 'off']) {
      const r = runNode(code, { TENSORKERN_BF16_DOT: mode });
      expect(r.stderr).toBe('');
      const [v, ...kernel] = r.stdout.split(' ');
      expect(Number(v)).toBe(16); // 64 products of 0.25, exact either way
      expect(kernel.join(' ').includes('vdpbf16ps')).toBe(hasDot && mode === 'on');
    }
    const bad = runNode(code, { TENSORKERN_BF16_DOT: 'fast' });
    expect(bad.stderr).toMatch(/Expected one of auto, on, off for TENSORKERN_BF16_DOT but received "fast"/);
    expect(bad.stdout.split(' ')[0]).toBe('16');
  });

  describe('TENSORKERN_DEVICE', () => {
    const saved = process.env.TENSORKERN_DEVICE;
    afterEach(() => {
      if (saved === undefined) delete process.env.TENSORKERN_DEVICE;
      else process.env.TENSORKERN_DEVICE = saved;
    });

    test('cpu selects the CPU', () => {
      process.env.TENSORKERN_DEVICE = 'cpu';
      expect(defaultDevice()).toBe('cpu');
    });

    test('a bad value is a RangeError naming the variable', () => {
      process.env.TENSORKERN_DEVICE = 'gpu0';
      expectError(
        () => defaultDevice(),
        RangeError,
        'ERR_INVALID_ARG_VALUE',
        `Expected 'auto', 'cpu', 'cuda' or 'cuda:N' for TENSORKERN_DEVICE but received "gpu0"`,
      );
    });

    const noGpu = gpuSkipReason();
    testIf(noGpu !== null, 'TENSORKERN_DEVICE=cuda without a GPU: a GPU is present')(
      'cuda without a GPU is an error, never a silent CPU run',
      () => {
        process.env.TENSORKERN_DEVICE = 'cuda';
        expectError(
          () => defaultDevice(),
          TensorkernError,
          'ERR_TK_NO_GPU',
          `TENSORKERN_DEVICE asks for 'cuda', but no GPU can be used: ${whyNoGpu()}`,
        );
        process.env.TENSORKERN_DEVICE = 'cuda:3';
        expectError(() => defaultDevice(), TensorkernError, 'ERR_TK_NO_GPU', /TENSORKERN_DEVICE asks for 'cuda:3', but no GPU can be used/);
      },
    );
  });
});

describe('without a GPU', () => {
  const reason = gpuSkipReason();
  if (reason === null) {
    printSkip('CPU-only device behaviour: a GPU is present (test/gpu/ covers it)');
    return;
  }
  test('the default device is the CPU and whyNoGpu says why', () => {
    if (process.env.TENSORKERN_DEVICE === undefined) expect(defaultDevice()).toBe('cpu');
    expect(devices().filter((d) => d.kind === 'cuda')).toEqual([]);
    expect(whyNoGpu()).toMatch(/built without CUDA|no NVIDIA driver|no CUDA device|driver supports CUDA|no usable CUDA device/);
  });
  test('asking for cuda explicitly fails with ERR_TK_NO_GPU', async () => {
    expectError(
      () => Tensor.from([1, 2], [2], { device: 'cuda' }),
      TensorkernError,
      'ERR_TK_NO_GPU',
      `options.device asks for 'cuda', but no GPU can be used: ${whyNoGpu()}`,
    );
    expectError(() => Tensor.zeros([2], { device: 'cuda:1' }), TensorkernError, 'ERR_TK_NO_GPU', /options\.device asks for 'cuda:1'/);
    await expect(Tensor.zeros([2]).to('cuda')).rejects.toMatchObject({ code: 'ERR_TK_NO_GPU' });
  });
});
