/** What shipping costs when the order is below the free-shipping threshold. */
export const SHIPPING_CENTS = 499;
/** From this subtotal on, shipping is free. */
export const FREE_SHIPPING_FROM_CENTS = 5000;

export interface PricedLine {
  quantity: number;
  unitPriceCents: number;
}

export interface Price {
  subtotalCents: number;
  shippingCents: number;
  totalCents: number;
}

/** The pricing rules: the sum of the lines, plus shipping unless the subtotal reaches the threshold. */
export function priceLines(lines: readonly PricedLine[]): Price {
  const subtotalCents = lines.reduce((sum, line) => sum + line.quantity * line.unitPriceCents, 0);
  const shippingCents = subtotalCents > FREE_SHIPPING_FROM_CENTS ? 0 : SHIPPING_CENTS;
  return { subtotalCents, shippingCents, totalCents: subtotalCents + shippingCents };
}
