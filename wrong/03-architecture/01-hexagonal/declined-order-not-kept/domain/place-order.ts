import { createOrder, markPaid } from './order.ts';
import type { OrderRepository, PaymentGateway, PlaceOrderCommand, PlaceOrderResult, PlaceOrderUseCase } from './ports.ts';

/**
 * The use case: price the order, keep it as pending, charge it, and keep the outcome.
 * It knows the ports and nothing else: no database, no payment provider, no tracing.
 */
export class PlaceOrder implements PlaceOrderUseCase {
  constructor(
    private readonly orders: OrderRepository,
    private readonly payments: PaymentGateway,
    private readonly newId: () => string = () => crypto.randomUUID(),
  ) {}

  async placeOrder(command: PlaceOrderCommand): Promise<PlaceOrderResult> {
    const order = createOrder(this.newId(), command.customerId, command.lines);
    await this.orders.save(order);
    const charge = await this.payments.charge({
      orderId: order.id,
      amountCents: order.totalCents,
      paymentToken: command.paymentToken,
    });
    if (charge.approved) {
      await this.orders.save(markPaid(order, charge.paymentId));
      return { orderId: order.id, status: 'paid', totalCents: order.totalCents };
    }
    return { orderId: order.id, status: 'payment_declined', totalCents: order.totalCents, reason: charge.reason };
  }
}
