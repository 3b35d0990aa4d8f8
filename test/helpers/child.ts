// Runs a snippet of JS in a fresh node process against the built package (dist/), for behaviour that
// depends on the environment at load time.
import { spawnSync } from 'child_process';
import * as path from 'path';

export const ROOT = path.join(__dirname, '..', '..');

export function runNode(
  code: string,
  env: Record<string, string | undefined> = {},
  args: string[] = [],
): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [...args, '-e', code], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    encoding: 'utf8',
    timeout: 120000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
