#!/usr/bin/env node
// Prints one list from native/sources.json, space-separated, for binding.gyp's <!@(...) expansions:
//   node scripts/sources.js core | napi | avx2 | avx512 | neon | no_cuda | flags:avx2 | ...
'use strict';
const path = require('path');
const src = require(path.join(__dirname, '..', 'native', 'sources.json'));
const key = process.argv[2] || '';
const list = key.startsWith('flags:') ? src.isa_flags[key.slice(6)] : src[key];
if (!Array.isArray(list)) {
  console.error(`scripts/sources.js: no list named "${key}" in native/sources.json`);
  process.exit(1);
}
process.stdout.write(list.join(' '));
