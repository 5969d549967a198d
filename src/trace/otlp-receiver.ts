/**
 * An OTLP/HTTP receiver on loopback, for checks of code that runs in other processes: the learner's
 * service exports to it (`OTEL_EXPORTER_OTLP_ENDPOINT`), and what arrives becomes the same
 * `TraceTree`s the matcher and the renderer read, each span carrying its process's resource.
 *
 * It speaks the JSON encoding that `@opentelemetry/exporter-trace-otlp-http` sends. A protobuf body
 * is answered 415 and remembered, so a check can tell the learner which exporter to use. A check can
 * switch it at any time between answering, answering slowly, failing (503) and down (nothing
 * listening on its port, which it keeps for later).
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { gunzipSync, inflateSync } from 'node:zlib';
import type { Attributes, AttributeValue } from '@opentelemetry/api';
import { CheckFailure } from '../checks/contract.ts';
import type { KindName, SpanNode, StatusName, TraceTree } from './model.ts';
import { assembleTrace } from './tree.ts';

export type OtlpSignal = 'traces' | 'metrics' | 'logs';

/** How the receiver answers, switched with `setMode`. */
export type ReceiverMode =
  | { mode: 'normal' }
  /** Answers 200, `delayMs` after the request arrived. */
  | { mode: 'slow'; delayMs: number }
  /** Answers every export with `status` (503 by default: the exporter retries), keeping nothing. */
  | { mode: 'failing'; status?: number }
  /** Nothing listens on the port (connections are refused); the port is kept for `normal` again. */
  | { mode: 'down' };

/** One HTTP request the receiver saw. */
export interface OtlpRequest {
  /** Epoch ms when it arrived. */
  at: number;
  method: string;
  path: string;
  signal: OtlpSignal | undefined;
  contentType: string;
  encoding: 'json' | 'protobuf' | 'other';
  /** Request headers, lower-case names (OTEL_EXPORTER_OTLP_HEADERS arrive here). */
  headers: Record<string, string>;
  /** What the receiver answered; undefined while a slow answer is pending, or when the client left first. */
  status: number | undefined;
  /** Spans in the body (traces only; 0 when it could not be read). */
  spans: number;
  /** The data was stored: answered 200 to a client that was still waiting. */
  kept: boolean;
}

export interface WaitOptions {
  /** Default 5000. */
  timeoutMs?: number;
  /** What the check waits for, in words: "the spans of 3 requests". Starts the failure message. */
  what?: string;
}

export interface OtlpReceiver {
  /** The base URL, for `OTEL_EXPORTER_OTLP_ENDPOINT` (the exporter appends `/v1/traces`). */
  readonly url: string;
  /** The traces URL, for `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` or an exporter's `url` option. */
  readonly tracesUrl: string;
  readonly metricsUrl: string;
  readonly logsUrl: string;
  readonly port: number;
  /** Every span received since the last reset, assembled into traces (in the order they started). */
  traces(): TraceTree[];
  /** Every span received, in wall-clock start order across traces. */
  spans(): SpanNode[];
  /** The distinct resources that sent spans, in the order they first arrived. */
  resources(): Attributes[];
  /** Every request seen since the last reset, kept or not. */
  requests(): OtlpRequest[];
  /** The decoded JSON bodies of the metrics exports that were kept. */
  metrics(): unknown[];
  /** The decoded JSON bodies of the logs exports that were kept. */
  logs(): unknown[];
  /** True when an exporter sent protobuf (answered 415): the http/json exporter is needed. */
  sawProtobuf(): boolean;
  /**
   * Resolves with the received spans once there are at least `until` of them (or `until(spans)` holds).
   * Past the time limit the check fails, saying what did arrive.
   */
  waitForSpans(until: number | ((spans: SpanNode[]) => boolean), options?: WaitOptions): Promise<SpanNode[]>;
  /** How the receiver answers from now on. */
  setMode(mode: ReceiverMode | ReceiverMode['mode']): Promise<void>;
  readonly mode: ReceiverMode;
  /** Forgets every request and span (the mode stays). */
  reset(): void;
  close(): Promise<void>;
}

export interface ReceiverOptions {
  /** A fixed port; default 0 (any free port). */
  port?: number;
  /** Largest body accepted, in bytes (default 16 MiB): beyond it the answer is 413. */
  maxBodyBytes?: number;
}

/** The words a check can quote. */
export const OTLP_MESSAGES = {
  protobuf:
    'your exporter sends protobuf (content-type application/x-protobuf), and the workbook receives OTLP as JSON: ' +
    'use OTLPTraceExporter from @opentelemetry/exporter-trace-otlp-http (http/json), not the -proto or -grpc exporter.',
  timedOut: (what: string, expected: string, ms: number, received: string) =>
    `${what}: expected ${expected} at the OTLP receiver within ${ms} ms, but ${received}`,
  nothingArrived:
    'no export request arrived at all (is OTEL_EXPORTER_OTLP_ENDPOINT read, is a span processor with an exporter registered, ' +
    'and does the process flush before it exits?)',
  failed: (count: number, status: number) => `${count} export ${count === 1 ? 'request was' : 'requests were'} answered ${status}`,
  downNotAnswered: (count: number) => `${count} export ${count === 1 ? 'request' : 'requests'} got no answer`,
} as const;

const JSON_TYPE = /^application\/json\b/i;
const PROTOBUF_TYPE = /^application\/(x-)?protobuf\b/i;

const SIGNALS: Record<string, OtlpSignal> = { '/v1/traces': 'traces', '/v1/metrics': 'metrics', '/v1/logs': 'logs' };

/** A received span before it is placed in a trace: times in epoch ms. */
interface ReceivedSpan {
  node: SpanNode;
  /** The order it arrived in: a batch processor exports spans in the order they ended. */
  arrival: number;
  startMs: number;
  endMs: number | undefined;
  eventsMs: number[];
}

/** Starts a receiver on 127.0.0.1 (port 0 unless given). Close it when the check ends. */
export async function startOtlpReceiver(options: ReceiverOptions = {}): Promise<OtlpReceiver> {
  const maxBody = options.maxBodyBytes ?? 16 * 1024 * 1024;
  let mode: ReceiverMode = { mode: 'normal' };
  let received: ReceivedSpan[] = [];
  let metricBodies: unknown[] = [];
  let logBodies: unknown[] = [];
  let requests: OtlpRequest[] = [];
  let protobuf = false;
  let arrivals = 0;
  const listeners = new Set<() => void>();
  const sockets = new Set<Socket>();
  const pending = new Set<NodeJS.Timeout>();

  const notify = (): void => {
    for (const listener of [...listeners]) listener();
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBody) tooLarge = true;
      else chunks.push(chunk);
    });
    req.on('end', () => {
      const contentType = String(req.headers['content-type'] ?? '');
      const record: OtlpRequest = {
        at: Date.now(),
        method: req.method ?? '',
        path: (req.url ?? '').split('?')[0] ?? '',
        signal: SIGNALS[(req.url ?? '').split('?')[0] ?? ''],
        contentType,
        encoding: JSON_TYPE.test(contentType) ? 'json' : PROTOBUF_TYPE.test(contentType) ? 'protobuf' : 'other',
        headers: Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : String(v ?? '')])),
        status: undefined,
        spans: 0,
        kept: false,
      };
      requests.push(record);
      const answer = (status: number, body: string, keep?: () => void): void => {
        if (res.destroyed || res.writableEnded) return notify();
        record.status = status;
        if (keep) {
          keep();
          record.kept = true;
        }
        res.writeHead(status, { 'content-type': 'application/json' }).end(body);
        notify();
      };
      if (record.method !== 'POST' || record.signal === undefined) return answer(404, '{"error":"not an OTLP path"}');
      if (record.encoding === 'protobuf') {
        protobuf = true;
        return answer(415, JSON.stringify({ error: OTLP_MESSAGES.protobuf }));
      }
      if (record.encoding !== 'json') return answer(415, '{"error":"send OTLP as application/json"}');
      if (tooLarge) return answer(413, '{"error":"body too large"}');
      let body: unknown;
      try {
        body = JSON.parse(decode(Buffer.concat(chunks), String(req.headers['content-encoding'] ?? '')).toString('utf8'));
      } catch {
        return answer(400, '{"error":"the body is not JSON"}');
      }
      const spans = record.signal === 'traces' ? decodeTraces(body, () => arrivals++) : [];
      record.spans = spans.length;
      const keep = (): void => {
        if (record.signal === 'traces') received.push(...spans);
        if (record.signal === 'metrics') metricBodies.push(body);
        if (record.signal === 'logs') logBodies.push(body);
      };
      const current = mode;
      if (current.mode === 'failing') return answer(current.status ?? 503, '{"error":"the receiver is failing (set by the check)"}');
      if (current.mode === 'slow') {
        const timer = setTimeout(() => {
          pending.delete(timer);
          answer(200, '{}', keep);
        }, current.delayMs);
        pending.add(timer);
        return;
      }
      answer(200, '{}', keep);
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  const listen = (port: number): Promise<void> =>
    new Promise((resolve, reject) => {
      const onError = (error: Error): void => reject(new Error(`the OTLP receiver could not listen on 127.0.0.1:${port}: ${error.message}`));
      server.once('error', onError);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', onError);
        resolve();
      });
    });
  const stopListening = async (): Promise<void> => {
    for (const timer of pending) clearTimeout(timer);
    pending.clear();
    if (!server.listening) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    // Keep-alive connections of the exporter would hold the server open: a receiver that is down answers nothing.
    for (const socket of sockets) socket.destroy();
    await closed;
  };

  await listen(options.port ?? 0);
  const port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;

  const traces = (): TraceTree[] => assembleReceived(received);
  const spanCount = (): number => received.length;

  const receiver: OtlpReceiver = {
    url,
    tracesUrl: `${url}/v1/traces`,
    metricsUrl: `${url}/v1/metrics`,
    logsUrl: `${url}/v1/logs`,
    port,
    traces,
    spans: () => inStartOrder(traces()),
    resources: () => distinctResources(received),
    requests: () => [...requests],
    metrics: () => [...metricBodies],
    logs: () => [...logBodies],
    sawProtobuf: () => protobuf,
    get mode() {
      return mode;
    },
    async setMode(next) {
      const wanted: ReceiverMode = typeof next === 'string' ? (next === 'slow' ? { mode: 'slow', delayMs: 1000 } : { mode: next }) : next;
      if (wanted.mode === 'down') await stopListening();
      else if (!server.listening) await listen(port);
      mode = wanted;
    },
    reset() {
      received = [];
      metricBodies = [];
      logBodies = [];
      requests = [];
      protobuf = false;
    },
    waitForSpans(until, waitOptions = {}) {
      const timeoutMs = waitOptions.timeoutMs ?? 5000;
      const met = (): boolean => (typeof until === 'number' ? spanCount() >= until : until(inStartOrder(traces())));
      return new Promise<SpanNode[]>((resolve, reject) => {
        const check = (): void => {
          if (!met()) return;
          listeners.delete(check);
          clearTimeout(timer);
          resolve(inStartOrder(traces()));
        };
        const timer = setTimeout(() => {
          listeners.delete(check);
          if (met()) return resolve(inStartOrder(traces()));
          const expected = typeof until === 'number' ? `${until} ${until === 1 ? 'span' : 'spans'}` : 'the spans it waits for';
          const what = waitOptions.what ?? 'spans exported by the process';
          reject(new CheckFailure(OTLP_MESSAGES.timedOut(what, expected, timeoutMs, describeReceived(receiver))));
        }, timeoutMs);
        listeners.add(check);
        check();
      });
    },
    async close() {
      listeners.clear();
      await stopListening();
    },
  };
  return receiver;
}

/** What arrived, in words, for a failure message. */
export function describeReceived(receiver: Pick<OtlpReceiver, 'spans' | 'requests' | 'sawProtobuf'>): string {
  const requests = receiver.requests().filter((r) => r.signal === 'traces');
  if (receiver.sawProtobuf()) return `it received protobuf: ${OTLP_MESSAGES.protobuf}`;
  if (requests.length === 0) return OTLP_MESSAGES.nothingArrived;
  const spans = receiver.spans();
  const names = [...new Set(spans.map((s) => `"${s.name}"`))].slice(0, 8).join(', ');
  const parts = [spans.length === 0 ? 'no span was kept' : `it received ${spans.length} ${spans.length === 1 ? 'span' : 'spans'} (${names})`];
  const failedBy = new Map<number, number>();
  for (const r of requests) if (r.status !== undefined && r.status !== 200) failedBy.set(r.status, (failedBy.get(r.status) ?? 0) + 1);
  for (const [status, count] of failedBy) parts.push(OTLP_MESSAGES.failed(count, status));
  const unanswered = requests.filter((r) => r.status === undefined).length;
  if (unanswered > 0) parts.push(OTLP_MESSAGES.downNotAnswered(unanswered));
  return parts.join('; ');
}

function decode(body: Buffer, encoding: string): Buffer {
  if (/gzip/i.test(encoding)) return gunzipSync(body);
  if (/deflate/i.test(encoding)) return inflateSync(body);
  return body;
}

// ---- OTLP JSON to span nodes ------------------------------------------------------------------

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function list(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

/** OTLP numbers kinds from 1 (0 is "unspecified"); the API's SpanKind starts at 0. */
const OTLP_KINDS: Record<string, KindName> = {
  0: 'internal',
  1: 'internal',
  2: 'server',
  3: 'client',
  4: 'producer',
  5: 'consumer',
  SPAN_KIND_UNSPECIFIED: 'internal',
  SPAN_KIND_INTERNAL: 'internal',
  SPAN_KIND_SERVER: 'server',
  SPAN_KIND_CLIENT: 'client',
  SPAN_KIND_PRODUCER: 'producer',
  SPAN_KIND_CONSUMER: 'consumer',
};

const OTLP_STATUS: Record<string, StatusName> = {
  0: 'unset',
  1: 'ok',
  2: 'error',
  STATUS_CODE_UNSET: 'unset',
  STATUS_CODE_OK: 'ok',
  STATUS_CODE_ERROR: 'error',
};

/** Epoch milliseconds (fractional) from OTLP's nanoseconds, a decimal string or a number. */
export function nanosToMs(value: unknown): number | undefined {
  if (typeof value === 'number') return value / 1e6;
  if (typeof value !== 'string' || !/^\d+$/.test(value)) return undefined;
  const nanos = BigInt(value);
  return Number(nanos / 1_000_000n) + Number(nanos % 1_000_000n) / 1e6;
}

/** Ids are hex in the exporter's JSON; protobuf's canonical JSON mapping gives them in base64. */
function hexId(value: unknown): string | undefined {
  if (typeof value !== 'string' || value === '') return undefined;
  if (/^[0-9a-f]+$/i.test(value) && (value.length === 32 || value.length === 16)) return value.toLowerCase();
  return Buffer.from(value, 'base64').toString('hex');
}

/** An OTLP AnyValue as an attribute value; nested maps become JSON text. */
export function anyValue(value: unknown): AttributeValue | undefined {
  if (!isObject(value)) return undefined;
  if (typeof value['stringValue'] === 'string') return value['stringValue'];
  if ('intValue' in value) return Number(value['intValue']);
  if ('doubleValue' in value) return Number(value['doubleValue']);
  if (typeof value['boolValue'] === 'boolean') return value['boolValue'];
  if (isObject(value['arrayValue'])) {
    return list(value['arrayValue']['values'])
      .map(anyValue)
      .filter((v): v is string | number | boolean => v !== undefined && !Array.isArray(v)) as AttributeValue;
  }
  if (isObject(value['kvlistValue'])) return JSON.stringify(attributes(value['kvlistValue']['values']));
  if (typeof value['bytesValue'] === 'string') return value['bytesValue'];
  return undefined;
}

export function attributes(value: unknown): Attributes {
  const out: Attributes = {};
  for (const item of list(value)) {
    if (!isObject(item) || typeof item['key'] !== 'string') continue;
    const decoded = anyValue(item['value']);
    if (decoded !== undefined) out[item['key']] = decoded;
  }
  return out;
}

/** Every span of an ExportTraceServiceRequest in JSON, with its resource and scope. Malformed parts are skipped. */
function decodeTraces(body: unknown, arrival: () => number): ReceivedSpan[] {
  if (!isObject(body)) return [];
  const spans: ReceivedSpan[] = [];
  for (const resourceSpans of list(body['resourceSpans'])) {
    if (!isObject(resourceSpans)) continue;
    const resource = attributes(isObject(resourceSpans['resource']) ? resourceSpans['resource']['attributes'] : undefined);
    for (const scopeSpans of list(resourceSpans['scopeSpans'])) {
      if (!isObject(scopeSpans)) continue;
      const scope = isObject(scopeSpans['scope']) && typeof scopeSpans['scope']['name'] === 'string' ? scopeSpans['scope']['name'] : '';
      for (const span of list(scopeSpans['spans'])) {
        const decoded = isObject(span) ? decodeSpan(span, scope, resource, arrival()) : undefined;
        if (decoded) spans.push(decoded);
      }
    }
  }
  return spans;
}

function decodeSpan(span: Json, scope: string, resource: Attributes, arrival: number): ReceivedSpan | undefined {
  const traceId = hexId(span['traceId']);
  const spanId = hexId(span['spanId']);
  const startMs = nanosToMs(span['startTimeUnixNano']);
  if (traceId === undefined || spanId === undefined || startMs === undefined) return undefined;
  const endMs = nanosToMs(span['endTimeUnixNano']);
  const status = isObject(span['status']) ? span['status'] : {};
  const events = list(span['events']).filter(isObject);
  return {
    arrival,
    startMs,
    endMs,
    eventsMs: events.map((e) => nanosToMs(e['timeUnixNano']) ?? startMs),
    node: {
      name: typeof span['name'] === 'string' ? span['name'] : '',
      kind: OTLP_KINDS[String(span['kind'] ?? 0)] ?? 'internal',
      status: OTLP_STATUS[String(status['code'] ?? 0)] ?? 'unset',
      statusMessage: typeof status['message'] === 'string' && status['message'] !== '' ? status['message'] : undefined,
      scope,
      traceId,
      spanId,
      parentSpanId: hexId(span['parentSpanId']),
      attributes: attributes(span['attributes']),
      events: events.map((e) => ({ name: typeof e['name'] === 'string' ? e['name'] : '', at: 0, attributes: attributes(e['attributes']) })),
      links: list(span['links'])
        .filter(isObject)
        .map((l) => ({ traceId: hexId(l['traceId']) ?? '', spanId: hexId(l['spanId']) ?? '', attributes: attributes(l['attributes']) })),
      start: 0,
      end: undefined,
      // A span is exported when it ends: every received span has ended.
      ended: true,
      resource,
      children: [],
    },
  };
}

/** Received spans as traces, each placed relative to its trace's first span. */
function assembleReceived(received: readonly ReceivedSpan[]): TraceTree[] {
  const byTrace = new Map<string, ReceivedSpan[]>();
  for (const item of received) {
    const group = byTrace.get(item.node.traceId) ?? [];
    group.push(item);
    byTrace.set(item.node.traceId, group);
  }
  const traces = [...byTrace].map(([traceId, items]) => {
    const origin = Math.min(...items.map((i) => i.startMs));
    const nodes = items.map((item): SpanNode => ({
      ...item.node,
      start: item.startMs - origin,
      end: item.endMs === undefined ? undefined : item.endMs - origin,
      events: item.node.events.map((e, i) => ({ ...e, at: (item.eventsMs[i] ?? item.startMs) - origin })),
      links: item.node.links.map((l) => ({ ...l })),
      children: [],
    }));
    return assembleTrace(traceId, withStartOrder(items, nodes), origin);
  });
  return traces.sort((a, b) => a.startEpochMs - b.startEpochMs);
}

/**
 * Another process's SDK stamps starts in whole milliseconds, so a parent and its child, or two
 * calls in a row, often start "at once". Ties are broken the way they happened: an ancestor before
 * its descendants, and of two siblings the one that ended (and so was exported) first.
 */
function withStartOrder(items: readonly ReceivedSpan[], nodes: SpanNode[]): SpanNode[] {
  const byId = new Map(nodes.map((n) => [n.spanId, n]));
  const depth = (node: SpanNode): number => {
    let d = 0;
    let parent = node.parentSpanId === undefined ? undefined : byId.get(node.parentSpanId);
    while (parent && d < nodes.length) {
      d += 1;
      parent = parent.parentSpanId === undefined ? undefined : byId.get(parent.parentSpanId);
    }
    return d;
  };
  const facts = new Map(nodes.map((n, i) => [n, { depth: depth(n), arrival: items[i]?.arrival ?? i }]));
  const of = (node: SpanNode): { depth: number; arrival: number } => facts.get(node) ?? { depth: 0, arrival: 0 };
  const ordered = [...nodes].sort((a, b) => a.start - b.start || of(a).depth - of(b).depth || of(a).arrival - of(b).arrival);
  ordered.forEach((node, i) => {
    node.seq = i;
  });
  return ordered;
}

function inStartOrder(traces: readonly TraceTree[]): SpanNode[] {
  return traces
    .flatMap((t) => t.spans.map((span) => ({ span, at: t.startEpochMs + span.start })))
    .sort((a, b) => a.at - b.at || (a.span.seq ?? 0) - (b.span.seq ?? 0))
    .map((entry) => entry.span);
}

function distinctResources(received: readonly ReceivedSpan[]): Attributes[] {
  const seen = new Map<string, Attributes>();
  for (const item of received) {
    const resource = item.node.resource ?? {};
    const key = JSON.stringify(Object.entries(resource).sort(([a], [b]) => a.localeCompare(b)));
    if (!seen.has(key)) seen.set(key, resource);
  }
  return [...seen.values()];
}
