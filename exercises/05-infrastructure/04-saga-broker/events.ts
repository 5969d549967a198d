/** An order, as the order service accepts it. */
export interface Order {
  id: string;
  sku: string;
  quantity: number;
  amountCents: number;
  address: string;
}

/** The topics of the shop's bus and the body each carries: `new MessageBus<ShopEvents>()`. */
export interface ShopEvents {
  OrderPlaced: { order: Order };
  InventoryReserved: { order: Order; reservationId: string };
  PaymentSucceeded: { order: Order; paymentId: string };
  PaymentFailed: { order: Order; reason: string };
  OrderShipped: { order: Order; shipmentId: string };
}

export type ShopTopic = keyof ShopEvents;
