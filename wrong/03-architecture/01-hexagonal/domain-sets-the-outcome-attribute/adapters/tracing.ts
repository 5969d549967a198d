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

function fail(span: Span, errorType: string): void {
  span.setStatus({ code: SpanStatusCode.ERROR });
  span.setAttribute(ATTR_ERROR_TYPE, errorType);
}

/** Runs `work` in an active span that ends however the work ends; an exception that escapes is recorded. */
function traced<T>(name: string, kind: SpanKind, attributes: Attributes, work: (span: Span) => Promise<T>): Promise<T> {
  return tracer.startActiveSpan(name, { kind, attributes }, async (span) => {
    try {
      return await work(span);
    } catch (error) {
      const err = error instanceof Error ? error : new Error(String(error));
      span.recordException(err);
      fail(span, err.name);
      throw error;
    } finally {
      span.end();
    }
  });
}

export class TracedOrderRepository implements OrderRepository {
  constructor(private readonly inner: OrderRepository) {}

  save(order: Order): Promise<void> {
    const attributes = { [ATTR_ORDER_ID]: order.id, [ATTR_ORDER_STATUS]: order.status };
    return traced('OrderRepository.save', SpanKind.CLIENT, attributes, () => this.inner.save(order));
  }

  findById(id: string): Promise<Order | undefined> {
    return traced('OrderRepository.findById', SpanKind.CLIENT, { [ATTR_ORDER_ID]: id }, () => this.inner.findById(id));
  }
}

export class TracedPaymentGateway implements PaymentGateway {
  constructor(private readonly inner: PaymentGateway) {}

  charge(request: ChargeRequest): Promise<ChargeResult> {
    const attributes = { [ATTR_ORDER_ID]: request.orderId, [ATTR_PAYMENT_AMOUNT_CENTS]: request.amountCents };
    return traced('PaymentGateway.charge', SpanKind.CLIENT, attributes, async (span) => {
      const result = await this.inner.charge(request);
      // A decline comes back as an answer, not an exception: the decorator knows it is this call's failure.
      if (!result.approved) fail(span, result.reason);
      return result;
    });
  }
}

export class TracedPlaceOrder implements PlaceOrderUseCase {
  constructor(private readonly inner: PlaceOrderUseCase) {}

  placeOrder(command: PlaceOrderCommand): Promise<PlaceOrderResult> {
    return traced('PlaceOrder', SpanKind.INTERNAL, {}, async (span) => {
      const result = await this.inner.placeOrder(command);
      // A declined payment is an outcome of placing the order, not a failure of it: an attribute, not ERROR.
      span.setAttribute(ATTR_ORDER_ID, result.orderId);
      return result;
    });
  }
}
