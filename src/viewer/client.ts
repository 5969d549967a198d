/**
 * The page's script, inline in every page (no framework, nothing fetched from elsewhere):
 * - shows one check at a time, the first failing one by default, and follows the check list;
 * - a span row, when chosen (click, Enter or Space), fills the details panel from its template;
 *   ↑/↓/Home/End move between the rows of a waterfall, Esc goes from the panel back to the row;
 * - on a live page, listens to the viewer's server-sent events and swaps in each new run, keeping
 *   the check (by name) and the span (by its place in the check) the learner was looking at.
 * Plain ES2020 in a string: it runs in the browser, never in Node.
 */
export const CLIENT_SCRIPT = String.raw`
(() => {
  'use strict';
  const app = document.getElementById('app');
  const liveLine = document.getElementById('live');
  let shownCheck = null;
  let chosen = null; // { check: key, index: row index within the check }

  const details = () => document.getElementById('details');
  const sections = () => Array.from(app.querySelectorAll('section.check'));
  const rowsOf = (section) => Array.from(section.querySelectorAll('.span-row'));
  const currentSection = () => sections().find((s) => !s.hidden) || null;

  function showCheck(section, focusHeading) {
    if (!section) return;
    for (const s of sections()) s.hidden = s !== section;
    shownCheck = section.dataset.key || null;
    for (const link of app.querySelectorAll('.check-link')) {
      if (link.getAttribute('href') === '#' + section.id) link.setAttribute('aria-current', 'true');
      else link.removeAttribute('aria-current');
    }
    if (focusHeading) {
      const heading = section.querySelector('h2');
      if (heading) heading.focus();
    }
  }

  function clearDetails() {
    const panel = details();
    const hint = panel.dataset.hint;
    if (hint !== undefined) panel.innerHTML = hint;
  }

  function choose(button, focusPanel) {
    const template = document.getElementById(button.dataset.detail);
    if (!template) return;
    for (const b of app.querySelectorAll('.span-row[aria-pressed="true"]')) b.setAttribute('aria-pressed', 'false');
    button.setAttribute('aria-pressed', 'true');
    details().replaceChildren(template.content.cloneNode(true));
    const section = button.closest('section.check');
    chosen = section ? { check: section.dataset.key, index: rowsOf(section).indexOf(button) } : null;
    if (focusPanel) details().focus();
  }

  /** The span a check opens on: the learner's span where the first difference is. */
  function chooseDefault(section) {
    const marked = section && section.querySelector('.side-actual .row.marked .span-row');
    if (marked) choose(marked, false);
    else {
      chosen = null;
      clearDetails();
    }
  }

  function sectionFor(key) {
    return sections().find((s) => s.dataset.key === key) || null;
  }

  function initialSection() {
    const fromHash = location.hash.length > 1 ? document.getElementById(decodeURIComponent(location.hash.slice(1))) : null;
    if (fromHash && fromHash.matches('section.check')) return fromHash;
    return app.querySelector('section.check[data-default="true"]') || sections()[0] || null;
  }

  function setUp(previous) {
    const panel = details();
    if (panel.dataset.hint === undefined) panel.dataset.hint = panel.innerHTML;
    const run = app.querySelector('.run');
    if (run && run.dataset.title) document.title = run.dataset.title;
    const section = (previous && sectionFor(previous.check)) || initialSection();
    showCheck(section, false);
    if (previous && previous.span && section && section.dataset.key === previous.span.check) {
      const button = rowsOf(section)[previous.span.index];
      if (button) return choose(button, false);
    }
    chooseDefault(section);
  }

  app.addEventListener('click', (event) => {
    const link = event.target.closest('.check-link');
    if (link) {
      event.preventDefault();
      const section = document.getElementById(link.getAttribute('href').slice(1));
      history.replaceState(null, '', link.getAttribute('href'));
      showCheck(section, true);
      chooseDefault(section);
      return;
    }
    const row = event.target.closest('.span-row');
    if (row) choose(row, false);
  });

  app.addEventListener('keydown', (event) => {
    const row = event.target.closest && event.target.closest('.span-row');
    if (row) {
      const rows = Array.from(row.closest('.waterfall').querySelectorAll('.span-row'));
      const at = rows.indexOf(row);
      const to = { ArrowDown: at + 1, ArrowUp: at - 1, Home: 0, End: rows.length - 1 }[event.key];
      if (to !== undefined && rows[to]) {
        event.preventDefault();
        rows[to].focus();
        choose(rows[to], false);
      }
      return;
    }
    const link = event.target.closest && event.target.closest('.check-link');
    if (link && (event.key === 'ArrowDown' || event.key === 'ArrowUp')) {
      const links = Array.from(app.querySelectorAll('.check-link'));
      const next = links[links.indexOf(link) + (event.key === 'ArrowDown' ? 1 : -1)];
      if (next) {
        event.preventDefault();
        next.focus();
      }
      return;
    }
    if (event.key === 'Escape' && event.target.closest && event.target.closest('#details')) {
      const pressed = app.querySelector('.span-row[aria-pressed="true"]');
      if (pressed) pressed.focus();
    }
  });

  window.addEventListener('hashchange', () => {
    const section = initialSection();
    if (section && section.dataset.key !== shownCheck) {
      showCheck(section, true);
      chooseDefault(section);
    }
  });

  setUp(null);

  if (document.body.dataset.live !== 'true' || !liveLine) return;

  function say(state) {
    liveLine.dataset.state = state;
    liveLine.textContent = liveLine.dataset[state] || '';
  }

  let version = (app.querySelector('.run') || { dataset: {} }).dataset.version;
  let fetching = false;
  let again = false;

  async function refresh() {
    if (fetching) return void (again = true);
    fetching = true;
    try {
      const response = await fetch('fragment', { cache: 'no-store' });
      if (!response.ok) return say('offline');
      const html = await response.text();
      const focusedRow = document.activeElement && document.activeElement.classList.contains('span-row');
      const previous = { check: shownCheck, span: chosen };
      app.innerHTML = html;
      const run = app.querySelector('.run');
      version = run ? run.dataset.version : version;
      setUp(previous);
      if (focusedRow) {
        const pressed = app.querySelector('.span-row[aria-pressed="true"]');
        if (pressed) pressed.focus();
      }
      say(run && run.dataset.checking === 'true' ? 'checking' : 'live');
    } catch (error) {
      say('offline');
    } finally {
      fetching = false;
      if (again) {
        again = false;
        void refresh();
      }
    }
  }

  const events = new EventSource('events');
  events.addEventListener('open', () => say('live'));
  events.addEventListener('error', () => say('offline'));
  events.addEventListener('checking', () => say('checking'));
  events.addEventListener('run', (event) => {
    if (event.data !== version) void refresh();
    else say('live');
  });
})();
`;
