// The messaging attributes are still incubating in @opentelemetry/semantic-conventions. As the package
// advises, the keys used here are copied rather than imported from
// '@opentelemetry/semantic-conventions/incubating', whose exports may change in any minor release.

export const ATTR_MESSAGING_SYSTEM = 'messaging.system';
export const ATTR_MESSAGING_DESTINATION_NAME = 'messaging.destination.name';
export const ATTR_MESSAGING_OPERATION_TYPE = 'messaging.operation.type';
export const ATTR_MESSAGING_OPERATION_NAME = 'messaging.operation.name';
export const ATTR_MESSAGING_MESSAGE_ID = 'messaging.message.id';

/** `messaging.operation.type` of a PRODUCER span that sends one message. */
export const MESSAGING_OPERATION_TYPE_VALUE_SEND = 'send';
/** `messaging.operation.type` of a CONSUMER span that processes one message. */
export const MESSAGING_OPERATION_TYPE_VALUE_PROCESS = 'process';

/** `messaging.system` of the kit's in-memory broker: not a system the conventions list, so a name of our own (RabbitMQ's is "rabbitmq"). */
export const MESSAGING_SYSTEM_VALUE_MEMORY = 'memory';

// The workbook's own keys: what happened to one delivery.
/** Which delivery of the message this is: 1 for the first, 2 for the first redelivery… */
export const ATTR_DELIVERY_COUNT = 'app.messaging.delivery_count';
/** How the consumer settled the delivery: `ack`, `requeue` or `dead_letter`. */
export const ATTR_OUTCOME = 'app.messaging.outcome';

export type DeliveryOutcome = 'ack' | 'requeue' | 'dead_letter';
