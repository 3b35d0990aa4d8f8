// When no binary can be loaded, the error says what was looked for, where, and what to do.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { TensorkernError } from '../lib';
import { loadBinding, loadRemedies, nativeFile } from '../lib/binding';
import { PLATFORM_PACKAGES, cpuOnlyReason, packageOf, packagesFor, preferCuda, targetName } from '../lib/platform';

function tmp(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'tk-loader-'));
}

function loadError(root: string, env: NodeJS.ProcessEnv = {}): TensorkernError {
  try {
    loadBinding(root, env);
  } catch (e) {
    return e as TensorkernError;
  }
  throw new Error('loadBinding succeeded');
}

describe('native addon loading', () => {
  test('nothing to load: names platform, arch, libc, Node, the folders searched, and the fixes', () => {
    const root = tmp();
    const e = loadError(root);
    expect(e).toBeInstanceOf(TensorkernError);
    expect(e.code).toBe('ERR_TK_NATIVE_LOAD');
    expect(e.message).toContain('tensorkern could not load its native addon.');
    expect(e.message).toContain(`platform ${process.platform}, arch ${process.arch}, libc `);
    expect(e.message).toContain(`Node ${process.versions.node}`);
    expect(e.message).toContain(
      `Looked in ${path.join(root, 'build', 'Release')} (a source build) and ${path.join(root, 'prebuilds', `${process.platform}-${process.arch}`)}`,
    );
    expect(e.message).toContain('npm rebuild tensorkern --ignore-scripts=false');
    expect(e.message).toContain('TENSORKERN_BINARY');
    if (process.platform === 'linux') expect(e.message).toMatch(/libc (glibc \d+\.\d+|musl)/);
  });

  test('a binary that fails to load: names the file and the loader error', () => {
    const root = tmp();
    const dir = path.join(root, 'prebuilds', `${process.platform}-${process.arch}`);
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'tensorkern.node'), 'not an ELF file');
    const e = loadError(root);
    expect(e.code).toBe('ERR_TK_NATIVE_LOAD');
    expect(e.message).toContain(`Found ${path.join(dir, 'tensorkern.node')}, but loading it failed: `);
    expect(e.message).toMatch(/invalid ELF header|file too short|not a valid/);
  });

  test('TENSORKERN_BINARY pointing nowhere', () => {
    const e = loadError(tmp(), { TENSORKERN_BINARY: '/nonexistent/tk.node' });
    expect(e.message).toContain(
      'Found /nonexistent/tk.node, but loading it failed: TENSORKERN_BINARY points at /nonexistent/tk.node, which does not exist',
    );
  });

  test('TENSORKERN_BINARY loads the given file', () => {
    const r = loadBinding(tmp(), { TENSORKERN_BINARY: nativeFile });
    expect(r.file).toBe(nativeFile);
    expect(typeof r.binding.runtime.probe().cpu.brand).toBe('string');
  });

  describe('platform packages (linux-x64 glibc)', () => {
    const x64 = process.platform === 'linux' && process.arch === 'x64';
    const t = x64 ? test : test.skip;
    if (!x64)
      console.log(
        `SKIP the platform-package loader tests: they install linux-x64-gnu packages, this is ${process.platform}-${process.arch}`,
      );

    /** A package root with tensorkern's version and the named platform packages under node_modules, each holding `binary`. */
    function withPackages(pkgs: { name: string; version?: string; binary?: string }[]): string {
      const root = tmp();
      fs.writeFileSync(path.join(root, 'package.json'), JSON.stringify({ name: 'tensorkern', version: '9.9.9' }));
      for (const p of pkgs) {
        const dir = path.join(root, 'node_modules', ...p.name.split('/'));
        fs.mkdirSync(dir, { recursive: true });
        fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: p.name, version: p.version ?? '9.9.9' }));
        if (p.binary === 'garbage') fs.writeFileSync(path.join(dir, 'tensorkern.node'), 'not an ELF file');
        else fs.copyFileSync(p.binary ?? nativeFile, path.join(dir, 'tensorkern.node'));
      }
      return root;
    }
    const cpu = '@tensorkern/linux-x64-gnu';
    const cuda = '@tensorkern/linux-x64-gnu-cuda';
    const fileOf = (root: string, name: string) => path.join(root, 'node_modules', ...name.split('/'), 'tensorkern.node');

    t('the installed CPU package is loaded before build/ and prebuilds/', () => {
      const root = withPackages([{ name: cpu }]);
      expect(loadBinding(root, { TENSORKERN_VARIANT: 'auto' }).file).toBe(fileOf(root, cpu));
      expect(packageOf(fileOf(root, cpu))?.name).toBe(cpu);
    });

    t('TENSORKERN_VARIANT picks the CUDA or the CPU build when both are installed', () => {
      const root = withPackages([{ name: cpu }, { name: cuda }]);
      expect(loadBinding(root, { TENSORKERN_VARIANT: 'cuda' }).file).toBe(fileOf(root, cuda));
      expect(loadBinding(root, { TENSORKERN_VARIANT: 'cpu' }).file).toBe(fileOf(root, cpu));
      expect(() => loadBinding(root, { TENSORKERN_VARIANT: 'gpu' })).toThrow(
        `TENSORKERN_VARIANT must be 'auto', 'cpu' or 'cuda', got "gpu"`,
      );
    });

    t('a CUDA build that does not load gives way to the CPU build', () => {
      const root = withPackages([{ name: cpu }, { name: cuda, binary: 'garbage' }]);
      expect(loadBinding(root, { TENSORKERN_VARIANT: 'cuda' }).file).toBe(fileOf(root, cpu));
    });

    t('a package of another version is passed over, and the error says so with the fixes', () => {
      const root = withPackages([
        { name: cpu, version: '1.0.0' },
        { name: cuda, binary: 'garbage' },
      ]);
      const e = loadError(root, { TENSORKERN_VARIANT: 'cuda' });
      expect(e.code).toBe('ERR_TK_NATIVE_LOAD');
      expect(e.message).toContain(`${cuda} failed to load ${fileOf(root, cuda)}: `);
      expect(e.message).toContain(
        `${cpu} ${path.join(root, 'node_modules', '@tensorkern', 'linux-x64-gnu')} is version 1.0.0, tensorkern 9.9.9 needs 9.9.9`,
      );
      expect(e.message).toContain(`add it: \`npm install ${cpu}@9.9.9\``);
      expect(e.message).toContain('npm rebuild tensorkern --ignore-scripts=false');
    });

    t('whyNoGpu for a CPU-only build names the CUDA package to install, with or without a driver', () => {
      const file = '/x/node_modules/@tensorkern/linux-x64-gnu/tensorkern.node';
      expect(cpuOnlyReason(file, '9.9.9', false)).toBe(
        `the loaded tensorkern binary is the CPU-only build (${cpu}), and no NVIDIA driver was found (/proc/driver/nvidia/version); ` +
          `on a machine with an NVIDIA GPU, install the CUDA build with \`npm install ${cuda}@9.9.9\``,
      );
      expect(cpuOnlyReason(file, '9.9.9', true)).toContain(`an NVIDIA driver is present (/proc/driver/nvidia/version), but the loaded`);
      expect(cpuOnlyReason(file, '9.9.9', true)).toContain(`install the CUDA build with \`npm install ${cuda}@9.9.9\``);
    });
  });

  test("the fixes the load error gives: the platform package, or the source build (with Alpine's packages on musl)", () => {
    const gnu = loadRemedies('9.9.9', { platform: 'linux', arch: 'arm64', libc: 'glibc' }).join('\n');
    expect(gnu).toContain('`npm install tensorkern` installs @tensorkern/linux-arm64-gnu by itself');
    expect(gnu).toContain('add it: `npm install @tensorkern/linux-arm64-gnu@9.9.9`');
    expect(gnu).toContain('npm rebuild tensorkern --ignore-scripts=false');
    expect(gnu).not.toContain('apk add');
    const musl = loadRemedies('9.9.9', { platform: 'linux', arch: 'x64', libc: 'musl' }).join('\n');
    expect(musl).toContain('No prebuilt binary is published for linux-x64-musl (prebuilt: linux-x64-gnu, linux-arm64-gnu)');
    expect(musl).toContain('on Alpine: `apk add build-base python3 linux-headers`');
    expect(musl).toContain('npm rebuild tensorkern --ignore-scripts=false');
    expect(loadRemedies('9.9.9', { platform: 'darwin', arch: 'arm64' }).join('\n')).toContain(
      'No prebuilt binary is published for darwin-arm64',
    );
  });

  test('which packages fit which machine', () => {
    const names = (platform: NodeJS.Platform, arch: string, libc?: 'glibc' | 'musl', cudaFirst = false) =>
      packagesFor({ platform, arch, libc }, cudaFirst).map((p) => p.name);
    expect(names('linux', 'x64', 'glibc')).toEqual(['@tensorkern/linux-x64-gnu', '@tensorkern/linux-x64-gnu-cuda']);
    expect(names('linux', 'x64', 'glibc', true)).toEqual(['@tensorkern/linux-x64-gnu-cuda', '@tensorkern/linux-x64-gnu']);
    expect(names('linux', 'arm64', 'glibc', true)).toEqual(['@tensorkern/linux-arm64-gnu']);
    expect(names('linux', 'x64', 'musl')).toEqual([]);
    expect(names('darwin', 'arm64')).toEqual([]);
    expect(targetName({ platform: 'linux', arch: 'arm64', libc: 'musl' })).toBe('linux-arm64-musl');
    expect(targetName({ platform: 'darwin', arch: 'arm64' })).toBe('darwin-arm64');
    expect(PLATFORM_PACKAGES.every((p) => p.name.startsWith('@tensorkern/'))).toBe(true);
    expect(preferCuda({}, () => true)).toBe(true);
    expect(preferCuda({ TENSORKERN_VARIANT: 'auto' }, () => false)).toBe(false);
    expect(preferCuda({ TENSORKERN_VARIANT: 'cpu' }, () => true)).toBe(false);
  });
});
