/*
 * The ports: what the core needs from the world (driven ports) and what it offers to it (the
 * driving port). They are interfaces of the core, written in its own terms; adapters implement them.
 */
import type { Order, OrderLine } from './order.ts';

/** Driven port: where orders are kept. */
export interface OrderRepository {
  save(order: Order): Promise<void>;
  findById(id: string): Promise<Order | undefined>;
}

export interface ChargeRequest {
  orderId: string;
  amountCents: number;
  paymentToken: string;
}

/** A decline is an answer, not an exception: the provider said no, and why. */
export type ChargeResult = { approved: true; paymentId: string } | { approved: false; reason: string };

/** Driven port: who takes the money. */
export interface PaymentGateway {
  charge(request: ChargeRequest): Promise<ChargeResult>;
}

export interface PlaceOrderCommand {
  customerId: string;
  paymentToken: string;
  lines: OrderLine[];
}

export type PlaceOrderResult =
  | { orderId: string; status: 'paid'; totalCents: number }
  | { orderId: string; status: 'payment_declined'; totalCents: number; reason: string };

/** Driving port: what the outside world may ask of the core. */
export interface PlaceOrderUseCase {
  placeOrder(command: PlaceOrderCommand): Promise<PlaceOrderResult>;
}
