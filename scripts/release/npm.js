// The npm CLI this node came with, for scripts that run npm as a child (under `npm run` its own path is in
// npm_execpath). Shared by scripts/release/ and test/install.test.ts.
'use strict';
const fs = require('fs');
const path = require('path');

function npmCli() {
  const candidates = [
    process.env.npm_execpath,
    path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'bin', 'npm-cli.js'),
  ];
  const found = candidates.find((c) => c && c.endsWith('.js') && fs.existsSync(c));
  if (!found) throw new Error(`cannot find npm-cli.js (looked at ${candidates.filter(Boolean).join(', ')})`);
  return found;
}

module.exports = { npmCli };
