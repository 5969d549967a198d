import type { BrokerChannel } from '#kit';

/** Where the orders that can never be processed end up: `<queue>.dead`. */
export function deadLetterQueueOf(queue: string): string {
  return `${queue}.dead`;
}

/** Declares the work queue and its dead-letter queue. Safe to call from every producer and consumer. */
export async function declareQueues(channel: BrokerChannel, queue: string): Promise<void> {
  const deadLetters = deadLetterQueueOf(queue);
  await channel.assertQueue(deadLetters, { durable: true });
  await channel.assertQueue(queue, {
    durable: true,
    // A quorum queue counts deliveries (the x-delivery-count header); a classic one only says "redelivered".
    arguments: { 'x-queue-type': 'quorum' },
    // nack(message, false, false) sends the message here: the default exchange routes it by name.
    deadLetterExchange: '',
    deadLetterRoutingKey: deadLetters,
  });
}
