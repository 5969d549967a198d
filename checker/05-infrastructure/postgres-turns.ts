/**
 * WORKAROUND, to be deleted once src/services/embedded-postgres.ts holds a connection from the first
 * message of an extended-protocol query to its Sync (see the report of the infrastructure track):
 *
 * PGlite is one session, and pglite-socket queues every protocol message of every connection on its
 * own. Between the Parse and the Bind of one connection's parametrized query, another connection's
 * messages can run: its Parse replaces the unnamed statement, a simple query (the SET search_path the
 * embedded server runs when it moves to a connection of another schema among them) destroys it, and
 * the first connection's Bind fails with "unnamed prepared statement does not exist". Two checker
 * files on one PGlite at once (a run of several exercises, two workers) hit it within seconds.
 *
 * So the checks on PostgreSQL take turns: each check holds an exclusive lock, named after the server,
 * from before its schema is created until after it is dropped. On a real server the turns only cost
 * the time of waiting; checks of one file run one after the other anyway.
 */
import { createHash } from 'node:crypto';
import { mkdir, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterCheck, serverUrl } from '#checks';

/** How long a check waits for its turn before it goes ahead anyway (a check takes well under a second). */
const WAIT_MS = 2_700;
/** A lock older than this was left by a check that was killed: it is taken over. */
const STALE_MS = 6_000;

/** Waits until no other check on the same PostgreSQL holds its turn, and holds it until this check ends. */
export async function takePostgresTurn(): Promise<void> {
  const url = await serverUrl('postgres');
  const name = createHash('sha256').update(new URL(url).host).digest('hex').slice(0, 16);
  const lock = path.join(os.tmpdir(), `tracecraft-postgres-${name}.lock`);
  const until = Date.now() + WAIT_MS;
  for (;;) {
    try {
      await mkdir(lock);
      await writeFile(path.join(lock, 'owner'), `${process.pid}\n`);
      // Registered before the check's schema is made, so it runs after the schema is dropped.
      afterCheck(() => rm(lock, { recursive: true, force: true }));
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') return;
    }
    const since = await stat(lock).then((s) => Date.now() - s.mtimeMs, () => 0);
    if (since > STALE_MS) await rm(lock, { recursive: true, force: true });
    if (Date.now() > until) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
