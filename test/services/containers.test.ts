import { describe, expect, it } from 'vitest';
import { testcontainersRuntime } from '../../src/services/index.ts';

describe('the Testcontainers runtime probe', () => {
  // This machine has no container engine. The explicit limit is a guard against a probe that
  // hangs instead of answering, not a measurement.
  it('answers false when no container engine runs', { timeout: 10_000 }, async () => {
    expect(await testcontainersRuntime.available()).toBe(false);
  });
});
