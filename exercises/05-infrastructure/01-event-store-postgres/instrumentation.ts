// TODO (instrumentation): enable @opentelemetry/instrumentation-pg here, with registerInstrumentations
//       from @opentelemetry/instrumentation. It patches pg when pg loads, so this module must run
//       before anything imports pg (see db.ts), and it must not import pg itself.
export {};
