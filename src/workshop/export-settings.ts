/**
 * Whether graded runs leave the machine, and where to. Off unless the learner's environment
 * (`OTEL_EXPORTER_OTLP_ENDPOINT`, the standard variable) or the workshop file (`otlp`) names an
 * endpoint; always off with --no-export or WORKBOOK_EXPORT=off. A developer's shell may carry the
 * standard variable for their day job, so whenever export is on the first line of `learn` and
 * `check` says where results go and how to stop it (`exportBanner`).
 *
 * Cheap on purpose (no OpenTelemetry packages): `check` reads it on every run, export on or off.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { LearnerIdentity } from './run-spans.ts';

/** The variable that turns export off whatever else says, for a shell that carries an OTLP endpoint. */
export const OFF_VARIABLE = 'WORKBOOK_EXPORT';
export const LEARNER_VARIABLE = 'WORKBOOK_LEARNER';
const OFF_VALUES = new Set(['off', '0', 'false', 'no']);

export interface ExportSettings {
  /** Where spans are posted: the full OTLP/HTTP traces URL. */
  url: string;
  /** What named it: an environment variable, or the workshop file. */
  source: string;
  /** The header variables the exporter will send along (names only: their values may be tokens). */
  headerVariables: string[];
}

export interface ExportChoice {
  /** --no-export */
  off?: boolean;
  /** The workshop file's name and its `otlp` endpoint, when a workshop applies. */
  workshop?: { file: string; otlp: string | undefined } | undefined;
}

export const EXPORT_MESSAGES = {
  banner: (settings: ExportSettings, learner: string) =>
    `tracecraft: export is on: each graded run and the traces your code recorded go to ${settings.url} (set by ${settings.source}` +
    `${settings.headerVariables.length > 0 ? `, with the headers in ${settings.headerVariables.join(' and ')}` : ''}), as learner "${learner}". ` +
    `To keep them here, add --no-export or set ${OFF_VARIABLE}=off.`,
} as const;

function envValue(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === undefined || value === '' ? undefined : value;
}

/** `http://host:4318` → `http://host:4318/v1/traces`, as the OTLP exporters do with a base endpoint. */
export function tracesUrl(base: string): string {
  return `${base.replace(/\/+$/, '')}/v1/traces`;
}

/**
 * The export to run, or undefined when nothing may leave the machine. The environment wins over the
 * workshop file, as the OpenTelemetry SDKs let a process's environment override configuration.
 */
export function resolveExport(env: NodeJS.ProcessEnv, choice: ExportChoice = {}): ExportSettings | undefined {
  if (choice.off) return undefined;
  if (OFF_VALUES.has((envValue(env, OFF_VARIABLE) ?? '').toLowerCase())) return undefined;
  if (envValue(env, 'OTEL_SDK_DISABLED')?.toLowerCase() === 'true') return undefined;
  if (envValue(env, 'OTEL_TRACES_EXPORTER')?.toLowerCase() === 'none') return undefined;
  const headerVariables = ['OTEL_EXPORTER_OTLP_HEADERS', 'OTEL_EXPORTER_OTLP_TRACES_HEADERS'].filter((name) => envValue(env, name) !== undefined);
  const tracesEndpoint = envValue(env, 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT');
  if (tracesEndpoint) return { url: tracesEndpoint, source: 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', headerVariables };
  const endpoint = envValue(env, 'OTEL_EXPORTER_OTLP_ENDPOINT');
  if (endpoint) return { url: tracesUrl(endpoint), source: 'OTEL_EXPORTER_OTLP_ENDPOINT', headerVariables };
  const workshop = choice.workshop;
  if (workshop?.otlp) return { url: tracesUrl(workshop.otlp), source: workshop.file, headerVariables };
  return undefined;
}

function gitUserName(root: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile('git', ['config', 'user.name'], { cwd: root, timeout: 2000, windowsHide: true }, (error, stdout) => {
      resolve(error ? undefined : stdout.trim() || undefined);
    });
  });
}

/** The learner's name: WORKBOOK_LEARNER, else git's user.name, else the login name. */
export async function learnerName(root: string, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const named = envValue(env, LEARNER_VARIABLE) ?? (await gitUserName(root));
  if (named) return named;
  try {
    return os.userInfo().username;
  } catch {
    return 'anonymous';
  }
}

/** The workbook's version, from its package.json. */
export async function workbookVersion(root: string): Promise<string> {
  try {
    const manifest = JSON.parse(await readFile(path.join(root, 'package.json'), 'utf8')) as { version?: unknown };
    return typeof manifest.version === 'string' ? manifest.version : 'unknown';
  } catch {
    return 'unknown';
  }
}

export async function learnerIdentity(root: string, env: NodeJS.ProcessEnv = process.env): Promise<LearnerIdentity> {
  const [learner, version] = await Promise.all([learnerName(root, env), workbookVersion(root)]);
  return { learner, version };
}
