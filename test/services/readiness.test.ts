import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localUrl, probeServer, SERVER_SPECS, type Readiness, type ServerName } from '../../src/services/index.ts';
import { freePort, silentListener, spawnServer, type Spawned } from './spawned.ts';

// The readiness probes against the real servers of this machine, and against real servers started
// here the way a learner's might be misconfigured (NATS without JetStream, Redis with a password).

const FOUR: ServerName[] = ['postgres', 'redis', 'rabbitmq', 'nats'];

function reasonOf(readiness: Readiness): string {
  return readiness.ready ? 'ready' : readiness.reason;
}

describe('probeServer on the servers running on this machine', () => {
  it.each(FOUR)('finds %s ready on its standard local port, within a second', async (name) => {
    const started = performance.now();
    expect(await probeServer(SERVER_SPECS[name], localUrl(SERVER_SPECS[name]))).toEqual({ ready: true });
    // A guard against a probe that waits for a timeout even when the server answers, not a benchmark.
    expect(performance.now() - started).toBeLessThan(1_000);
  });

  it.each(['mariadb', 'mosquitto'] as const)('takes an open port as ready for %s (no client is installed to ask it more)', async (name) => {
    expect(await probeServer(SERVER_SPECS[name], localUrl(SERVER_SPECS[name]))).toEqual({ ready: true });
  });
});

describe('probeServer on a port nothing listens on', () => {
  it.each(FOUR)('says so for %s, at once', async (name) => {
    const port = await freePort();
    const started = performance.now();
    const readiness = await probeServer(SERVER_SPECS[name], SERVER_SPECS[name].url('127.0.0.1', port));
    expect(readiness).toEqual({ ready: false, problem: 'closed', reason: `nothing is listening on 127.0.0.1:${port}` });
    expect(performance.now() - started).toBeLessThan(500);
  });

  it('names a host that does not resolve, and a URL that is not one', async () => {
    expect(reasonOf(await probeServer(SERVER_SPECS.redis, 'redis://no-such-host.invalid:6379'))).toBe(
      'the host name "no-such-host.invalid" does not resolve to an address',
    );
    expect(await probeServer(SERVER_SPECS.nats, 'localhost:4222')).toEqual({
      ready: false,
      problem: 'invalid-url',
      reason: '"localhost:4222" is not a NATS URL (one looks like nats://host:4222)',
    });
  });
});

describe('probeServer on the right server with the wrong credentials', () => {
  let passwordRedis: Spawned;
  let authNats: Spawned;
  beforeAll(async () => {
    [passwordRedis, authNats] = await Promise.all([
      spawnServer('redis-server', (port, dir) => ['--port', String(port), '--bind', '127.0.0.1', '--requirepass', 's3cret', '--save', '', '--dir', dir]),
      spawnServer('nats-server', (port) => ['-a', '127.0.0.1', '-p', String(port), '--user', 'alice', '--pass', 's3cret']),
    ]);
  }, 20_000);
  afterAll(async () => {
    await Promise.all([passwordRedis?.stop(), authNats?.stop()]);
  });

  it('names the PostgreSQL user it refused, and a database that does not exist', async () => {
    expect(await probeServer(SERVER_SPECS.postgres, 'postgres://nobody@127.0.0.1:5432/test')).toEqual({
      ready: false,
      problem: 'refused',
      reason: 'PostgreSQL at postgres://nobody@127.0.0.1:5432/test refused the login of user "nobody": role "nobody" does not exist',
    });
    expect(reasonOf(await probeServer(SERVER_SPECS.postgres, 'postgres://postgres@127.0.0.1:5432/no_such_db'))).toBe(
      'PostgreSQL at postgres://postgres@127.0.0.1:5432/no_such_db has no database "no_such_db": create it (createdb no_such_db) or name another one in the URL',
    );
  });

  it('names the RabbitMQ user it refused, without printing the password, and a vhost it would not open', async () => {
    expect(await probeServer(SERVER_SPECS.rabbitmq, 'amqp://guest:not-the-password@127.0.0.1:5672')).toEqual({
      ready: false,
      problem: 'refused',
      reason:
        'RabbitMQ at amqp://guest:***@127.0.0.1:5672 refused the login of user "guest": wrong user name or password ' +
        '(RabbitMQ lets its default user "guest" log in only from localhost)',
    });
    expect(reasonOf(await probeServer(SERVER_SPECS.rabbitmq, 'amqp://guest:guest@127.0.0.1:5672/no-such-vhost'))).toBe(
      'RabbitMQ at amqp://guest:guest@127.0.0.1:5672/no-such-vhost did not open the virtual host "no-such-vhost": it does not exist, or user "guest" may not use it',
    );
  });

  it('tells a Redis that needs a password from a wrong one, and answers PING with the right one', async () => {
    const { port } = passwordRedis;
    expect(reasonOf(await probeServer(SERVER_SPECS.redis, `redis://127.0.0.1:${port}`))).toBe(
      `Redis at redis://127.0.0.1:${port} requires a password: put it in the URL (redis://:<password>@host:port)`,
    );
    expect(reasonOf(await probeServer(SERVER_SPECS.redis, `redis://:wrong@127.0.0.1:${port}`))).toBe(
      `Redis at redis://:***@127.0.0.1:${port} refused the login of user "default": wrong user name or password`,
    );
    expect(await probeServer(SERVER_SPECS.redis, `redis://:s3cret@127.0.0.1:${port}`)).toEqual({ ready: true });
    expect(reasonOf(await probeServer(SERVER_SPECS.redis, 'redis://127.0.0.1:6379/99'))).toBe(
      'Redis at redis://127.0.0.1:6379/99 has no database 99 (the number after the last "/" of the URL)',
    );
  });

  it('says what NATS refused, and takes the credentials from the URL (nats.js alone would not)', async () => {
    const { port } = authNats;
    const refused = await probeServer(SERVER_SPECS.nats, `nats://alice:wrong@127.0.0.1:${port}`);
    expect(refused).toMatchObject({ ready: false, problem: 'refused' });
    expect(reasonOf(refused)).toBe(
      `NATS at nats://alice:***@127.0.0.1:${port} refused the connection (Authorization Violation): put the right user and password ` +
        '(nats://user:password@host:port) or token (nats://token@host:port) in the URL',
    );
    // This server has no JetStream either: the login works, and the next sentence says what is missing.
    expect(reasonOf(await probeServer(SERVER_SPECS.nats, `nats://alice:s3cret@127.0.0.1:${port}`))).toContain('JetStream is disabled');
  });
});

describe('probeServer on a NATS server without JetStream', () => {
  let plainNats: Spawned;
  beforeAll(async () => {
    plainNats = await spawnServer('nats-server', (port) => ['-a', '127.0.0.1', '-p', String(port)]);
  }, 20_000);
  afterAll(() => plainNats?.stop());

  it('says that it answers but JetStream is disabled, and how to start it', async () => {
    expect(await probeServer(SERVER_SPECS.nats, `nats://127.0.0.1:${plainNats.port}`)).toEqual({
      ready: false,
      problem: 'jetstream-disabled',
      reason: `NATS at nats://127.0.0.1:${plainNats.port} answers, but JetStream is disabled: start it with \`nats-server -js\``,
    });
  });
});

describe('probeServer on a port where another kind of server listens', () => {
  // Each server's port, asked by every other server's probe.
  const pairs = FOUR.flatMap((asked) => FOUR.filter((other) => other !== asked).map((other) => [asked, other] as const));

  it.each(pairs)('does not take %s for the server on %s\'s port', async (asked, other) => {
    const { port } = SERVER_SPECS[other];
    const readiness = await probeServer(SERVER_SPECS[asked], SERVER_SPECS[asked].url('127.0.0.1', port), 1_000);
    expect(readiness).toMatchObject({ ready: false, problem: 'not-this-server' });
    expect(reasonOf(readiness)).toMatch(new RegExp(`^something (answers|accepted a connection) on 127\\.0\\.0\\.1:${port}, but `));
  });
});

describe('probeServer on a listener that never answers', () => {
  let silent: Spawned;
  beforeAll(async () => {
    silent = await silentListener();
  });
  afterAll(() => silent?.stop());

  it.each(FOUR)('gives up on %s at its deadline instead of hanging', async (name) => {
    const started = performance.now();
    const readiness = await probeServer(SERVER_SPECS[name], SERVER_SPECS[name].url('127.0.0.1', silent.port), 400);
    expect(readiness).toMatchObject({ ready: false, problem: 'not-this-server' });
    expect(performance.now() - started).toBeLessThan(1_500);
  });
});
