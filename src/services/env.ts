import { ENV } from '../checks/contract.ts';
import type { ServerName } from './specs.ts';

/** `WORKBOOK_POSTGRES_URL` for `postgres`: the variable that names a server explicitly. */
export function envVarName(name: ServerName): string {
  return `WORKBOOK_${name.toUpperCase()}_URL`;
}

/** The URL given in the environment for this server, taken as is; blank counts as unset. */
export function envUrl(env: NodeJS.ProcessEnv, name: ServerName): string | undefined {
  const value = env[envVarName(name)];
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

/**
 * `TRACECRAFT_POSTGRES_MISSING`: set by the runner for the checker processes. Empty when the server
 * was found; otherwise the sentence saying what was tried, which the checks fail with when the
 * exercise runs anyway (CI requires every server). Always set either way, so that a value left in
 * a long-lived grader's environment by an earlier run is overwritten.
 */
export function missingVarName(name: ServerName): string {
  return `TRACECRAFT_${name.toUpperCase()}_MISSING`;
}

/** True when this environment requires every server (`TRACECRAFT_REQUIRE_SERVERS=1`, set by CI). */
export function serversRequired(env: NodeJS.ProcessEnv): boolean {
  const value = env[ENV.requireServers]?.trim().toLowerCase();
  return value !== undefined && value !== '' && value !== '0' && value !== 'false';
}
