#!/usr/bin/env node
// Runs every fuzzer for N seconds each, one at a time, and prints executions, coverage and findings
// per target; exits 1 on a finding. `npm run fuzz -- --seconds 60 [--only spmm,csr]`.
//   native (libFuzzer + ASan + UBSan, built by scripts/fuzz-build-native.sh; skipped with the reason
//     printed when clang / libFuzzer cannot be had): tensor_view, spmm
//   JavaScript (Jazzer.js, coverage-guided libFuzzer in-process): matrix_market, int4_weights, csr
// Seeds: fuzz/corpus/<target>/ (committed). What the fuzzers add goes to fuzz/work/<target>/, crash
// reproducers to fuzz/findings/<target>/ (both git-ignored). Reproduce one with
//   fuzz/build/native/fuzz_<target> <file>        or   npx jazzer fuzz/js/<target>.js <file> --sync
'use strict';
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');

const root = path.join(__dirname, '..');
process.chdir(root);
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : dflt;
};
const seconds = Number(opt('seconds', '60'));
if (!(seconds > 0)) {
  console.error('fuzz: --seconds must be a positive number');
  process.exit(2);
}
const only = opt('only', '').split(',').filter(Boolean);

const TARGETS = [
  { name: 'tensor_view', kind: 'native' },
  { name: 'spmm', kind: 'native' },
  { name: 'matrix_market', kind: 'js', dict: 'fuzz/dict/matrix_market.dict' },
  { name: 'int4_weights', kind: 'js' },
  { name: 'csr', kind: 'js' },
].filter((t) => only.length === 0 || only.includes(t.name));

const skip = {};
if (TARGETS.some((t) => t.kind === 'native')) {
  const b = spawnSync('bash', ['scripts/fuzz-build-native.sh'], { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });
  process.stdout.write(b.stdout);
  if (b.status === 3) skip.native = (b.stdout.match(/SKIP native harnesses: (.*)/) || [])[1] || 'clang / libFuzzer missing';
  else if (b.status !== 0) {
    console.error('fuzz: building the native harnesses failed');
    process.exit(1);
  }
}
if (TARGETS.some((t) => t.kind === 'js')) {
  if (!fs.existsSync('dist/lib/index.js')) spawnSync('npm', ['run', 'build:ts'], { stdio: 'inherit' });
  const g = spawnSync(process.execPath, ['fuzz/js/glibc-compat.js'], { stdio: ['ignore', 'inherit', 'pipe'], encoding: 'utf8' });
  process.stderr.write(g.stderr);
  if (g.status !== 0) skip.js = `Jazzer.js does not load here (${g.stderr.trim().split('\n').pop()})`;
}

const results = [];
for (const t of TARGETS) {
  if (skip[t.kind]) {
    results.push({ name: t.name, kind: t.kind, skipped: skip[t.kind] });
    continue;
  }
  const work = `fuzz/work/${t.name}`,
    findings = `fuzz/findings/${t.name}/`,
    corpus = `fuzz/corpus/${t.name}`;
  for (const d of [work, findings, corpus]) fs.mkdirSync(d, { recursive: true });
  const before = new Set(fs.readdirSync(findings));
  const lf = [`-max_total_time=${seconds}`, '-rss_limit_mb=2048', `-artifact_prefix=${findings}`, '-print_final_stats=1'];
  if (t.dict) lf.push(`-dict=${t.dict}`);
  const cmd =
    t.kind === 'native'
      ? [`fuzz/build/native/fuzz_${t.name}`, [work, corpus, '-timeout=10', ...lf]]
      : [
          process.execPath,
          [require.resolve('@jazzer.js/core/dist/cli.js'), `fuzz/js/${t.name}.js`, work, corpus, '--sync', '--timeout=10000', '--', ...lf],
        ];
  console.log(`\n== fuzz ${t.name} (${t.kind}) for ${seconds} s: ${[cmd[0], ...cmd[1]].join(' ')}`);
  const start = Date.now();
  const r = spawnSync(cmd[0], cmd[1], { encoding: 'utf8', maxBuffer: 1 << 30, timeout: (seconds + 120) * 1000 });
  const out = `${r.stdout || ''}${r.stderr || ''}`;
  fs.writeFileSync(`fuzz/work/${t.name}.log`, out);
  const num = (re) => {
    const m = out.match(re);
    return m ? Number(m[1]) : undefined;
  };
  const covs = [...out.matchAll(/cov: (\d+) ft: (\d+)/g)];
  const last = covs[covs.length - 1];
  const execs = num(/stat::number_of_executed_units: (\d+)/) ?? num(/Done (\d+) runs/);
  const newFiles = fs.readdirSync(findings).filter((f) => !before.has(f));
  const res = {
    name: t.name,
    kind: t.kind,
    seconds: Math.round((Date.now() - start) / 1000),
    execs,
    execsPerSec: execs !== undefined ? Math.round(execs / Math.max(1, seconds)) : undefined,
    cov: last ? Number(last[1]) : undefined,
    ft: last ? Number(last[2]) : undefined,
    corpus: fs.readdirSync(work).length,
    findings: newFiles.map((f) => findings + f),
    status: r.status,
    signal: r.signal,
  };
  res.failed = newFiles.length > 0 || r.status !== 0;
  if (res.failed) {
    const why = out
      .split('\n')
      .filter((l) => /FINDING|ERROR:|runtime error|Uncaught Exception|finding:|SUMMARY/.test(l))
      .slice(0, 6)
      .join('\n');
    console.log(why || out.split('\n').slice(-20).join('\n'));
  }
  results.push(res);
}

console.log('\n== fuzz summary');
console.log('target         kind    execs        execs/s  cov    ft     corpus  findings');
for (const r of results) {
  if (r.skipped) {
    console.log(`${r.name.padEnd(14)} ${r.kind.padEnd(7)} SKIPPED: ${r.skipped}`);
    continue;
  }
  console.log(
    `${r.name.padEnd(14)} ${r.kind.padEnd(7)} ${String(r.execs ?? '?').padEnd(12)} ${String(r.execsPerSec ?? '?').padEnd(8)} ${String(r.cov ?? '?').padEnd(6)} ${String(r.ft ?? '?').padEnd(6)} ${String(r.corpus).padEnd(7)} ${r.failed ? r.findings.join(' ') || `exit ${r.status ?? r.signal} (see fuzz/work/${r.name}.log)` : 'none'}`,
  );
}
fs.mkdirSync('fuzz/work', { recursive: true });
fs.writeFileSync('fuzz/work/summary.json', JSON.stringify({ date: new Date().toISOString(), seconds, results }, null, 2));
process.exit(results.some((r) => r.failed) ? 1 : 0);
