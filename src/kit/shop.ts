/**
 * The three backends an order saga coordinates (inventory, payments, shipping), as fakes a check
 * controls. Every operation answers on a later turn of the event loop, makes a CLIENT span (a child
 * of the span active when it is called) and is written to one journal shared by the three, in the
 * order the operations happened, so a check can read what was done, what was undone, and in which
 * order. Failures are scripted per operation and, optionally, per order.
 *
 * `release` and `refund` are deliberately not idempotent, like a real warehouse or bank: every
 * successful call puts the stock back or pays the money back again. Making a compensation safe to
 * repeat is the caller's job.
 */
import { SpanKind, SpanStatusCode, trace, type Attributes } from '@opentelemetry/api';
import { ATTR_ERROR_TYPE } from '@opentelemetry/semantic-conventions';

/** Holds stock for orders. */
export interface ShopInventory {
  /** Holds `quantity` of `sku` for the order; resolves with a new reservation id. A rejection holds nothing. */
  reserve(orderId: string, sku: string, quantity: number): Promise<string>;
  /** Puts a reservation's stock back. Not idempotent: each successful call puts it back again. */
  release(reservationId: string): Promise<void>;
}

/** Takes and gives back money. */
export interface ShopPayments {
  /** Charges the order; resolves with a new payment id. A rejection charges nothing. */
  charge(orderId: string, amountCents: number): Promise<string>;
  /** Pays a payment back in full. Not idempotent: each successful call refunds again. */
  refund(paymentId: string): Promise<void>;
}

/** Books parcels. */
export interface ShopShipping {
  /** Books a shipment of the order to `address`; resolves with a new shipment id. A rejection books nothing. */
  ship(orderId: string, address: string): Promise<string>;
}

/** What a saga over the shop needs. */
export interface ShopBackends {
  readonly inventory: ShopInventory;
  readonly payments: ShopPayments;
  readonly shipping: ShopShipping;
}

export type ShopOperation = 'reserve' | 'release' | 'charge' | 'refund' | 'ship';

/** `reserve` failed: nothing was held. */
export class OutOfStockError extends Error {
  override readonly name = 'OutOfStockError';
}

/** `charge` failed: nothing was charged. */
export class PaymentDeclinedError extends Error {
  override readonly name = 'PaymentDeclinedError';
}

/** `ship` failed: nothing was booked. */
export class CarrierUnavailableError extends Error {
  override readonly name = 'CarrierUnavailableError';
}

/** A backend did not do the operation this time (the default failure of `release` and `refund`); it may work if called again. */
export class ServiceUnavailableError extends Error {
  override readonly name = 'ServiceUnavailableError';
}

/** `release` or `refund` of an id the backend never issued. */
export class UnknownReferenceError extends Error {
  override readonly name = 'UnknownReferenceError';
}

export const SHOP_MESSAGES = {
  outOfStock: (sku: string, quantity: number) => `cannot hold ${quantity} × ${sku}: out of stock`,
  declined: (amountCents: number) => `the payment of ${amountCents} cents was declined`,
  carrier: (orderId: string) => `no carrier could take the parcel of order ${orderId}`,
  unavailable: (service: string, operation: ShopOperation) => `the ${service} service is unavailable: ${operation} was not done`,
  unknown: (operation: ShopOperation, ref: string) => `${operation}: unknown id ${JSON.stringify(ref)}`,
} as const;

/** Which calls of an operation fail, and how. */
export interface ShopFailure {
  /** Only calls about this order (for `release` and `refund`: the order of the reservation or payment). Default: any. */
  orderId?: string;
  /** How many matching calls fail before the rule is spent. Default: every one. */
  times?: number;
  /** The error to reject with. Default: the operation's natural failure (OutOfStockError, PaymentDeclinedError, …). */
  error?: () => Error;
}

/** One operation as it happened (or failed), in the shop's journal. */
export interface ShopEntry {
  /** 0, 1, 2, … across the three backends, in the order the operations settled. */
  readonly seq: number;
  readonly operation: ShopOperation;
  /** The order it was about; undefined only for `release`/`refund` of an unknown id. */
  readonly orderId: string | undefined;
  /** The reservation, payment or shipment id it created, or the one it undid (or tried to); undefined when a `reserve`, `charge` or `ship` failed. */
  readonly ref: string | undefined;
  readonly ok: boolean;
  /** The rejection, when it failed. */
  readonly error?: unknown;
  readonly sku?: string;
  readonly quantity?: number;
  readonly amountCents?: number;
  readonly address?: string;
}

export interface FakeShopOptions {
  /** Awaited inside each operation's span before it takes effect. Default: one turn of the event loop. */
  latency?: (operation: ShopOperation) => Promise<void>;
  /** The instrumentation scope of the CLIENT spans. Default `tracecraft.shop`. */
  tracerName?: string;
}

/** The order id on the shop's CLIENT spans. */
export const ATTR_SHOP_ORDER_ID = 'app.order.id';

const SERVICE: Record<ShopOperation, 'inventory' | 'payments' | 'shipping'> = {
  reserve: 'inventory',
  release: 'inventory',
  charge: 'payments',
  refund: 'payments',
  ship: 'shipping',
};

interface Reservation {
  orderId: string;
  sku: string;
  quantity: number;
}

interface Payment {
  orderId: string;
  amountCents: number;
}

interface Rule extends ShopFailure {
  operation: ShopOperation;
  left: number;
}

type Detail = Pick<ShopEntry, 'sku' | 'quantity' | 'amountCents' | 'address'>;

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

let idCounter = 0;
function newId(prefix: string): string {
  idCounter += 1;
  return `${prefix}-${Math.random().toString(36).slice(2, 8)}${idCounter.toString(36)}`;
}

/**
 * `inventory`, `payments` and `shipping` are the three backends; hand them to the code under test
 * (as a `ShopBackends`). CLIENT spans are named `<service>/<operation>` (`inventory/reserve`,
 * `payments/refund`, …), carry `app.order.id`, and are ERROR with `error.type` when the call fails.
 */
export class FakeShop implements ShopBackends {
  private readonly entries: ShopEntry[] = [];
  private readonly rules: Rule[] = [];
  private readonly reservations = new Map<string, Reservation>();
  private readonly paid = new Map<string, Payment>();

  readonly inventory: ShopInventory = {
    reserve: (orderId, sku, quantity) =>
      this.perform('reserve', orderId, undefined, { sku, quantity }, () => {
        const id = newId('res');
        this.reservations.set(id, { orderId, sku, quantity });
        return id;
      }),
    release: (reservationId) => {
      const reservation = this.reservations.get(reservationId);
      return this.undo('release', reservationId, reservation, reservation && { sku: reservation.sku, quantity: reservation.quantity });
    },
  };

  readonly payments: ShopPayments = {
    charge: (orderId, amountCents) =>
      this.perform('charge', orderId, undefined, { amountCents }, () => {
        const id = newId('pay');
        this.paid.set(id, { orderId, amountCents });
        return id;
      }),
    refund: (paymentId) => {
      const payment = this.paid.get(paymentId);
      return this.undo('refund', paymentId, payment, payment && { amountCents: payment.amountCents });
    },
  };

  readonly shipping: ShopShipping = {
    ship: (orderId, address) => this.perform('ship', orderId, undefined, { address }, () => newId('shp')),
  };

  constructor(private readonly options: FakeShopOptions = {}) {}

  /** Every operation, in the order it settled. */
  get journal(): readonly ShopEntry[] {
    return this.entries;
  }

  /** Makes matching calls of `operation` fail. Rules are tried in the order they were added. */
  fail(operation: ShopOperation, failure: ShopFailure = {}): this {
    this.rules.push({ ...failure, operation, left: failure.times ?? Infinity });
    return this;
  }

  /** The successful operations of one kind, optionally for one order, in order. */
  done(operation: ShopOperation, orderId?: string): ShopEntry[] {
    return this.entries.filter((e) => e.ok && e.operation === operation && (orderId === undefined || e.orderId === orderId));
  }

  /** Units held for the order now: reserved minus released (negative when a reservation was released twice). */
  held(orderId: string): number {
    const sum = (op: ShopOperation): number => this.done(op, orderId).reduce((n, e) => n + (e.quantity ?? 0), 0);
    return sum('reserve') - sum('release');
  }

  /** Cents kept from the order now: charged minus refunded (negative when a payment was refunded twice). */
  netCharged(orderId: string): number {
    const sum = (op: ShopOperation): number => this.done(op, orderId).reduce((n, e) => n + (e.amountCents ?? 0), 0);
    return sum('charge') - sum('refund');
  }

  private undo(operation: 'release' | 'refund', ref: string, target: { orderId: string } | undefined, detail: Detail | undefined): Promise<void> {
    const effect = (): string => {
      if (!target) throw new UnknownReferenceError(SHOP_MESSAGES.unknown(operation, String(ref)));
      return ref;
    };
    return this.perform(operation, target?.orderId, ref, detail ?? {}, effect).then(() => undefined);
  }

  /** One call: a CLIENT span, the latency, then the scripted failure or the effect. `ref` is the id an undo is about. */
  private perform(operation: ShopOperation, orderId: string | undefined, ref: string | undefined, detail: Detail, effect: () => string): Promise<string> {
    const service = SERVICE[operation];
    const tracer = trace.getTracer(this.options.tracerName ?? 'tracecraft.shop');
    const attributes: Attributes = orderId === undefined ? {} : { [ATTR_SHOP_ORDER_ID]: orderId };
    return tracer.startActiveSpan(`${service}/${operation}`, { kind: SpanKind.CLIENT, attributes }, async (span) => {
      try {
        await (this.options.latency ?? nextTurn)(operation);
        return this.attempt(operation, orderId, ref, detail, effect);
      } catch (error) {
        span.setStatus({ code: SpanStatusCode.ERROR });
        span.setAttribute(ATTR_ERROR_TYPE, error instanceof Error ? error.name : typeof error);
        throw error;
      } finally {
        span.end();
      }
    });
  }

  /** Fails the call if a rule says so, otherwise applies the effect; journals either way. */
  private attempt(operation: ShopOperation, orderId: string | undefined, ref: string | undefined, detail: Detail, effect: () => string): string {
    const rule =
      orderId === undefined
        ? undefined
        : this.rules.find((r) => r.operation === operation && r.left > 0 && (r.orderId === undefined || r.orderId === orderId));
    try {
      if (rule) {
        rule.left -= 1;
        throw rule.error?.() ?? this.naturalFailure(operation, orderId ?? '', detail);
      }
      const created = effect();
      this.entries.push({ seq: this.entries.length, operation, orderId, ref: created, ok: true, ...detail });
      return created;
    } catch (error) {
      this.entries.push({ seq: this.entries.length, operation, orderId, ref, ok: false, error, ...detail });
      throw error;
    }
  }

  private naturalFailure(operation: ShopOperation, orderId: string, detail: Detail): Error {
    switch (operation) {
      case 'reserve':
        return new OutOfStockError(SHOP_MESSAGES.outOfStock(detail.sku ?? '?', detail.quantity ?? 0));
      case 'charge':
        return new PaymentDeclinedError(SHOP_MESSAGES.declined(detail.amountCents ?? 0));
      case 'ship':
        return new CarrierUnavailableError(SHOP_MESSAGES.carrier(orderId));
      default:
        return new ServiceUnavailableError(SHOP_MESSAGES.unavailable(SERVICE[operation], operation));
    }
  }
}
