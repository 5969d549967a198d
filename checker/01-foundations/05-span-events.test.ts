import { it } from 'vitest';
import { setTimeout as sleep } from 'node:timers/promises';
import { expectAllEnded, expectThat, expectTrace, fail, random, show, spansNamed, useTracing, verify, type EventShape } from '#checks';
import { runImport, type RawRecord, type Row, type RowStore } from '#target/01-foundations/05-span-events/import-job.ts';

const otel = useTracing();

it('imports the valid records, merged by email, and counts the rejected ones', async () => {
  for (const batch of [mixedBatch(), randomBatch(), rejectedBatch(), emptyBatch()]) {
    const store = fakeStore();
    const result = await runImport(batch.records, store);
    verify(result, `the result of importing ${describe(batch)}`).equals({ imported: batch.rows.length, rejected: batch.rejections.length });
    verify(store.stored.flat(), `the rows stored from ${describe(batch)} (one per email, trimmed and lower-case, amounts summed in cents)`).equals(batch.rows);
    verify(store.inserted, `the calls to store.insert for ${describe(batch)}`).hasCount(batch.rows.length > 0 ? 1 : 0, 'call');
  }
});

it('rejects with the store\'s error when the rows cannot be stored', async () => {
  const batch = mixedBatch();
  const store = fakeStore({ fails: true });
  const error = await rejection(runImport(batch.records, store), `runImport, when store.insert rejects,`);
  expectThat(error === store.error, `runImport rejects with the store's own error (${show(store.error)})`, `it rejected with ${show(error)}`);
});

it('records each rejected record as a "record.rejected" event on the import span, in input order', async () => {
  for (const batch of [mixedBatch(), randomBatch()]) {
    otel.reset();
    await runImport(batch.records, fakeStore());
    expectTrace(
      otel,
      { name: 'import-batch', attributes: { 'app.import.records': batch.records.length }, events: rejectedEvents(batch) },
      `a moment inside an operation, with what was found then, is an event on its span (${describe(batch)})`,
    );
    const [span] = spansNamed(otel, 'import-batch');
    verify(span?.events.filter((event) => event.name === 'record.rejected'), `the import span of ${describe(batch)}`).hasCount(
      batch.rejections.length,
      '"record.rejected" event',
    );
  }
});

it('then marks the end of validation and of transformation with events that carry their counts', async () => {
  for (const batch of [mixedBatch(), rejectedBatch(), emptyBatch()]) {
    otel.reset();
    await runImport(batch.records, fakeStore());
    expectTrace(
      otel,
      { name: 'import-batch', events: [...rejectedEvents(batch), ...milestones(batch)] },
      `milestones of an in-memory stage are events, in the order they happened: every "record.rejected", then "validated", then "transformed" (${describe(batch)})`,
    );
    const [span] = spansNamed(otel, 'import-batch');
    for (const name of ['validated', 'transformed']) {
      verify(span?.events.filter((event) => event.name === name), `the import span of ${describe(batch)}`).hasCount(1, `"${name}" event`);
    }
  }
});

it('records the store call as a CLIENT child span "store" with the row count, around the call', async () => {
  const batch = mixedBatch();
  const store = fakeStore();
  await runImport(batch.records, store);
  expectTrace(
    otel,
    { name: 'import-batch', children: [{ name: 'store', kind: 'client', attributes: { 'app.rows.count': batch.rows.length } }] },
    'a call to another system takes time and can fail on its own: it is a child span',
  );
  verify(spansNamed(otel, 'store'), 'one import').hasCount(1, '"store" span');
  verify(store.spanOpenAtStart, 'whether a "store" span was open when store.insert was called').equals([true]);
  verify(store.spanOpenAtEnd, 'whether the "store" span was still open when store.insert finished').equals([true]);
  expectAllEnded(otel);
});

it('ends every span, also when the store fails', async () => {
  const batch = mixedBatch();
  await runImport(batch.records, fakeStore({ fails: true })).catch(() => undefined);
  verify(spansNamed(otel, 'store'), 'an import whose store.insert rejects').hasCount(1, '"store" span');
  expectAllEnded(otel, 'spans must end, also when the call inside them rejects');
});

it('makes no "store" span when no row is left', async () => {
  for (const batch of [rejectedBatch(), emptyBatch()]) {
    otel.reset();
    await runImport(batch.records, fakeStore());
    verify(spansNamed(otel, 'import-batch'), `importing ${describe(batch)}`).hasCount(1, '"import-batch" span');
    verify(spansNamed(otel, 'store'), `importing ${describe(batch)} (no call to the store)`).hasCount(0, '"store" span');
  }
});

// ---- the rig: batches that hit every edge case, a store that watches its span, and the expected events

type Reason = 'invalid-email' | 'invalid-amount';

interface Batch {
  records: RawRecord[];
  rejections: { index: number; reason: Reason }[];
  rows: Row[];
}

type Kind = 'ok' | 'bad-email' | 'bad-amount' | 'bad-both';

function describe(batch: Batch): string {
  if (batch.records.length === 0) return 'an empty batch';
  return `a batch of ${batch.records.length} records (${batch.rejections.length} rejected, ${batch.rows.length} rows)`;
}

/** Builds records of the given kinds, for people chosen by `who`, and what importing them must give. */
function build(kinds: readonly Kind[], people: readonly string[], who: (index: number) => string = () => random.pick(people)): Batch {
  const records: RawRecord[] = [];
  const rejections: Batch['rejections'] = [];
  const rows = new Map<string, Row>();
  kinds.forEach((kind, index) => {
    const person = who(index);
    if (kind === 'bad-email' || kind === 'bad-both') {
      const email = random.pick([person.replace('@', ' at '), `${random.word()}@`, '', 'no-at-all', `${person.split('.')[0]}`]);
      records.push({ email, amount: kind === 'bad-both' ? badAmount() : String(random.int(1, 99)) });
      // The email is checked first: a record with both wrong is an invalid email.
      rejections.push({ index, reason: 'invalid-email' });
    } else if (kind === 'bad-amount') {
      records.push({ email: person, amount: badAmount() });
      rejections.push({ index, reason: 'invalid-amount' });
    } else {
      const { text, cents } = goodAmount();
      records.push({ email: random.pick([person, person.toUpperCase(), ` ${person} `, `${person}\t`]), amount: text });
      const row = rows.get(person);
      if (row) row.amountCents += cents;
      else rows.set(person, { email: person, amountCents: cents });
    }
  });
  return { records, rejections, rows: [...rows.values()] };
}

function randomPeople(count: number): string[] {
  const people = new Set<string>();
  while (people.size < count) people.add(`${random.word(random.int(3, 6))}@${random.word(5)}.com`);
  return [...people];
}

/**
 * Every edge case, every run: a valid record first (so a rejected record's index is not its rank among
 * the rejected), both reasons, a record with both fields wrong, and one email typed twice in different case.
 */
function mixedBatch(): Batch {
  const people = randomPeople(random.int(2, 3));
  const [twice = ''] = people;
  const rest = random.shuffle<Kind>(['ok', 'ok', 'bad-email', 'bad-amount', 'bad-both', ...Array.from({ length: random.int(0, 3) }, () => random.pick<Kind>(['ok', 'bad-email', 'bad-amount']))]);
  const kinds: Kind[] = ['ok', ...rest];
  const firstTwoOk = kinds.flatMap((kind, i) => (kind === 'ok' ? [i] : [])).slice(0, 2);
  return build(kinds, people, (index) => (firstTwoOk.includes(index) ? twice : random.pick(people)));
}

function randomBatch(): Batch {
  const kinds = Array.from({ length: random.int(4, 10) }, () => random.pick<Kind>(['ok', 'ok', 'ok', 'bad-email', 'bad-amount', 'bad-both']));
  return build(kinds, randomPeople(random.int(1, 4)));
}

/** Nothing gets through: every record is rejected. */
function rejectedBatch(): Batch {
  return build(random.shuffle<Kind>(['bad-email', 'bad-amount', ...Array.from({ length: random.int(1, 4) }, () => random.pick<Kind>(['bad-email', 'bad-amount', 'bad-both']))]), randomPeople(2));
}

function emptyBatch(): Batch {
  return { records: [], rejections: [], rows: [] };
}

function badAmount(): string {
  return random.pick(['-5', '12.345', 'ten', '', '3,50', '.5', '1e3']);
}

/** "12", "12.5" or "12.50", as a customer types them. */
function goodAmount(): { text: string; cents: number } {
  const units = random.int(0, 999);
  const form = random.pick(['whole', 'one', 'two'] as const);
  if (form === 'whole') return { text: String(units), cents: units * 100 };
  const tenths = random.int(0, 9);
  if (form === 'one') return { text: `${units}.${tenths}`, cents: units * 100 + tenths * 10 };
  const hundredths = random.int(0, 9);
  return { text: `${units}.${tenths}${hundredths}`, cents: units * 100 + tenths * 10 + hundredths };
}

function rejectedEvents(batch: Batch): EventShape[] {
  return batch.rejections.map(({ index, reason }) => ({ name: 'record.rejected', attributes: { 'app.record.index': index, 'app.record.reason': reason } }));
}

function milestones(batch: Batch): EventShape[] {
  return [
    { name: 'validated', attributes: { 'app.records.valid': batch.records.length - batch.rejections.length, 'app.records.rejected': batch.rejections.length } },
    { name: 'transformed', attributes: { 'app.rows.count': batch.rows.length } },
  ];
}

interface FakeStore extends RowStore {
  /** The rows of every call, as they were passed. */
  inserted: Row[][];
  /** The rows of every call that finished. */
  stored: Row[][];
  spanOpenAtStart: boolean[];
  spanOpenAtEnd: boolean[];
  error: Error | undefined;
}

/** A store that remembers what it received, and whether a "store" span was open around each call. */
function fakeStore(options: { fails?: boolean } = {}): FakeStore {
  const storeSpanOpen = (): boolean => otel.openSpans().some((span) => span.name === 'store');
  const store: FakeStore = {
    inserted: [],
    stored: [],
    spanOpenAtStart: [],
    spanOpenAtEnd: [],
    error: options.fails ? new Error(`connection to the database lost after ${random.int(1, 99)} ms`) : undefined,
    insert: async (rows) => {
      store.spanOpenAtStart.push(storeSpanOpen());
      const copy = rows.map((row) => ({ ...row }));
      store.inserted.push(copy);
      await sleep(random.int(1, 3));
      store.spanOpenAtEnd.push(storeSpanOpen());
      if (store.error) throw store.error;
      store.stored.push(copy);
    },
  };
  return store;
}

/** The error a promise rejects with; fails the check when it resolves instead. */
async function rejection(promise: Promise<unknown>, what: string): Promise<unknown> {
  const outcome = await promise.then(
    (value) => ({ resolved: true as const, value }),
    (error: unknown) => ({ resolved: false as const, error }),
  );
  if (outcome.resolved) fail(`${what} must reject with that error, but it resolved with ${show(outcome.value)}`);
  return outcome.error;
}
