import type { BrokerChannel } from '#kit';

/** Where the orders that can never be processed end up: `<queue>.dead`. */
export function deadLetterQueueOf(queue: string): string {
  return `${queue}.dead`;
}

/** Declares the work queue and its dead-letter queue. Safe to call from every producer and consumer. */
export async function declareQueues(channel: BrokerChannel, queue: string): Promise<void> {
  // TODO: a message that can never be processed needs somewhere to go. Declare the dead-letter queue
  //       (deadLetterQueueOf(queue)), and make the work queue a quorum queue (so the broker counts
  //       deliveries in the x-delivery-count header) whose dead-letter exchange is the default
  //       exchange '' with the dead-letter queue's name as routing key.
  await channel.assertQueue(queue, { durable: true });
}
