import { describe, expect, it } from 'vitest';
import { SERVER_NAMES } from '../../src/catalog/schema.ts';
import { dockerRunCommand, envUrl, envVarName, localUrl, SERVER_SPECS } from '../../src/services/index.ts';

describe('the server table', () => {
  it('describes every server the catalog accepts, under its own name', () => {
    expect(Object.keys(SERVER_SPECS).sort()).toEqual([...SERVER_NAMES].sort());
    for (const name of SERVER_NAMES) expect(SERVER_SPECS[name].name).toBe(name);
  });

  it('gives the standard local URL of each server', () => {
    expect(SERVER_NAMES.map((name) => localUrl(SERVER_SPECS[name]))).toEqual([
      'postgres://postgres@127.0.0.1:5432/test',
      'redis://127.0.0.1:6379',
      'amqp://guest:guest@127.0.0.1:5672',
      'nats://127.0.0.1:4222',
      'mysql://root@127.0.0.1:3306/test',
      'mqtt://127.0.0.1:1883',
    ]);
  });

  it('builds a docker run command that matches what Testcontainers would start', () => {
    expect(dockerRunCommand(SERVER_SPECS.redis)).toBe('docker run -d -p 6379:6379 redis:7-alpine');
    expect(dockerRunCommand(SERVER_SPECS.postgres)).toBe(
      'docker run -d -p 5432:5432 -e POSTGRES_HOST_AUTH_METHOD=trust -e POSTGRES_DB=test postgres:16-alpine',
    );
    expect(dockerRunCommand(SERVER_SPECS.nats)).toBe('docker run -d -p 4222:4222 nats:2-alpine -js');
    expect(dockerRunCommand(SERVER_SPECS.mosquitto)).toBe(
      'docker run -d -p 1883:1883 eclipse-mosquitto:2 mosquitto -c /mosquitto-no-auth.conf',
    );
  });
});

describe('the environment variables', () => {
  it('are named WORKBOOK_<NAME>_URL', () => {
    expect(envVarName('postgres')).toBe('WORKBOOK_POSTGRES_URL');
    expect(envVarName('mosquitto')).toBe('WORKBOOK_MOSQUITTO_URL');
  });

  it('are taken as given, and a blank one counts as unset', () => {
    expect(envUrl({ WORKBOOK_REDIS_URL: 'redis://cache.internal:6380/2' }, 'redis')).toBe('redis://cache.internal:6380/2');
    expect(envUrl({ WORKBOOK_REDIS_URL: '   ' }, 'redis')).toBeUndefined();
    expect(envUrl({}, 'redis')).toBeUndefined();
  });
});
