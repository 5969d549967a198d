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
export function checkout(lines: readonly CartLine[], inventory: Inventory): Promise<Receipt> {
  return tracer.startActiveSpan('checkout', async (span) => {
    try {
      const totalCents = priceCart(lines);
      const reservations = await reserveStock(lines, inventory);
      return { totalCents, reservations };
    } finally {
      span.end();
    }
  });
}

function priceCart(lines: readonly CartLine[]): number {
  return tracer.startActiveSpan('price-cart', (span) => {
    try {
      return lines.reduce((sum, line) => sum + line.quantity * line.unitPriceCents, 0);
    } finally {
      span.end();
    }
  });
}

function reserveStock(lines: readonly CartLine[], inventory: Inventory): Promise<string[]> {
  // The callback is not async: it returns the promise at once, and finally ends the span before any reservation is done.
  return tracer.startActiveSpan('reserve-stock', (span) => {
    try {
      return reserveAll(lines, inventory);
    } finally {
      span.end();
    }
  });
}

async function reserveAll(lines: readonly CartLine[], inventory: Inventory): Promise<string[]> {
  const reservations: string[] = [];
  for (const line of lines) reservations.push(await inventory.reserve(line.sku, line.quantity));
  return reservations;
}
