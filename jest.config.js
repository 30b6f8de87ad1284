/** Unit tests only: the end-to-end suites run from `npm run test:e2e`. */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // Type checking happens once in `npm run build` (tsc); ts-jest only transpiles.
  transform: {
    '^.+\\.ts$': ['ts-jest', { diagnostics: false }],
  },
  snapshotFormat: { escapeString: false, printBasicPrototype: false },
};
