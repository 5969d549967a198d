/**
 * What checker files import as `#checks`: the trace harness wired into vitest, trace shapes that
 * explain their first difference, expectations that fail in words, property checks, randomized
 * inputs, resources closed after each check, and structure rules read from the real imports.
 * Learners never import this; their code only uses @opentelemetry/api and #kit.
 */
export { useTracing, expectTrace, expectAllEnded, spansNamed, requireExports, duplicateRegistrationMessage } from './tracing.ts';
export { MissingExportError, UnhandledRejectionError } from './tracing.ts';
export { verify, expectThat, fail, show, counted, sequenceDifference } from './verify.ts';
export type { Verified } from './verify.ts';
export { holds, PROPERTY_TEXT } from './properties.ts';
export type { PropertyOptions } from './properties.ts';
export { random } from './random.ts';
export { closeAfter, afterCheck } from './resources.ts';
export type { Closable } from './resources.ts';
export { CheckFailure } from './contract.ts';
export { TraceMismatchError } from '../trace/failure.ts';
export { absent, present, anyNumber, anyString, oneOf, where, between } from '../trace/expect-values.ts';
export type { SpanShape, EventShape, LinkShape } from '../trace/match.ts';
export type { SpanNode, TraceTree } from '../trace/model.ts';
export type { TraceHarness } from '../trace/harness.ts';
export * from './imports.ts';
export { createJwtIssuer, malformedAuthorizations, JWT_TEXT } from './jwt.ts';
export type { JwtIssuer, IssueOptions, MalformedToken } from './jwt.ts';
export { startProcess, bundleEntry, printedLines, describeExit, workbookRoot, PROCESS_MESSAGES } from './processes.ts';
export type { ChildService, ProcessOptions, ExitInfo } from './processes.ts';
export { useOtlpReceiver, startOtlpReceiver } from './otlp.ts';
export type { OtlpReceiver, OtlpRequest, ReceiverMode, ReceiverOptions } from '../trace/otlp-receiver.ts';
export { useMetrics, pointsWhere, totalOf, describeMetrics, describeAttributes, METRIC_MESSAGES } from './metrics.ts';
export type { CheckMetrics, MetricsReading } from './metrics.ts';
export type { MetricData, NumberMetric, HistogramMetric, NumberPoint, HistogramPoint, MetricType, MetricsConfig } from '../trace/metrics.ts';
export { useInstrumentations, importTarget, withoutTracing } from './instrumentation.ts';
export type { InstrumentationOptions } from './instrumentation.ts';
export { postgresSchema, redisPrefix, rabbitmqNames, natsNames, serverUrl, ServerNotFoundError, SERVER_TEXT } from './servers.ts';
export type { CheckSchema, CheckRedis, CheckRabbitmq, CheckNats } from './servers.ts';
export { useSpanRecorder, recordedTraces, RECORDER_AUTHORING } from './recorder.ts';
export type { SpanRecorder, SpanRecorderOptions } from './recorder.ts';
