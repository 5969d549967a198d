/**
 * What exercises may import, as `#kit`: small, well-tested stand-ins for the world
 * (servers on loopback, clocks, buses) so exercise code stays about the pattern.
 */
export { startHttpServer, httpRequest, readBody, HTTP_MESSAGES } from './http.ts';
export type { HttpHandler, LoopbackServer, HttpRequestOptions, HttpResponse } from './http.ts';
export { FakeClock, systemClock } from './clock.ts';
export type { Clock, TimerHandle } from './clock.ts';
export { deferred, ConcurrencyProbe, flushMicrotasks } from './control.ts';
export type { Deferred } from './control.ts';
export { SlowStore } from './slow-store.ts';
export { flaky, FlakyExhaustedError, FLAKY_MESSAGES } from './flaky.ts';
export type { Flaky, FlakyCall, FlakyOptions, FlakyOutcome } from './flaky.ts';
export { FakeDownstream, DOWNSTREAM_MESSAGES } from './downstream.ts';
export type { DownstreamCall, DownstreamOutcome, DownstreamReply, FakeDownstreamOptions } from './downstream.ts';
export { TracedStore, STORE_SYSTEM_NAME, ATTR_STORE_KEY } from './store.ts';
export type { TracedStoreOptions, StoreCall, StoreOperation } from './store.ts';
export { MessageBus, BUS_MESSAGES } from './bus.ts';
export type { BusMessage, OutgoingMessage, MessageHandler, PublishedMessage, HandlerFailure, SubscribeOptions, DrainOptions } from './bus.ts';
export {
  FakeShop,
  OutOfStockError,
  PaymentDeclinedError,
  CarrierUnavailableError,
  ServiceUnavailableError,
  UnknownReferenceError,
  SHOP_MESSAGES,
  ATTR_SHOP_ORDER_ID,
} from './shop.ts';
export type { ShopInventory, ShopPayments, ShopShipping, ShopBackends, ShopOperation, ShopFailure, ShopEntry, FakeShopOptions } from './shop.ts';
export { InMemoryDatabase, Transaction, WriteConflictError, TransactionClosedError, DATABASE_MESSAGES } from './database.ts';
export type { DatabaseCall, DatabaseKey, DatabaseOperation, InMemoryDatabaseOptions, TransactionState } from './database.ts';
export { startFakeService, FAKE_SERVICE_MESSAGES } from './fake-service.ts';
export type { FakeService, FakeServiceOptions, FakeServiceReply, FakeServiceRequest, FakeServiceOutcome } from './fake-service.ts';
export { InMemoryBroker, BROKER_MESSAGES } from './broker.ts';
export type {
  BrokerChannel,
  BrokerMessage,
  BrokerMessageFields,
  BrokerMessageHeaders,
  BrokerMessageProperties,
  BrokerQueueOptions,
  BrokerPublishOptions,
  BrokerConsumeOptions,
  BrokerDelivery,
  BrokerPublished,
  BrokerChannelError,
  BrokerDrainOptions,
  ConsumeMessage,
  GetMessage,
  QueuedMessage,
  QueueInfo,
  DeliverySettlement,
  ExchangeType,
  XDeath,
  InMemoryBrokerOptions,
} from './broker.ts';
