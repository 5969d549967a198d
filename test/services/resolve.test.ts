import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SERVER_NAMES } from '../../src/catalog/schema.ts';
import {
  dockerRunCommand,
  localUrl,
  portOpen,
  resolveServers,
  SERVER_SPECS,
} from '../../src/services/index.ts';
import type { ContainerRuntime, Readiness, ServerSpec, ServiceProbes, StartedServer } from '../../src/services/index.ts';
import { queryOnce } from './pg.ts';
import { freePort, spawnServer, type Spawned } from './spawned.ts';

/** A runtime for a machine with no container engine. */
const noRuntime: ContainerRuntime = {
  available: async () => false,
  start: async () => {
    throw new Error('start() called although available() said false');
  },
};

/**
 * There is no Docker engine here, so the container path runs against a stand-in runtime: it says an
 * engine answers and "starts" a container by handing out the URL of the real local server (or of a
 * closed port, for a container that never becomes ready). It records what was started and stopped.
 */
function fakeRuntime(urlOf: (spec: ServerSpec) => string = localUrl): ContainerRuntime & { probed: number; started: string[]; stopped: string[] } {
  const runtime = {
    probed: 0,
    started: [] as string[],
    stopped: [] as string[],
    available: async () => {
      runtime.probed += 1;
      return true;
    },
    start: async (spec: ServerSpec): Promise<StartedServer> => {
      runtime.started.push(spec.image);
      return {
        url: urlOf(spec),
        stop: async () => {
          runtime.stopped.push(spec.image);
        },
      };
    },
  };
  return runtime;
}

const closed: Readiness = { ready: false, problem: 'closed', reason: 'nothing is listening (a fake probe)' };
const nothingReady = async (): Promise<Readiness> => closed;

describe('resolveServers: an explicit WORKBOOK_<NAME>_URL', () => {
  it('wins over the embedded server and the local port, and is passed on as is', async () => {
    let embeddedStarts = 0;
    const given = 'postgres://someone@db.example.test:6543/course';
    const probed: string[] = [];
    const resolution = await resolveServers(['postgres', 'redis'], {
      env: { WORKBOOK_POSTGRES_URL: given, WORKBOOK_REDIS_URL: 'redis://127.0.0.1:6379/3' },
      ready: async (_spec, url) => {
        probed.push(url);
        return { ready: true };
      },
      embedded: {
        postgres: async () => {
          embeddedStarts += 1;
          throw new Error('the embedded server should not be started');
        },
      },
      containers: noRuntime,
    });
    try {
      expect(resolution.servers.get('postgres')).toEqual({ name: 'postgres', url: given, source: 'env' });
      expect(resolution.servers.get('redis')).toEqual({ name: 'redis', url: 'redis://127.0.0.1:6379/3', source: 'env' });
      expect(resolution.env).toEqual({ WORKBOOK_POSTGRES_URL: given, WORKBOOK_REDIS_URL: 'redis://127.0.0.1:6379/3' });
      expect(resolution.missing).toEqual([]);
      expect(embeddedStarts).toBe(0);
      // Probed where it points, and nowhere else.
      expect(probed.sort()).toEqual([given, 'redis://127.0.0.1:6379/3']);
    } finally {
      await resolution.stop();
    }
  });

  it('is probed for real: a URL that reaches the local Redis is used', async () => {
    const resolution = await resolveServers(['redis'], { env: { WORKBOOK_REDIS_URL: 'redis://127.0.0.1:6379/3' }, containers: noRuntime });
    expect(resolution.servers.get('redis')?.source).toBe('env');
  });

  it('pointing at a closed port makes the server missing with what to do, without looking elsewhere', async () => {
    const port = await freePort();
    const runtime = fakeRuntime();
    const resolution = await resolveServers(['redis'], { env: { WORKBOOK_REDIS_URL: `redis://127.0.0.1:${port}` }, containers: runtime });
    // The local Redis is up, and a container could be started: neither is used behind the learner's back.
    expect(await portOpen(SERVER_SPECS.redis.port)).toBe(true);
    expect(runtime.probed).toBe(0);
    expect(resolution.servers.size).toBe(0);
    expect(resolution.missing).toEqual([
      {
        name: 'redis',
        message: [
          `Redis is needed by this exercise, and WORKBOOK_REDIS_URL=redis://127.0.0.1:${port} names one that cannot be used:`,
          `  - nothing is listening on 127.0.0.1:${port}`,
          'Start that server or correct the URL, or unset WORKBOOK_REDIS_URL to let the workbook look for one itself.',
          'Point the workbook at one you have:',
          '  export WORKBOOK_REDIS_URL=redis://host:6379',
          'or start one on the standard port:',
          '  docker run -d -p 6379:6379 redis:7-alpine',
        ].join('\n'),
      },
    ]);
  });

  it('with wrong credentials makes the server missing with a sentence naming the user, the password masked', async () => {
    const resolution = await resolveServers(['rabbitmq'], {
      env: { WORKBOOK_RABBITMQ_URL: 'amqp://guest:hunter2@127.0.0.1:5672' },
      containers: noRuntime,
    });
    const message = resolution.missing[0]?.message ?? '';
    expect(message).toContain('WORKBOOK_RABBITMQ_URL=amqp://guest:***@127.0.0.1:5672 names one that cannot be used');
    expect(message).toContain('refused the login of user "guest": wrong user name or password');
    expect(message).not.toContain('hunter2');
    expect(message).not.toContain('ACCESS_REFUSED');
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

  it('stops an embedded server that started but does not answer, and says why it fell back', async () => {
    const port = await freePort();
    let stops = 0;
    const resolution = await resolveServers(['postgres'], {
      env: {},
      embedded: { postgres: async () => ({ url: `postgres://postgres@127.0.0.1:${port}/postgres`, stop: async () => void (stops += 1) }) },
      containers: noRuntime,
    });
    expect(stops).toBe(1);
    expect(resolution.servers.get('postgres')?.source).toBe('local');
    expect(resolution.warnings).toEqual([
      `the embedded PostgreSQL failed to start: nothing is listening on 127.0.0.1:${port}; using PostgreSQL at postgres://postgres@127.0.0.1:5432/test instead`,
    ]);
  });
});

describe('resolveServers: the standard local ports', () => {
  it('finds every server listening on 127.0.0.1, probes it, and gives its default URL', async () => {
    const resolution = await resolveServers([...SERVER_NAMES], { env: {}, embedded: {}, containers: noRuntime });
    try {
      expect(resolution.missing).toEqual([]);
      expect(Object.fromEntries(resolution.servers)).toEqual(
        Object.fromEntries(SERVER_NAMES.map((name) => [name, { name, url: localUrl(SERVER_SPECS[name]), source: 'local' }])),
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

  it('passes over a local port where another server listens, to the next source, with a warning', async () => {
    const runtime = fakeRuntime();
    const resolution = await resolveServers(['redis'], {
      env: {},
      // "The standard port" is PostgreSQL's here: something answers, but it is not Redis.
      localUrl: (spec) => spec.url('127.0.0.1', SERVER_SPECS.postgres.port),
      containers: runtime,
    });
    try {
      expect(runtime.started).toEqual(['redis:7-alpine']);
      expect(resolution.servers.get('redis')).toEqual({ name: 'redis', url: 'redis://127.0.0.1:6379', source: 'container' });
      expect(resolution.warnings).toEqual([
        'something answers on 127.0.0.1:5432, but it is not Redis (it hung up without a Redis reply); using Redis at redis://127.0.0.1:6379 instead',
      ]);
    } finally {
      await resolution.stop();
    }
  });

  describe('with a local NATS that has no JetStream', () => {
    let plainNats: Spawned;
    beforeAll(async () => {
      plainNats = await spawnServer('nats-server', (port) => ['-a', '127.0.0.1', '-p', String(port)]);
    }, 20_000);
    afterAll(() => plainNats?.stop());

    it('looks further, and names the missing JetStream when nothing else is found', async () => {
      const resolution = await resolveServers(['nats'], {
        env: {},
        localUrl: (spec) => spec.url('127.0.0.1', plainNats.port),
        containers: noRuntime,
      });
      expect(resolution.servers.size).toBe(0);
      expect(resolution.missing[0]?.message.split('\n')).toEqual([
        'NATS is needed by this exercise and none was found:',
        '  - WORKBOOK_NATS_URL is not set',
        `  - NATS at nats://127.0.0.1:${plainNats.port} answers, but JetStream is disabled: start it with \`nats-server -js\``,
        '  - no container engine (Docker or compatible) answered, so Testcontainers could not start one',
        'Point the workbook at one you have:',
        '  export WORKBOOK_NATS_URL=nats://host:4222',
        'or start one on the standard port:',
        '  docker run -d -p 4222:4222 nats:2-alpine -js',
      ]);
    });
  });
});

describe('resolveServers: Testcontainers (a fake runtime: no engine runs here)', () => {
  it('is reached last, in order, after the environment, the embedded server and the local port', async () => {
    const steps: string[] = [];
    const probes: Partial<ServiceProbes> = {
      env: {},
      embedded: {
        postgres: async () => {
          steps.push('embedded');
          throw new Error('no PGlite today');
        },
      },
      ready: async (_spec, url) => {
        steps.push(`probe ${url}`);
        return url.includes('127.0.0.1:5432') ? closed : { ready: true };
      },
      containers: {
        available: async () => {
          steps.push('runtime?');
          return true;
        },
        start: async (spec) => {
          steps.push(`start ${spec.image}`);
          return { url: spec.url('localhost', 32768), stop: async () => void steps.push('stop') };
        },
      },
    };
    const resolution = await resolveServers(['postgres'], probes);
    expect(steps).toEqual([
      'embedded',
      'probe postgres://postgres@127.0.0.1:5432/test',
      'runtime?',
      'start postgres:16-alpine',
      'probe postgres://postgres@localhost:32768/test',
    ]);
    // The container's mapped port reaches the checks as the server's URL.
    expect(resolution.env).toEqual({ WORKBOOK_POSTGRES_URL: 'postgres://postgres@localhost:32768/test' });
    await resolution.stop();
    expect(steps.at(-1)).toBe('stop');
  });

  it('starts a container when nothing else provides the server, passes its URL on, and stops it once', async () => {
    const runtime = fakeRuntime();
    const resolution = await resolveServers(['postgres', 'nats'], {
      env: {},
      embedded: {},
      localUrl: (spec) => spec.url('127.0.0.1', 1),
      containers: runtime,
    });
    try {
      expect(runtime.probed).toBe(1);
      expect(runtime.started.sort()).toEqual(['nats:2-alpine', 'postgres:16-alpine']);
      expect(resolution.servers.get('postgres')?.source).toBe('container');
      expect(resolution.servers.get('nats')).toEqual({ name: 'nats', url: 'nats://127.0.0.1:4222', source: 'container' });
      expect(await queryOnce(resolution.env.WORKBOOK_POSTGRES_URL ?? '', 'select current_database() as db')).toEqual([{ db: 'test' }]);
    } finally {
      await resolution.stop();
      await resolution.stop();
    }
    expect(runtime.stopped.sort()).toEqual(['nats:2-alpine', 'postgres:16-alpine']);
  });

  it('is not used when the local port answers', async () => {
    const runtime = fakeRuntime();
    const resolution = await resolveServers(['redis'], { env: {}, containers: runtime });
    expect(resolution.servers.get('redis')?.source).toBe('local');
    expect(runtime.probed).toBe(0);
    expect(runtime.started).toEqual([]);
    await resolution.stop();
  });

  it('reports a container that fails to start as missing, with the reason', async () => {
    const resolution = await resolveServers(['redis'], {
      env: {},
      ready: nothingReady,
      containers: {
        available: async () => true,
        start: async () => {
          throw new Error('pull access denied for redis');
        },
      },
    });
    expect(resolution.servers.size).toBe(0);
    expect(resolution.missing[0]?.message).toContain('starting redis:7-alpine with Testcontainers failed: pull access denied for redis');
  });

  it('stops a container that started but never answers, and says so', async () => {
    const port = await freePort();
    const runtime = fakeRuntime((spec) => spec.url('127.0.0.1', port));
    const resolution = await resolveServers(['rabbitmq'], { env: {}, localUrl: (spec) => spec.url('127.0.0.1', port), containers: runtime });
    expect(runtime.stopped).toEqual(['rabbitmq:3-alpine']);
    expect(resolution.missing[0]?.message).toContain(
      `the rabbitmq:3-alpine container Testcontainers started never became ready (nothing is listening on 127.0.0.1:${port}), so it was stopped`,
    );
  });
});

describe('resolveServers: nothing found', () => {
  it('skips with the exact commands that would provide each server', async () => {
    const resolution = await resolveServers([...SERVER_NAMES], { env: {}, embedded: {}, ready: nothingReady, containers: noRuntime });
    expect(resolution.servers.size).toBe(0);
    expect(resolution.env).toEqual({});
    expect(resolution.missing.map((missing) => missing.name)).toEqual([...SERVER_NAMES]);
    for (const { name, message } of resolution.missing) {
      const spec = SERVER_SPECS[name];
      expect(message).toContain(`export WORKBOOK_${name.toUpperCase()}_URL=${spec.url('host', spec.port)}`);
      expect(message).toContain(dockerRunCommand(spec));
    }
  });

  it('says what was tried, in the words a learner reads', async () => {
    const resolution = await resolveServers(['redis'], {
      env: {},
      embedded: {},
      localUrl: (spec) => spec.url('127.0.0.1', 1),
      containers: noRuntime,
    });
    expect(resolution.missing).toEqual([
      {
        name: 'redis',
        message: [
          'Redis is needed by this exercise and none was found:',
          '  - WORKBOOK_REDIS_URL is not set',
          '  - nothing is listening on 127.0.0.1:1',
          '  - no container engine (Docker or compatible) answered, so Testcontainers could not start one',
          'Point the workbook at one you have:',
          '  export WORKBOOK_REDIS_URL=redis://host:6379',
          'or start one on the standard port:',
          '  docker run -d -p 6379:6379 redis:7-alpine',
        ].join('\n'),
      },
    ]);
  });

  it('counts a probe that throws as a server that is not there', async () => {
    const resolution = await resolveServers(['redis'], {
      env: {},
      ready: async () => {
        throw new Error('probe exploded');
      },
      containers: noRuntime,
    });
    expect(resolution.missing[0]?.message).toContain('  - probe exploded');
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
      ready: async (_spec, url) => (url.includes(':1/') || url.includes('127.0.0.1:2') ? { ready: true } : closed),
      localUrl: (spec) => spec.url('127.0.0.1', 9),
      containers: {
        available: async () => true,
        start: async (spec) => ({
          url: spec.url('127.0.0.1', 2),
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
