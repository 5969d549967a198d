// The messaging attributes are still incubating in @opentelemetry/semantic-conventions. As the package
// advises, the keys used here are copied rather than imported from
// '@opentelemetry/semantic-conventions/incubating', whose exports may change in any minor release.

export const ATTR_MESSAGING_SYSTEM = 'messaging.system';
export const ATTR_MESSAGING_DESTINATION_NAME = 'messaging.destination.name';
export const ATTR_MESSAGING_OPERATION_TYPE = 'messaging.operation.type';
export const ATTR_MESSAGING_OPERATION_NAME = 'messaging.operation.name';
export const ATTR_MESSAGING_MESSAGE_ID = 'messaging.message.id';
export const ATTR_MESSAGING_CONSUMER_GROUP_NAME = 'messaging.consumer.group.name';

/** `messaging.operation.type` of a PRODUCER span that sends one message. */
export const MESSAGING_OPERATION_TYPE_VALUE_SEND = 'send';
/** `messaging.operation.type` of a CONSUMER span that processes one message. */
export const MESSAGING_OPERATION_TYPE_VALUE_PROCESS = 'process';

/** `messaging.system` of the kit's in-memory bus: not a system the conventions list, so a name of our own. */
export const MESSAGING_SYSTEM_VALUE_MEMORY = 'memory';
