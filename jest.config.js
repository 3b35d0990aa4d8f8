/** @type {import('jest').Config} */
module.exports = {
  preset: 'ts-jest',
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // Native work is CPU-bound and the machine has 2 cores: two suites at a time. `npm test` runs
  // test/event-loop.test.ts on its own afterwards (timer latency measured beside another suite's
  // compute is that suite's, not the library's).
  maxWorkers: 2,
  testTimeout: 60000,
  verbose: false,
};
