/**
 * The rig of the event-store-postgres checks: a schema of the check's own on the server this run
 * uses (PGlite or a real PostgreSQL), the learner's pool, tables and stores over it, the stock
 * item's rules folded by the checker itself (shared with event-sourcing), and the checker's own
 * SQL, which runs untraced.
 */
import {
  afterCheck,
  expectThat,
  fail,
  postgresSchema,
  show,
  verify,
  withoutTracing,
  type CheckSchema,
  type ImportGraph,
  type SpanNode,
  type TraceHarness,
  type TraceTree,
} from '#checks';
import type { Pool } from 'pg';
import type { createPool } from '#target/05-infrastructure/01-event-store-postgres/db.ts';
import type { migrate } from '#target/05-infrastructure/01-event-store-postgres/migrations.ts';
import type { ConcurrencyError, PostgresEventStore } from '#target/05-infrastructure/01-event-store-postgres/event-store.ts';
import type { PostgresSnapshotStore, Snapshot } from '#target/05-infrastructure/01-event-store-postgres/snapshot-store.ts';
import type { StockItems } from '#target/05-infrastructure/01-event-store-postgres/stock-items.ts';
import type { StockCommand, StockEvent, StockState } from '#target/05-infrastructure/01-event-store-postgres/domain/stock-item.ts';
import { errorName, fold, refDecide, settle, showCommand } from '../03-architecture/04-event-sourcing.rig.ts';

export { APPEND, ATTR, LOAD, SNAPSHOT, errorName, fold, receive, settle, showCommand, sortedState, times, anyEvent, wrongVersions } from '../03-architecture/04-event-sourcing.rig.ts';

/** The learner's modules, handed over by the checker file (which imports them through #target/). */
export interface Target {
  createPool: typeof createPool;
  migrate: typeof migrate;
  PostgresEventStore: typeof PostgresEventStore;
  PostgresSnapshotStore: typeof PostgresSnapshotStore;
  StockItems: typeof StockItems;
  ConcurrencyError: typeof ConcurrencyError;
}

export const TEXT = {
  noClientSpans: (where: string) =>
    `${where} has no CLIENT span of instrumentation-pg: your queries were not traced. Enable the instrumentation ` +
    '(registerInstrumentations({ instrumentations: [new PgInstrumentation()] })) in instrumentation.ts, and import that module ' +
    "before pg: `import './instrumentation.ts'` as the first import of db.ts. An instrumentation patches pg only if it is enabled before pg loads.",
  stuckInTransaction: (after: string) =>
    `after ${after}, a connection of your pool is still inside its transaction (BEGIN with no COMMIT or ROLLBACK): ` +
    'roll back before releasing the client. Such a connection holds its snapshot and locks on a real server, and on PGlite, ' +
    'which runs one transaction at a time, it blocks every other connection.',
} as const;

// ---------------------------------------------------------------------------------------------
// The rig: a schema of the check's own, the learner's pool, tables, stores and StockItems over it
// ---------------------------------------------------------------------------------------------

export interface Rig {
  schema: CheckSchema;
  /** The learner's pool (from createPool), ended when the check ends. */
  pool: Pool;
  /** The database the URL names: what db.namespace must say. */
  database: string;
  events: PostgresEventStore<StockEvent>;
  snapshots: PostgresSnapshotStore<StockState>;
  /** StockItems over the learner's stores, with every snapshot saved recorded. */
  items: StockItems;
  saved: Snapshot<StockState>[];
  snapshotEvery: number;
}

/** A stream of the rig: its id, and the events the commands must have appended, in order. */
export interface Stream {
  sku: string;
  accepted: StockEvent[];
}

/** A fresh schema with the learner's tables (migrate runs untraced), pool and stores. */
export async function openRig(target: Target, snapshotEvery: number): Promise<Rig> {
  const schema = await postgresSchema();
  const pool = target.createPool(schema.url);
  // Registered after the schema's own cleanup, so it runs before it: the learner's connections
  // close first (on PGlite, one left inside a transaction would block the schema's DROP).
  afterCheck(() => pool.end());
  const setup = await settle(withoutTracing(() => target.migrate(pool)));
  if (!setup.ok) fail(`migrate(pool) rejected with ${show(setup.error)}: the checks need the tables it creates`);
  const events = new target.PostgresEventStore<StockEvent>(pool);
  const snapshots = new target.PostgresSnapshotStore<StockState>(pool);
  const saved: Snapshot<StockState>[] = [];
  const save = snapshots.save.bind(snapshots);
  snapshots.save = (snapshot) => {
    saved.push(structuredClone(snapshot));
    return save(snapshot);
  };
  const items = new target.StockItems({ events, snapshots, snapshotEvery });
  return { schema, pool, database: databaseOf(schema.url), events, snapshots, items, saved, snapshotEvery };
}

function databaseOf(url: string): string {
  return decodeURIComponent(new URL(url).pathname.slice(1));
}

let streams = 0;
export function newStream(): Stream {
  // Letters and digits only: the checks put the id in SQL of their own (a trigger's condition).
  return { sku: `sku${Math.random().toString(36).slice(2, 8)}${++streams}`, accepted: [] };
}

/** Handles `command` and checks the outcome against the reference: the new version, or the right refusal. */
export async function handle(r: Rig, s: Stream, command: StockCommand): Promise<void> {
  const expected = refDecide(fold(s.accepted), command);
  const call = `handle("${s.sku}", ${showCommand(command)}) on a stream at version ${s.accepted.length}`;
  const outcome = await settle(r.items.handle(s.sku, command));
  if (typeof expected === 'string') {
    if (outcome.ok) fail(`${call} must reject with ${expected}, but it resolved ${show(outcome.value)}`);
    verify(errorName(outcome.error), `the error ${call} rejected with`).is(expected);
    return;
  }
  s.accepted.push(expected);
  if (!outcome.ok) fail(`${call} must resolve version ${s.accepted.length}, but it rejected with ${show(outcome.error)}`);
  verify(outcome.value, `the version ${call} resolved`).is(s.accepted.length);
}

export async function handleAll(r: Rig, s: Stream, commands: readonly StockCommand[]): Promise<void> {
  for (const command of commands) await handle(r, s, command);
}

/** The same, untraced: a state to start a check from. */
export function prepare(r: Rig, s: Stream, commands: readonly StockCommand[]): Promise<void> {
  return withoutTracing(() => handleAll(r, s, commands));
}

// ---------------------------------------------------------------------------------------------
// The checker's own SQL (untraced, in the check's schema)
// ---------------------------------------------------------------------------------------------

/** The versions of the stream's rows in `events`, as the table holds them. */
export function storedVersions(r: Rig, sku: string): Promise<number[]> {
  return versionsIn(r, 'events', sku);
}

/** The versions of the stream's rows in `snapshots`. */
export function snapshotVersions(r: Rig, sku: string): Promise<number[]> {
  return versionsIn(r, 'snapshots', sku);
}

async function versionsIn(r: Rig, table: 'events' | 'snapshots', sku: string): Promise<number[]> {
  const read = await settle(r.schema.query<{ version: number }>(`select version from ${table} where stream_id = $1 order by version`, [sku]));
  if (!read.ok) fail(`the checks could not read the ${table} table (select version from ${table} where stream_id = $1): ${show(read.error)}. migrate must create it, with the columns of the README`);
  return read.value.map((row) => Number(row.version));
}

/** The column sets of the table's unique indexes (its primary key included), each sorted. */
export async function uniqueKeys(r: Rig, table: string): Promise<string[][]> {
  const rows = await r.schema.query<{ columns: string[] }>(
    `select array(select a.attname::text from pg_attribute a where a.attrelid = c.oid and a.attnum = any(i.indkey) order by a.attname) as columns
       from pg_index i
       join pg_class c on c.oid = i.indrelid
       join pg_namespace n on n.oid = c.relnamespace
      where c.relname = $1 and n.nspname = current_schema() and i.indisunique`,
    [table],
  );
  return rows.map((row) => row.columns);
}

/** The columns of a table of the check's schema; empty when there is no such table. */
export async function columnsOf(r: Rig, table: string): Promise<string[]> {
  // pg_attribute rather than information_schema, whose views take half a second on a cold PGlite.
  const rows = await r.schema.query<{ column_name: string }>(
    'select attname::text as column_name from pg_attribute where attrelid = to_regclass($1) and attnum > 0 and not attisdropped order by attnum',
    [table],
  );
  return rows.map((row) => row.column_name);
}

/** Makes the database refuse the insert of one version of one stream, as a broken row or a full disk would. */
export async function refuseInsert(r: Rig, sku: string, version: number): Promise<void> {
  await r.schema.query(
    `create or replace function tracecraft_refuse() returns trigger language plpgsql as $$
     begin
       if new.stream_id = '${sku}' and new.version = ${version} then
         raise exception 'the checks refuse version ${version} of ${sku}' using errcode = 'check_violation';
       end if;
       return new;
     end $$`,
  );
  await r.schema.query('create trigger tracecraft_refuse before insert on events for each row execute function tracecraft_refuse()');
}

export const TIME_LIMIT_MS = 600;

/**
 * Fails unless no connection of the learner's pool is left inside a transaction. A real server says
 * so in pg_stat_activity. PGlite serves one transaction at a time: there, a query of the checks'
 * own that gets no answer means another connection still holds one open.
 */
export async function expectNoOpenTransaction(r: Rig, after: string): Promise<void> {
  if (!r.schema.embedded) {
    const open = await r.schema.query<{ state: string }>(
      "select state from pg_stat_activity where application_name = $1 and pid <> pg_backend_pid() and state like 'idle in transaction%'",
      [r.schema.schema],
    );
    if (open.length > 0) fail(TEXT.stuckInTransaction(after));
    return;
  }
  const answered = await within(TIME_LIMIT_MS, r.schema.query('select 1'));
  if (!answered) fail(TEXT.stuckInTransaction(after));
}

/** True when `work` settles within `ms`. */
export async function within(ms: number, work: Promise<unknown>): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const settled = await Promise.race([
    work.then(
      () => true,
      () => true,
    ),
    new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), ms);
    }),
  ]);
  clearTimeout(timer);
  return settled;
}

/**
 * Runs `append` while a transaction of the checks' own holds the version it will insert, uncommitted,
 * and commits that transaction once `append` waits for it: the append read the stream before the other
 * write committed, and its INSERT meets the UNIQUE constraint (23505). On PGlite, which runs one
 * transaction at a time, the other write commits first and the append finds the stream moved on.
 */
export async function loseTheRace<T>(r: Rig, sku: string, version: number, append: () => Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> {
  const holder = await withoutTracing(async () => {
    const client = await r.schema.pool({ max: 1 }).connect();
    await client.query('begin');
    await client.query('insert into events (stream_id, version, type, data) values ($1, $2, $3, $4)', [
      sku,
      version,
      'StockCounted',
      JSON.stringify({ type: 'StockCounted', quantity: 1 }),
    ]);
    return client;
  });
  const commit = (): Promise<unknown> => withoutTracing(() => holder.query('commit').finally(() => holder.release()));
  if (r.schema.embedded) {
    await commit();
    return settle(append());
  }
  const outcome = settle(append());
  // Until the learner's INSERT waits for the uncommitted row (or a second has passed).
  for (let waited = 0; waited < 1_000; waited += 20) {
    const waiting = await r.schema.query<{ n: number }>(
      "select count(*)::int as n from pg_stat_activity where application_name = $1 and wait_event_type = 'Lock'",
      [r.schema.schema],
    );
    if ((waiting[0]?.n ?? 0) > 0) break;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  await commit();
  return outcome;
}

// ---------------------------------------------------------------------------------------------
// Trace helpers
// ---------------------------------------------------------------------------------------------

/** instrumentation-pg's query spans: `pg.query:<OP> <db>`, CLIENT. */
export const PG_QUERY = /^pg\.query/;

export function isQuerySpan(span: SpanNode): boolean {
  return span.kind === 'client' && PG_QUERY.test(span.name);
}

/** The statement of a query span, as instrumentation-pg recorded it. */
export function queryText(span: SpanNode): string {
  return String(span.attributes['db.query.text'] ?? '');
}

/** The query spans under `span` (at any depth), in start order. */
export function queriesUnder(span: SpanNode): SpanNode[] {
  const found: SpanNode[] = [];
  const walk = (node: SpanNode): void => {
    for (const child of node.children) {
      if (isQuerySpan(child)) found.push(child);
      walk(child);
    }
  };
  walk(span);
  return found.sort((a, b) => (a.seq ?? a.start) - (b.seq ?? b.start));
}

/**
 * The query spans under `span`, or a failure that says why there are none: no query span at all
 * (the instrumentation is not wired), or query spans elsewhere in the trace (the span was not
 * active while its queries ran).
 */
export function expectQueriesUnder(span: SpanNode | undefined, tree: TraceTree, where: string): SpanNode[] {
  const queries = span ? queriesUnder(span) : [];
  if (queries.length > 0) return queries;
  const elsewhere = tree.spans.filter(isQuerySpan);
  if (elsewhere.length === 0) fail(TEXT.noClientSpans(where));
  const parents = [...new Set(elsewhere.map((q) => tree.spans.find((p) => p.spanId === q.parentSpanId)?.name ?? '(none: a root)'))];
  fail(
    `${where} has no CLIENT span of instrumentation-pg under it, but the trace has ${elsewhere.length} query span(s) under ${parents.map((p) => `"${p}"`).join(', ')}: ` +
      'run the queries while the span is active (tracer.startActiveSpan(name, options, async (span) => { …queries… })), so that their spans are its children',
  );
}

export function firstWord(sql: string): string {
  return (/^\s*([A-Za-z]+)/.exec(sql)?.[1] ?? '').toUpperCase();
}

/** Every span recorded, in every trace. */
export function allSpans(otel: TraceHarness): SpanNode[] {
  return otel.traces().flatMap((t) => t.spans);
}

/** Where any of `values` shows in a query span: "db.postgresql.values of pg.query:INSERT test holds "sku-1"". */
export function leakedValues(otel: TraceHarness, values: readonly string[]): string[] {
  const leaks: string[] = [];
  for (const span of allSpans(otel).filter((s) => s.kind === 'client')) {
    for (const [key, value] of Object.entries(span.attributes)) {
      const text = Array.isArray(value) ? value.join(' ') : String(value);
      for (const v of values) if (v !== '' && text.includes(v)) leaks.push(`${key} of "${span.name}" holds ${JSON.stringify(v)}: ${show(value)}`);
    }
  }
  return [...new Set(leaks)];
}

// ---------------------------------------------------------------------------------------------
// Load order, read from the learner's imports
// ---------------------------------------------------------------------------------------------

export const PG_PACKAGES = ['pg', 'pg-pool'];
export const INSTRUMENTATION_PACKAGE = '@opentelemetry/instrumentation-pg';

/**
 * The order in which modules run when `entries` are imported one after the other: an ES module's
 * imports run first, in source order and depth first, then its own body. Packages are leaves.
 * Returns each module (a file of the folder, or `package:<name>`) once, in the order it runs.
 */
export function evaluationOrder(graph: ImportGraph, entries: readonly string[]): string[] {
  const order: string[] = [];
  const seen = new Set<string>();
  const visit = (file: string): void => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const edge of graph.edges.filter((e) => e.from === file && (e.kind === 'static' || e.kind === 're-export'))) {
      if (edge.target === 'file') visit(edge.to);
      else if (edge.target === 'package' && !seen.has(`package:${edge.to}`)) {
        seen.add(`package:${edge.to}`);
        order.push(`package:${edge.to}`);
      }
    }
    order.push(file);
  };
  for (const entry of entries) visit(entry);
  return order;
}

/** What is wrong with the order pg and its instrumentation load in, in words; undefined when pg loads after it. */
export function loadOrderProblem(graph: ImportGraph, entries: readonly string[]): string | undefined {
  const order = evaluationOrder(graph, entries);
  const wiring = graph.edges.filter((e) => e.kind === 'static' && e.target === 'package' && e.to === INSTRUMENTATION_PACKAGE).map((e) => e.from);
  const wiringAt = order.findIndex((m) => wiring.includes(m));
  if (wiringAt < 0) {
    return wiring.length === 0
      ? `no module imports ${INSTRUMENTATION_PACKAGE}: instrumentation.ts should create the PgInstrumentation and register it`
      : `${wiring.join(', ')} creates the PgInstrumentation, but nothing the checks import (${entries.join(', ')}) imports it: import './instrumentation.ts' first in db.ts`;
  }
  const pgAt = order.findIndex((m) => PG_PACKAGES.some((p) => m === `package:${p}`));
  if (pgAt < 0 || pgAt > wiringAt) return undefined;
  const module = order[wiringAt] ?? '';
  const loader = graph.edges.find((e) => e.kind !== 'type' && e.kind !== 'dynamic' && e.target === 'package' && PG_PACKAGES.includes(e.to));
  const where = loader ? `${loader.from}:${loader.line} imports ${loader.to}` : 'pg is imported';
  return (
    `${where}, and that import runs before ${module} creates the PgInstrumentation (imports run first, in order, depth first: ` +
    `the modules run as ${order.filter((m) => !m.startsWith('package:') || PG_PACKAGES.includes(m.slice(8))).map((m) => m.replace('package:', '')).join(' → ')}). ` +
    'pg is then loaded before the instrumentation is enabled, and in your service its queries would have no spans. ' +
    "Make `import './instrumentation.ts'` the first import of db.ts, and import pg in no module that loads before it."
  );
}

export function expectLoadOrder(graph: ImportGraph, entries: readonly string[]): void {
  const problem = loadOrderProblem(graph, entries);
  expectThat(problem === undefined, 'the pg instrumentation is enabled before pg loads', problem);
}
