import DataLoader from 'dataloader';
import { SpanStatusCode, trace } from '@opentelemetry/api';
import { ATTR_ERROR_TYPE } from '@opentelemetry/semantic-conventions';
import type { Backends, Item } from './backends.ts';

const tracer = trace.getTracer('tracecraft.bff');

export const ATTR_BATCH_SIZE = 'app.batch.size';

/**
 * A loader of items for one request: every `load(id)` made in the same tick is answered by one
 * call to the items endpoint. Make a new one per request: its cache must not outlive the request.
 */
export function createItemLoader(backends: Backends): DataLoader<string, Item> {
  return new DataLoader<string, Item>(async (ids) => {
    const span = tracer.startSpan('batch items', { attributes: { [ATTR_BATCH_SIZE]: ids.length } });
    try {
      const items = await backends.items(ids);
      // DataLoader wants one result per key, in the keys' order; the backend answers in its own.
      const byId = new Map(items.map((item) => [item.id, item]));
      return ids.map((id) => byId.get(id) ?? new Error(`no item ${id}`));
    } catch (error) {
      span.setStatus({ code: SpanStatusCode.ERROR });
      span.setAttribute(ATTR_ERROR_TYPE, error instanceof Error ? error.name : 'unknown');
      throw error;
    } finally {
      span.end();
    }
  });
}
