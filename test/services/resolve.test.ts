import { describe, expect, it } from 'vitest';
import { SERVER_NAMES } from '../../src/catalog/schema.ts';
import {
  dockerRunCommand,
  localUrl,
  portOpen,
  resolveServers,
  SERVER_SPECS,
} from '../../src/services/index.ts';
import type { ContainerRuntime, ServerSpec, StartedServer } from '../../src/services/index.ts';
import { queryOnce } from './pg.ts';

/** A runtime for a machine with no container engine. */
const noRuntime: ContainerRuntime = {
  available: async () => false,
  start: async () => {
    throw new Error('start() called although available() said false');
  },
};

/**
 * There is no Docker engine here, so the container path runs against a stand-in: it says a runtime
 * is available and "starts" a container by handing out the URL of the real local server.
 */
function localServersAsContainers(): ContainerRuntime & { started: string[]; stopped: string[] } {
  const started: string[] = [];
  const stopped: string[] = [];
  return {
    started,
    stopped,
    available: async () => true,
    start: async (spec: ServerSpec): Promise<StartedServer> => {
      started.push(spec.image);
      return {
        url: localUrl(spec),
        stop: async () => {
          stopped.push(spec.image);
        },
      };
    },
  };
}

const nothingListens = async (): Promise<boolean> => false;

describe('resolveServers: an explicit WORKBOOK_<NAME>_URL', () => {
  it('wins over the embedded server and the local port, and is passed on as is', async () => {
    let embeddedStarts = 0;
    const given = 'postgres://someone@db.example.test:6543/course';
    const resolution = await resolveServers(['postgres', 'redis'], {
      env: { WORKBOOK_POSTGRES_URL: given, WORKBOOK_REDIS_URL: 'redis://127.0.0.1:6379/3' },
      embedded: {
        postgres: async () => {
          embeddedStarts += 1;
          throw new Error('the embedded server should not be started');
        },
      },
      containers: noRuntime,
    });
    try {
      // The real port probe would find both locally; the environment still decides.
      expect(await portOpen(SERVER_SPECS.redis.port)).toBe(true);
      expect(resolution.servers.get('postgres')).toEqual({ name: 'postgres', url: given, source: 'env' });
      expect(resolution.servers.get('redis')).toEqual({ name: 'redis', url: 'redis://127.0.0.1:6379/3', source: 'env' });
      expect(resolution.env).toEqual({ WORKBOOK_POSTGRES_URL: given, WORKBOOK_REDIS_URL: 'redis://127.0.0.1:6379/3' });
      expect(resolution.missing).toEqual([]);
      expect(embeddedStarts).toBe(0);
    } finally {
      await resolution.stop();
    }
  });

  it('is ignored when blank', async () => {
    const resolution = await resolveServers(['redis'], { env: { WORKBOOK_REDIS_URL: '' }, containers: noRuntime });
    expect(resolution.servers.get('redis')?.source).toBe('local');
    await resolution.stop();
  });
});

describe('resolveServers: the embedded PostgreSQL', () => {
  it('starts PGlite when no URL is given, serves pg through the URL it passes on, and stops it', async () => {
    const resolution = await resolveServers(['postgres'], { env: {}, containers: noRuntime });
    const server = resolution.servers.get('postgres');
    try {
      expect(server?.source).toBe('embedded');
      expect(resolution.env.WORKBOOK_POSTGRES_URL).toBe(server?.url);
      const rows = await queryOnce<{ version: string }>(resolution.env.WORKBOOK_POSTGRES_URL ?? '', 'select version()');
      expect(rows[0]?.version).toContain('PGlite');
    } finally {
      await resolution.stop();
    }
    expect(await portOpen(Number(new URL(server?.url ?? '').port))).toBe(false);
  });

  it('falls back to the local server with a warning when the embedded one fails to start', async () => {
    const resolution = await resolveServers(['postgres'], {
      env: {},
      embedded: {
        postgres: async () => {
          throw new Error('out of memory');
        },
      },
      containers: noRuntime,
    });
    expect(resolution.servers.get('postgres')).toEqual({
      name: 'postgres',
      url: 'postgres://postgres@127.0.0.1:5432/test',
      source: 'local',
    });
    expect(resolution.warnings).toEqual([
      'the embedded PostgreSQL failed to start: out of memory; using PostgreSQL at postgres://postgres@127.0.0.1:5432/test instead',
    ]);
    await resolution.stop();
  });
});

describe('resolveServers: the standard local ports', () => {
  it('finds every server listening on 127.0.0.1 and gives its default URL', async () => {
    const resolution = await resolveServers([...SERVER_NAMES], { env: {}, embedded: {}, containers: noRuntime });
    try {
      expect(resolution.missing).toEqual([]);
      expect(Object.fromEntries(resolution.servers)).toEqual(
        Object.fromEntries(
          SERVER_NAMES.map((name) => [name, { name, url: localUrl(SERVER_SPECS[name]), source: 'local' }]),
        ),
      );
      expect(Object.keys(resolution.env).sort()).toEqual([
        'WORKBOOK_MARIADB_URL',
        'WORKBOOK_MOSQUITTO_URL',
        'WORKBOOK_NATS_URL',
        'WORKBOOK_POSTGRES_URL',
        'WORKBOOK_RABBITMQ_URL',
        'WORKBOOK_REDIS_URL',
      ]);
    } finally {
      await resolution.stop();
    }
  });

  it('gives a PostgreSQL URL that really reaches the local test database', async () => {
    const resolution = await resolveServers(['postgres'], { env: {}, embedded: {}, containers: noRuntime });
    const url = resolution.env.WORKBOOK_POSTGRES_URL ?? '';
    expect(await queryOnce(url, 'select current_database() as db')).toEqual([{ db: 'test' }]);
    await resolution.stop();
  });

  it('resolves a server named twice once', async () => {
    const resolution = await resolveServers(['redis', 'redis'], { env: {}, containers: noRuntime });
    expect([...resolution.servers.keys()]).toEqual(['redis']);
    await resolution.stop();
  });
});

describe('resolveServers: Testcontainers', () => {
  it('starts a container when nothing else provides the server, and stops it once', async () => {
    const runtime = localServersAsContainers();
    const resolution = await resolveServers(['postgres', 'nats'], {
      env: {},
      embedded: {},
      portOpen: nothingListens,
      containers: runtime,
    });
    try {
      expect(runtime.started.sort()).toEqual(['nats:2-alpine', 'postgres:16-alpine']);
      expect(resolution.servers.get('postgres')?.source).toBe('container');
      expect(resolution.servers.get('nats')).toEqual({ name: 'nats', url: 'nats://127.0.0.1:4222', source: 'container' });
      expect(await queryOnce(resolution.env.WORKBOOK_POSTGRES_URL ?? '', 'select current_database() as db')).toEqual([
        { db: 'test' },
      ]);
    } finally {
      await resolution.stop();
      await resolution.stop();
    }
    expect(runtime.stopped.sort()).toEqual(['nats:2-alpine', 'postgres:16-alpine']);
  });

  it('is not used when the local port answers', async () => {
    const runtime = localServersAsContainers();
    const resolution = await resolveServers(['redis'], { env: {}, containers: runtime });
    expect(resolution.servers.get('redis')?.source).toBe('local');
    expect(runtime.started).toEqual([]);
    await resolution.stop();
  });

  it('reports a container that fails to start as missing, with the reason', async () => {
    const resolution = await resolveServers(['redis'], {
      env: {},
      portOpen: nothingListens,
      containers: {
        available: async () => true,
        start: async () => {
          throw new Error('pull access denied for redis');
        },
      },
    });
    expect(resolution.servers.size).toBe(0);
    expect(resolution.missing[0]?.message).toContain(
      'starting redis:7-alpine with Testcontainers failed: pull access denied for redis',
    );
    await resolution.stop();
  });
});

describe('resolveServers: nothing found', () => {
  it('skips with the exact commands that would provide each server', async () => {
    const resolution = await resolveServers([...SERVER_NAMES], {
      env: {},
      embedded: {},
      portOpen: nothingListens,
      containers: noRuntime,
    });
    expect(resolution.servers.size).toBe(0);
    expect(resolution.env).toEqual({});
    expect(resolution.missing.map((missing) => missing.name)).toEqual([...SERVER_NAMES]);
    for (const { name, message } of resolution.missing) {
      const spec = SERVER_SPECS[name];
      expect(message).toContain(`export WORKBOOK_${name.toUpperCase()}_URL=${spec.url('host', spec.port)}`);
      expect(message).toContain(dockerRunCommand(spec));
    }
    await resolution.stop();
  });

  it('says what was tried, in the words a learner reads', async () => {
    const resolution = await resolveServers(['redis'], {
      env: {},
      embedded: {},
      portOpen: nothingListens,
      containers: noRuntime,
    });
    expect(resolution.missing).toEqual([
      {
        name: 'redis',
        message: [
          'Redis is needed by this exercise and none was found:',
          '  - WORKBOOK_REDIS_URL is not set',
          '  - nothing is listening on 127.0.0.1:6379',
          '  - no container engine (Docker or compatible) answered, so Testcontainers could not start one',
          'Point the workbook at one you have:',
          '  export WORKBOOK_REDIS_URL=redis://host:6379',
          'or start one on the standard port:',
          '  docker run -d -p 6379:6379 redis:7-alpine',
        ].join('\n'),
      },
    ]);
  });
});

describe('Resolution.stop', () => {
  it('stops everything it started even when one stop fails, then reports the failure', async () => {
    const stopped: string[] = [];
    const resolution = await resolveServers(['postgres', 'redis'], {
      env: {},
      embedded: {
        postgres: async () => ({
          url: 'postgres://postgres@127.0.0.1:1/postgres',
          stop: async () => {
            throw new Error('socket already closed');
          },
        }),
      },
      portOpen: nothingListens,
      containers: {
        available: async () => true,
        start: async (spec) => ({
          url: localUrl(spec),
          stop: async () => {
            stopped.push(spec.name);
          },
        }),
      },
    });
    await expect(resolution.stop()).rejects.toThrow(
      'failed to stop postgres (embedded) at postgres://postgres@127.0.0.1:1/postgres: socket already closed',
    );
    expect(stopped).toEqual(['redis']);
  });
});
