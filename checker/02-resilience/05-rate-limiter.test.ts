import { it } from 'vitest';
import fc from 'fast-check';
import { absent, expectAllEnded, expectTrace, fail, holds, random, show, spansNamed, useTracing, verify } from '#checks';
import { FakeClock, FakeDownstream } from '#kit';
import { TokenBucketLimiter, type RateLimitDecision } from '#target/02-resilience/05-rate-limiter/token-bucket.ts';
import { handleSearch, type SearchBackend } from '#target/02-resilience/05-rate-limiter/search-handler.ts';

const otel = useTracing();

const SERVER = 'GET /search';
const BACKEND = 'POST /_search';

// ---------------------------------------------------------------------------------------------
// The bucket: every decision compared with the README's rules (Reference, below), on a FakeClock.
// ---------------------------------------------------------------------------------------------

it('lets a burst of capacity through at one instant and limits request capacity + 1', async () => {
  await holds(
    fc.record({ capacity: capacityArb, rate: rateArb }),
    ({ capacity, rate }) => {
      const rig = new Rig(capacity, rate);
      const key = randomKey();
      for (let i = 0; i < capacity; i++) {
        const got = rig.take(key);
        if (!got.allowed || got.remaining !== capacity - 1 - i) {
          rig.mismatch(`a new key starts with a full bucket: request ${i + 1} of a burst should be allowed, with remaining ${capacity - 1 - i}`);
        }
      }
      const last = rig.take(key);
      const retry = Math.ceil(1000 / rate);
      if (last.allowed || last.retryAfterMs !== retry || last.remaining !== 0) {
        rig.mismatch(`request ${capacity + 1} at the same instant finds the bucket empty: limited, remaining 0, retryAfterMs ${retry} (one token takes 1000 / ${rate} ms, rounded up)`);
      }
    },
    {
      // A bucket of one; a rate whose token time is not a whole number of ms (1000 / 7 = 142.86 → 143).
      examples: [
        { capacity: 1, rate: 1 },
        { capacity: 3, rate: 7 },
        { capacity: 12, rate: 60 },
      ],
      describe: ({ capacity, rate }) => `capacity ${capacity}, refillPerSecond ${rate}`,
    },
  );
});

it('never holds more than capacity tokens, however long it waits', async () => {
  const history = fc.array(fc.record({ wait: fc.integer({ min: 0, max: 5_000 }), takes: fc.integer({ min: 0, max: 4 }) }), { maxLength: 8 });
  await holds(
    fc.record({ capacity: capacityArb, rate: rateArb, history, idle: fc.integer({ min: 0, max: 1_000_000 }) }),
    async ({ capacity, rate, history, idle }) => {
      const rig = new Rig(capacity, rate);
      const key = randomKey();
      for (const step of history) {
        await rig.wait(step.wait);
        for (let i = 0; i < step.takes; i++) {
          const got = rig.take(key);
          if (got.remaining > capacity - 1) rig.mismatch(`remaining can never be above capacity - 1 = ${capacity - 1} after a token was taken`);
        }
      }
      await rig.wait(idle);
      let allowed = 0;
      for (let i = 0; i < capacity + 2; i++) if (rig.take(key).allowed) allowed++;
      const reference = replay(capacity, rate, history, idle);
      if (allowed !== reference) {
        rig.mismatch(
          `after waiting ${idle} ms, a burst of ${capacity + 2} requests at one instant gets ${reference} through (the bucket holds at most capacity = ${capacity} token${capacity === 1 ? '' : 's'}; the excess of a long wait is lost), but ${allowed} ${allowed === 1 ? 'was' : 'were'} allowed`,
        );
      }
    },
    {
      examples: [
        // A very long wait fills the bucket and no more; a wait that fills it exactly; one a millisecond short of that.
        { capacity: 1, rate: 60, history: [], idle: 1_000_000 },
        { capacity: 4, rate: 5, history: [{ wait: 0, takes: 5 }], idle: 800 },
        { capacity: 4, rate: 5, history: [{ wait: 0, takes: 5 }], idle: 799 },
        { capacity: 3, rate: 2, history: [{ wait: 0, takes: 3 }, { wait: 250, takes: 1 }], idle: 100_000 },
      ],
      describe: ({ capacity, rate, history, idle }) =>
        `capacity ${capacity}, refillPerSecond ${rate}, ${history.map((h) => `wait ${h.wait} ms and take ${h.takes}`).join(', ') || 'no history'}, then wait ${idle} ms and send a burst`,
    },
  );
});

it('refills in proportion to the time elapsed, keeping fractions of a token however the wait is cut up', async () => {
  const arb = fc
    .record({
      capacity: fc.integer({ min: 2, max: 12 }),
      rate: rateArb,
      pieces: fc.array(fc.integer({ min: 1, max: 100_000 }), { minLength: 1, maxLength: 25 }),
    })
    .map(({ capacity, rate, pieces }) => {
      // After a drain the bucket holds less than one token: a piece that earns at most capacity - 1
      // tokens never fills it, so the capacity never cuts the refill and every earned token counts.
      const longest = Math.max(1, Math.floor(((capacity - 1) * 1000) / rate));
      return { capacity, rate, pieces: pieces.map((p) => 1 + (p % longest)) };
    });
  await holds(
    arb,
    async ({ capacity, rate, pieces }) => {
      const rig = new Rig(capacity, rate);
      const key = randomKey();
      const drain = (): number => {
        let allowed = 0;
        while (rig.take(key).allowed) if (++allowed > capacity) rig.mismatch(`more than capacity (${capacity}) requests allowed at one instant`);
        return allowed;
      };
      drain();
      let total = 0;
      for (const piece of pieces) {
        await rig.wait(piece);
        total += drain();
      }
      const elapsed = pieces.reduce((a, b) => a + b, 0);
      const earned = Math.floor((elapsed * rate) / 1000);
      if (total !== earned) {
        rig.mismatch(
          `in ${elapsed} ms at ${rate} tokens/s the bucket earns ${elapsed} × ${rate} / 1000 = ${(elapsed * rate) / 1000} tokens, so taking every whole token as it comes lets ${earned} requests through in total; yours let ${total} through. Fractions of a token must carry over from one request to the next, exactly`,
        );
      }
    },
    {
      // Thirds of a token, and waits that leave a fraction behind every time.
      examples: [
        { capacity: 2, rate: 3, pieces: [333, 1, 333, 1, 332] },
        { capacity: 3, rate: 7, pieces: [100, 43, 200, 86, 142, 1, 1] },
        { capacity: 2, rate: 1, pieces: [999, 1, 500, 500] },
      ],
      describe: ({ capacity, rate, pieces }) => `capacity ${capacity}, refillPerSecond ${rate}, waits of ${pieces.join(', ')} ms, taking every whole token after each`,
    },
  );
});

it('adds fractions of a token exactly: ten waits worth a tenth of a token each make one whole token', async () => {
  const rate = random.pick([1, 2, 4, 5, 10, 20, 25, 50]);
  const tenth = 100 / rate;
  const rig = new Rig(random.int(1, 5), rate);
  const key = randomKey();
  for (let i = 0; i < rig.capacity; i++) rig.take(key);
  if (rig.take(key).allowed) rig.mismatch(`a burst of capacity + 1 = ${rig.capacity + 1} requests at one instant: the last must be limited`);
  for (let i = 1; i <= 10; i++) {
    await rig.wait(tenth);
    const got = rig.take(key);
    if (got.allowed !== (i === 10)) {
      rig.mismatch(
        i < 10
          ? `after ${i} waits of ${tenth} ms at ${rate} tokens/s the bucket holds ${i}/10 of a token: the request should be limited`
          : `after 10 waits of ${tenth} ms at ${rate} tokens/s the bucket holds exactly one token: the request should be allowed. ` +
              'In floating point, 0.1 added ten times is 0.9999999999999999, not 1: count in thousandths of a token (whole numbers) so fractions add up exactly',
      );
    }
  }
});

it('says in retryAfterMs how long until one token is there: 1 ms earlier is still limited, then it is allowed', async () => {
  await holds(
    fc.record({ capacity: capacityArb, rate: rateArb, wait: fc.integer({ min: 0, max: 3_000 }) }),
    async ({ capacity, rate, wait }) => {
      const rig = new Rig(capacity, rate);
      const key = randomKey();
      const reference = new Reference(capacity, rate);
      const take = (): { got: Decision; want: Decision } => ({ want: reference.take(key, rig.t), got: rig.take(key) });
      for (let i = 0; i < capacity; i++) take();
      await rig.wait(wait);
      let step = take();
      while (step.want.allowed) step = take();
      if (step.got.allowed || step.got.retryAfterMs !== step.want.retryAfterMs) {
        rig.mismatch(`the last request should be ${describeDecision(step.want)}: retryAfterMs is the time until the bucket holds one whole token, in ms, rounded up`);
      }
      const retry = step.want.retryAfterMs ?? 0;
      if (retry > 1) {
        await rig.wait(retry - 1);
        const early = take();
        if (early.got.allowed) rig.mismatch(`1 ms before retryAfterMs (${retry} ms) is over, there is not yet a whole token: it should be ${describeDecision(early.want)}`);
        await rig.wait(1);
      } else await rig.wait(retry);
      const onTime = take();
      if (!onTime.got.allowed) rig.mismatch(`once retryAfterMs (${retry} ms) has passed, a whole token is there: the request should be allowed`);
    },
    {
      // Token times that are not whole milliseconds, a partly refilled bucket, and a retry of 1 ms.
      examples: [
        { capacity: 1, rate: 3, wait: 0 },
        { capacity: 2, rate: 7, wait: 100 },
        { capacity: 1, rate: 2, wait: 300 },
        { capacity: 1, rate: 1, wait: 999 },
      ],
      describe: ({ capacity, rate, wait }) => `capacity ${capacity}, refillPerSecond ${rate}: a burst, a wait of ${wait} ms, then requests until one is limited`,
    },
  );
});

it('keeps one bucket per key: a client never spends another client\'s tokens', async () => {
  const ops = fc.array(fc.record({ key: fc.integer({ min: 0, max: 3 }), wait: fc.integer({ min: 0, max: 1_500 }) }), { minLength: 1, maxLength: 40 });
  await holds(
    fc.record({ capacity: capacityArb, rate: rateArb, ops }),
    async ({ capacity, rate, ops }) => {
      const keys = [0, 1, 2, 3].map(() => randomKey());
      const shared = new Rig(capacity, rate);
      const alone = keys.map(() => new Rig(capacity, rate));
      for (const op of ops) {
        await shared.wait(op.wait);
        const key = keys[op.key] as string;
        const own = alone[op.key] as Rig;
        await own.wait(shared.t - own.t);
        const together = describeDecision(shared.take(key));
        const separate = describeDecision(own.take(key));
        if (together !== separate) {
          shared.mismatch(`"${key}" got "${together}" while other clients were making requests, but "${separate}" with the same requests at the same times alone: each key needs its own bucket`);
        }
      }
    },
    {
      examples: [
        { capacity: 1, rate: 1, ops: [{ key: 0, wait: 0 }, { key: 1, wait: 0 }, { key: 2, wait: 0 }, { key: 0, wait: 0 }] },
        { capacity: 2, rate: 5, ops: [{ key: 0, wait: 0 }, { key: 0, wait: 0 }, { key: 1, wait: 100 }, { key: 1, wait: 0 }, { key: 1, wait: 0 }, { key: 0, wait: 200 }] },
      ],
      describe: ({ capacity, rate, ops }) => `capacity ${capacity}, refillPerSecond ${rate}, ${ops.length} requests from 4 clients`,
    },
  );
});

it('agrees with the token-bucket rules on random sequences of requests and waits, with several keys', async () => {
  const ops = fc.array(fc.record({ key: fc.integer({ min: 0, max: 2 }), wait: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 2_500 })) }), { minLength: 1, maxLength: 40 });
  await holds(
    fc.record({ capacity: capacityArb, rate: rateArb, ops }),
    async ({ capacity, rate, ops }) => {
      const rig = new Rig(capacity, rate);
      const reference = new Reference(capacity, rate);
      const keys = [0, 1, 2].map(() => randomKey());
      for (const op of ops) {
        await rig.wait(op.wait);
        const key = keys[op.key] as string;
        const want = reference.take(key, rig.t);
        const got = rig.take(key);
        if (describeDecision(got) !== describeDecision(want)) rig.mismatch(`the last request should be ${describeDecision(want)}`);
      }
    },
    {
      examples: [
        // A limited request costs nothing: after it, the refill still makes a whole token in 1000 / rate ms.
        { capacity: 1, rate: 1, ops: [{ key: 0, wait: 0 }, { key: 0, wait: 0 }, { key: 0, wait: 500 }, { key: 0, wait: 500 }] },
        // remaining is rounded down: 2.5 tokens, one taken, leaves 1.
        { capacity: 3, rate: 2, ops: [{ key: 0, wait: 0 }, { key: 0, wait: 0 }, { key: 0, wait: 0 }, { key: 0, wait: 1_250 }, { key: 0, wait: 0 }] },
        // The README's timeline.
        { capacity: 3, rate: 2, ops: [{ key: 1, wait: 0 }, { key: 1, wait: 0 }, { key: 1, wait: 0 }, { key: 1, wait: 0 }, { key: 1, wait: 300 }, { key: 1, wait: 200 }, { key: 1, wait: 9_500 }] },
      ],
      describe: ({ capacity, rate, ops }) => `capacity ${capacity}, refillPerSecond ${rate}, ${ops.length} requests from 3 clients`,
    },
  );
});

// ---------------------------------------------------------------------------------------------
// The handler and its trace
// ---------------------------------------------------------------------------------------------

it('answers 200 from the backend while the client has tokens, and 429 with Retry-After (in seconds) without calling the backend when it has none', async () => {
  const a = api();
  for (let i = 0; i < a.rig.capacity; i++) {
    const response = await search(a);
    verify(response.status, `the status of request ${i + 1} of ${a.rig.capacity} (the capacity) at one instant`).is(200);
    const results = (response.body as { results?: unknown } | undefined)?.results;
    verify(Array.isArray(results) ? results[0] : results, 'the first result of an allowed request (the backend\'s own answer)').is(`doc-${a.query}-1`);
  }
  const calls = a.downstream.calls.length;
  const limited = await search(a);
  verify(limited.status, `the status of request ${a.rig.capacity + 1} at the same instant (no token left: 429 Too Many Requests)`).is(429);
  verify(a.downstream.calls.length - calls, 'the backend calls made by a limited request').hasCount(0, 'call');
  const other = await handleSearch({ clientId: random.id('other-'), query: a.query }, a.rig.limiter, a.backend);
  verify(other.status, 'the status of another client\'s request at that instant (it has its own bucket)').is(200);
});

it('says Retry-After in whole seconds, rounded up, whatever the rate', async () => {
  // Rates and waits where rounding down, to the nearest and up all differ, every run.
  const cases = [
    { rate: random.int(3, 20), waitMs: 0 },
    { rate: random.pick([1, 2]), waitMs: 0 },
    { rate: 1, waitMs: random.int(1, 499) },
    { rate: 1, waitMs: random.int(501, 998) },
    { rate: random.int(21, 60), waitMs: 0 },
  ];
  for (const { rate, waitMs } of cases) {
    const a = api({ rate });
    for (let i = 0; i < a.rig.capacity; i++) await search(a);
    await a.rig.wait(waitMs);
    const response = await search(a);
    const retryAfterMs = Math.ceil((1000 - waitMs * rate) / rate);
    const header = String(Math.ceil(retryAfterMs / 1000));
    verify(response.status, `${rate} tokens/s, ${waitMs} ms after the bucket emptied: the status`).is(429);
    verify(
      response.headers['retry-after'],
      `${rate} tokens/s, ${waitMs} ms after the bucket emptied, retryAfterMs is ${retryAfterMs}: the retry-after header (whole seconds, rounded up, as a string: ${retryAfterMs / 1000} s → "${header}")`,
    ).is(header);
  }
});

it('puts the decision on the SERVER span of an allowed request, with the backend\'s CLIENT span under it', async () => {
  const a = api();
  const before = random.int(0, a.rig.capacity - 1);
  for (let i = 0; i < before; i++) await search(a);
  otel.reset();
  await search(a);
  expectAllEnded(otel, 'every span ends');
  expectTrace(
    otel,
    {
      name: SERVER,
      kind: 'server',
      status: 'unset',
      attributes: {
        'http.response.status_code': 200,
        'app.rate_limit.key': a.clientId,
        'app.rate_limit.decision': 'allowed',
        'app.rate_limit.remaining': a.rig.capacity - 1 - before,
        'app.rate_limit.retry_after_ms': absent(),
        'error.type': absent(),
      },
      children: [{ name: BACKEND, kind: 'client' }],
    },
    `an allowed request: app.rate_limit.key, app.rate_limit.decision="allowed" and the whole tokens left (${a.rig.capacity} - ${before + 1} = ${a.rig.capacity - 1 - before}) on its SERVER span, no retry_after_ms`,
  );
  verify(spansNamed(otel, SERVER), 'one request').hasCount(1, `"${SERVER}" span`);
});

it('marks a limited request on its SERVER span: decision "limited", retry_after_ms, a 429 that stays UNSET, and no backend span', async () => {
  const a = api();
  for (let i = 0; i < a.rig.capacity; i++) await search(a);
  const step = Math.ceil(1000 / a.rig.rate);
  const wait = random.int(0, step - 1);
  await a.rig.wait(wait);
  const retryAfterMs = Math.ceil((1000 - wait * a.rig.rate) / a.rig.rate);
  otel.reset();
  const response = await search(a);
  verify(response.status, `the status of a request ${wait} ms after the bucket emptied (less than the ${step} ms a token takes)`).is(429);
  expectAllEnded(otel, 'the span of a limited request ends too');
  expectTrace(
    otel,
    {
      name: SERVER,
      kind: 'server',
      status: 'unset',
      attributes: {
        'http.response.status_code': 429,
        'app.rate_limit.key': a.clientId,
        'app.rate_limit.decision': 'limited',
        'app.rate_limit.remaining': 0,
        'app.rate_limit.retry_after_ms': retryAfterMs,
        'error.type': absent(),
      },
      children: [],
      exact: true,
    },
    `a limited request: decision "limited", retry_after_ms = the ms until one token is there (${a.rig.rate} tokens/s, ${wait} ms after the bucket emptied: ${retryAfterMs} ms), UNSET status because a 429 is the client's excess and not a failure of this server, and no backend span`,
  );
  verify(spansNamed(otel, SERVER), 'one request').hasCount(1, `"${SERVER}" span`);
});

// ---------------------------------------------------------------------------------------------
// The rig: the README's rules in exact integer arithmetic (thousandths of a token), and a
// limiter on a fake clock that writes down every decision.
// ---------------------------------------------------------------------------------------------

interface Decision {
  allowed: boolean;
  remaining: number;
  retryAfterMs?: number;
}

class Reference {
  private readonly buckets = new Map<string, { milli: number; at: number }>();
  constructor(
    readonly capacity: number,
    readonly rate: number,
  ) {}

  take(key: string, now: number): Decision {
    const bucket = this.buckets.get(key) ?? { milli: this.capacity * 1000, at: now };
    this.buckets.set(key, bucket);
    bucket.milli = Math.min(this.capacity * 1000, bucket.milli + (now - bucket.at) * this.rate);
    bucket.at = now;
    if (bucket.milli >= 1000) {
      bucket.milli -= 1000;
      return { allowed: true, remaining: Math.floor(bucket.milli / 1000) };
    }
    return { allowed: false, remaining: 0, retryAfterMs: Math.ceil((1000 - bucket.milli) / this.rate) };
  }
}

/** How many of a final burst of capacity + 2 the rules allow, after `history` and `idle`. */
function replay(capacity: number, rate: number, history: readonly { wait: number; takes: number }[], idle: number): number {
  const reference = new Reference(capacity, rate);
  let now = 0;
  for (const step of history) {
    now += step.wait;
    for (let i = 0; i < step.takes; i++) reference.take('k', now);
  }
  now += idle;
  let allowed = 0;
  for (let i = 0; i < capacity + 2; i++) if (reference.take('k', now).allowed) allowed++;
  return allowed;
}

/** The parts of a decision the README defines: retryAfterMs only when limited. */
function normalize(decision: RateLimitDecision): Decision {
  const d = decision as Partial<Decision> & { allowed: unknown };
  const out: Decision = { allowed: d.allowed === true, remaining: d.remaining as number };
  if (d.allowed !== true) out.retryAfterMs = d.retryAfterMs as number;
  return out;
}

function describeDecision(decision: Decision): string {
  return decision.allowed
    ? `allowed, remaining ${show(decision.remaining)}`
    : `limited, remaining ${show(decision.remaining)}, retryAfterMs ${show(decision.retryAfterMs)}`;
}

/** A limiter on a fake clock, with the time since its start at hand and every decision written down. */
class Rig {
  readonly clock = new FakeClock(random.int(0, 10_000_000));
  readonly start = this.clock.now();
  readonly limiter: TokenBucketLimiter;
  readonly log: string[] = [];

  constructor(
    readonly capacity: number,
    readonly rate: number,
  ) {
    this.limiter = new TokenBucketLimiter({ capacity, refillPerSecond: rate, clock: this.clock });
  }

  get t(): number {
    return this.clock.now() - this.start;
  }

  take(key: string): Decision {
    const decision = normalize(this.limiter.take(key));
    this.log.push(`t=${this.t} take("${key}") → ${describeDecision(decision)}`);
    return decision;
  }

  async wait(ms: number): Promise<void> {
    if (ms <= 0) return;
    this.log.push(`wait ${ms} ms`);
    await this.clock.advance(ms);
  }

  /** Fails the check: what the rules say, then every decision so far. */
  mismatch(message: string): never {
    return fail([message, `With capacity ${this.capacity} and refillPerSecond ${this.rate}, the sequence was:`, ...this.log.map((l) => `  ${l}`)].join('\n'));
  }
}

const capacityArb = fc.integer({ min: 1, max: 12 });
const rateArb = fc.integer({ min: 1, max: 60 });

function randomKey(): string {
  return `${random.pick(['client-a', 'client-b', 'client-c', 'client-d'])}-${random.int(1, 999)}`;
}

interface Api {
  rig: Rig;
  backend: SearchBackend;
  downstream: FakeDownstream<string[]>;
  clientId: string;
  query: string;
}

function api(options: { rate?: number } = {}): Api {
  const rig = new Rig(random.int(1, 6), options.rate ?? random.pick([1, 2, 3, 4, 5, 7, 10, 20]));
  const downstream = new FakeDownstream<string[]>({ spanName: BACKEND, otherwise: (call) => ({ value: [`doc-${String(call.request)}-1`, `doc-${random.int(2, 99)}`] }) });
  return { rig, downstream, backend: { search: (query) => downstream.call(query) }, clientId: random.id('client-'), query: random.word(random.int(3, 9)) };
}

function search(a: Api) {
  return handleSearch({ clientId: a.clientId, query: a.query }, a.rig.limiter, a.backend);
}

