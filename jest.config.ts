import { existsSync } from 'node:fs';
import type { Config } from 'jest';

const moduleNameMapper = {
  // Sources import siblings as './x.js' (what Node's ESM needs after the build).
  '^(\\.{1,2}/.*)\\.js$': '$1',
  '^@restash/(core|express|koa)$': '<rootDir>/packages/$1/src/index.ts',
};

// Tests run against the TypeScript sources; test/packaging checks the built dist/ files.
const project = {
  testEnvironment: 'node',
  roots: ['packages', 'test', 'examples']
    .filter((dir) => existsSync(dir))
    .map((dir) => `<rootDir>/${dir}`),
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/test/tsconfig.json' }],
  },
  moduleNameMapper,
};

const config: Config = {
  projects: [
    { ...project, displayName: 'ioredis 5' },
    // ioredis is a peer dependency (^5 || ^6): the store, tracking and cluster suites also run
    // with every `ioredis` import — the store's own and the harness's — resolving to ioredis 6,
    // which speaks RESP3 by default. A subset, to keep the suite's time in bounds.
    {
      ...project,
      displayName: 'ioredis 6',
      testMatch: [
        '<rootDir>/packages/core/test/store-contract.test.ts',
        '<rootDir>/packages/core/test/tracking.test.ts',
        '<rootDir>/test/cluster/cluster-store.test.ts',
      ],
      moduleNameMapper: {
        '^ioredis$': '<rootDir>/node_modules/ioredis6',
        ...moduleNameMapper,
      },
    },
  ],
  testSequencer: '<rootDir>/test/harness/sequencer.mjs',
  globalSetup: '<rootDir>/test/harness/global-setup.ts',
  globalTeardown: '<rootDir>/test/harness/global-teardown.ts',
  testTimeout: 20_000,
  // Most files wait on Redis, on sleeps and on other processes rather than compute: four
  // workers finish in about half the time of two on a 2-core machine.
  maxWorkers: 4,
};

export default config;
