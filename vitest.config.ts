import { defineConfig } from 'vitest/config';

// The project's own tests. Checker files are not run from here: the runner runs them
// against exercises/ and solutions/ from the curriculum tests.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
