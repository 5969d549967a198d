import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { ShopTopic } from './events.ts';

/** Where the shop's messages live. Every service of the shop is started with the same one. */
export interface ShopStreamConfig {
  /** The JetStream stream that stores every message of the shop. */
  stream: string;
  /** The first tokens of every subject of the shop: topic T is published on `<subjectPrefix>.<T>`. */
  subjectPrefix: string;
  /** The most times JetStream delivers one message to one consumer; the failure of the last delivery dead-letters it. */
  maxDeliver: number;
}

/** A service's way to the broker: the JetStream client, its manager, and the shop's stream. */
export interface Broker {
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  readonly config: ShopStreamConfig;
}

/** Opens the broker on a connection, declaring the shop's stream (the same declaration again is accepted). */
export async function openBroker(nc: NatsConnection, config: ShopStreamConfig): Promise<Broker> {
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: config.stream, subjects: [`${config.subjectPrefix}.>`] });
  return { js: jetstream(nc), jsm, config };
}

/** The subject a topic is published on: `<subjectPrefix>.<topic>`. */
export function subjectOf(config: ShopStreamConfig, topic: ShopTopic): string {
  return `${config.subjectPrefix}.${topic}`;
}

/** Where a message of `topic` goes when its last delivery failed: `<subjectPrefix>.dead.<topic>`. */
export function deadLetterSubjectOf(config: ShopStreamConfig, topic: ShopTopic): string {
  return `${config.subjectPrefix}.dead.${topic}`;
}
