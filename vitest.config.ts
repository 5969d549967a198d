import { defineConfig } from 'vitest/config';

// The project's own tests. Checker files are not run from here: the runner runs them
// against exercises/ and solutions/ from the curriculum tests.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Fixture workbooks hold checker files of their own, graded by the CLI tests.
    exclude: ['test/fixtures/**', 'node_modules/**'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
