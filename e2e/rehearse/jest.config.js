/** The rehearsal's scenarios (e2e/rehearse/*.e2e.test.ts): a project of `npm run test:e2e`. */
module.exports = {
  displayName: 'rehearse',
  rootDir: '../..',
  testEnvironment: 'node',
  roots: ['<rootDir>/e2e/rehearse'],
  testMatch: ['<rootDir>/e2e/rehearse/*.e2e.test.ts'],
  // tsc type-checks e2e/ in `npm run build`; ts-jest only transpiles.
  transform: { '^.+\\.ts$': ['ts-jest', { diagnostics: false }] },
  // Scenarios run in order on one Canary; each sets its own timeout.
  testTimeout: 420_000,
};
