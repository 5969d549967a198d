import { SpanKind, trace } from '@opentelemetry/api';

const tracer = trace.getTracer('tracecraft.import');

/** One line of an uploaded file, as the customer typed it. */
export interface RawRecord {
  email: string;
  /** A decimal amount with at most two decimals: "12", "12.5", "12.50". */
  amount: string;
}

export interface Row {
  email: string;
  amountCents: number;
}

/** The database the rows go to. */
export interface RowStore {
  insert(rows: Row[]): Promise<void>;
}

export interface ImportResult {
  imported: number;
  rejected: number;
}

export type RejectReason = 'invalid-email' | 'invalid-amount';

/** Validates, transforms and stores a batch of records. */
export function runImport(records: readonly RawRecord[], store: RowStore): Promise<ImportResult> {
  return tracer.startActiveSpan('import-batch', async (span) => {
    try {
      span.setAttribute('app.import.records', records.length);

      const { valid, rejections } = validate(records);
      // Validation is instant and in memory: what it found belongs on this span, as events.
      // The summary first, then the details.
      span.addEvent('validated', { 'app.records.valid': valid.length, 'app.records.rejected': rejections.length });
      for (const { index, reason } of rejections) {
        span.addEvent('record.rejected', { 'app.record.index': index, 'app.record.reason': reason });
      }

      const rows = transform(valid);
      span.addEvent('transformed', { 'app.rows.count': rows.length });

      // Storing calls another system: it takes time and can fail on its own, so it gets its own span.
      if (rows.length > 0) await storeRows(rows, store);

      return { imported: rows.length, rejected: rejections.length };
    } finally {
      span.end();
    }
  });
}

function storeRows(rows: Row[], store: RowStore): Promise<void> {
  const attributes = { 'app.rows.count': rows.length };
  return tracer.startActiveSpan('store', { kind: SpanKind.CLIENT, attributes }, async (span) => {
    try {
      await store.insert(rows);
    } finally {
      span.end();
    }
  });
}

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const AMOUNT = /^(\d+)(?:\.(\d{1,2}))?$/;

/** Keeps the records that can be imported; says why the others cannot (the email is checked first). */
function validate(records: readonly RawRecord[]): {
  valid: RawRecord[];
  rejections: { index: number; reason: RejectReason }[];
} {
  const valid: RawRecord[] = [];
  const rejections: { index: number; reason: RejectReason }[] = [];
  records.forEach((record, index) => {
    if (!EMAIL.test(record.email.trim())) rejections.push({ index, reason: 'invalid-email' });
    else if (!AMOUNT.test(record.amount.trim())) rejections.push({ index, reason: 'invalid-amount' });
    else valid.push(record);
  });
  return { valid, rejections };
}

/** Normalizes emails and merges the records of one email into one row, in order of first appearance. */
function transform(records: readonly RawRecord[]): Row[] {
  const rows = new Map<string, Row>();
  for (const record of records) {
    const email = record.email.trim().toLowerCase();
    const [, units = '0', cents = '0'] = AMOUNT.exec(record.amount.trim()) ?? [];
    const amountCents = Number(units) * 100 + Number(cents.padEnd(2, '0'));
    const row = rows.get(email);
    if (row) row.amountCents += amountCents;
    else rows.set(email, { email, amountCents });
  }
  return [...rows.values()];
}
