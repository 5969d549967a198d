import { describe, expect, it } from 'vitest';
import {
  DATABASE_MESSAGES,
  InMemoryDatabase,
  TransactionClosedError,
  WriteConflictError,
  type DatabaseCall,
} from '../../src/kit/index.ts';
import { deferred } from '../../src/kit/control.ts';
import { traceHarness } from '../../src/trace/harness.ts';

interface Account {
  balance: number;
  tags: string[];
}

describe('InMemoryDatabase', () => {
  it('seeds rows, copies them in and out, and lists a table in key order', async () => {
    const seeded: Account = { balance: 10, tags: ['a'] };
    const db = new InMemoryDatabase({ seed: { accounts: [['b', seeded]] } });
    seeded.tags.push('mutated after seeding');
    db.seed('accounts', 'a', { balance: 5, tags: [] });
    expect(db.peek('accounts', 'b')).toEqual({ balance: 10, tags: ['a'] });
    db.peek<Account>('accounts', 'b')?.tags.push('mutated after peeking');
    const tx = db.begin();
    const read = await tx.get<Account>('accounts', 'b');
    read?.tags.push('mutated after reading');
    expect(db.rows('accounts')).toEqual([
      ['a', { balance: 5, tags: [] }],
      ['b', { balance: 10, tags: ['a'] }],
    ]);
    expect(db.peek('accounts', 'missing')).toBeUndefined();
    expect(db.rows('nothing')).toEqual([]);
    expect(db.calls, 'seed, peek and rows make no calls; the get does').toEqual([
      { operation: 'get', transaction: 1, table: 'accounts', key: 'b' },
    ]);
  });

  it('keeps a transaction\'s writes to itself until it commits, then applies them all', async () => {
    const db = new InMemoryDatabase({ seed: { accounts: [['a', { balance: 10 }]] } });
    const tx = db.begin();
    await tx.put('accounts', 'a', { balance: 3 });
    await tx.put('accounts', 'b', { balance: 7 });
    expect(await tx.get('accounts', 'a'), 'a transaction reads its own writes').toEqual({ balance: 3 });
    expect(db.peek('accounts', 'a'), 'nobody else sees them before the commit').toEqual({ balance: 10 });
    expect(await db.begin().get('accounts', 'b')).toBeUndefined();
    await tx.commit();
    expect(tx.state).toBe('committed');
    expect(db.rows('accounts')).toEqual([
      ['a', { balance: 3 }],
      ['b', { balance: 7 }],
    ]);
  });

  it('deletes on commit; a deleted row reads as missing and can be written again', async () => {
    const db = new InMemoryDatabase({ seed: { t: [['k', 1]] } });
    const tx = db.begin();
    await tx.delete('t', 'k');
    expect(await tx.get('t', 'k')).toBeUndefined();
    expect(db.peek('t', 'k')).toBe(1);
    await tx.commit();
    expect(db.peek('t', 'k')).toBeUndefined();
    expect(db.rows('t')).toEqual([]);
    const again = db.begin();
    expect(await again.get('t', 'k')).toBeUndefined();
    await again.put('t', 'k', 2);
    await again.commit();
    expect(db.peek('t', 'k')).toBe(2);
  });

  it('a faulted commit writes nothing, fails the transaction, and records the call with its writes', async () => {
    const boom = new Error('disk full');
    const db = new InMemoryDatabase({
      seed: { accounts: [['a', 10], ['b', 0]] },
      fault: (call) => (call.operation === 'commit' ? boom : undefined),
    });
    const tx = db.begin();
    await tx.put('accounts', 'a', 4);
    await tx.put('accounts', 'b', 6);
    await tx.put('accounts', 'a', 5);
    await expect(tx.commit()).rejects.toBe(boom);
    expect(tx.state).toBe('failed');
    expect(db.rows('accounts')).toEqual([
      ['a', 10],
      ['b', 0],
    ]);
    expect(db.calls.at(-1)).toEqual({
      operation: 'commit',
      transaction: 1,
      writes: [
        { table: 'accounts', key: 'b' },
        { table: 'accounts', key: 'a' },
      ],
    } satisfies DatabaseCall);
    expect(db.count('commit')).toBe(1);
    expect(db.count('put')).toBe(3);
  });

  it('refuses operations on a transaction that ended, but lets a rollback after it pass quietly', async () => {
    const db = new InMemoryDatabase();
    const tx = db.begin();
    await tx.put('t', 'k', 1);
    await tx.commit();
    await expect(tx.put('t', 'k', 2)).rejects.toThrow(TransactionClosedError);
    await expect(tx.get('t', 'k')).rejects.toThrow(DATABASE_MESSAGES.closed(1, 'get', 'committed'));
    await expect(tx.commit()).rejects.toThrow(TransactionClosedError);
    await tx.rollback();
    expect(tx.state).toBe('committed');

    const dropped = db.begin();
    await dropped.put('t', 'other', 1);
    await dropped.rollback();
    expect(dropped.state).toBe('rolled-back');
    expect(db.peek('t', 'other')).toBeUndefined();
    await expect(dropped.commit()).rejects.toThrow(TransactionClosedError);
  });

  it('fails a commit with WriteConflictError when a row it read and writes was changed by another commit', async () => {
    const db = new InMemoryDatabase({ seed: { accounts: [['a', 100]] } });
    const first = db.begin();
    const second = db.begin();
    const seenByFirst = (await first.get<number>('accounts', 'a')) ?? 0;
    const seenBySecond = (await second.get<number>('accounts', 'a')) ?? 0;
    await first.put('accounts', 'a', seenByFirst - 30);
    await second.put('accounts', 'a', seenBySecond - 50);
    await first.commit();
    const conflict = await second.commit().then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(conflict).toBeInstanceOf(WriteConflictError);
    expect((conflict as WriteConflictError).row).toEqual({ table: 'accounts', key: 'a' });
    expect(second.state).toBe('failed');
    expect(db.peek('accounts', 'a'), 'the lost update did not happen').toBe(70);

    const blind = db.begin();
    await blind.put('accounts', 'a', 1);
    await blind.commit();
    expect(db.peek('accounts', 'a'), 'a write without a read never conflicts').toBe(1);
  });

  it('a row created by another commit after this transaction saw it missing is a conflict too', async () => {
    const db = new InMemoryDatabase();
    const first = db.begin();
    const second = db.begin();
    expect(await first.get('t', 'k')).toBeUndefined();
    await second.put('t', 'k', 'second');
    await second.commit();
    await first.put('t', 'k', 'first');
    await expect(first.commit()).rejects.toThrow(WriteConflictError);
    expect(db.peek('t', 'k')).toBe('second');
  });

  it('holds an operation in flight for latency, before it fails or takes effect', async () => {
    const gate = deferred<void>();
    const db = new InMemoryDatabase({ latency: (call) => (call.operation === 'commit' ? gate.promise : Promise.resolve()) });
    const tx = db.begin();
    await tx.put('t', 'k', 1);
    const committing = tx.commit();
    await new Promise((resolve) => setImmediate(resolve));
    expect(tx.state, 'the commit is in flight').toBe('open');
    expect(db.peek('t', 'k'), 'nothing is written while the commit is held').toBeUndefined();
    gate.resolve();
    await committing;
    expect(db.peek('t', 'k')).toBe(1);
  });

  it('can fail any operation: a faulted get rejects, and the transaction stays usable', async () => {
    const db = new InMemoryDatabase({
      seed: { t: [['k', 1]] },
      fault: (call) => (call.operation === 'get' && call.key === 'bad' ? new RangeError('no such row range') : undefined),
    });
    const tx = db.begin();
    await expect(tx.get('t', 'bad')).rejects.toThrow(RangeError);
    expect(await tx.get('t', 'k')).toBe(1);
  });

  it('refuses a row that is not plain data, naming it', async () => {
    const db = new InMemoryDatabase();
    await expect(db.begin().put('t', 'k', { run: () => 1 })).rejects.toThrow(/put t\/k: a row must be plain data/);
    expect(() => db.seed('t', 'k', Symbol('x'))).toThrow(/a row must be plain data/);
  });

  it('makes no spans', async () => {
    const harness = traceHarness();
    harness.reset();
    const db = new InMemoryDatabase();
    const tx = db.begin();
    await tx.put('t', 'k', 1);
    await tx.get('t', 'k');
    await tx.commit();
    expect(harness.spans()).toEqual([]);
  });
});
