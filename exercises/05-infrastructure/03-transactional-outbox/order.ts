/** What the shop sells: an order for one SKU. */
export interface Order {
  id: string;
  sku: string;
  quantity: number;
}

/** The event an order causes, as it goes through the outbox to the broker. */
export interface OrderPlaced {
  type: 'OrderPlaced';
  orderId: string;
  sku: string;
  quantity: number;
}

/** The routing key of OrderPlaced events (the outbox row's `topic`). */
export const ORDER_PLACED = 'order.placed';
