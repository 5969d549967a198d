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
