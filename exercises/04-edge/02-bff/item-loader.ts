import type DataLoader from 'dataloader';
import { trace } from '@opentelemetry/api';
import type { Backends, Item } from './backends.ts';

const tracer = trace.getTracer('tracecraft.bff');

export const ATTR_BATCH_SIZE = 'app.batch.size';

/**
 * A loader of items for one request: every `load(id)` made in the same tick is answered by one
 * call to the items endpoint.
 */
export function createItemLoader(backends: Backends): DataLoader<string, Item> {
  // TODO: return new DataLoader<string, Item>(batch) from 'dataloader', whose batch function:
  //       - runs in a "batch items" span with app.batch.size = the number of ids it received;
  //       - calls backends.items(ids) once;
  //       - answers one item per id, in the order of the ids (the backend answers in its own order).
  void tracer;
  void backends;
  throw new Error('createItemLoader is not written yet');
}
