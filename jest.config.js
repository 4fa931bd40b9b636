/** Unit tests (pure logic) and integration tests (real Temporal, Docker, PostgreSQL). */
const transform = { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] };

module.exports = {
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
      testTimeout: 240000,
    },
  ],
};
