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
  let reservationId: string | undefined;
  let paymentId: string | undefined;
  return [
    {
      name: 'reserve-inventory',
      run: async () => {
        reservationId = await shop.inventory.reserve(order.id, order.sku, order.quantity);
      },
      compensate: async () => {
        // TODO: release the reservation (shop.inventory.release). Make it idempotent: the
        //       inventory puts the stock back on every call, so a second call, or a call for a
        //       reservation never made, must do nothing. A release that failed must be able to
        //       run again.
      },
    },
    {
      name: 'charge-payment',
      run: async () => {
        paymentId = await shop.payments.charge(order.id, order.amountCents);
      },
      compensate: async () => {
        // TODO: refund the payment (shop.payments.refund), idempotent in the same way.
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
