/**
 * An in-memory database with transactions, for the architecture exercises: the thing behind a
 * repository or a unit of work. Tables hold plain-data rows under string keys, copied in and
 * out. A transaction reads the committed rows (and its own writes), keeps its writes to itself,
 * and applies them all at once when it commits, or none of them: a commit that fails changes
 * nothing. A row changed by another commit after this transaction read it makes the commit fail
 * with a `WriteConflictError` (optimistic concurrency), so two transfers that raced cannot lose
 * an update.
 *
 * It makes no spans: the code that uses it traces its own calls, as its exercise's contract
 * says. Checks control it with `fault` (fail an operation: a commit, a read) and `latency` (hold
 * an operation in flight), and read it with `peek`, `rows` and `calls`, which make no calls.
 */

export type DatabaseOperation = 'get' | 'put' | 'delete' | 'commit' | 'rollback';

/** A row's address. */
export interface DatabaseKey {
  table: string;
  key: string;
}

/** One operation, as `fault` and `latency` see it and `calls` records it. */
export interface DatabaseCall {
  operation: DatabaseOperation;
  /** The transaction it belongs to: 1 for the first `begin()`, in order. */
  transaction: number;
  /** For get, put and delete. */
  table?: string;
  key?: string;
  /** For commit: every row the transaction writes (puts and deletes), in the order first written. */
  writes?: readonly DatabaseKey[];
}

export interface InMemoryDatabaseOptions {
  /** Initial rows per table (copied; no call recorded). */
  seed?: Record<string, Iterable<readonly [string, unknown]>>;
  /**
   * Awaited at the start of every operation, before it can fail and before it takes effect:
   * `() => clock.sleep(5)` for latency on a fake clock, `() => gate.promise` to hold a commit in
   * flight while the check looks. Default: answer on the next microtask.
   */
  latency?: (call: DatabaseCall) => Promise<void>;
  /** An error to fail the operation with (before it takes effect), or undefined to let it through. */
  fault?: (call: DatabaseCall) => Error | undefined;
}

export type TransactionState = 'open' | 'committed' | 'rolled-back' | 'failed';

export const DATABASE_MESSAGES = {
  closed: (id: number, operation: DatabaseOperation, state: TransactionState) =>
    `transaction ${id}: cannot ${operation}, the transaction is already ${state}`,
  conflict: (row: DatabaseKey) =>
    `write conflict on ${row.table}/${row.key}: another transaction committed a change to it after this one read it`,
  notData: (row: DatabaseKey, error: unknown) =>
    `put ${row.table}/${row.key}: a row must be plain data, because the database copies it ` +
    `(${error instanceof Error ? error.message : String(error)})`,
} as const;

/** The commit failed because a row it writes changed since it was read. Nothing was written. */
export class WriteConflictError extends Error {
  override readonly name = 'WriteConflictError';

  constructor(readonly row: DatabaseKey) {
    super(DATABASE_MESSAGES.conflict(row));
  }
}

/** An operation on a transaction that already committed, rolled back or failed. */
export class TransactionClosedError extends Error {
  override readonly name = 'TransactionClosedError';
}

interface StoredRow {
  value: unknown;
  /** Bumped by every commit that writes the row (deleting included). */
  version: number;
  /** A deleted row keeps its version, for conflict checks, and reads as missing. */
  deleted: boolean;
}

/** A buffered write: a value, or a deletion. */
type PendingWrite = { value: unknown } | { deleted: true };

function address(table: string, key: string): string {
  return JSON.stringify([table, key]);
}

function copy<T>(value: T): T {
  return structuredClone(value);
}

export class InMemoryDatabase {
  private readonly tables = new Map<string, Map<string, StoredRow>>();
  private readonly log: DatabaseCall[] = [];
  private transactions = 0;

  constructor(private readonly options: InMemoryDatabaseOptions = {}) {
    for (const [table, rows] of Object.entries(options.seed ?? {})) {
      for (const [key, value] of rows) this.seed(table, key, value);
    }
  }

  /** Starts a transaction. Nothing it writes is visible to anyone else until it commits. */
  begin(): Transaction {
    this.transactions += 1;
    return new Transaction(this, this.transactions);
  }

  /** Every operation called so far, in call order (a failed one included). */
  get calls(): readonly DatabaseCall[] {
    return this.log;
  }

  /** How many times `operation` was called. */
  count(operation: DatabaseOperation): number {
    return this.log.filter((call) => call.operation === operation).length;
  }

  /** The committed row, without a call: what a check compares against. */
  peek<T = unknown>(table: string, key: string): T | undefined {
    const row = this.tables.get(table)?.get(key);
    return row === undefined || row.deleted ? undefined : (copy(row.value) as T);
  }

  /** Every committed row of `table`, as [key, row] pairs in key order, without a call. */
  rows<T = unknown>(table: string): [string, T][] {
    const rows = [...(this.tables.get(table) ?? new Map<string, StoredRow>())].filter(([, row]) => !row.deleted);
    return rows.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([key, row]) => [key, copy(row.value) as T]);
  }

  /** Writes a committed row without a transaction or a call: data that was there before the check. */
  seed(table: string, key: string, value: unknown): void {
    const rows = this.table(table);
    const version = (rows.get(key)?.version ?? 0) + 1;
    rows.set(key, { value: this.checked({ table, key }, value), version, deleted: false });
  }

  /** @internal The steps every transaction operation goes through: record, wait, maybe fail. */
  async enter(call: DatabaseCall): Promise<void> {
    this.log.push(call);
    await (this.options.latency?.(call) ?? Promise.resolve());
    const error = this.options.fault?.(call);
    if (error) throw error;
  }

  /** @internal The committed row and its version (0 when it never existed). */
  read(table: string, key: string): { value: unknown; version: number; exists: boolean } {
    const row = this.tables.get(table)?.get(key);
    const exists = row !== undefined && !row.deleted;
    return { value: exists ? copy(row.value) : undefined, version: row?.version ?? 0, exists };
  }

  /** @internal Applies a commit's writes at once, or throws without applying any. */
  apply(writes: ReadonlyMap<string, { row: DatabaseKey; write: PendingWrite }>, readVersions: ReadonlyMap<string, number>): void {
    for (const [id, { row }] of writes) {
      const seen = readVersions.get(id);
      if (seen !== undefined && seen !== this.read(row.table, row.key).version) throw new WriteConflictError(row);
    }
    for (const { row, write } of writes.values()) {
      const rows = this.table(row.table);
      const version = (rows.get(row.key)?.version ?? 0) + 1;
      rows.set(row.key, 'deleted' in write ? { value: undefined, version, deleted: true } : { value: copy(write.value), version, deleted: false });
    }
  }

  /** @internal A copy of `value`, or a clear error when it is not plain data. */
  checked(row: DatabaseKey, value: unknown): unknown {
    try {
      return copy(value);
    } catch (error) {
      throw new TypeError(DATABASE_MESSAGES.notData(row, error), { cause: error });
    }
  }

  private table(name: string): Map<string, StoredRow> {
    let rows = this.tables.get(name);
    if (!rows) {
      rows = new Map();
      this.tables.set(name, rows);
    }
    return rows;
  }
}

/**
 * One unit of work against an {@link InMemoryDatabase}: reads see the committed rows as they are
 * when read, plus this transaction's own writes; writes stay here until `commit`.
 */
export class Transaction {
  private current: TransactionState = 'open';
  private readonly writes = new Map<string, { row: DatabaseKey; write: PendingWrite }>();
  /** The version of each row when this transaction first read it. */
  private readonly readVersions = new Map<string, number>();

  constructor(
    private readonly database: InMemoryDatabase,
    /** 1 for the database's first transaction, in `begin()` order. */
    readonly id: number,
  ) {}

  get state(): TransactionState {
    return this.current;
  }

  /** The row as this transaction sees it: its own write if it made one, else the committed row. */
  async get<T = unknown>(table: string, key: string): Promise<T | undefined> {
    this.open('get');
    await this.database.enter({ operation: 'get', transaction: this.id, table, key });
    this.open('get');
    const id = address(table, key);
    const own = this.writes.get(id);
    if (own) return 'deleted' in own.write ? undefined : (copy(own.write.value) as T);
    const committed = this.database.read(table, key);
    if (!this.readVersions.has(id)) this.readVersions.set(id, committed.version);
    return committed.exists ? (committed.value as T) : undefined;
  }

  /** Writes the row, for this transaction only until it commits. */
  async put(table: string, key: string, value: unknown): Promise<void> {
    this.open('put');
    const row = { table, key };
    const stored = this.database.checked(row, value);
    await this.database.enter({ operation: 'put', transaction: this.id, table, key });
    this.open('put');
    this.writes.delete(address(table, key));
    this.writes.set(address(table, key), { row, write: { value: stored } });
  }

  /** Deletes the row, for this transaction only until it commits. */
  async delete(table: string, key: string): Promise<void> {
    this.open('delete');
    await this.database.enter({ operation: 'delete', transaction: this.id, table, key });
    this.open('delete');
    this.writes.delete(address(table, key));
    this.writes.set(address(table, key), { row: { table, key }, write: { deleted: true } });
  }

  /**
   * Applies every write at once. Rejects, writing nothing, when `fault` fails the commit or a row
   * it writes changed since it was read (`WriteConflictError`); the transaction is then `failed`.
   */
  async commit(): Promise<void> {
    this.open('commit');
    const writes = [...this.writes.values()].map(({ row }) => row);
    try {
      await this.database.enter({ operation: 'commit', transaction: this.id, writes });
      this.open('commit');
      this.database.apply(this.writes, this.readVersions);
      this.current = 'committed';
    } catch (error) {
      if (this.current === 'open') this.current = 'failed';
      throw error;
    }
  }

  /** Drops every write. Does nothing on a transaction that already ended (committed, failed or rolled back). */
  async rollback(): Promise<void> {
    if (this.current !== 'open') return;
    this.current = 'rolled-back';
    this.writes.clear();
    await this.database.enter({ operation: 'rollback', transaction: this.id });
  }

  private open(operation: DatabaseOperation): void {
    if (this.current !== 'open') throw new TransactionClosedError(DATABASE_MESSAGES.closed(this.id, operation, this.current));
  }
}
