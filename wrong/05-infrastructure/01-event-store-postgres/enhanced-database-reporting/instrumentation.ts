// Enables the pg instrumentation. It patches pg when pg loads, so this module must run before
// anything imports pg: db.ts imports it first, and this file never imports pg itself.
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';

registerInstrumentations({ instrumentations: [new PgInstrumentation({ enhancedDatabaseReporting: true })] });
