import type { Order } from '../domain/order.ts';
import type { OrderRepository } from '../domain/ports.ts';

/** A driven adapter: orders kept in a Map, copied in and out like a database would. */
export class InMemoryOrderRepository implements OrderRepository {
  private readonly orders = new Map<string, Order>();

  async save(order: Order): Promise<void> {
    this.orders.set(order.id, structuredClone(order));
  }

  async findById(id: string): Promise<Order | undefined> {
    const order = this.orders.get(id);
    return order === undefined ? undefined : structuredClone(order);
  }
}
