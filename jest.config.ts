import { existsSync } from 'node:fs';
import type { Config } from 'jest';

// Tests run against the TypeScript sources; test/packaging checks the built dist/ files.
const config: Config = {
  testEnvironment: 'node',
  roots: ['packages', 'test', 'examples']
    .filter((dir) => existsSync(dir))
    .map((dir) => `<rootDir>/${dir}`),
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/test/tsconfig.json' }],
  },
  moduleNameMapper: {
    // Sources import siblings as './x.js' (what Node's ESM needs after the build).
    '^(\\.{1,2}/.*)\\.js$': '$1',
    '^@restash/(core|express|koa)$': '<rootDir>/packages/$1/src/index.ts',
  },
  globalSetup: '<rootDir>/test/harness/global-setup.ts',
  globalTeardown: '<rootDir>/test/harness/global-teardown.ts',
  testTimeout: 20_000,
  maxWorkers: 2,
};

export default config;
