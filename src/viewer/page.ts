/**
 * A check run as one self-contained HTML page: the checks with their verdicts, the chosen check in
 * detail (for a trace mismatch, the expected shape and the learner's trace side by side as
 * waterfalls with the first difference marked), and a panel with the details of the span last
 * chosen. Pure functions from results to a string, with the styles and the script inline: the
 * live viewer serves it, and `check --html-report` writes it to a file. Nothing in it loads
 * anything from anywhere (its Content-Security-Policy says so to the browser too).
 */
import type { CapturedOutput, ExerciseResult, ExerciseStatus, TestResult } from '../runner/results.ts';
import type { FailureView } from '../trace/failure-view.ts';
import { DETAIL_TEXT } from '../cli/report.ts';
import { FAILURE_TEXT } from '../trace/failure-render.ts';
import { formatDuration } from '../trace/render.ts';
import { CLIENT_SCRIPT } from './client.ts';
import { attrs, join, text } from './html.ts';
import { PAGE_STYLES } from './styles.ts';
import { IdSource, shapeWaterfall, traceAxis, traceWaterfall, waterfallBlock, WATERFALL_TEXT } from './waterfall.ts';

/** The exercise a run belongs to, as much of it as the page names. */
export interface RunExercise {
  id: string;
  title: string;
  trackTitle: string;
}

export interface RunView {
  exercise: RunExercise;
  /** Undefined while the exercise's first check runs. */
  result: ExerciseResult | undefined;
  /** When the result was graded. */
  checkedAt?: Date | undefined;
}

export interface PageOptions {
  /** The page's title; by default the verdict and the exercise. */
  title?: string;
  /** Served by the live viewer: the page listens for new runs and fetches them (`connect-src 'self'`). */
  live?: boolean;
  /** A check is running right now. */
  checking?: boolean;
  /** Changes with every new run, so a page can tell whether it shows the latest. */
  version?: number;
  /** The nonce that lets the page's own style and script run (and nothing else). */
  nonce: string;
}

/** The words of the page, in one place (the script's words travel as data attributes). */
export const PAGE_TEXT = {
  product: 'tracecraft',
  checks: 'Checks',
  details: 'Span details',
  chooseSpan: 'Choose a span in a waterfall to see its attributes, events, links and status.',
  keysHelp: '↑ ↓ move between spans, Enter shows one, Esc goes back to the span.',
  expected: FAILURE_TEXT.expectedTitle,
  actual: FAILURE_TEXT.actualTitle,
  passed: 'passed',
  failed: 'failed',
  errored: 'could not finish',
  skipped: 'skipped',
  waiting: 'Checking… the first verdict appears here as soon as it is ready.',
  checkingNow: 'Checking…',
  live: 'Live: this page updates on every save.',
  offline: 'Lost the connection to npm run learn. Is it still running? This page reconnects by itself.',
  checkedAt: (time: string) => `checked at ${time}`,
  tally: (passed: number, total: number) => `${passed} of ${total} check${total === 1 ? '' : 's'} pass`,
  whyNoChecks: 'Why the checks did not run',
  tracesOfCheck: (count: number) => `${count === 1 ? 'The trace' : `All ${count} traces`} this check recorded`,
  noTraces: 'This check recorded no traces.',
  output: 'Your code printed:',
  outputWhileLoading: 'Your code printed while it loaded:',
  outputCut: DETAIL_TEXT.outputCut,
  hint: (finding: string) => FAILURE_TEXT.hint(finding),
  at: (path: readonly string[]) => `at ${path.join(' › ')}`,
  took: (ms: number) => `took ${formatDuration(ms)}`,
  noRuns: 'No exercise was graded.',
} as const;

const MARKS: Record<ExerciseStatus, string> = { pass: '✓', fail: '✗', error: '!', skipped: '–' };
const VERDICTS: Record<ExerciseStatus, string> = { pass: PAGE_TEXT.passed, fail: PAGE_TEXT.failed, error: PAGE_TEXT.errored, skipped: PAGE_TEXT.skipped };

/** The policy the page carries: its own inline style and script, and for a live page its own server. */
export function contentSecurityPolicy(nonce: string, live: boolean): string {
  return join(
    [
      "default-src 'none'",
      `style-src 'nonce-${nonce}'`,
      // The bars are placed with style attributes.
      "style-src-attr 'unsafe-inline'",
      `script-src 'nonce-${nonce}'`,
      `connect-src ${live ? "'self'" : "'none'"}`,
      "img-src 'none'",
      "base-uri 'none'",
      "form-action 'none'",
    ],
    '; ',
  );
}

function verdictBadge(status: ExerciseStatus, label = VERDICTS[status]): string {
  return `<span class="verdict verdict-${status}"><span aria-hidden="true">${MARKS[status]}</span> ${text(label)}</span>`;
}

function outputBlock(output: CapturedOutput | undefined, title: string): string {
  if (!output || output.text.length === 0) return '';
  const cut = output.cutLines > 0 || output.cutChars > 0 ? `\n${PAGE_TEXT.outputCut(output.cutLines, output.cutChars)}` : '';
  return `<details class="output" open><summary>${text(title)}</summary><pre>${text(output.text.replace(/\n$/, '') + cut)}</pre></details>`;
}

/** A trace mismatch: the sentence, where, and the two waterfalls side by side, the difference marked on both. */
function failureBlock(view: FailureView, ids: IdSource): string {
  const expected = waterfallBlock(PAGE_TEXT.expected, shapeWaterfall(view.expected, ids, view.difference), { side: 'expected' });
  const actual = view.actual
    ? waterfallBlock(PAGE_TEXT.actual, traceWaterfall(view.actual, ids, { mark: view.markSpanId, difference: view.difference, scope: view.showScope }), {
        side: 'actual',
        axis: traceAxis(view.actual),
      })
    : `<figure class="waterfall-block side-actual" data-side="actual"><figcaption><span class="title">${text(PAGE_TEXT.actual)}</span></figcaption><p class="none">${text(
        view.candidates.length > 0 ? FAILURE_TEXT.noneClose : view.recorded > 0 ? FAILURE_TEXT.noneNamed(view.recorded) : FAILURE_TEXT.noSpans,
      )}</p></figure>`;
  return join([
    `<p class="headline"><strong>${text(view.concept)}</strong>: ${text(view.difference)}</p>`,
    view.candidates.length > 0 && `<ul class="candidates">${view.candidates.map((c) => `<li>${text(c)}</li>`).join('')}</ul>`,
    `<p class="path">${text(PAGE_TEXT.at(view.path))}</p>`,
    `<div class="compare">${expected}${actual}</div>`,
    view.note !== undefined && `<p class="note">${text(view.note)}</p>`,
    view.findings.length > 0 && `<ul class="hints">${view.findings.map((f) => `<li>${text(PAGE_TEXT.hint(f))}</li>`).join('')}</ul>`,
  ]);
}

function tracesBlock(test: TestResult, ids: IdSource): string {
  const traces = test.traces ?? [];
  if (traces.length === 0) return test.status === 'pass' ? `<p class="none">${text(PAGE_TEXT.noTraces)}</p>` : '';
  const blocks = traces.map((trace, i) =>
    waterfallBlock(traces.length > 1 ? WATERFALL_TEXT.traceOf(i + 1, traces.length, trace.traceId) : PAGE_TEXT.actual, traceWaterfall(trace, ids), {
      side: 'trace',
      axis: traceAxis(trace),
    }),
  );
  // Under a failure the drawn trace comes first; the others are one click away.
  const open = test.failure === undefined;
  return `<details class="traces"${attrs({ open })}><summary>${text(PAGE_TEXT.tracesOfCheck(traces.length))}</summary>${blocks.join('')}</details>`;
}

/** The key that finds a check again in the next run: its exercise and its name. */
function checkKey(exerciseId: string, name: string): string {
  return JSON.stringify([exerciseId, name]);
}

interface CheckEntry {
  id: string;
  key: string;
  status: ExerciseStatus;
  name: string;
  /** The check's body, drawn. */
  section: string;
  durationMs: number | undefined;
}

function checkSection(entry: CheckEntry, isDefault: boolean, meta: string): string {
  return (
    `<section${attrs({ class: 'check', id: entry.id, 'data-key': entry.key, 'data-default': isDefault ? 'true' : undefined, 'aria-labelledby': `${entry.id}-title` })}>` +
    `<h2${attrs({ id: `${entry.id}-title`, tabindex: '-1' })}>${verdictBadge(entry.status)} <span class="check-name">${text(entry.name)}</span></h2>` +
    `<p class="meta">${text(meta)}</p>` +
    entry.section +
    `</section>`
  );
}

function testBody(test: TestResult, ids: IdSource): string {
  if (test.status === 'pass') return join([tracesBlock(test, ids), outputBlock(test.output, PAGE_TEXT.output)]);
  return join([
    test.failure ? failureBlock(test.failure, ids) : test.message !== undefined && `<pre class="message">${text(test.message)}</pre>`,
    outputBlock(test.output, PAGE_TEXT.output),
    tracesBlock(test, ids),
  ]);
}

/** Every check of one run, in order; the reason it did not run first, when it did not. */
function runEntries(run: RunView, ids: IdSource, prefix: string): CheckEntry[] {
  const result = run.result;
  if (!result) return [];
  const entries: CheckEntry[] = [];
  // What the code printed while it loaded goes with the reason it did not run, or else with the first failing check.
  let loading = result.status === 'pass' ? '' : outputBlock(result.output, PAGE_TEXT.outputWhileLoading);
  if (result.message !== undefined || (result.status !== 'pass' && result.tests.length === 0)) {
    const body = join([result.message !== undefined && `<pre class="message">${text(result.message)}</pre>`, loading]);
    entries.push({ id: `${prefix}-why`, key: checkKey(run.exercise.id, ''), status: result.status, name: PAGE_TEXT.whyNoChecks, section: body, durationMs: undefined });
    loading = '';
  }
  result.tests.forEach((test, i) => {
    const before = test.status !== 'pass' ? loading : '';
    if (before) loading = '';
    entries.push({
      id: `${prefix}-${i + 1}`,
      key: checkKey(run.exercise.id, test.name),
      status: test.status,
      name: test.name,
      section: before + testBody(test, ids),
      durationMs: test.durationMs,
    });
  });
  return entries;
}

function tallyOf(result: ExerciseResult): string {
  if (result.status === 'skipped' || result.tests.length === 0) return VERDICTS[result.status];
  return PAGE_TEXT.tally(result.tests.filter((t) => t.status === 'pass').length, result.tests.length);
}

function overall(runs: readonly RunView[]): ExerciseStatus | undefined {
  const statuses = runs.map((r) => r.result?.status);
  if (statuses.some((s) => s === undefined)) return undefined;
  if (statuses.includes('error')) return 'error';
  if (statuses.includes('fail')) return 'fail';
  if (statuses.length > 0 && statuses.every((s) => s === 'skipped')) return 'skipped';
  return 'pass';
}

/** The title of a page: the verdict first, so a background tab says it too. */
export function pageTitle(runs: readonly RunView[]): string {
  const status = overall(runs);
  const what = runs.length === 1 && runs[0] ? runs[0].exercise.id : `${runs.length} exercises`;
  return `${status ? `${MARKS[status]} ` : ''}${what} — ${PAGE_TEXT.product}`;
}

/**
 * The part of the page that changes from run to run: the check list, the checks, the details
 * panel. The live page swaps it in place when a new run arrives.
 */
export function renderRunsFragment(runs: readonly RunView[], options: Pick<PageOptions, 'checking' | 'version' | 'title'> = {}): string {
  const ids = new IdSource();
  const drawn = runs.map((run, r) => ({ run, entries: runEntries(run, ids, `check-${r + 1}`) }));
  // The check a learner wants first: the first that did not pass, else the first of all.
  const all = drawn.flatMap((d) => d.entries);
  const first = all.find((e) => e.status !== 'pass') ?? all[0];
  const navGroups: string[] = [];
  const sections: string[] = [];
  for (const { run, entries } of drawn) {
    const status = run.result?.status;
    const heading =
      `<h2 class="exercise-title">${text(run.exercise.title)} <span class="dim">${text(`${run.exercise.id} · ${run.exercise.trackTitle}`)}</span></h2>` +
      `<p class="exercise-verdict">${status && run.result ? verdictBadge(status, tallyOf(run.result)) : `<span class="verdict verdict-checking">${text(PAGE_TEXT.checkingNow)}</span>`}${
        run.checkedAt ? ` <span class="dim">${text(PAGE_TEXT.checkedAt(run.checkedAt.toLocaleTimeString()))}</span>` : ''
      }</p>`;
    const links = entries.map(
      (e) =>
        `<li><a${attrs({ class: `check-link status-${e.status}`, href: `#${e.id}`, 'data-key': e.key })}><span class="mark" aria-hidden="true">${MARKS[e.status]}</span>` +
        `<span class="visually-hidden">${text(VERDICTS[e.status])}: </span><span class="check-label">${text(e.name)}</span></a></li>`,
    );
    navGroups.push(`<div class="exercise">${heading}${links.length > 0 ? `<ol class="check-list">${links.join('')}</ol>` : `<p class="none">${text(PAGE_TEXT.waiting)}</p>`}</div>`);
    for (const e of entries) {
      const meta = join([run.exercise.id, e.durationMs !== undefined && PAGE_TEXT.took(e.durationMs)], ' · ');
      sections.push(checkSection(e, e === first, meta));
    }
    if (!run.result) sections.push(`<section class="check waiting"><p class="none">${text(PAGE_TEXT.waiting)}</p></section>`);
  }
  if (runs.length === 0) sections.push(`<section class="check"><p class="none">${text(PAGE_TEXT.noRuns)}</p></section>`);
  const status = overall(runs);
  return (
    `<div${attrs({ class: 'run', 'data-version': options.version ?? 0, 'data-title': options.title ?? pageTitle(runs), 'data-status': status ?? 'checking', 'data-checking': options.checking ? 'true' : undefined })}>` +
    `<nav class="checks" aria-label="${text(PAGE_TEXT.checks)}">${navGroups.join('')}</nav>` +
    `<main class="check-view" id="check-view">${sections.join('')}</main>` +
    `<aside class="details" id="details" aria-label="${text(PAGE_TEXT.details)}" aria-live="polite" tabindex="-1"><p class="none">${text(PAGE_TEXT.chooseSpan)}</p><p class="dim keys-help">${text(PAGE_TEXT.keysHelp)}</p></aside>` +
    `</div>`
  );
}

/** The whole page: the fragment with the styles and the script around it. */
export function renderRunsPage(runs: readonly RunView[], options: PageOptions): string {
  const title = options.title ?? pageTitle(runs);
  const live = options.live ?? false;
  const liveLine = live
    ? `<p id="live" class="live" role="status"${attrs({
        'data-live': PAGE_TEXT.live,
        'data-checking': PAGE_TEXT.checkingNow,
        'data-offline': PAGE_TEXT.offline,
        'data-state': options.checking ? 'checking' : 'live',
      })}>${text(options.checking ? PAGE_TEXT.checkingNow : PAGE_TEXT.live)}</p>`
    : '';
  return (
    `<!doctype html><html lang="en"><head><meta charset="utf-8">` +
    `<meta http-equiv="Content-Security-Policy" content="${text(contentSecurityPolicy(options.nonce, live))}">` +
    `<meta name="viewport" content="width=device-width, initial-scale=1">` +
    `<meta name="referrer" content="no-referrer">` +
    `<title>${text(title)}</title><style nonce="${text(options.nonce)}">${PAGE_STYLES}</style></head>` +
    `<body${attrs({ 'data-live': live ? 'true' : undefined })}>` +
    `<header class="top"><p class="product">${text(PAGE_TEXT.product)}</p>${liveLine}</header>` +
    `<div id="app">${renderRunsFragment(runs, { ...options, title })}</div>` +
    `<script nonce="${text(options.nonce)}">${CLIENT_SCRIPT}</script></body></html>`
  );
}
