import type { Channel } from 'amqplib';
import { ORDER_PLACED } from './order.ts';

/** Declares the shop's exchange and the shipping service's queue, bound to OrderPlaced events. Safe to call again. */
export async function declareTopology(channel: Channel, exchange: string, queue: string): Promise<void> {
  await channel.assertExchange(exchange, 'topic', { durable: true });
  await channel.assertQueue(queue, { durable: true });
  await channel.bindQueue(queue, exchange, ORDER_PLACED);
}
