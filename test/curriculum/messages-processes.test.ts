import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCatalog, type Exercise } from '../../src/catalog/index.ts';
import { loadWrongSolutions } from '../../src/catalog/wrong.ts';
import { resolveFor } from '../../src/cli/servers.ts';
import { gradeWrongSolutions, type WrongVerdict } from '../../src/runner/wrong.ts';
import type { TestResult } from '../../src/runner/results.ts';
import { REPO_ROOT } from '../support/workbook.ts';

// What a learner reads when they make one of the named mistakes of the exercises that cross a
// process or reach a server (the sidecar, Redis, NATS, an OTLP collector) or read metrics and
// logs: the failing check says what was expected, what happened, and the rule that fixes it.
// One wrong solution per exercise: they are graded in one round, on the local servers.
const CASES = [
  ['sidecar', 'injects-outside-client-span'],
  ['cache-redis', 'l1-hit-asks-redis'],
  ['saga-broker', 'extract-with-the-default-getter'],
  ['otlp-export', 'endpoint-as-traces-url'],
  ['red-metrics', 'path-on-the-duration'],
  ['log-correlation', 'zeros-outside-a-span'],
] as const;

type Case = (typeof CASES)[number];
let verdicts: Map<string, WrongVerdict>;
let stopServers: () => Promise<void> = async () => undefined;

beforeAll(async () => {
  const catalog = await loadCatalog(REPO_ROOT);
  const cases: { exercise: Exercise; wrong: Awaited<ReturnType<typeof loadWrongSolutions>>[number] }[] = [];
  for (const [id, name] of CASES) {
    const exercise = catalog.byId(id);
    if (!exercise) throw new Error(`no exercise "${id}" in the catalog`);
    const wrong = (await loadWrongSolutions(REPO_ROOT, exercise)).find((w) => w.name === name);
    if (!wrong) throw new Error(`no wrong solution "${name}" for ${id}`);
    cases.push({ exercise, wrong });
  }
  const servers = await resolveFor(cases.map((c) => c.exercise));
  stopServers = () => servers.stop();
  for (const [id, message] of [...servers.skipped, ...servers.required]) throw new Error(`${id}: ${message}`);
  const graded = await gradeWrongSolutions(cases, { root: REPO_ROOT, env: servers.env });
  verdicts = new Map(graded.map((v) => [`${v.wrong.exerciseId}/${v.wrong.name}`, v]));
}, 180_000);

afterAll(() => stopServers());

/** The failed check of a wrong solution whose name starts with `check`. */
function failed([id, name]: Case, check: string): TestResult {
  const verdict = verdicts.get(`${id}/${name}`);
  const test = verdict?.result.tests.find((t) => t.name.startsWith(check));
  expect(test, `${id}/${name}: no check named "${check}…" (checks: ${verdict?.result.tests.map((t) => t.name).join(' | ')})`).toBeDefined();
  expect(test?.status, `${id}/${name}: "${check}…" ${test?.message ?? ''}`).toBe('fail');
  return test as TestResult;
}

/** What a message must never hold: the framework's words instead of the check's. */
function expectNoResidue(message: string): void {
  expect(message).not.toMatch(/Object\.is equality|expected .* to (be|equal|deeply equal)|AssertionError|- Expected|\+ Received/);
}

describe('the exercises across processes and servers fail in words', () => {
  it('sidecar: a traceparent injected outside the CLIENT span says where the app\'s span should hang, and why', () => {
    const { message = '' } = failed(CASES[0], 'makes one trace across two processes');
    expect(message).toContain(
      "its CLIENT span, and the app's SERVER span under the CLIENT span, because the traceparent the app received names that CLIENT span: " +
        'child span "GET /orders/:id" is missing under "GET" (children: none)',
    );
    expect(message).toContain('at GET (SERVER) › GET (CLIENT) › GET /orders/:id');
    expectNoResidue(message);
  });

  it('cache-redis: an L1 hit that asks Redis names the read, the tier and the command sent', () => {
    const { message = '' } = failed(CASES[1], 'traces which tier answered');
    expect(message).toMatch(
      /^a second read on the same instance within l1TtlMs: L1 answers, app\.cache\.tier="l1", and no Redis command is sent: the Redis commands under read #2 \(instance [AB], app\.cache\.tier="l1"\) \(an L1 hit asks nobody\): got \["get"\], expected \[\] \(first difference: #1 is extra: "get"\)$/,
    );
    expectNoResidue(message);
  });

  it('saga-broker: a CONSUMER span that became a root says to extract from the NATS headers with a getter', () => {
    const { message = '' } = failed(CASES[2], 'every message carries a traceparent');
    expect(message).toMatch(/^the parent of "process \w+" \(service "\w+"\) is none: it is a root, not the PRODUCER span named by the traceparent of any stored message: /);
    expect(message).toContain('extract the context from message.headers (with a getter that calls carrier.get) and pass it as the parent when you start the CONSUMER span');
    expectNoResidue(message);
  });

  it('otlp-export: the endpoint given as the exporter\'s url names the path the exports reached, and the rule', () => {
    const { message = '' } = failed(CASES[3], 'on SIGTERM, every span');
    expect(message).toMatch(
      /^on SIGTERM the service sends its spans and exits with code 0, but it exited with code 1, after (an export request|\d+ export requests) to \/ instead of \/v1\/traces, which a collector answers with 404: OTEL_EXPORTER_OTLP_ENDPOINT is the collector's base URL, and the exporter appends \/v1\/traces itself when it is given no url; it printed:\n {4}listening on \d+/,
    );
    expectNoResidue(message);
  });

  it('red-metrics: a raw path on the histogram says why cardinality matters and where the path belongs', () => {
    const { message = '' } = failed(CASES[4], 'keeps raw paths out of every metric');
    expect(message).toMatch(/^http\.server\.request\.duration has url\.path="\/[^"]+" \(in \{[^}]+\}\), the raw path of [A-Z]+ \/\S+( \([^)]+\))?\. Every id makes a new time series: these (\d+) requests made \2 series where there should be one, /);
    expect(message).toContain('a cardinality that grows with the traffic, that the SDK keeps in memory and a backend bills for');
    expect(message).toContain('the path belongs on the span (url.path)');
    expectNoResidue(message);
  });

  it('log-correlation: zeros written outside a span are named the invalid span context', () => {
    const { message = '' } = failed(CASES[5], 'a line written outside any span carries no trace field');
    expect(message).toMatch(
      /^the line "[^"]+" \([^)]+\) was written outside any span, yet it has trace_id="0{32}", span_id="0{16}", trace_flags="00": all zeros is the invalid span context, a trace that does not exist; outside a span, leave the trace fields out$/,
    );
    expectNoResidue(message);
  });
});
