// Three tiers, one run: `npm test` runs all three and prints one summary line (README
// "Development"). Each is also a project of its own: `npm run test:unit|test:medium|test:system`.
// - unit: pure logic, next to the code (src/**/*.spec.ts), and the BI fakes' own specs
//   (test/fakes/*.spec.ts). No database, no global setup: runs in seconds, never starts Postgres.
// - medium: test/medium/*.medium-spec.ts, in this process against real Postgres (DATABASE_URL,
//   else an embedded cluster the global setup starts once), a fresh database per file copied
//   from a migrated template. Repository and SQL specs boot only the module under test with
//   the config and database modules (test/setup/module.ts); HTTP specs boot the real AppModule
//   and speak to it with supertest (test/setup/app.ts): the production request pipeline, in
//   this process, so they sit here and not with the specs that start processes.
// - system: test/system/*.system-spec.ts, anything beyond this process: service processes and
//   CLIs (spawn/execFile), an embedded Postgres stopped and started, Chromium (playwright-core),
//   the production image's build steps, the README's shell block, docker-compose.yml.
// Jest runs a project's globalSetup only when at least one of its tests is selected.
const fs = require('node:fs');
const path = require('node:path');

// A spec named for the old layout (*.e2e-spec.ts; git moves one added on another branch into
// test/medium/ on rebase) matches no project and would silently not run: refuse to start.
const stray = fs
  .readdirSync(path.join(__dirname, 'test'), { recursive: true })
  .filter((f) => String(f).endsWith('.e2e-spec.ts'));
if (stray.length) {
  throw new Error(`rename to test/medium/*.medium-spec.ts or test/system/*.system-spec.ts (README "Development"): ${stray.map((f) => `test/${f}`).join(', ')}`);
}

const ESM_ONLY = ['@nestjs', 'jose', 'file-type', '@scure', '@noble', '@otplib'];
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

// Postgres for the run: medium and system name the same globalSetup/globalTeardown files, and
// Jest runs each distinct file once per run (not once per project), so a run of both tiers
// starts one cluster.
const postgres = {
  globalSetup: '<rootDir>/test/setup/global-setup.ts',
  globalTeardown: '<rootDir>/test/setup/global-teardown.ts',
};

module.exports = {
  projects: [
    {
      ...shared,
      displayName: 'unit',
      testMatch: ['<rootDir>/src/**/*.spec.ts', '<rootDir>/test/fakes/**/*.spec.ts'],
    },
    { ...shared, ...postgres, displayName: 'medium', testMatch: ['<rootDir>/test/medium/**/*.medium-spec.ts'] },
    { ...shared, ...postgres, displayName: 'system', testMatch: ['<rootDir>/test/system/**/*.system-spec.ts'] },
  ],
  // Run-wide options (Jest reads these at the top level only).
  reporters: ['default', '<rootDir>/test/setup/summary-reporter.js'],
  // Every project's specs share the two workers, in Jest's own order: last run's failures,
  // then the longest by last run's times (by file size on a fresh clone). Starting the system
  // tier first instead ran two process-heavy specs side by side on the 2 cores, and a
  // service start-up that has 30 s to fail ran out of time.
  maxWorkers: 2,
  testTimeout: 60000,
};
