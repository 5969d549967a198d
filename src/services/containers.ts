import type { StartedServer } from './embedded-postgres.ts';
import type { ServerSpec } from './specs.ts';
import type { WaitStrategy } from 'testcontainers';

/** A place that can start servers in containers. */
export interface ContainerRuntime {
  /** True when a container engine answers. Never rejects. */
  available(): Promise<boolean>;
  /** Starts the spec's image, waits until it is ready and gives the URL of its mapped port. */
  start(spec: ServerSpec): Promise<StartedServer>;
}

/** A runtime that does not answer within this is treated as absent (a DOCKER_HOST pointing nowhere). */
export const RUNTIME_PROBE_TIMEOUT_MS = 5_000;
/** Pulling an image and initialising a database can take a while the first time. */
export const CONTAINER_STARTUP_TIMEOUT_MS = 180_000;

/** What this runtime uses of a container Testcontainers built (GenericContainer). */
export interface ContainerBuilder<Strategy> {
  withExposedPorts(...ports: number[]): ContainerBuilder<Strategy>;
  withEnvironment(environment: Record<string, string>): ContainerBuilder<Strategy>;
  withCommand(command: string[]): ContainerBuilder<Strategy>;
  withWaitStrategy(strategy: Strategy): ContainerBuilder<Strategy>;
  withStartupTimeout(ms: number): ContainerBuilder<Strategy>;
  start(): Promise<{ getHost(): string; getMappedPort(port: number): number; stop(): Promise<unknown> }>;
}

/**
 * What this runtime uses of the `testcontainers` module. Replaceable, so that the path is tested
 * on a machine without an engine (test/services/containers.test.ts) instead of being pretended.
 */
export interface TestcontainersApi<Strategy = unknown> {
  getContainerRuntimeClient(): Promise<unknown>;
  GenericContainer: new (image: string) => ContainerBuilder<Strategy>;
  Wait: { forLogMessage(message: RegExp, times?: number): Strategy };
}

export interface TestcontainersRuntimeOptions {
  /** Loads the module; the real one is imported only when asked (importing it costs ~0.4 s). */
  load?: () => Promise<TestcontainersApi>;
  probeTimeoutMs?: number;
  startupTimeoutMs?: number;
}

/**
 * Testcontainers: with no engine, `getContainerRuntimeClient()` rejects within milliseconds,
 * which makes it a cheap probe. A started container is waited for by its log line (the spec's
 * `readyLog`), reached through its mapped port, and stopped by `stop()`.
 */
export function createTestcontainersRuntime(options: TestcontainersRuntimeOptions = {}): ContainerRuntime {
  const load = options.load ?? loadTestcontainers;
  const probeTimeoutMs = options.probeTimeoutMs ?? RUNTIME_PROBE_TIMEOUT_MS;
  const startupTimeoutMs = options.startupTimeoutMs ?? CONTAINER_STARTUP_TIMEOUT_MS;
  return {
    async available() {
      let timer: NodeJS.Timeout | undefined;
      try {
        const { getContainerRuntimeClient } = await load();
        const timeout = new Promise<false>((resolve) => {
          timer = setTimeout(() => resolve(false), probeTimeoutMs);
          timer.unref();
        });
        return await Promise.race([getContainerRuntimeClient().then(() => true), timeout]);
      } catch {
        return false;
      } finally {
        clearTimeout(timer);
      }
    },

    async start(spec) {
      const { GenericContainer, Wait } = await load();
      let container = new GenericContainer(spec.image)
        .withExposedPorts(spec.port)
        .withEnvironment(spec.containerEnv)
        .withWaitStrategy(Wait.forLogMessage(spec.readyLog.pattern, spec.readyLog.times))
        .withStartupTimeout(startupTimeoutMs);
      if (spec.containerCommand.length > 0) container = container.withCommand(spec.containerCommand);
      const started = await container.start();
      let stopped: Promise<void> | undefined;
      return {
        url: spec.url(started.getHost(), started.getMappedPort(spec.port)),
        stop() {
          stopped ??= started.stop().then(() => undefined);
          return stopped;
        },
      };
    },
  };
}

async function loadTestcontainers(): Promise<TestcontainersApi> {
  const api: TestcontainersApi<WaitStrategy> = await import('testcontainers');
  return api as TestcontainersApi;
}

export const testcontainersRuntime: ContainerRuntime = createTestcontainersRuntime();
