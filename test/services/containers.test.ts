import { describe, expect, it } from 'vitest';
import { createTestcontainersRuntime, SERVER_SPECS, testcontainersRuntime } from '../../src/services/index.ts';
import type { ContainerBuilder, TestcontainersApi } from '../../src/services/index.ts';

describe('the Testcontainers runtime probe', () => {
  // This machine has no container engine. The explicit limit is a guard against a probe that
  // hangs instead of answering, not a measurement.
  it('answers false when no container engine runs', { timeout: 10_000 }, async () => {
    expect(await testcontainersRuntime.available()).toBe(false);
  });
});

interface Recorded {
  image: string;
  calls: string[];
  stops: number;
}

/**
 * A stand-in for the `testcontainers` module: no engine runs here, so what the runtime asks of
 * Testcontainers is recorded instead (image, exposed port, environment, command, wait strategy,
 * startup timeout), and the "container" answers on a mapped port.
 */
function fakeTestcontainers(engine: 'answers' | 'absent' | 'hangs', mappedPort = 49_153): TestcontainersApi<string> & { containers: Recorded[] } {
  const containers: Recorded[] = [];
  class FakeContainer implements ContainerBuilder<string> {
    readonly record: Recorded;
    constructor(image: string) {
      this.record = { image, calls: [], stops: 0 };
      containers.push(this.record);
    }
    private note(call: string): this {
      this.record.calls.push(call);
      return this;
    }
    withExposedPorts(...ports: number[]) {
      return this.note(`ports ${ports.join(',')}`);
    }
    withEnvironment(environment: Record<string, string>) {
      return this.note(`env ${JSON.stringify(environment)}`);
    }
    withCommand(command: string[]) {
      return this.note(`command ${command.join(' ')}`);
    }
    withWaitStrategy(strategy: string) {
      return this.note(`wait ${strategy}`);
    }
    withStartupTimeout(ms: number) {
      return this.note(`timeout ${ms}`);
    }
    async start() {
      const record = this.record;
      return {
        getHost: () => 'localhost',
        getMappedPort: (port: number) => (record.calls.includes(`ports ${port}`) ? mappedPort : -1),
        stop: async () => {
          record.stops += 1;
        },
      };
    }
  }
  return {
    containers,
    getContainerRuntimeClient: () =>
      engine === 'answers' ? Promise.resolve({}) : engine === 'absent' ? Promise.reject(new Error('Could not find a working container runtime strategy')) : new Promise(() => {}),
    GenericContainer: FakeContainer,
    Wait: { forLogMessage: (pattern: RegExp, times?: number) => `log ${String(pattern)} x${times ?? 1}` },
  };
}

describe('createTestcontainersRuntime (with a stand-in testcontainers module)', () => {
  it('says an engine is there when the runtime client answers, and absent when it rejects', async () => {
    expect(await createTestcontainersRuntime({ load: async () => fakeTestcontainers('answers') }).available()).toBe(true);
    expect(await createTestcontainersRuntime({ load: async () => fakeTestcontainers('absent') }).available()).toBe(false);
  });

  it('gives up on a runtime that never answers (a DOCKER_HOST pointing nowhere) at its deadline', async () => {
    const started = performance.now();
    const runtime = createTestcontainersRuntime({ load: async () => fakeTestcontainers('hangs'), probeTimeoutMs: 200 });
    expect(await runtime.available()).toBe(false);
    expect(performance.now() - started).toBeLessThan(1_000);
  });

  it('says absent when testcontainers itself cannot be loaded', async () => {
    const runtime = createTestcontainersRuntime({
      load: async () => {
        throw new Error("Cannot find package 'testcontainers'");
      },
    });
    expect(await runtime.available()).toBe(false);
  });

  it.each(['postgres', 'redis', 'rabbitmq', 'nats'] as const)(
    'starts %s from its image, waits for its ready log line, and reaches it through the mapped port',
    async (name) => {
      const spec = SERVER_SPECS[name];
      const api = fakeTestcontainers('answers');
      const runtime = createTestcontainersRuntime({ load: async () => api, startupTimeoutMs: 90_000 });
      const started = await runtime.start(spec);
      expect(started.url).toBe(spec.url('localhost', 49_153));
      const [container] = api.containers;
      expect(container?.image).toBe(spec.image);
      expect(container?.calls).toEqual([
        `ports ${spec.port}`,
        `env ${JSON.stringify(spec.containerEnv)}`,
        `wait log ${String(spec.readyLog.pattern)} x${spec.readyLog.times}`,
        'timeout 90000',
        ...(spec.containerCommand.length > 0 ? [`command ${spec.containerCommand.join(' ')}`] : []),
      ]);
      await started.stop();
      await started.stop();
      expect(container?.stops).toBe(1);
    },
  );

  it('starts NATS with JetStream on, and PostgreSQL with the database and trust login the URL expects', async () => {
    const api = fakeTestcontainers('answers');
    const runtime = createTestcontainersRuntime({ load: async () => api });
    await runtime.start(SERVER_SPECS.nats);
    await runtime.start(SERVER_SPECS.postgres);
    expect(api.containers[0]?.calls).toContain('command -js');
    expect(api.containers[1]?.calls).toContain('env {"POSTGRES_HOST_AUTH_METHOD":"trust","POSTGRES_DB":"test"}');
    // Its entrypoint starts a server to initialise the database, then the real one: the second line counts.
    expect(api.containers[1]?.calls).toContain('wait log /database system is ready to accept connections/ x2');
    expect(SERVER_SPECS.postgres.url('localhost', 49_153)).toBe('postgres://postgres@localhost:49153/test');
  });
});
