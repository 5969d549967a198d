import type { ServerName } from '../catalog/schema.ts';

export type { ServerName };

/** How to recognise that a freshly started container is ready: a log line, seen `times` times. */
export interface ReadyLog {
  pattern: RegExp;
  times: number;
}

/** Everything the resolver knows about one kind of server. Pure data: no I/O here. */
export interface ServerSpec {
  name: ServerName;
  /** The name a learner knows it by, for messages. */
  title: string;
  /** The standard port: probed on 127.0.0.1, and the port exposed by the container. */
  port: number;
  /** The URL a client uses to reach this server at host:port. */
  url(host: string, port: number): string;
  /** The container image started by Testcontainers and suggested in `docker run`. */
  image: string;
  containerEnv: Record<string, string>;
  /** Arguments after the image name; empty for the image's default command. */
  containerCommand: string[];
  readyLog: ReadyLog;
}

/** The loopback address every local probe and local URL uses. */
export const LOCAL_HOST = '127.0.0.1';

export const SERVER_SPECS: Readonly<Record<ServerName, ServerSpec>> = {
  postgres: {
    name: 'postgres',
    title: 'PostgreSQL',
    port: 5432,
    url: (host, port) => `postgres://postgres@${host}:${port}/test`,
    image: 'postgres:16-alpine',
    containerEnv: { POSTGRES_HOST_AUTH_METHOD: 'trust', POSTGRES_DB: 'test' },
    containerCommand: [],
    // The entrypoint starts a temporary server to initialise the database, then the real one.
    readyLog: { pattern: /database system is ready to accept connections/, times: 2 },
  },
  redis: {
    name: 'redis',
    title: 'Redis',
    port: 6379,
    url: (host, port) => `redis://${host}:${port}`,
    image: 'redis:7-alpine',
    containerEnv: {},
    containerCommand: [],
    readyLog: { pattern: /Ready to accept connections/, times: 1 },
  },
  rabbitmq: {
    name: 'rabbitmq',
    title: 'RabbitMQ',
    port: 5672,
    url: (host, port) => `amqp://guest:guest@${host}:${port}`,
    image: 'rabbitmq:3-alpine',
    containerEnv: {},
    containerCommand: [],
    readyLog: { pattern: /Server startup complete/, times: 1 },
  },
  nats: {
    name: 'nats',
    title: 'NATS',
    port: 4222,
    url: (host, port) => `nats://${host}:${port}`,
    image: 'nats:2-alpine',
    containerEnv: {},
    containerCommand: ['-js'],
    readyLog: { pattern: /Server is ready/, times: 1 },
  },
  mariadb: {
    name: 'mariadb',
    title: 'MariaDB',
    port: 3306,
    url: (host, port) => `mysql://root@${host}:${port}/test`,
    image: 'mariadb:11',
    containerEnv: { MARIADB_ALLOW_EMPTY_ROOT_PASSWORD: '1', MARIADB_DATABASE: 'test' },
    containerCommand: [],
    // As with PostgreSQL: a temporary server for initialisation, then the real one.
    readyLog: { pattern: /ready for connections/, times: 2 },
  },
  mosquitto: {
    name: 'mosquitto',
    title: 'Mosquitto (MQTT)',
    port: 1883,
    url: (host, port) => `mqtt://${host}:${port}`,
    image: 'eclipse-mosquitto:2',
    containerEnv: {},
    // Mosquitto 2 listens only on localhost without a config; the image ships this one for open access.
    containerCommand: ['mosquitto', '-c', '/mosquitto-no-auth.conf'],
    readyLog: { pattern: /mosquitto version \S+ running/, times: 1 },
  },
};

/** The URL of the server on its standard local port, e.g. `redis://127.0.0.1:6379`. */
export function localUrl(spec: ServerSpec): string {
  return spec.url(LOCAL_HOST, spec.port);
}

/** The `docker run` command that provides this server on its standard local port. */
export function dockerRunCommand(spec: ServerSpec): string {
  const env = Object.entries(spec.containerEnv).map(([key, value]) => `-e ${key}=${value}`);
  return ['docker run -d', `-p ${spec.port}:${spec.port}`, ...env, spec.image, ...spec.containerCommand].join(' ');
}
