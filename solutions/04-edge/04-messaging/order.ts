/** What the shop sends through the queue. */
export interface Order {
  orderId: string;
  sku: string;
  quantity: number;
}

/** The business work for one order: resolves when it is done, rejects when it could not be done. */
export type OrderHandler = (order: Order) => Promise<void>;
