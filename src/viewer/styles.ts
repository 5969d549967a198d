/**
 * The page's styles, inline in every page so it works offline and from a file. Light and dark
 * follow the system; the layout goes from three columns (checks, the chosen check, span details)
 * to one as the window narrows. Status colours: red ERROR, green OK, grey UNSET.
 */
/** The colours and type both pages share (the check run and the workshop report). */
export const THEME = String.raw`
:root {
  color-scheme: light dark;
  --bg: #fbfbfc; --panel: #ffffff; --fg: #1d2126; --dim: #5d6670; --line: #d9dde2; --hover: #eef2f7;
  --pass: #1a7f37; --fail: #c62828; --error: #a15c00; --skipped: #6b7280;
  --ok: #1a7f37; --err: #c62828; --unset: #8a94a0; --open: #b7791f;
  --server: #1f5fbf; --client: #7b3fbf; --producer: #b3541e; --consumer: #0f7b72; --internal: #59636e;
  --mark-bg: #fde8e8; --focus: #2563eb;
  font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #111418; --panel: #181c21; --fg: #e3e7ec; --dim: #98a2ad; --line: #2e343b; --hover: #222932;
    --pass: #4ac26b; --fail: #f47067; --error: #e0a140; --skipped: #9ca3af;
    --ok: #4ac26b; --err: #f47067; --unset: #7d8792; --open: #e0a140;
    --server: #6ea8ff; --client: #b58cff; --producer: #f0925a; --consumer: #3cc7b9; --internal: #9aa4ae;
    --mark-bg: #3b1e1e; --focus: #7aa7ff;
  }
}
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--fg); }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
.dim { color: var(--dim); font-weight: normal; }
.none { color: var(--dim); font-style: italic; }
:focus-visible { outline: 2px solid var(--focus); outline-offset: 1px; }
`;

export const PAGE_STYLES = String.raw`
${THEME}
code, pre, .span-row, .attributes td { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 0.86rem; }
pre { white-space: pre-wrap; overflow-wrap: anywhere; margin: 0.5rem 0; }
h2, h3, h4 { margin: 0.6rem 0 0.4rem; line-height: 1.25; }
h2 { font-size: 1.1rem; } h3 { font-size: 1rem; } h4 { font-size: 0.9rem; color: var(--dim); }

.top { display: flex; flex-wrap: wrap; gap: 0.5rem 1.5rem; align-items: baseline; padding: 0.5rem 1rem; border-bottom: 1px solid var(--line); background: var(--panel); }
.product { margin: 0; font-weight: 700; letter-spacing: 0.02em; }
.live { margin: 0; color: var(--dim); font-size: 0.9rem; }
.live[data-state="checking"] { color: var(--error); }
.live[data-state="offline"] { color: var(--fail); }

.run { display: grid; grid-template-columns: minmax(13rem, 18rem) minmax(0, 1fr) minmax(15rem, 22rem); grid-template-areas: "nav main details"; gap: 0; min-height: calc(100vh - 2.5rem); }
.checks { grid-area: nav; padding: 0.5rem 1rem 1rem; border-right: 1px solid var(--line); background: var(--panel); }
.check-view { grid-area: main; padding: 0.5rem 1.25rem 2rem; min-width: 0; }
.details { grid-area: details; padding: 0.5rem 1rem 2rem; border-left: 1px solid var(--line); background: var(--panel); overflow-wrap: anywhere; }
@media (min-width: 70.01rem) { .checks, .details { position: sticky; top: 0; align-self: start; min-height: calc(100vh - 2.6rem); max-height: 100vh; overflow: auto; } }
@media (max-width: 70rem) {
  .run { grid-template-columns: minmax(12rem, 18rem) minmax(0, 1fr); grid-template-areas: "nav main" "nav details"; }
  .details { border-left: 0; border-top: 1px solid var(--line); }
}
@media (max-width: 44rem) {
  .run { grid-template-columns: minmax(0, 1fr); grid-template-areas: "nav" "main" "details"; }
  .checks { border-right: 0; border-bottom: 1px solid var(--line); }
  .check-view { padding: 0.5rem 0.75rem 1.5rem; }
}

.exercise + .exercise { margin-top: 1rem; padding-top: 0.5rem; border-top: 1px solid var(--line); }
.exercise-title { font-size: 1rem; }
.exercise-title .dim { display: block; font-size: 0.82rem; margin-top: 0.15rem; }
.exercise-verdict { margin: 0.2rem 0 0.5rem; font-size: 0.9rem; }
.exercise-verdict .dim { display: block; margin-top: 0.15rem; font-size: 0.82rem; }
.check-list { list-style: none; margin: 0; padding: 0; }
.check-link { display: flex; gap: 0.45rem; padding: 0.35rem 0.5rem; border-radius: 6px; color: inherit; text-decoration: none; font-size: 0.92rem; }
.check-link:hover { background: var(--hover); }
.check-link[aria-current="true"] { background: var(--hover); box-shadow: inset 3px 0 0 var(--focus); font-weight: 600; }
.check-link .mark { flex: none; width: 1em; text-align: center; font-weight: 700; }
.status-pass .mark { color: var(--pass); } .status-fail .mark { color: var(--fail); } .status-error .mark { color: var(--error); } .status-skipped .mark { color: var(--skipped); }

.verdict { display: inline-block; padding: 0.05rem 0.5rem; border-radius: 999px; font-size: 0.82rem; font-weight: 600; border: 1px solid currentColor; white-space: nowrap; }
.verdict-pass { color: var(--pass); } .verdict-fail { color: var(--fail); } .verdict-error { color: var(--error); } .verdict-skipped, .verdict-checking { color: var(--skipped); }
.check h2 { display: flex; flex-wrap: wrap; gap: 0.5rem; align-items: baseline; }
.check h2:focus { outline: none; }
.check .meta { margin: 0 0 0.5rem; color: var(--dim); font-size: 0.85rem; }
.headline { margin: 0.5rem 0 0.25rem; }
.path { margin: 0 0 0.75rem; color: var(--dim); font-size: 0.88rem; }
.message { padding: 0.6rem 0.8rem; border-left: 3px solid var(--fail); background: var(--panel); }
.note { color: var(--dim); font-size: 0.9rem; }
.hints { padding-left: 1.2rem; color: var(--error); }
.candidates { margin: 0.25rem 0; padding-left: 1.2rem; font-size: 0.9rem; }
.output summary, .traces summary { cursor: pointer; color: var(--dim); margin: 0.75rem 0 0.25rem; }
.output pre { padding: 0.5rem 0.75rem; border-left: 3px solid var(--line); }

.compare { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(100%, 19rem), 1fr)); gap: 1rem; align-items: start; }
.waterfall-block { margin: 0.5rem 0; padding: 0.5rem; border: 1px solid var(--line); border-radius: 8px; background: var(--panel); min-width: 0; }
.waterfall-block figcaption { display: flex; justify-content: space-between; gap: 1rem; padding: 0 0.25rem 0.35rem; border-bottom: 1px solid var(--line); margin-bottom: 0.25rem; }
.waterfall-block .title { font-weight: 600; }
.waterfall-block .axis { color: var(--dim); font-size: 0.82rem; }
.waterfall { list-style: none; margin: 0; padding: 0; }
.row { margin: 1px 0; }
.span-row { display: grid; grid-template-columns: minmax(9rem, 1fr) minmax(3rem, 32%) 4.2rem; gap: 0.5rem; align-items: center; width: 100%; padding: 0.25rem 0.35rem; border: 1px solid transparent; border-radius: 5px; background: none; color: inherit; text-align: left; cursor: pointer; }
.span-row:hover { background: var(--hover); }
.span-row[aria-pressed="true"] { border-color: var(--focus); background: var(--hover); }
.row.marked > .span-row { background: var(--mark-bg); box-shadow: inset 3px 0 0 var(--fail); }
.label { position: relative; padding-left: calc(var(--depth, 0) * 1.1rem + 1rem); display: flex; flex-wrap: wrap; gap: 0.15rem 0.4rem; align-items: baseline; min-width: 0; overflow-wrap: break-word; }
.row:not([style*="--depth:0"]):not(.marked) .label::before { content: "└"; position: absolute; left: calc(var(--depth, 0) * 1.1rem - 0.05rem); top: 0; color: var(--dim); opacity: 0.6; }
.label .mark { position: absolute; left: calc(var(--depth, 0) * 1.1rem); top: 0; }
.span-name { font-weight: 600; }
.mark { color: var(--fail); font-weight: 700; }
.kind, .status, .service, .warn { font-size: 0.72rem; font-weight: 600; letter-spacing: 0.02em; padding: 0 0.3rem; border-radius: 3px; border: 1px solid currentColor; }
.kind-server { color: var(--server); } .kind-client { color: var(--client); } .kind-producer { color: var(--producer); } .kind-consumer { color: var(--consumer); } .kind-internal { color: var(--internal); }
.status-error { color: var(--err); } .status-ok { color: var(--ok); } .status-unset { color: var(--unset); }
.label .status-error { background: color-mix(in srgb, var(--err) 14%, transparent); }
.warn { color: var(--open); } .service { color: var(--dim); }
.track { position: relative; height: 0.9rem; border-radius: 3px; background: repeating-linear-gradient(90deg, transparent 0 calc(25% - 1px), var(--line) calc(25% - 1px) 25%); }
.bar { position: absolute; top: 0.1rem; bottom: 0.1rem; min-width: 3px; border-radius: 2px; background: var(--unset); }
.bar.status-ok { background: var(--ok); } .bar.status-error { background: var(--err); }
.bar.open { background: repeating-linear-gradient(135deg, var(--open) 0 4px, transparent 4px 8px); border: 1px solid var(--open); }
.tick { position: absolute; top: -0.1rem; width: 0.45rem; height: 0.45rem; margin-left: -0.22rem; transform: rotate(45deg); background: var(--fg); border: 1px solid var(--panel); }
.dur { text-align: right; color: var(--dim); white-space: nowrap; }
.row.shape .span-row { grid-template-columns: minmax(0, 1fr); }
.row.shape .expects { padding-left: calc(var(--depth, 0) * 1.1rem + 1rem); }
.row.shape .expects:empty { display: none; }
.row.shape .dur { display: none; }
.expects { display: flex; flex-direction: column; gap: 0.1rem; color: var(--dim); font-size: 0.8rem; overflow-wrap: anywhere; }
.expect-event { color: var(--client); }
@media (max-width: 44rem) {
  .span-row { grid-template-columns: minmax(0, 1fr) 4.2rem; }
  .span-row .track { grid-column: 1 / -1; grid-row: 2; }
  .row.shape .span-row { grid-template-columns: minmax(0, 1fr); }
}

.details .detail-name { font-size: 1.05rem; margin-top: 0.75rem; }
.differs { padding: 0.4rem 0.6rem; border-left: 3px solid var(--fail); background: var(--mark-bg); }
.facts { display: grid; grid-template-columns: max-content minmax(0, 1fr); gap: 0.2rem 0.75rem; margin: 0.5rem 0; font-size: 0.9rem; }
.facts dt { color: var(--dim); } .facts dd { margin: 0; }
/* Key above value: a narrow panel keeps long keys and long values whole. */
.attributes { width: 100%; border-collapse: collapse; margin: 0.25rem 0 0.5rem; }
.attributes tr { display: block; padding: 0.25rem 0.35rem; border-bottom: 1px solid var(--line); }
.attributes th, .attributes td { display: block; text-align: left; padding: 0; overflow-wrap: anywhere; }
.attributes th { font-weight: 600; font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 0.82rem; color: var(--dim); }
.attributes td { padding-left: 0.75rem; }
.events, .links, .expected-list { padding-left: 1.2rem; margin: 0.25rem 0; }
.event-name { font-weight: 600; }
.keys-help { font-size: 0.82rem; }
`;
