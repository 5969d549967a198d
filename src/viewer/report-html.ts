/**
 * The workshop's results report as one self-contained HTML page (`npm run report -- … --html`):
 * the same WorkshopReport the terminal table draws (src/workshop/report-table.ts), as a table per
 * exercise (how many passed, how many are stuck, the check most often failing), one per learner,
 * and a grid of every learner on every exercise. No script at all, nothing loaded from anywhere.
 */
import type { ExerciseSummary, LearnerExercise, LearnerState, LearnerSummary, WorkshopReport } from '../workshop/report-model.ts';
import { TABLE_TEXT } from '../workshop/report-table.ts';
import { attrs, join, text } from './html.ts';
import { THEME } from './styles.ts';

export const REPORT_TEXT = {
  defaultTitle: 'Workshop results',
  summary: (learners: number, exercises: number, runs: number) =>
    `${learners} learner${learners === 1 ? '' : 's'}, ${exercises} exercise${exercises === 1 ? '' : 's'}, ${runs} graded run${runs === 1 ? '' : 's'}`,
  exercises: 'Exercises',
  learners: 'Learners',
  grid: 'Every learner on every exercise',
  exerciseColumns: ['exercise', 'track', 'passed', 'stuck', 'not started', 'skipped', 'most often failing (stuck learners)'],
  learnerColumns: TABLE_TEXT.learnerColumns,
  states: {
    passed: 'passed',
    stuck: 'stuck',
    'not-started': 'not started',
    skipped: 'skipped (a server was missing)',
    'no-result': 'no result',
  } satisfies Record<LearnerState, string>,
  runsOf: (runs: number) => `${runs} run${runs === 1 ? '' : 's'}`,
  passedOf: (passed: number, of: number) => `${passed} of ${of}`,
  legend: 'Each cell is the learner\'s latest run of the exercise.',
} as const;

const STATE_MARKS: Record<LearnerState, string> = { passed: '✓', stuck: '✗', 'not-started': '·', skipped: '–', 'no-result': ' ' };

const REPORT_STYLES = String.raw`
${THEME}
main { max-width: 80rem; margin: 0 auto; padding: 1rem 1.25rem 3rem; }
h1 { font-size: 1.35rem; margin: 0.5rem 0 0.25rem; } h2 { font-size: 1.1rem; margin: 1.75rem 0 0.5rem; }
.summary { color: var(--dim); margin: 0 0 1rem; }
.table-wrap { overflow-x: auto; border: 1px solid var(--line); border-radius: 8px; background: var(--panel); }
table { border-collapse: collapse; width: 100%; font-size: 0.92rem; }
th, td { text-align: left; vertical-align: top; padding: 0.4rem 0.65rem; border-bottom: 1px solid var(--line); }
thead th { font-size: 0.82rem; color: var(--dim); font-weight: 600; white-space: nowrap; position: sticky; top: 0; background: var(--panel); }
tbody tr:last-child > * { border-bottom: 0; }
td.num { font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.stuck > th:first-child { box-shadow: inset 3px 0 0 var(--fail); }
tr.done > th:first-child { box-shadow: inset 3px 0 0 var(--pass); }
.meter { display: inline-block; vertical-align: middle; width: 5rem; height: 0.5rem; margin-left: 0.4rem; border-radius: 999px; background: var(--line); overflow: hidden; }
.meter > span { display: block; height: 100%; background: var(--pass); }
.stuck-count { color: var(--fail); font-weight: 600; }
.grid th, .grid td { text-align: center; padding: 0.3rem 0.4rem; }
.grid tbody th { text-align: left; white-space: nowrap; }
.grid { width: auto; }
.grid thead th { vertical-align: bottom; }
.grid thead th .up { display: inline-block; writing-mode: vertical-rl; transform: rotate(180deg); white-space: nowrap; }
.state { font-weight: 700; }
.state-passed { color: var(--pass); } .state-stuck { color: var(--fail); } .state-not-started, .state-no-result { color: var(--dim); } .state-skipped { color: var(--skipped); }
.legend { color: var(--dim); font-size: 0.88rem; }
.legend .state { margin: 0 0.2rem 0 0.8rem; }
@media (max-width: 44rem) { main { padding: 0.75rem 0.5rem 2rem; } th, td { padding: 0.35rem 0.45rem; } }
`;

function head(columns: readonly string[], upright = columns.length): string {
  const cell = (c: string, i: number): string => `<th scope="col">${i < upright ? text(c) : `<span class="up">${text(c)}</span>`}</th>`;
  return `<thead><tr>${columns.map(cell).join('')}</tr></thead>`;
}

function exerciseRow(e: ExerciseSummary, learners: number): string {
  const share = learners > 0 ? (e.passed / learners) * 100 : 0;
  const failing = e.mostFailing ? `${text(e.mostFailing.check)} <span class="dim">(${e.mostFailing.learners})</span>` : text(TABLE_TEXT.none);
  const classes = join([e.stuck > 0 && 'stuck', learners > 0 && e.passed === learners && 'done'], ' ');
  return (
    `<tr${attrs({ class: classes || undefined, 'data-exercise': e.id })}>` +
    `<th scope="row">${text(e.id)}</th><td>${text(e.track ?? TABLE_TEXT.none)}</td>` +
    `<td class="num">${text(`${e.passed}/${learners}`)}<span class="meter" aria-hidden="true"><span${attrs({ style: `width:${share.toFixed(1)}%` })}></span></span></td>` +
    `<td class="num${e.stuck > 0 ? ' stuck-count' : ''}">${e.stuck}</td><td class="num">${e.notStarted}</td><td class="num">${e.skipped}</td>` +
    `<td>${failing}</td></tr>`
  );
}

function lastRun(l: LearnerSummary): string {
  const run = l.lastRun;
  if (!run) return text(TABLE_TEXT.none);
  const state: LearnerState = run.verdict === 'pass' ? 'passed' : run.verdict === 'skipped' ? 'skipped' : 'stuck';
  const time = run.at === undefined ? '' : ` <time${attrs({ datetime: new Date(run.at).toISOString() })}>${text(new Date(run.at).toLocaleString())}</time>`;
  return `${text(run.exercise)} <span class="state state-${state}">${STATE_MARKS[state]}</span>${time}`;
}

function learnerRow(l: LearnerSummary, exercises: number): string {
  const classes = join([l.stuck.length > 0 && 'stuck', exercises > 0 && l.passed === exercises && 'done'], ' ');
  return (
    `<tr${attrs({ class: classes || undefined, 'data-learner': l.name })}>` +
    `<th scope="row">${text(l.name)}</th><td class="num">${text(`${l.passed}/${exercises}`)}</td>` +
    `<td>${l.stuck.length > 0 ? text(l.stuck.join(', ')) : text(TABLE_TEXT.none)}</td><td>${lastRun(l)}</td></tr>`
  );
}

function gridCell(e: LearnerExercise): string {
  const title = `${e.exercise}: ${REPORT_TEXT.states[e.state]}${e.runs > 0 ? `, ${REPORT_TEXT.runsOf(e.runs)}` : ''}`;
  return `<td${attrs({ title })}><span class="state state-${e.state}" aria-hidden="true">${STATE_MARKS[e.state]}</span><span class="visually-hidden">${text(title)}</span></td>`;
}

function legend(): string {
  const states = Object.entries(REPORT_TEXT.states) as [LearnerState, string][];
  return `<p class="legend">${text(REPORT_TEXT.legend)}${states
    .filter(([state]) => state !== 'no-result')
    .map(([state, label]) => `<span class="state state-${state}" aria-hidden="true">${STATE_MARKS[state]}</span>${text(label)}`)
    .join('')}</p>`;
}

/** The report as a whole page; `nonce` lets its one inline style apply (and nothing else run). */
export function renderReportHtml(report: WorkshopReport, nonce: string): string {
  const learners = report.learners.length;
  const title = report.title ?? REPORT_TEXT.defaultTitle;
  const summary = REPORT_TEXT.summary(learners, report.exercises.length, report.runs);
  const body =
    learners === 0
      ? `<p class="none">${text(TABLE_TEXT.nobody)}</p>`
      : join([
          `<section aria-labelledby="exercises"><h2 id="exercises">${text(REPORT_TEXT.exercises)}</h2><div class="table-wrap"><table class="exercises">${head(REPORT_TEXT.exerciseColumns)}<tbody>${report.exercises
            .map((e) => exerciseRow(e, learners))
            .join('')}</tbody></table></div></section>`,
          `<section aria-labelledby="learners"><h2 id="learners">${text(REPORT_TEXT.learners)}</h2><div class="table-wrap"><table class="learners">${head(REPORT_TEXT.learnerColumns)}<tbody>${report.learners
            .map((l) => learnerRow(l, report.exercises.length))
            .join('')}</tbody></table></div></section>`,
          `<section aria-labelledby="grid"><h2 id="grid">${text(REPORT_TEXT.grid)}</h2>${legend()}<div class="table-wrap"><table class="grid">${head([
            TABLE_TEXT.learnerColumns[0],
            ...report.exercises.map((e) => e.id),
          ], 1)}<tbody>${report.learners.map((l) => `<tr><th scope="row">${text(l.name)}</th>${l.exercises.map(gridCell).join('')}</tr>`).join('')}</tbody></table></div></section>`,
        ]);
  return (
    `<!doctype html><html lang="en"><head><meta charset="utf-8">` +
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'nonce-${text(nonce)}'; style-src-attr 'unsafe-inline'; base-uri 'none'; form-action 'none'">` +
    `<meta name="viewport" content="width=device-width, initial-scale=1"><meta name="referrer" content="no-referrer">` +
    `<title>${text(`${title} — ${summary}`)}</title><style nonce="${text(nonce)}">${REPORT_STYLES}</style></head>` +
    `<body><main><h1>${text(title)}</h1><p class="summary">${text(summary)}</p>${body}</main></body></html>`
  );
}
