import { describe, expect, it } from 'vitest';
import type { ExerciseResult } from '../../src/runner/results.ts';
import type { FailureView } from '../../src/trace/failure-view.ts';
import { contentSecurityPolicy, renderRunsFragment, renderRunsPage, type RunView } from '../../src/viewer/page.ts';
import { span, trace } from '../trace/build.ts';

const exercise = { id: 'checkout', title: 'Checkout', trackTitle: 'Foundations' };

function runOf(result: ExerciseResult | undefined): RunView[] {
  return [{ exercise, result, checkedAt: new Date(0) }];
}

function failing(view: Partial<FailureView>, traces = view.actual ? [view.actual] : []): ExerciseResult {
  const failure: FailureView = {
    kind: 'trace',
    concept: 'the checkout span',
    difference: 'status is UNSET, expected ERROR',
    path: ['checkout'],
    expected: { name: 'checkout', facts: ['SERVER', 'ERROR'], details: [{ kind: 'attributes', text: 'app.order.id="o-1"' }], children: [], marked: true },
    actual: undefined,
    markSpanId: undefined,
    note: undefined,
    candidates: [],
    findings: [],
    showScope: false,
    recorded: traces.length,
    ...view,
  };
  return { id: 'checkout', track: 'foundations', status: 'fail', tests: [{ name: 'marks a failed checkout ERROR', status: 'fail', message: 'the checkout span: …', failure, traces }] };
}

describe('the page of a check run', () => {
  it('writes whatever the learner\'s code recorded as text, never as markup', () => {
    const hostile = '<img src=x onerror="alert(1)">';
    const t = trace(span(hostile, { attributes: { [hostile]: hostile }, events: [{ name: hostile, attributes: { x: hostile } }] }));
    const result: ExerciseResult = {
      id: 'checkout',
      track: 'foundations',
      status: 'fail',
      tests: [{ name: hostile, status: 'fail', message: hostile, traces: [t], output: { text: hostile, cutChars: 0, cutLines: 0 } }],
    };
    const html = renderRunsPage(runOf(result), { nonce: 'n0' });
    expect(html).not.toContain('<img');
    expect(html).toContain('&lt;img src=x onerror=&quot;alert(1)&quot;&gt;');
  });

  it('drops terminal colour codes from messages', () => {
    const result: ExerciseResult = { id: 'checkout', track: 'foundations', status: 'fail', tests: [{ name: 'adds', status: 'fail', message: '\u001b[31mexpected 5\u001b[39m' }] };
    expect(renderRunsFragment(runOf(result))).toContain('<pre class="message">expected 5</pre>');
  });

  it('places each bar to the scale of its trace, and draws a span never ended to the end, hatched', () => {
    const t = trace(span('checkout', { start: 0, end: 100 }, span('charge', { start: 25, end: 75 }), span('ship', { start: 80, ended: false })));
    const html = renderRunsFragment(runOf({ id: 'checkout', track: 'foundations', status: 'pass', tests: [{ name: 'checks out', status: 'pass', traces: [t] }] }));
    expect(html).toContain('class="bar status-unset" style="left:0.000%;width:100.000%"');
    expect(html).toContain('class="bar status-unset" style="left:25.000%;width:50.000%"');
    expect(html).toContain('class="bar status-unset open" style="left:80.000%;width:20.000%"');
    expect(html).toContain('⚠ never ended');
    expect(html).toContain('<span class="dur">50.0 ms</span>');
  });

  it('marks the first difference on both sides, and says it in the details of both spans', () => {
    const actual = trace(span('checkout', { kind: 'server', id: 'aaaaaaaaaaaaaaaa' }));
    const html = renderRunsFragment(runOf(failing({ actual, markSpanId: 'aaaaaaaaaaaaaaaa' })));
    const marked = [...html.matchAll(/<li class="row marked[^"]*"/g)];
    expect(marked).toHaveLength(2);
    expect(html.match(/The first difference is here: status is UNSET, expected ERROR/g)).toHaveLength(2);
    expect(html).toContain('data-side="expected"');
    expect(html).toContain('data-side="actual"');
  });

  it('says why nothing is drawn beside the shape when no trace has its root', () => {
    const other = trace(span('something else'));
    const html = renderRunsFragment(runOf(failing({ recorded: 1 }, [other])));
    expect(html).toContain('one trace was recorded, none with this root');
  });

  it('opens on the first check that did not pass, and on the reason when the checks could not run', () => {
    const result: ExerciseResult = {
      id: 'checkout',
      track: 'foundations',
      status: 'fail',
      tests: [
        { name: 'one', status: 'pass' },
        { name: 'two', status: 'fail', message: 'no' },
      ],
    };
    expect(renderRunsFragment(runOf(result))).toMatch(/<section class="check" id="check-1-2" data-key="[^"]*" data-default="true"/);
    const crashed: ExerciseResult = { id: 'checkout', track: 'foundations', status: 'error', message: 'SyntaxError in code.ts:3', tests: [] };
    const html = renderRunsFragment(runOf(crashed));
    expect(html).toMatch(/id="check-1-why"[^>]*data-default="true"/);
    expect(html).toContain('SyntaxError in code.ts:3');
  });

  it('shows an exercise being checked for the first time as such', () => {
    expect(renderRunsFragment(runOf(undefined), { checking: true })).toContain('the first verdict appears here');
  });

  it('allows its own style and script and nothing else: no request leaves a file, a live page talks to its server only', () => {
    const file = renderRunsPage(runOf(undefined), { nonce: 'n1' });
    expect(file).toContain(`content="${contentSecurityPolicy('n1', false).replace(/'/g, '&#39;')}"`);
    expect(contentSecurityPolicy('n1', false)).toContain("default-src 'none'");
    expect(contentSecurityPolicy('n1', false)).toContain("connect-src 'none'");
    expect(contentSecurityPolicy('n1', true)).toContain("connect-src 'self'");
    expect(file).toContain('<script nonce="n1">');
    expect(file).not.toMatch(/<(script|link|img)[^>]+(src|href)=/);
  });
});
