/** End-to-end suites: run by `npm run test:e2e` (e2e/run.sh) against the stack of e2e/cluster. */
module.exports = {
  rootDir: '..',
  testEnvironment: 'node',
  roots: ['<rootDir>/e2e'],
  // This file's suites only (e2e/*.e2e.test.ts); other folders under e2e/ run their own.
  testMatch: ['<rootDir>/e2e/*.e2e.test.ts'],
  // `npm run typecheck` (tsc) type-checks e2e/; ts-jest only transpiles.
  transform: { '^.+\\.ts$': ['ts-jest', { diagnostics: false }] },
  // One stack, one Flagger: suites run one after another.
  maxWorkers: 1,
  testTimeout: 240_000,
};
