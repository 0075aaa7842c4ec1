// `npm run replay:record`: records the histories test/integration/replay.test.ts replays (not part of npm test).
const path = require('node:path');

/** @type {import('jest').Config} */
module.exports = {
  rootDir: path.join(__dirname, '..', '..'),
  testTimeout: 300_000,
  maxWorkers: 1,
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] },
  testMatch: ['<rootDir>/test/replay/record-histories.test.ts'],
  modulePathIgnorePatterns: ['<rootDir>/lib/'],
  globalSetup: '<rootDir>/test/harness/global-setup.ts',
  globalTeardown: '<rootDir>/test/harness/global-teardown.ts',
};
