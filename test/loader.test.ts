// When no binary can be loaded, the error says what was looked for, where, and what to do.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { TensorkernError } from '../lib';
import { loadBinding, nativeFile } from '../lib/binding';

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
});
