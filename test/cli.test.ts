// `tensorkern info` reports this machine as the OS sees it.
import * as fs from 'fs';
import * as path from 'path';
import { spawnSync } from 'child_process';
import { ROOT } from './helpers/child';
import { devices, whyNoGpu, CpuDeviceInfo } from '../lib';
import { cpuLabel } from '../lib/device';

const cli = path.join(ROOT, 'dist', 'lib', 'cli', 'main.js');
function run(...args: string[]) {
  return spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', cwd: ROOT });
}

test('info prints the binary, CPU, threads, default device and why no GPU', () => {
  const r = run('info');
  expect(r.status).toBe(0);
  const cpu = devices()[0] as CpuDeviceInfo;
  expect(r.stdout).toContain(`cpu:      ${cpuLabel(cpu)} (`);
  expect(r.stdout).toContain(`kernels: ${cpu.bestIsa}; threads: ${cpu.threads}`);
  expect(r.stdout).toMatch(/native: {3}\/.*\.node/);
  const why = whyNoGpu();
  if (why) expect(r.stdout).toContain(`no GPU:   ${why}`);
  if (fs.existsSync('/proc/cpuinfo')) {
    // What lscpu shows is there to compare with; CPUID's brand string too, where the two differ (VMs).
    const model = fs
      .readFileSync('/proc/cpuinfo', 'utf8')
      .match(/^(?:model name|Model)\s*:\s*(.*)$/m)?.[1]
      ?.trim();
    if (model) expect(r.stdout).toContain(`cpu:      ${model}`);
  }
  if (cpu.brand && cpu.brand !== cpu.name) expect(r.stdout).toContain(`[CPUID: ${cpu.brand}]`);
});

test('info --json is machine-readable', () => {
  const r = run('info', '--json');
  expect(r.status).toBe(0);
  const j = JSON.parse(r.stdout);
  expect(j.devices[0].kind).toBe('cpu');
  expect(j.node).toBe(process.versions.node);
  expect(typeof j.native.file).toBe('string');
});

test('unknown commands fail with usage', () => {
  const r = run('frobnicate');
  expect(r.status).toBe(2);
  expect(r.stderr).toContain('unknown command "frobnicate"');
  expect(r.stderr).toContain('Usage: tensorkern');
});
