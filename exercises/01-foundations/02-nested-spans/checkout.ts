import { trace } from '@opentelemetry/api';

const tracer = trace.getTracer('tracecraft.shop');

export interface CartLine {
  sku: string;
  quantity: number;
  unitPriceCents: number;
}

/** Reserves stock in another service. The one you are given is already instrumented. */
export interface Inventory {
  /** Resolves to a reservation id; rejects when the item is out of stock. */
  reserve(sku: string, quantity: number): Promise<string>;
}

export interface Receipt {
  totalCents: number;
  /** One reservation id per cart line, in cart order. */
  reservations: string[];
}

/** Prices the cart, then reserves every line, one after the other. */
export async function checkout(lines: readonly CartLine[], inventory: Inventory): Promise<Receipt> {
  // TODO: run this whole function inside an active span named "checkout" (use `tracer` above).
  const totalCents = priceCart(lines);
  const reservations = await reserveStock(lines, inventory);
  return { totalCents, reservations };
}

function priceCart(lines: readonly CartLine[]): number {
  // TODO: record this step as a span named "price-cart".
  return lines.reduce((sum, line) => sum + line.quantity * line.unitPriceCents, 0);
}

async function reserveStock(lines: readonly CartLine[], inventory: Inventory): Promise<string[]> {
  // TODO: record this step as a span named "reserve-stock", active while the inventory is called.
  const reservations: string[] = [];
  for (const line of lines) reservations.push(await inventory.reserve(line.sku, line.quantity));
  return reservations;
}
