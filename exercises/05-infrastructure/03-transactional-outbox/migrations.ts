import type { Pool } from 'pg';

/** Creates the tables of the shop (orders, outbox) and of the shipping service (processed_messages, shipments). */
export async function migrate(pool: Pool): Promise<void> {
  await pool.query(`
    CREATE TABLE IF NOT EXISTS orders (
      id         text        PRIMARY KEY,
      sku        text        NOT NULL,
      quantity   integer     NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now()
    );
    -- One row per event to publish, written in the same transaction as the change that caused it.
    CREATE TABLE IF NOT EXISTS outbox (
      position      bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY, -- the order rows are relayed in
      message_id    uuid        NOT NULL UNIQUE, -- the message's id: the same on every publish of the row
      topic         text        NOT NULL,        -- the routing key
      payload       jsonb       NOT NULL,        -- the event
      trace_context jsonb       NOT NULL,        -- the propagation headers of the span that wrote the row
      created_at    timestamptz NOT NULL DEFAULT now(),
      sent_at       timestamptz                  -- NULL until the broker has confirmed the publish
    );
    -- The shipping service: what it has processed, and what it did.
    CREATE TABLE IF NOT EXISTS processed_messages (
      message_id   uuid        PRIMARY KEY,
      processed_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE TABLE IF NOT EXISTS shipments (
      id         bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      order_id   text        NOT NULL,
      sku        text        NOT NULL,
      quantity   integer     NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now()
    );
  `);
}
