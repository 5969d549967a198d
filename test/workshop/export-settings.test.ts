import { describe, expect, it } from 'vitest';
import { EXPORT_MESSAGES, learnerName, resolveExport } from '../../src/workshop/export-settings.ts';
import { REPO_ROOT } from '../support/workbook.ts';

const workshop = { file: 'workshop.json', otlp: 'http://collector.workshop.example:4318/' };

describe('whether results leave the machine', () => {
  it('is off by default: no endpoint in the environment, no workshop endpoint', () => {
    expect(resolveExport({})).toBeUndefined();
    expect(resolveExport({ OTEL_EXPORTER_OTLP_ENDPOINT: '  ' }, { workshop: { file: 'workshop.json', otlp: undefined } })).toBeUndefined();
  });

  it('follows the standard variables, the traces one first, then the workshop file', () => {
    expect(resolveExport({}, { workshop })).toEqual({ url: 'http://collector.workshop.example:4318/v1/traces', source: 'workshop.json', headerVariables: [] });
    expect(resolveExport({ OTEL_EXPORTER_OTLP_ENDPOINT: 'https://otlp.example', OTEL_EXPORTER_OTLP_HEADERS: 'authorization=Bearer x' }, { workshop })).toEqual({
      url: 'https://otlp.example/v1/traces',
      source: 'OTEL_EXPORTER_OTLP_ENDPOINT',
      headerVariables: ['OTEL_EXPORTER_OTLP_HEADERS'],
    });
    expect(resolveExport({ OTEL_EXPORTER_OTLP_ENDPOINT: 'https://otlp.example', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://tempo.example/otlp/v1/traces' })).toMatchObject({
      url: 'https://tempo.example/otlp/v1/traces',
      source: 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT',
    });
  });

  it('is off with --no-export, WORKBOOK_EXPORT=off, OTEL_SDK_DISABLED or OTEL_TRACES_EXPORTER=none, whatever names an endpoint', () => {
    const env = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://day-job.example:4318' };
    expect(resolveExport(env, { off: true, workshop })).toBeUndefined();
    for (const value of ['off', 'OFF', '0', 'false', 'no']) expect(resolveExport({ ...env, WORKBOOK_EXPORT: value }, { workshop }), value).toBeUndefined();
    expect(resolveExport({ ...env, OTEL_SDK_DISABLED: 'true' })).toBeUndefined();
    expect(resolveExport({ ...env, OTEL_TRACES_EXPORTER: 'none' })).toBeUndefined();
    expect(resolveExport({ ...env, WORKBOOK_EXPORT: 'on' })).toBeDefined();
  });

  it('says where results go, who they are from, and how to keep them here, without the header values', () => {
    const settings = resolveExport({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://day-job.example:4318', OTEL_EXPORTER_OTLP_HEADERS: 'x-token=secret' });
    expect(EXPORT_MESSAGES.banner(settings!, 'Ada')).toBe(
      'tracecraft: export is on: each graded run and the traces your code recorded go to http://day-job.example:4318/v1/traces ' +
        '(set by OTEL_EXPORTER_OTLP_ENDPOINT, with the headers in OTEL_EXPORTER_OTLP_HEADERS), as learner "Ada". ' +
        'To keep them here, add --no-export or set WORKBOOK_EXPORT=off.',
    );
  });

  it('names the learner from WORKBOOK_LEARNER first', async () => {
    expect(await learnerName(REPO_ROOT, { WORKBOOK_LEARNER: ' Grace Hopper ' })).toBe('Grace Hopper');
    expect((await learnerName(REPO_ROOT, {})).length).toBeGreaterThan(0);
  });
});
