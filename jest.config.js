/** @type {import('jest').Config} */
module.exports = {
  preset: 'ts-jest',
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // Native work is CPU-bound and the machine has 2 cores: two suites at a time.
  maxWorkers: 2,
  testTimeout: 60000,
  verbose: false,
};
