// The messaging attributes are still incubating in @opentelemetry/semantic-conventions. As the package
// advises, the keys used here are copied rather than imported from
// '@opentelemetry/semantic-conventions/incubating', whose exports may change in any minor release.

export const ATTR_MESSAGING_SYSTEM = 'messaging.system';
export const ATTR_MESSAGING_DESTINATION_NAME = 'messaging.destination.name';
export const ATTR_MESSAGING_OPERATION_TYPE = 'messaging.operation.type';
export const ATTR_MESSAGING_OPERATION_NAME = 'messaging.operation.name';
export const ATTR_MESSAGING_CONSUMER_GROUP_NAME = 'messaging.consumer.group.name';

/** `messaging.operation.type` of a PRODUCER span that sends one message. */
export const MESSAGING_OPERATION_TYPE_VALUE_SEND = 'send';
/** `messaging.operation.type` of a CONSUMER span that processes one message. */
export const MESSAGING_OPERATION_TYPE_VALUE_PROCESS = 'process';

/** `messaging.system` for NATS: not (yet) a value the conventions list, so the name NATS users write. */
export const MESSAGING_SYSTEM_VALUE_NATS = 'nats';

/** The workbook's own key, on every CONSUMER span: which delivery of the message this is (1, 2, …), as JetStream counts them. */
export const ATTR_DELIVERY_COUNT = 'app.messaging.delivery_count';
