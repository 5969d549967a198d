import type { MessageBus, ShopBackends } from '#kit';
import type { Order, ShopEvents } from './events.ts';
import { publish, subscribe } from './messaging.ts';

export type OrderStatus = 'pending' | 'shipped' | 'cancelled';

/** What the outside world sees of the shop: the order service. */
export interface OrderService {
  /** Accepts the order (status `pending`) and publishes `OrderPlaced`. */
  placeOrder(order: Order): Promise<void>;
  /** The order's status, or undefined for an order never placed. */
  status(orderId: string): OrderStatus | undefined;
}

/** Starts the four services of the shop on `bus`. None calls another: each reacts to events. */
export function startShop(bus: MessageBus<ShopEvents>, shop: ShopBackends): OrderService {
  // Order service.
  const statuses = new Map<string, OrderStatus>();
  subscribe(bus, 'order', 'OrderShipped', async ({ order }) => {
    statuses.set(order.id, 'shipped');
  });
  subscribe(bus, 'order', 'PaymentFailed', async ({ order }) => {
    statuses.set(order.id, 'cancelled');
  });

  // Inventory service. It keeps its own record of what it reserved: the compensation is its own.
  const reservations = new Map<string, string>();
  subscribe(bus, 'inventory', 'OrderPlaced', async ({ order }) => {
    const reservationId = await shop.inventory.reserve(order.id, order.sku, order.quantity);
    reservations.set(order.id, reservationId);
    await publish(bus, 'InventoryReserved', { order, reservationId });
  });
  subscribe(bus, 'inventory', 'PaymentFailed', async ({ order }) => {
    const reservationId = reservations.get(order.id);
    if (reservationId === undefined) return;
    await shop.inventory.release(reservationId);
    reservations.delete(order.id);
  });

  // Payment service.
  subscribe(bus, 'payment', 'InventoryReserved', async ({ order }) => {
    let paymentId = '';
    try {
      paymentId = await shop.payments.charge(order.id, order.amountCents);
    } catch (error) {
      await publish(bus, 'PaymentFailed', { order, reason: error instanceof Error ? error.message : String(error) });
    }
    await publish(bus, 'PaymentSucceeded', { order, paymentId });
  });

  // Shipping service.
  subscribe(bus, 'shipping', 'PaymentSucceeded', async ({ order }) => {
    const shipmentId = await shop.shipping.ship(order.id, order.address);
    await publish(bus, 'OrderShipped', { order, shipmentId });
  });

  return {
    async placeOrder(order) {
      statuses.set(order.id, 'pending');
      await publish(bus, 'OrderPlaced', { order });
    },
    status: (orderId) => statuses.get(orderId),
  };
}
