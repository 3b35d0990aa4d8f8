#!/usr/bin/env node
// The prebuilt libFuzzer addon of @jazzer.js/fuzzer 4.0.0 (linux-x64) was built on a newer system
// than Debian 12 (glibc 2.36, GCC 12's libstdc++) and asks for three symbols that those lack:
//   __isoc23_strtol, __isoc23_strtoul @GLIBC_2.38: C23 strtol/strtoul (which only add "0b" prefixes;
//     libFuzzer reads its flags with them) -> plain strtol / strtoul @GLIBC_2.2.5;
//   _ZSt21ios_base_library_initv @GLIBCXX_3.4.32: GCC 13's <iostream> only *references* it (an
//     `.globl` with no relocation, never called) so that the binary needs a libstdc++ that initializes
//     the standard streams itself; the old libstdc++ does so through std::ios_base::Init objects,
//     which node's own libstdc++ users construct -> the reference is renamed to std::ios_base::Init's
//     constructor @GLIBCXX_3.4.
// dlopen otherwise fails with "version `GLIBC_2.38' not found". This rewrites those references in the
// addon's dynamic string table and version-needs table, keeping the original beside it (.orig). It
// does nothing when the addon loads as it is, or on other platforms.
//   node fuzz/js/glibc-compat.js        exit 0: the addon is usable; 1: it cannot be made so (printed)
'use strict';
const fs = require('fs');
const path = require('path');

function elfHash(s) {
  let h = 0;
  for (const ch of Buffer.from(s)) {
    h = ((h << 4) + ch) >>> 0;
    const g = h & 0xf0000000;
    if (g) h ^= g >>> 24;
    h &= ~g >>> 0;
  }
  return h >>> 0;
}

const VERSIONS = { 'GLIBC_2.38': 'GLIBC_2.2.5', 'GLIBCXX_3.4.32': 'GLIBCXX_3.4' };
const SYMBOLS = [['__isoc23_strtoul', 'strtoul'], ['__isoc23_strtol', 'strtol'], ['_ZSt21ios_base_library_initv', '_ZNSt8ios_base4InitC1Ev']];

function patch(buf) {
  if (buf.readUInt32BE(0) !== 0x7f454c46 || buf[4] !== 2 || buf[5] !== 1) throw new Error('not a little-endian ELF64 file');
  const shoff = Number(buf.readBigUInt64LE(0x28)), shentsize = buf.readUInt16LE(0x3a), shnum = buf.readUInt16LE(0x3c);
  const sections = [];
  for (let i = 0; i < shnum; i++) {
    const o = shoff + i * shentsize;
    sections.push({ type: buf.readUInt32LE(o + 4), offset: Number(buf.readBigUInt64LE(o + 0x18)), size: Number(buf.readBigUInt64LE(o + 0x20)), link: buf.readUInt32LE(o + 0x28), info: buf.readUInt32LE(o + 0x2c) });
  }
  const verneed = sections.find((s) => s.type === 0x6ffffffe); // SHT_GNU_verneed
  if (!verneed) throw new Error('no .gnu.version_r section');
  const dynstr = sections[verneed.link];
  const str = (off) => { const a = dynstr.offset + off; return buf.toString('latin1', a, buf.indexOf(0, a)); };
  const strOffset = (s) => { // a string starting right after a NUL in .dynstr
    const hit = buf.subarray(dynstr.offset, dynstr.offset + dynstr.size).indexOf(Buffer.from(`\0${s}\0`, 'latin1'));
    return hit < 0 ? -1 : hit + 1;
  };
  let changed = 0;
  let vn = verneed.offset;
  for (let i = 0; i < verneed.info; i++) {
    const cnt = buf.readUInt16LE(vn + 2), aux0 = buf.readUInt32LE(vn + 8), next = buf.readUInt32LE(vn + 12);
    let va = vn + aux0;
    for (let j = 0; j < cnt; j++) {
      const to = VERSIONS[str(buf.readUInt32LE(va + 8))];
      if (to) {
        const base = strOffset(to);
        if (base < 0) throw new Error(`no ${to} string to point at`);
        buf.writeUInt32LE(elfHash(to), va);
        buf.writeUInt32LE(base, va + 8);
        changed++;
      }
      va += buf.readUInt32LE(va + 12);
    }
    vn += next;
  }
  for (const [from, to] of SYMBOLS) {
    const off = strOffset(from);
    if (off >= 0) {
      Buffer.from(`${to}\0`, 'latin1').copy(buf, dynstr.offset + off);
      changed++;
    }
  }
  return changed;
}

function main() {
  if (process.platform !== 'linux' || process.arch !== 'x64') return 0;
  let file;
  try {
    file = path.join(path.dirname(require.resolve('@jazzer.js/fuzzer/package.json')), 'prebuilds', 'fuzzer-linux-x64.node');
  } catch {
    console.error('glibc-compat: @jazzer.js/fuzzer is not installed (npm install)');
    return 1;
  }
  const tryLoad = () => { try { require(file); return null; } catch (e) { return e; } };
  const err = tryLoad();
  if (!err) return 0;
  if (!/GLIBC_2\.38|GLIBCXX_3\.4\.32/.test(String(err.message))) {
    console.error(`glibc-compat: the Jazzer.js addon does not load: ${err.message}`);
    return 1;
  }
  if (!fs.existsSync(file + '.orig')) fs.copyFileSync(file, file + '.orig');
  const buf = fs.readFileSync(file + '.orig');
  const n = patch(buf);
  fs.writeFileSync(file, buf);
  const again = tryLoad();
  if (again) {
    console.error(`glibc-compat: the Jazzer.js addon still does not load after the rewrite: ${again.message}`);
    return 1;
  }
  console.error(`glibc-compat: rewrote ${n} glibc 2.38 / libstdc++ 13 references of ${path.relative(process.cwd(), file)} (original kept as .orig)`);
  return 0;
}

if (require.main === module) process.exit(main());
module.exports = { patch, main };
