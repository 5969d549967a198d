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

async function reserveStock(lines: readonly CartLine[], inventory: Inventory): Promise<string[]> {
  const reservations: string[] = [];
  // One "reserve-stock" span per line, instead of one for the whole step.
  for (const line of lines) {
    const id = await tracer.startActiveSpan('reserve-stock', async (span) => {
      try {
        return await inventory.reserve(line.sku, line.quantity);
      } finally {
        span.end();
      }
    });
    reservations.push(id);
  }
  return reservations;
}
