import type { StartedServer } from './embedded-postgres.ts';
import type { ServerSpec } from './specs.ts';

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

/**
 * Testcontainers, imported only when asked (importing it costs ~0.4 s). With no engine,
 * `getContainerRuntimeClient()` rejects within milliseconds, which makes it a cheap probe.
 */
export const testcontainersRuntime: ContainerRuntime = {
  async available() {
    try {
      const { getContainerRuntimeClient } = await import('testcontainers');
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<false>((resolve) => {
        timer = setTimeout(() => resolve(false), RUNTIME_PROBE_TIMEOUT_MS);
        timer.unref();
      });
      try {
        return await Promise.race([getContainerRuntimeClient().then(() => true), timeout]);
      } finally {
        clearTimeout(timer);
      }
    } catch {
      return false;
    }
  },

  async start(spec) {
    const { GenericContainer, Wait } = await import('testcontainers');
    let container = new GenericContainer(spec.image)
      .withExposedPorts(spec.port)
      .withEnvironment(spec.containerEnv)
      .withWaitStrategy(Wait.forLogMessage(spec.readyLog.pattern, spec.readyLog.times))
      .withStartupTimeout(CONTAINER_STARTUP_TIMEOUT_MS);
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
