/** Unit tests (pure logic) and integration tests (real Temporal, Docker, PostgreSQL). */
const transform = { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] };

module.exports = {
  // Applies to every project: integration tests drive real sandboxes and workflows.
  testTimeout: 240000,
  projects: [
    {
      displayName: 'unit',
      testEnvironment: 'node',
      testMatch: ['<rootDir>/test/unit/**/*.test.ts'],
      transform,
    },
    {
      displayName: 'integration',
      testEnvironment: 'node',
      testMatch: ['<rootDir>/test/integration/**/*.test.ts'],
      transform,
      globalSetup: '<rootDir>/test/integration/globalSetup.ts',
    },
    {
      // Real workflows on the running Temporal dev server, every activity stubbed.
      displayName: 'workflow',
      testEnvironment: 'node',
      testMatch: ['<rootDir>/test/workflows/**/*.test.ts'],
      transform,
    },
  ],
};
