/*
 * Tracing, added from the outside: each decorator implements a port, wraps another implementation
 * of the same port, and traces every call through it. The core never knows.
 */
import { SpanKind, SpanStatusCode, trace, type Attributes, type Span } from '@opentelemetry/api';
import { ATTR_ERROR_TYPE } from '@opentelemetry/semantic-conventions';
import type { Order } from '../domain/order.ts';
import type {
  ChargeRequest,
  ChargeResult,
  OrderRepository,
  PaymentGateway,
  PlaceOrderCommand,
  PlaceOrderResult,
  PlaceOrderUseCase,
} from '../domain/ports.ts';

const tracer = trace.getTracer('tracecraft.orders');

export const ATTR_ORDER_ID = 'app.order.id';
export const ATTR_ORDER_STATUS = 'app.order.status';
export const ATTR_PAYMENT_AMOUNT_CENTS = 'app.payment.amount_cents';

// TODO: each decorator below passes every call straight through. Make each call a span, the span
//       active while the wrapped call runs, ended however it ends (see the trace contract):
//       - OrderRepository.save / OrderRepository.findById, CLIENT, with app.order.id (and app.order.status for save);
//       - PaymentGateway.charge, CLIENT, with app.order.id and app.payment.amount_cents; a declined
//         charge is ERROR with error.type = the decline reason;
//       - PlaceOrder, INTERNAL, with app.order.id and app.order.status of the result; ERROR with
//         error.type = the error's name (and the exception recorded) when it rejects.

export class TracedOrderRepository implements OrderRepository {
  constructor(private readonly inner: OrderRepository) {}

  save(order: Order): Promise<void> {
    return this.inner.save(order);
  }

  findById(id: string): Promise<Order | undefined> {
    return this.inner.findById(id);
  }
}

export class TracedPaymentGateway implements PaymentGateway {
  constructor(private readonly inner: PaymentGateway) {}

  charge(request: ChargeRequest): Promise<ChargeResult> {
    return this.inner.charge(request);
  }
}

export class TracedPlaceOrder implements PlaceOrderUseCase {
  constructor(private readonly inner: PlaceOrderUseCase) {}

  placeOrder(command: PlaceOrderCommand): Promise<PlaceOrderResult> {
    return this.inner.placeOrder(command);
  }
}
