import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { trace } from '@opentelemetry/api';
import {
  CarrierUnavailableError,
  FakeShop,
  OutOfStockError,
  PaymentDeclinedError,
  SHOP_MESSAGES,
  ServiceUnavailableError,
  UnknownReferenceError,
  type ShopBackends,
} from '../../src/kit/index.ts';
import { traceHarness } from '../../src/trace/harness.ts';

const harness = traceHarness();

beforeEach(() => harness.reset());
afterEach(() => {
  if (harness.verifyGlobals()) harness.restoreGlobals();
});

class BoomError extends Error {
  override readonly name = 'BoomError';
}

describe('FakeShop', () => {
  it('reserves, charges and ships with fresh ids, journaling every effect in order', async () => {
    const shop = new FakeShop();
    const backends: ShopBackends = shop;
    const reservation = await backends.inventory.reserve('o-1', 'sku-7', 3);
    const payment = await backends.payments.charge('o-1', 1250);
    const shipment = await backends.shipping.ship('o-1', '1 Main St');
    expect(new Set([reservation, payment, shipment]).size).toBe(3);
    expect(reservation).toMatch(/^res-/);
    expect(payment).toMatch(/^pay-/);
    expect(shipment).toMatch(/^shp-/);
    expect(shop.journal.map((e) => [e.seq, e.operation, e.orderId, e.ref, e.ok])).toEqual([
      [0, 'reserve', 'o-1', reservation, true],
      [1, 'charge', 'o-1', payment, true],
      [2, 'ship', 'o-1', shipment, true],
    ]);
    expect(shop.journal[0]).toMatchObject({ sku: 'sku-7', quantity: 3 });
    expect(shop.journal[2]).toMatchObject({ address: '1 Main St' });
    expect(shop.held('o-1')).toBe(3);
    expect(shop.netCharged('o-1')).toBe(1250);
    expect(shop.done('ship', 'o-1')).toHaveLength(1);
    expect(shop.done('ship', 'o-2')).toHaveLength(0);
  });

  it('answers on a later turn, never synchronously', async () => {
    const shop = new FakeShop();
    let settled = false;
    const pending = shop.inventory.reserve('o-1', 's', 1).then(() => {
      settled = true;
    });
    await Promise.resolve();
    await Promise.resolve();
    expect(settled).toBe(false);
    await pending;
    expect(settled).toBe(true);
  });

  it('does not make release and refund idempotent: undoing twice undoes twice', async () => {
    const shop = new FakeShop();
    const reservation = await shop.inventory.reserve('o-1', 's', 2);
    const payment = await shop.payments.charge('o-1', 500);
    await shop.inventory.release(reservation);
    await shop.inventory.release(reservation);
    await shop.payments.refund(payment);
    await shop.payments.refund(payment);
    expect(shop.held('o-1')).toBe(-2);
    expect(shop.netCharged('o-1')).toBe(-500);
    expect(shop.done('release', 'o-1').map((e) => e.ref)).toEqual([reservation, reservation]);
    expect(shop.done('refund', 'o-1')).toHaveLength(2);
  });

  it('rejects an undo of an id it never issued, with nothing undone', async () => {
    const shop = new FakeShop();
    await expect(shop.inventory.release('res-nope')).rejects.toThrow(new UnknownReferenceError(SHOP_MESSAGES.unknown('release', 'res-nope')));
    await expect(shop.payments.refund('pay-nope')).rejects.toBeInstanceOf(UnknownReferenceError);
    expect(shop.journal.map((e) => [e.operation, e.orderId, e.ref, e.ok])).toEqual([
      ['release', undefined, 'res-nope', false],
      ['refund', undefined, 'pay-nope', false],
    ]);
  });

  it('fails scripted calls with the natural error of each operation, leaving no effect', async () => {
    const shop = new FakeShop();
    shop.fail('reserve').fail('charge').fail('ship');
    await expect(shop.inventory.reserve('o-1', 'sku-1', 4)).rejects.toThrow(new OutOfStockError(SHOP_MESSAGES.outOfStock('sku-1', 4)));
    await expect(shop.payments.charge('o-1', 99)).rejects.toThrow(new PaymentDeclinedError(SHOP_MESSAGES.declined(99)));
    await expect(shop.shipping.ship('o-1', 'x')).rejects.toThrow(new CarrierUnavailableError(SHOP_MESSAGES.carrier('o-1')));
    expect(shop.journal.map((e) => [e.operation, e.ok, e.ref])).toEqual([
      ['reserve', false, undefined],
      ['charge', false, undefined],
      ['ship', false, undefined],
    ]);
    expect(shop.held('o-1')).toBe(0);
    expect(shop.netCharged('o-1')).toBe(0);
  });

  it('scopes failures to an order and a number of calls; an undo that failed can be done later', async () => {
    const shop = new FakeShop();
    shop.fail('charge', { orderId: 'o-2' }).fail('refund', { orderId: 'o-1', times: 1 }).fail('release', { times: 1, error: () => new BoomError('x') });
    const payment = await shop.payments.charge('o-1', 100);
    await expect(shop.payments.charge('o-2', 100)).rejects.toBeInstanceOf(PaymentDeclinedError);
    await expect(shop.payments.charge('o-2', 100)).rejects.toBeInstanceOf(PaymentDeclinedError);
    await expect(shop.payments.refund(payment)).rejects.toThrow(new ServiceUnavailableError(SHOP_MESSAGES.unavailable('payments', 'refund')));
    expect(shop.netCharged('o-1')).toBe(100);
    await shop.payments.refund(payment);
    expect(shop.netCharged('o-1')).toBe(0);
    const reservation = await shop.inventory.reserve('o-3', 's', 1);
    await expect(shop.inventory.release(reservation)).rejects.toBeInstanceOf(BoomError);
    await shop.inventory.release(reservation);
    expect(shop.held('o-3')).toBe(0);
    expect(shop.journal.filter((e) => !e.ok).map((e) => [e.operation, e.orderId, e.ref])).toEqual([
      ['charge', 'o-2', undefined],
      ['charge', 'o-2', undefined],
      ['refund', 'o-1', payment],
      ['release', 'o-3', reservation],
    ]);
  });

  it('makes a CLIENT span per call under the active span, ERROR with error.type when it fails', async () => {
    const shop = new FakeShop();
    shop.fail('charge');
    await trace.getTracer('tracecraft.test').startActiveSpan('saga', async (parent) => {
      const reservation = await shop.inventory.reserve('o-9', 's', 1);
      await shop.payments.charge('o-9', 10).catch(() => undefined);
      await shop.inventory.release(reservation);
      parent.end();
    });
    const [only] = harness.traces();
    expect(harness.traces()).toHaveLength(1);
    const children = only?.roots[0]?.children ?? [];
    expect(children.map((c) => [c.name, c.kind, c.status, c.scope, c.attributes['app.order.id'], c.attributes['error.type']])).toEqual([
      ['inventory/reserve', 'client', 'unset', 'tracecraft.shop', 'o-9', undefined],
      ['payments/charge', 'client', 'error', 'tracecraft.shop', 'o-9', 'PaymentDeclinedError'],
      ['inventory/release', 'client', 'unset', 'tracecraft.shop', 'o-9', undefined],
    ]);
  });

  it('awaits the latency given, before the call takes effect', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const seen: string[] = [];
    const shop = new FakeShop({
      latency: async (operation) => {
        seen.push(operation);
        await gate;
      },
    });
    const pending = shop.payments.charge('o-1', 5);
    await new Promise((resolve) => setImmediate(resolve));
    expect(seen).toEqual(['charge']);
    expect(shop.journal).toEqual([]);
    release();
    await pending;
    expect(shop.journal).toHaveLength(1);
  });
});
