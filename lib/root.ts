// The package root: the nearest folder above this file whose package.json is tensorkern's (lib/ when
// run from source, dist/lib/ when built).
import * as fs from 'fs';
import * as path from 'path';

function findRoot(): string {
  let dir = __dirname;
  for (;;) {
    const pj = path.join(dir, 'package.json');
    if (fs.existsSync(pj)) {
      try {
        if ((JSON.parse(fs.readFileSync(pj, 'utf8')) as { name?: string }).name === 'tensorkern') return dir;
      } catch {
        // not ours: keep looking
      }
    }
    const up = path.dirname(dir);
    if (up === dir) return path.join(__dirname, '..');
    dir = up;
  }
}

export const PACKAGE_ROOT: string = findRoot();

/** The package's version (package.json). */
export const PACKAGE_VERSION: string = (JSON.parse(fs.readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string })
  .version;
