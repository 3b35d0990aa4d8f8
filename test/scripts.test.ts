// Each documented command does only what it says. npm runs `pre<name>` before and `post<name>` after any script
// `<name>` (a script once named "prebuild" made `npm run build` start the full CUDA prebuild first), and runs
// lifecycle scripts (install, prepare, ...) on its own: every such hook in package.json must be one we mean.
import * as fs from 'fs';
import * as path from 'path';
import { ROOT } from './helpers/child';

const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
const scripts = pkg.scripts;

/** The hooks we mean, and why. Anything else npm would run on its own is a mistake. */
const INTENDED: Record<string, string> = {
  pretest: 'npm test builds dist/ and type-checks the tests before jest runs',
  install:
    'scripts/install.js: nothing when a platform package or prebuilt binary fits (or npm installs for another platform), else the source build',
  prepare: 'dist/ for installs from a git checkout (npm runs it on `npm install` in a clone and before `npm pack`)',
};
const LIFECYCLE = [
  'preinstall',
  'install',
  'postinstall',
  'prepublish',
  'preprepare',
  'prepare',
  'postprepare',
  'prepublishOnly',
  'prepack',
  'postpack',
  'preversion',
  'version',
  'postversion',
  'dependencies',
];

test("no script is run as another script's pre/post hook unless intended", () => {
  for (const name of Object.keys(scripts)) {
    for (const hook of [`pre${name}`, `post${name}`]) {
      if (hook in scripts) expect([hook, INTENDED[hook] !== undefined]).toEqual([hook, true]);
    }
  }
  for (const name of Object.keys(scripts)) {
    const base = name.replace(/^(pre|post)/, '');
    // A name that looks like a hook ("prebuild") must be an intended one or have no script it would attach to.
    if (base !== name && base in scripts) expect([name, INTENDED[name] !== undefined]).toEqual([name, true]);
  }
});

test('npm lifecycle scripts are only the intended ones', () => {
  const present = LIFECYCLE.filter((l) => l in scripts);
  expect(present.filter((l) => !(l in INTENDED))).toEqual([]);
});

test('every `npm run` command README and docs/ document exists', () => {
  const docs = fs
    .readdirSync(path.join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => path.join(ROOT, 'docs', f));
  const readme = [path.join(ROOT, 'README.md'), ...docs].map((f) => fs.readFileSync(f, 'utf8')).join('\n');
  const documented = new Set([...readme.matchAll(/npm run ([\w:-]+)/g)].map((m) => m[1]));
  expect(documented.size).toBeGreaterThan(3);
  for (const d of documented) expect([d, d in scripts]).toEqual([d, true]);
});
