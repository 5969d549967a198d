import { expect, it } from 'vitest';
import { expectAllEnded, expectTrace, random, spansNamed, useTracing } from '#checks';
import { setTimeout as sleep } from 'node:timers/promises';
import { runImport, type RawRecord, type Row, type RowStore } from '#target/01-foundations/05-span-events/import-job.ts';

const otel = useTracing();

type Reason = 'invalid-email' | 'invalid-amount';

interface Batch {
  records: RawRecord[];
  rejections: { index: number; reason: Reason }[];
  rows: Row[];
}

/** A random batch with duplicates (in varied case), bad emails and bad amounts, and what importing it must give. */
function randomBatch(options: { valid?: boolean } = {}): Batch {
  const people = Array.from({ length: random.int(1, 4) }, () => `${random.word(random.int(3, 6))}@${random.word(5)}.com`);
  const records: RawRecord[] = [];
  const rejections: Batch['rejections'] = [];
  const rows = new Map<string, Row>();
  const count = random.int(4, 10);
  for (let index = 0; index < count; index++) {
    const kind = options.valid === false ? random.pick(['bad-email', 'bad-amount'] as const) : random.pick(['ok', 'ok', 'ok', 'bad-email', 'bad-amount'] as const);
    const person = random.pick(people);
    if (kind === 'bad-email') {
      records.push({ email: random.pick([person.replace('@', ' at '), `${random.word()}@`, '', 'no-at-all']), amount: String(random.int(1, 99)) });
      rejections.push({ index, reason: 'invalid-email' });
    } else if (kind === 'bad-amount') {
      records.push({ email: person, amount: random.pick(['-5', '12.345', 'ten', '', '3,50']) });
      rejections.push({ index, reason: 'invalid-amount' });
    } else {
      const cents = random.int(1, 99_999);
      const amount = cents % 100 === 0 ? String(cents / 100) : (cents / 100).toFixed(2);
      const typed = random.pick([person, person.toUpperCase(), ` ${person} `]);
      records.push({ email: typed, amount });
      const row = rows.get(person);
      if (row) row.amountCents += cents;
      else rows.set(person, { email: person, amountCents: cents });
    }
  }
  return { records, rejections, rows: [...rows.values()] };
}

/** A store that remembers what it received and whether a "store" span was open around the call. */
function fakeStore(): RowStore & { inserted: Row[][]; spanOpenAtStart: boolean[]; spanOpenAtEnd: boolean[] } {
  const storeSpanOpen = (): boolean => otel.openSpans().some((s) => s.name === 'store');
  const fake = {
    inserted: [] as Row[][],
    spanOpenAtStart: [] as boolean[],
    spanOpenAtEnd: [] as boolean[],
    insert: async (rows: Row[]): Promise<void> => {
      fake.spanOpenAtStart.push(storeSpanOpen());
      fake.inserted.push(rows.map((r) => ({ ...r })));
      await sleep(random.int(1, 3));
      fake.spanOpenAtEnd.push(storeSpanOpen());
    },
  };
  return fake;
}

/** A random batch with at least one row to store and at least one rejected record. */
function mixedBatch(): Batch {
  let batch = randomBatch();
  while (batch.rows.length === 0 || batch.rejections.length === 0) batch = randomBatch();
  return batch;
}

it('imports the valid records, merged by email, and counts the rejected ones', async () => {
  const batch = randomBatch();
  const store = fakeStore();
  const result = await runImport(batch.records, store);
  expect(result, 'imported = rows stored, rejected = records that failed validation').toEqual({
    imported: batch.rows.length,
    rejected: batch.rejections.length,
  });
  expect(store.inserted.flat(), 'one row per email (trimmed, lower-case), amounts summed in cents').toEqual(batch.rows);
});

it('records each rejected record as a "record.rejected" event on the import span, in input order', async () => {
  const batch = mixedBatch();
  await runImport(batch.records, fakeStore());
  expectTrace(
    otel,
    {
      name: 'import-batch',
      attributes: { 'app.import.records': batch.records.length },
      events: batch.rejections.map(({ index, reason }) => ({
        name: 'record.rejected',
        attributes: { 'app.record.index': index, 'app.record.reason': reason },
      })),
    },
    'a moment inside an operation, with what was found then, is an event on its span',
  );
  const [span] = spansNamed(otel, 'import-batch');
  const rejected = span?.events.filter((e) => e.name === 'record.rejected') ?? [];
  expect(rejected.length, 'one "record.rejected" event per rejected record').toBe(batch.rejections.length);
});

it('marks the end of validation and of transformation with events that carry their counts', async () => {
  const batch = mixedBatch();
  await runImport(batch.records, fakeStore());
  expectTrace(
    otel,
    {
      name: 'import-batch',
      events: [
        {
          name: 'validated',
          attributes: { 'app.records.valid': batch.records.length - batch.rejections.length, 'app.records.rejected': batch.rejections.length },
        },
        { name: 'transformed', attributes: { 'app.rows.count': batch.rows.length } },
      ],
    },
    'milestones of an in-memory stage are events, in the order they happened',
  );
  const [span] = spansNamed(otel, 'import-batch');
  const names = span?.events.map((e) => e.name) ?? [];
  expect(names.lastIndexOf('record.rejected') < names.indexOf('validated'), 'the "record.rejected" events come before "validated"').toBe(true);
});

it('records the store call as a CLIENT child span "store" with the row count, around the call', async () => {
  const batch = mixedBatch();
  const store = fakeStore();
  await runImport(batch.records, store);
  expectTrace(
    otel,
    {
      name: 'import-batch',
      children: [{ name: 'store', kind: 'client', attributes: { 'app.rows.count': batch.rows.length } }],
    },
    'a call to another system takes time and can fail on its own: it is a child span',
  );
  expect(spansNamed(otel, 'store'), 'one "store" span per import').toHaveLength(1);
  expect(store.spanOpenAtStart, 'the "store" span must already be started when store.insert is called').toEqual([true]);
  expect(store.spanOpenAtEnd, 'the "store" span must still be open until store.insert has finished').toEqual([true]);
  expectAllEnded(otel);
});

it('makes no "store" span when no record is valid', async () => {
  const batch = randomBatch({ valid: false });
  const store = fakeStore();
  const result = await runImport(batch.records, store);
  expect(result, 'nothing imported, everything rejected').toEqual({ imported: 0, rejected: batch.records.length });
  expect(store.inserted, 'the store is not called with nothing to store').toEqual([]);
  expectTrace(
    otel,
    {
      name: 'import-batch',
      events: [
        { name: 'validated', attributes: { 'app.records.valid': 0, 'app.records.rejected': batch.records.length } },
        { name: 'transformed', attributes: { 'app.rows.count': 0 } },
      ],
    },
    'the milestones are recorded even when nothing gets through',
  );
  expect(spansNamed(otel, 'store'), 'no call to the store, so no "store" span').toHaveLength(0);
});
