/*
 * The composition root: the one place that knows every part, and plugs adapters into ports.
 * It is outside the core, so it may import everything.
 */
import type { HttpHandler } from '#kit';
import { PlaceOrder } from './domain/place-order.ts';
import type { OrderRepository } from './domain/ports.ts';
import { FakePaymentGateway } from './adapters/fake-payment-gateway.ts';
import { ordersHttpHandler } from './adapters/http.ts';
import { InMemoryOrderRepository } from './adapters/in-memory-order-repository.ts';
import { TracedOrderRepository, TracedPaymentGateway, TracedPlaceOrder } from './adapters/tracing.ts';

export interface OrderService {
  /** The driving adapter: serve it with startHttpServer. */
  handler: HttpHandler;
  /** The repository the service saves orders to. */
  orders: OrderRepository;
}

export function buildOrderService(): OrderService {
  const orders = new InMemoryOrderRepository();
  const payments = new FakePaymentGateway();
  // TODO: plug the tracing decorators in: the use case gets traced ports, and the HTTP adapter a
  //       traced use case. Nothing else changes: that is the point of ports.
  const placeOrder = new PlaceOrder(orders, payments);
  return { handler: ordersHttpHandler(placeOrder), orders };
}
