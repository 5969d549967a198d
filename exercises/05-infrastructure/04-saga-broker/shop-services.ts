import { PaymentDeclinedError, type ShopBackends } from '#kit';
import type { Broker } from './broker.ts';
import type { Order } from './events.ts';
import { publish, subscribe } from './messaging.ts';

export type OrderStatus = 'pending' | 'shipped' | 'cancelled';

/** What the outside world sees of the shop: the order service. */
export interface OrderService {
  /** Accepts the order (status `pending`) and publishes `OrderPlaced`. */
  placeOrder(order: Order): Promise<void>;
  /** The order's status, or undefined for an order this instance never heard of. */
  status(orderId: string): OrderStatus | undefined;
}

/** Starts the four services of the shop on the broker. None calls another: each reacts to messages. */
export async function startShop(broker: Broker, shop: ShopBackends): Promise<OrderService> {
  // Order service.
  const statuses = new Map<string, OrderStatus>();
  await subscribe(broker, 'order', 'OrderShipped', async ({ order }) => {
    statuses.set(order.id, 'shipped');
  });
  await subscribe(broker, 'order', 'PaymentFailed', async ({ order }) => {
    statuses.set(order.id, 'cancelled');
  });

  // Inventory service. It keeps its own record of what it reserved: the compensation is its own.
  const reservations = new Map<string, string>();
  await subscribe(broker, 'inventory', 'OrderPlaced', async ({ order }) => {
    const reservationId = await shop.inventory.reserve(order.id, order.sku, order.quantity);
    reservations.set(order.id, reservationId);
    await publish(broker, 'InventoryReserved', { order, reservationId });
  });
  await subscribe(broker, 'inventory', 'PaymentFailed', async ({ order }) => {
    const reservationId = reservations.get(order.id);
    if (reservationId === undefined) return;
    await shop.inventory.release(reservationId);
    reservations.delete(order.id);
  });

  // Payment service.
  await subscribe(broker, 'payment', 'InventoryReserved', async ({ order }) => {
    let paymentId: string;
    try {
      paymentId = await shop.payments.charge(order.id, order.amountCents);
    } catch (error) {
      // TODO: only a declined card (PaymentDeclinedError) is an answer that cancels the order. Any other
      //       failure may go away: throw it, so the broker delivers the message again.
      await publish(broker, 'PaymentFailed', { order, reason: error instanceof Error ? error.message : String(error) });
      return;
    }
    await publish(broker, 'PaymentSucceeded', { order, paymentId });
  });

  // Shipping service.
  await subscribe(broker, 'shipping', 'PaymentSucceeded', async ({ order }) => {
    const shipmentId = await shop.shipping.ship(order.id, order.address);
    await publish(broker, 'OrderShipped', { order, shipmentId });
  });

  return {
    async placeOrder(order) {
      statuses.set(order.id, 'pending');
      await publish(broker, 'OrderPlaced', { order });
    },
    status: (orderId) => statuses.get(orderId),
  };
}
