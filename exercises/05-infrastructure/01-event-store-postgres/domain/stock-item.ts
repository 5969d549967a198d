/**
 * A stock item in a warehouse, event sourced: its state is never stored, only the events that
 * happened to it. `decide` turns a command into an event (or refuses it); `evolve` applies one event
 * to the state. Replaying every event through `evolve`, from `initialState`, gives the state.
 * Pure: no store, no tracing.
 */

export type StockEvent =
  | { type: 'StockReceived'; quantity: number }
  | { type: 'StockShipped'; quantity: number; orderId: string }
  /** A stock-take: what was counted on the shelf replaces what the books said. */
  | { type: 'StockCounted'; quantity: number }
  | { type: 'ItemDiscontinued' };

export type StockCommand =
  | { type: 'receive'; quantity: number }
  | { type: 'ship'; quantity: number; orderId: string }
  | { type: 'count'; quantity: number }
  | { type: 'discontinue' };

export interface StockState {
  /** On the shelf now. */
  onHand: number;
  /** Everything ever received. */
  received: number;
  /** Everything ever shipped. */
  shipped: number;
  /** The order of the last shipment, null before the first. */
  lastOrderId: string | null;
  discontinued: boolean;
}

export const initialState: StockState = { onHand: 0, received: 0, shipped: 0, lastOrderId: null, discontinued: false };

export class InsufficientStockError extends Error {
  override readonly name = 'InsufficientStockError';
}

export class ItemDiscontinuedError extends Error {
  override readonly name = 'ItemDiscontinuedError';
}

/** The one event `command` causes on `state`; throws when the rules refuse it. */
export function decide(state: StockState, command: StockCommand): StockEvent {
  switch (command.type) {
    case 'receive':
      if (state.discontinued) throw new ItemDiscontinuedError('a discontinued item receives no stock');
      return { type: 'StockReceived', quantity: command.quantity };
    case 'ship':
      if (command.quantity > state.onHand) {
        throw new InsufficientStockError(`${state.onHand} on hand, cannot ship ${command.quantity}`);
      }
      return { type: 'StockShipped', quantity: command.quantity, orderId: command.orderId };
    case 'count':
      return { type: 'StockCounted', quantity: command.quantity };
    case 'discontinue':
      if (state.discontinued) throw new ItemDiscontinuedError('the item is already discontinued');
      return { type: 'ItemDiscontinued' };
  }
}

/** The state after `event`. Never mutates `state`. */
export function evolve(state: StockState, event: StockEvent): StockState {
  switch (event.type) {
    case 'StockReceived':
      return { ...state, onHand: state.onHand + event.quantity, received: state.received + event.quantity };
    case 'StockShipped':
      return { ...state, onHand: state.onHand - event.quantity, shipped: state.shipped + event.quantity, lastOrderId: event.orderId };
    case 'StockCounted':
      return { ...state, onHand: event.quantity };
    case 'ItemDiscontinued':
      return { ...state, discontinued: true };
  }
}
