// Two tiers (STYLE.md "Tests"), one run: `npm test` runs both and prints one summary line.
// - unit: pure logic, next to the code (src/**/*.spec.ts). No database, no global setup:
//   `npm run test:unit` runs in seconds and never starts Postgres.
// - e2e: test/**/*.e2e-spec.ts boot the real AppModule against real Postgres (DATABASE_URL,
//   else an embedded cluster the global setup starts once), a fresh database per file.
// Jest runs a project's globalSetup only when at least one of its tests is selected.
const ESM_ONLY = ['@nestjs', 'jose', 'file-type'];
const shared = {
  testEnvironment: 'node',
  rootDir: __dirname,
  transform: {
    '^.+\\.ts$': ['ts-jest', { diagnostics: false }],
    '^.+\\.m?js$': '<rootDir>/test/setup/esm-to-cjs.js',
  },
  // Only the ES-module-only packages are rewritten (see test/setup/esm-to-cjs.js).
  transformIgnorePatterns: [`/node_modules/(?!(${ESM_ONLY.join('|')})/)`],
  setupFiles: ['reflect-metadata'],
};

module.exports = {
  projects: [
    { ...shared, displayName: 'unit', testMatch: ['<rootDir>/src/**/*.spec.ts'] },
    {
      ...shared,
      displayName: 'e2e',
      testMatch: ['<rootDir>/test/**/*.e2e-spec.ts'],
      globalSetup: '<rootDir>/test/setup/global-setup.ts',
      globalTeardown: '<rootDir>/test/setup/global-teardown.ts',
    },
  ],
  // Run-wide options (Jest reads these at the top level only).
  reporters: ['default', '<rootDir>/test/setup/summary-reporter.js'],
  maxWorkers: 2,
  testTimeout: 60000,
};
