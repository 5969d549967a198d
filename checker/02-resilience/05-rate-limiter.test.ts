import fc from 'fast-check';
import { expect, it } from 'vitest';
import { absent, expectAllEnded, expectTrace, random, spansNamed, useTracing } from '#checks';
import { FakeClock, FakeDownstream } from '#kit';
import { TokenBucketLimiter, type RateLimitDecision } from '#target/02-resilience/05-rate-limiter/token-bucket.ts';
import { handleSearch, type SearchBackend } from '#target/02-resilience/05-rate-limiter/search-handler.ts';

const otel = useTracing();

const SERVER = 'GET /search';
const BACKEND = 'POST /_search';

// ---------------------------------------------------------------------------------------------
// The reference: the README's rules in exact integer arithmetic (thousandths of a token).
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

/** The parts of a decision the README defines: retryAfterMs only when limited. */
function normalize(decision: RateLimitDecision): Decision {
  const d = decision as Partial<Decision> & { allowed: unknown };
  const out: Decision = { allowed: d.allowed === true, remaining: d.remaining as number };
  if (d.allowed !== true) out.retryAfterMs = d.retryAfterMs as number;
  return out;
}

function describe(decision: Decision): string {
  return decision.allowed
    ? `allowed, remaining ${String(decision.remaining)}`
    : `limited, remaining ${String(decision.remaining)}, retryAfterMs ${String(decision.retryAfterMs)}`;
}

/** A limiter on a fake clock, with the time since its start at hand. */
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
    this.log.push(`t=${this.t} take("${key}") → ${describe(decision)}`);
    return decision;
  }

  async wait(ms: number): Promise<void> {
    if (ms <= 0) return;
    this.log.push(`wait ${ms} ms`);
    await this.clock.advance(ms);
  }

  header(): string {
    return `capacity ${this.capacity}, refillPerSecond ${this.rate}`;
  }
}

class Mismatch extends Error {}

/** Runs a fast-check property; a counterexample fails the check with the story `explain` tells. */
async function property<T>(arbitrary: fc.Arbitrary<T>, run: (value: T) => Promise<void>, numRuns = 60): Promise<void> {
  const result = await fc.check(fc.asyncProperty(arbitrary, run), { numRuns, interruptAfterTimeLimit: 1_200 });
  if (!result.failed) return;
  const error = result.errorInstance;
  expect.fail(error instanceof Mismatch ? error.message : `${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`);
}

function mismatch(rig: Rig, message: string): Mismatch {
  return new Mismatch([`${message}`, `With ${rig.header()}, the sequence was:`, ...rig.log.map((l) => `  ${l}`)].join('\n'));
}

const capacityArb = fc.integer({ min: 1, max: 12 });
const rateArb = fc.integer({ min: 1, max: 60 });
const keyArb = fc.constantFrom('client-a', 'client-b', 'client-c', 'client-d').map((k) => `${k}-${random.int(1, 999)}`);

// ---------------------------------------------------------------------------------------------
// The bucket
// ---------------------------------------------------------------------------------------------

it('lets a burst of capacity through at one instant and limits request capacity + 1', async () => {
  await property(fc.record({ capacity: capacityArb, rate: rateArb, key: keyArb }), async ({ capacity, rate, key }) => {
    const rig = new Rig(capacity, rate);
    for (let i = 0; i < capacity; i++) {
      const got = rig.take(key);
      if (!got.allowed || got.remaining !== capacity - 1 - i) {
        throw mismatch(rig, `a new key starts with a full bucket: request ${i + 1} of a burst should be allowed, with remaining ${capacity - 1 - i}`);
      }
    }
    const last = rig.take(key);
    const retry = Math.ceil(1000 / rate);
    if (last.allowed || last.retryAfterMs !== retry || last.remaining !== 0) {
      throw mismatch(rig, `request ${capacity + 1} at the same instant finds the bucket empty: limited, remaining 0, retryAfterMs ${retry} (one token takes 1000 / ${rate} ms, rounded up)`);
    }
  });
});

it('never holds more than capacity tokens, however long it waits', async () => {
  const history = fc.array(fc.record({ wait: fc.integer({ min: 0, max: 5_000 }), takes: fc.integer({ min: 0, max: 4 }) }), { maxLength: 8 });
  await property(
    fc.record({ capacity: capacityArb, rate: rateArb, key: keyArb, history, idle: fc.integer({ min: 0, max: 1_000_000 }) }),
    async ({ capacity, rate, key, history, idle }) => {
      const rig = new Rig(capacity, rate);
      for (const step of history) {
        await rig.wait(step.wait);
        for (let i = 0; i < step.takes; i++) {
          const got = rig.take(key);
          if (got.remaining > capacity - 1) throw mismatch(rig, `remaining can never be above capacity - 1 = ${capacity - 1} after a token was taken`);
        }
      }
      await rig.wait(idle);
      let allowed = 0;
      for (let i = 0; i < capacity + 2; i++) if (rig.take(key).allowed) allowed++;
      const full = idle * rate >= capacity * 1000;
      if (allowed > capacity || (full && allowed !== capacity)) {
        throw mismatch(
          rig,
          `after waiting ${idle} ms${full ? ' (long enough to fill the bucket)' : ''}, a burst at one instant must get ${full ? 'exactly' : 'at most'} ${capacity} (the capacity) through, but ${allowed} ${allowed === 1 ? 'was' : 'were'} allowed`,
        );
      }
    },
  );
});

it('refills in proportion to the time elapsed, keeping fractions of a token however the wait is cut up', async () => {
  const arb = fc
    .record({
      capacity: fc.integer({ min: 2, max: 12 }),
      rate: rateArb,
      key: keyArb,
      pieces: fc.array(fc.integer({ min: 1, max: 100_000 }), { minLength: 1, maxLength: 25 }),
    })
    .map(({ capacity, rate, key, pieces }) => {
      // After a drain the bucket holds less than one token: a piece that earns at most capacity - 1
      // tokens never fills it, so the capacity never cuts the refill and every earned token counts.
      const longest = Math.max(1, Math.floor(((capacity - 1) * 1000) / rate));
      return { capacity, rate, key, pieces: pieces.map((p) => 1 + (p % longest)) };
    });
  await property(arb, async ({ capacity, rate, key, pieces }) => {
    const rig = new Rig(capacity, rate);
    const drain = (): number => {
      let allowed = 0;
      while (rig.take(key).allowed) if (++allowed > capacity) throw mismatch(rig, `more than capacity (${capacity}) requests allowed at one instant`);
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
      throw mismatch(
        rig,
        `in ${elapsed} ms at ${rate} tokens/s the bucket earns ${elapsed} × ${rate} / 1000 = ${(elapsed * rate) / 1000} tokens, so taking every whole token as it comes lets ${earned} requests through in total; yours let ${total} through. Fractions of a token must carry over from one request to the next, exactly`,
      );
    }
  });
});

it('adds fractions of a token exactly: ten waits worth a tenth of a token each make one whole token', async () => {
  const rate = random.pick([1, 2, 4, 5, 10, 20, 25, 50]);
  const tenth = 100 / rate;
  const rig = new Rig(random.int(1, 5), rate);
  const key = random.id('client-');
  for (let i = 0; i < rig.capacity; i++) rig.take(key);
  const empty = rig.take(key);
  if (empty.allowed) expect.fail(`a burst of capacity + 1 = ${rig.capacity + 1} requests at one instant: the last must be limited (${rig.header()})`);
  for (let i = 1; i <= 10; i++) {
    await rig.wait(tenth);
    const got = rig.take(key);
    if (got.allowed !== (i === 10)) {
      expect.fail(
        [
          i < 10
            ? `after ${i} waits of ${tenth} ms at ${rate} tokens/s the bucket holds ${i}/10 of a token: the request should be limited`
            : `after 10 waits of ${tenth} ms at ${rate} tokens/s the bucket holds exactly one token: the request should be allowed. ` +
              'In floating point, 0.1 added ten times is 0.9999999999999999, not 1: count in thousandths of a token (whole numbers) so fractions add up exactly',
          `With ${rig.header()}, the sequence was:`,
          ...rig.log.map((l) => `  ${l}`),
        ].join('\n'),
      );
    }
  }
});

it('says in retryAfterMs how long until one token is there: 1 ms earlier is still limited, then it is allowed', async () => {
  await property(
    fc.record({ capacity: capacityArb, rate: rateArb, key: keyArb, wait: fc.integer({ min: 0, max: 3_000 }) }),
    async ({ capacity, rate, key, wait }) => {
      const rig = new Rig(capacity, rate);
      const reference = new Reference(capacity, rate);
      const take = (): { got: Decision; want: Decision } => ({ want: reference.take(key, rig.t), got: rig.take(key) });
      for (let i = 0; i < capacity; i++) take();
      await rig.wait(wait);
      let step = take();
      while (step.want.allowed) step = take();
      if (step.got.allowed || step.got.retryAfterMs !== step.want.retryAfterMs) {
        throw mismatch(rig, `the last request should be ${describe(step.want)}: the time until the bucket holds one whole token, in ms, rounded up`);
      }
      const retry = step.want.retryAfterMs ?? 0;
      if (retry > 1) {
        await rig.wait(retry - 1);
        const early = take();
        if (early.got.allowed) throw mismatch(rig, `1 ms before retryAfterMs (${retry} ms) is over, there is not yet a whole token: it should be ${describe(early.want)}`);
        await rig.wait(1);
      } else await rig.wait(retry);
      const onTime = take();
      if (!onTime.got.allowed) throw mismatch(rig, `once retryAfterMs (${retry} ms) has passed, a whole token is there: the request should be allowed`);
    },
  );
});

it('keeps one bucket per key: a client never spends another client\'s tokens', async () => {
  const ops = fc.array(fc.record({ key: fc.integer({ min: 0, max: 3 }), wait: fc.integer({ min: 0, max: 1_500 }) }), { minLength: 1, maxLength: 40 });
  await property(fc.record({ capacity: capacityArb, rate: rateArb, ops }), async ({ capacity, rate, ops }) => {
    const keys = [0, 1, 2, 3].map((i) => `client-${i}-${random.int(1, 999)}`);
    const shared = new Rig(capacity, rate);
    const alone = keys.map(() => new Rig(capacity, rate));
    for (const op of ops) {
      await shared.wait(op.wait);
      const key = keys[op.key] as string;
      const own = alone[op.key] as Rig;
      await own.wait(shared.t - own.t);
      const together = shared.take(key);
      const separate = own.take(key);
      if (describe(together) !== describe(separate)) {
        throw mismatch(
          shared,
          `"${key}" got "${describe(together)}" while other clients were making requests, but "${describe(separate)}" with the same requests at the same times alone: each key needs its own bucket`,
        );
      }
    }
  });
});

it('agrees with the token-bucket rules on random sequences of requests and waits, with several keys', async () => {
  const ops = fc.array(fc.record({ key: fc.integer({ min: 0, max: 2 }), wait: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 2_500 })) }), { minLength: 1, maxLength: 40 });
  await property(fc.record({ capacity: capacityArb, rate: rateArb, ops }), async ({ capacity, rate, ops }) => {
    const rig = new Rig(capacity, rate);
    const reference = new Reference(capacity, rate);
    const keys = [0, 1, 2].map((i) => `client-${i}-${random.int(1, 999)}`);
    for (const op of ops) {
      await rig.wait(op.wait);
      const key = keys[op.key] as string;
      const want = reference.take(key, rig.t);
      const got = rig.take(key);
      if (describe(got) !== describe(want)) throw mismatch(rig, `the last request should be ${describe(want)}`);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// The handler and its trace
// ---------------------------------------------------------------------------------------------

interface Api {
  rig: Rig;
  backend: SearchBackend;
  downstream: FakeDownstream<string[]>;
  clientId: string;
  query: string;
}

function api(): Api {
  const rig = new Rig(random.int(1, 6), random.pick([1, 2, 3, 4, 5, 7, 10, 20]));
  const downstream = new FakeDownstream<string[]>({ spanName: BACKEND, otherwise: (call) => ({ value: [`doc-${String(call.request)}-1`, `doc-${random.int(2, 99)}`] }) });
  return { rig, downstream, backend: { search: (query) => downstream.call(query) }, clientId: random.id('client-'), query: random.word(random.int(3, 9)) };
}

/** Sends capacity requests at one instant: the bucket is then empty. */
async function exhaust(a: Api): Promise<void> {
  for (let i = 0; i < a.rig.capacity; i++) await handleSearch({ clientId: a.clientId, query: a.query }, a.rig.limiter, a.backend);
}

it('answers 200 from the backend while the client has tokens, and 429 with Retry-After (in seconds) without calling the backend when it has none', async () => {
  const a = api();
  for (let i = 0; i < a.rig.capacity; i++) {
    const response = await handleSearch({ clientId: a.clientId, query: a.query }, a.rig.limiter, a.backend);
    expect(response.status, `request ${i + 1} of ${a.rig.capacity} (the capacity) at one instant is allowed`).toBe(200);
    expect(response.body, 'an allowed request answers with the backend\'s results').toEqual({ results: [`doc-${a.query}-1`, expect.any(String)] });
  }
  const calls = a.downstream.calls.length;
  const limited = await handleSearch({ clientId: a.clientId, query: a.query }, a.rig.limiter, a.backend);
  const retryAfterMs = Math.ceil(1000 / a.rig.rate);
  expect(limited.status, `request ${a.rig.capacity + 1} at the same instant finds no token: 429 Too Many Requests`).toBe(429);
  expect(limited.headers['retry-after'], `Retry-After says when to come back, in whole seconds rounded up: ${retryAfterMs} ms → "${Math.ceil(retryAfterMs / 1000)}"`).toBe(
    String(Math.ceil(retryAfterMs / 1000)),
  );
  expect(a.downstream.calls.length, 'a limited request never reaches the backend').toBe(calls);
  const other = await handleSearch({ clientId: random.id('other-'), query: a.query }, a.rig.limiter, a.backend);
  expect(other.status, 'another client has its own bucket: still allowed').toBe(200);
});

it('puts the decision on the SERVER span of an allowed request, with the backend\'s CLIENT span under it', async () => {
  const a = api();
  const before = random.int(0, a.rig.capacity - 1);
  for (let i = 0; i < before; i++) await handleSearch({ clientId: a.clientId, query: a.query }, a.rig.limiter, a.backend);
  otel.reset();
  await handleSearch({ clientId: a.clientId, query: a.query }, a.rig.limiter, a.backend);
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
      },
      children: [{ name: BACKEND, kind: 'client' }],
    },
    `an allowed request: app.rate_limit.key, app.rate_limit.decision="allowed" and the whole tokens left (${a.rig.capacity} - ${before + 1} = ${a.rig.capacity - 1 - before}) on its SERVER span, no retry_after_ms`,
  );
});

it('marks a limited request on its SERVER span: decision "limited", retry_after_ms, a 429 that stays UNSET, and no backend span', async () => {
  const a = api();
  await exhaust(a);
  const step = Math.ceil(1000 / a.rig.rate);
  const wait = random.int(0, step - 1);
  await a.rig.wait(wait);
  const retryAfterMs = Math.ceil((1000 - wait * a.rig.rate) / a.rig.rate);
  otel.reset();
  const response = await handleSearch({ clientId: a.clientId, query: a.query }, a.rig.limiter, a.backend);
  expect(response.status, `after the bucket was emptied and ${wait} ms passed, less than the ${step} ms a token takes, the request is limited`).toBe(429);
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
  expect(spansNamed(otel, SERVER).length, 'one SERVER span per request').toBe(1);
});
