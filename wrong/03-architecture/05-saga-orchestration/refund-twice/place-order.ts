import type { ShopBackends } from '#kit';
import type { SagaStep } from './saga.ts';

export interface Order {
  id: string;
  sku: string;
  quantity: number;
  amountCents: number;
  address: string;
}

/** The place-order saga: reserve-inventory → charge-payment → ship-order. */
export function orderSteps(order: Order, shop: ShopBackends): SagaStep[] {
  // What each step did, kept until its compensation has undone it: that record is what makes a
  // compensation safe to run twice. It is cleared only after the undo succeeded, so a failed
  // compensation can be tried again.
  let reservationId: string | undefined;
  let paymentId: string | undefined;
  return [
    {
      name: 'reserve-inventory',
      run: async () => {
        reservationId = await shop.inventory.reserve(order.id, order.sku, order.quantity);
      },
      compensate: async () => {
        if (reservationId === undefined) return;
        await shop.inventory.release(reservationId);
        reservationId = undefined;
      },
    },
    {
      name: 'charge-payment',
      run: async () => {
        paymentId = await shop.payments.charge(order.id, order.amountCents);
      },
      compensate: async () => {
        if (paymentId === undefined) return;
        await shop.payments.refund(paymentId);
      },
    },
    {
      // The last step needs no compensation: once it succeeds, nothing after it can fail.
      name: 'ship-order',
      run: async () => {
        await shop.shipping.ship(order.id, order.address);
      },
    },
  ];
}
