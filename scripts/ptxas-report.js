#!/usr/bin/env node
// Reads a build log made with TK_PTXAS_VERBOSE=1 and prints, per kernel and architecture, registers,
// stack and spills. Exits 1 when a kernel spills, unless its name matches ALLOWED_SPILLS (each entry
// with its reason).
'use strict';
const fs = require('fs');

const ALLOWED_SPILLS = [
  // { pattern: /some_kernel/, why: '...' },
];

const file = process.argv[2];
if (!file) {
  console.error('usage: ptxas-report.js <build log>');
  process.exit(2);
}
const lines = fs.readFileSync(file, 'utf8').split('\n');
const kernels = [];
let cur = null;
for (const line of lines) {
  let m = line.match(/Compiling entry function '([^']+)' for '(sm_\w+)'/);
  if (m) {
    cur = { name: m[1], arch: m[2], regs: 0, stack: 0, spillStores: 0, spillLoads: 0 };
    kernels.push(cur);
    continue;
  }
  if (!cur) continue;
  m = line.match(/(\d+) bytes stack frame, (\d+) bytes spill stores, (\d+) bytes spill loads/);
  if (m) {
    cur.stack = +m[1];
    cur.spillStores = +m[2];
    cur.spillLoads = +m[3];
  }
  m = line.match(/Used (\d+) registers/);
  if (m) cur.regs = +m[1];
}
if (kernels.length === 0) {
  console.error(`ptxas-report: no kernels in ${file} (was the build made with TK_PTXAS_VERBOSE=1 and nvcc present?)`);
  process.exit(1);
}
let bad = 0;
for (const k of kernels) {
  const spills = k.spillStores + k.spillLoads;
  const allowed = ALLOWED_SPILLS.find((a) => a.pattern.test(k.name));
  if (spills > 0 && !allowed) bad++;
}
const archs = [...new Set(kernels.map((k) => k.arch))];
console.log(`ptxas: ${kernels.length} kernel builds over ${archs.join(', ')}; max registers ${Math.max(...kernels.map((k) => k.regs))}`);
for (const k of kernels.filter((x) => x.spillStores + x.spillLoads > 0)) {
  const allowed = ALLOWED_SPILLS.find((a) => a.pattern.test(k.name));
  console.log(
    `  spill ${k.arch} ${k.name}: ${k.spillStores} B stores, ${k.spillLoads} B loads${allowed ? ` (allowed: ${allowed.why})` : ''}`,
  );
}
if (bad) {
  console.error(`ptxas: ${bad} kernel builds spill registers`);
  process.exit(1);
}
console.log('ptxas: no unexpected spills');
