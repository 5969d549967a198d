import { priceLines } from './pricing.ts';

export interface OrderLine {
  sku: string;
  quantity: number;
  unitPriceCents: number;
}

/** `pending` until the payment is answered, then `paid` or `payment_declined`. */
export type OrderStatus = 'pending' | 'paid' | 'payment_declined';

export interface Order {
  id: string;
  customerId: string;
  lines: OrderLine[];
  subtotalCents: number;
  shippingCents: number;
  totalCents: number;
  status: OrderStatus;
  paymentId?: string;
  declineReason?: string;
}

/** The order breaks a business rule: no lines, a quantity below 1, a negative price. */
export class InvalidOrderError extends Error {
  override readonly name = 'InvalidOrderError';
}

function isWhole(value: unknown, min: number): boolean {
  return typeof value === 'number' && Number.isInteger(value) && value >= min;
}

/** A new, priced order, `pending`; throws InvalidOrderError when the lines break a rule. */
export function createOrder(id: string, customerId: string, lines: readonly OrderLine[]): Order {
  if (customerId.trim() === '') throw new InvalidOrderError('an order needs a customer');
  if (lines.length === 0) throw new InvalidOrderError('an order needs at least one line');
  for (const line of lines) {
    if (line.sku.trim() === '') throw new InvalidOrderError('every line needs a sku');
    if (!isWhole(line.quantity, 1)) throw new InvalidOrderError(`${line.sku}: the quantity must be a whole number of at least 1`);
    if (!isWhole(line.unitPriceCents, 0)) throw new InvalidOrderError(`${line.sku}: the price must be a whole number of cents, not negative`);
  }
  const copied = lines.map((line) => ({ ...line }));
  return { id, customerId, lines: copied, ...priceLines(copied), status: 'pending' };
}

export function markPaid(order: Order, paymentId: string): Order {
  return { ...order, status: 'paid', paymentId };
}

export function markPaymentDeclined(order: Order, reason: string): Order {
  return { ...order, status: 'payment_declined', declineReason: reason };
}
