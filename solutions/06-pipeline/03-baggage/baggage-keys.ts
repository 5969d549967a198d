/*
 * The baggage entries of a request: what the gateway learned about the caller, for every service
 * behind it to read. W3C baggage keys are free text; these follow the workbook's `app.` prefix.
 */

/** The tenant the request is for. Copied onto every span, so an operator can look at one tenant's traces. */
export const TENANT_ID = 'app.tenant.id';

/** The user who sent it: personal data. It travels to the services that need it, and never onto a span. */
export const USER_ID = 'app.user.id';
