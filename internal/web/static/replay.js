// A webhook's replays: re-send its events of a range of time (after an
// outage of its receiver, or a bug that made it drop events), watch one
// run with its counts, cancel it, and see the past ones.

import { api, shortMessage } from './api.js';
import { badge, confirmDialog, errorBox, h, id, notice, plural } from './dom.js';
import { rangeFields } from './timerange.js';

const BUSY_MS = 2000; // while a replay runs or its deliveries wait, its counts move
const IDLE_MS = 10000;

const STATES = { running: ['Running', 'circuit'], done: ['Done', 'ok'], cancelled: ['Cancelled', 'off'] };

const when = (iso) => new Date(iso).toLocaleString();

export function replayCard(page, webhookID) {
  const card = h('section', { class: 'card', 'aria-labelledby': 'sec-replay' });
  const heading = h('h2', { id: 'sec-replay' }, 'Replay');
  const current = h('div', { class: 'replay-current', 'aria-live': 'polite' });
  const past = h('div', { class: 'replay-past' });
  const range = rangeFields();
  const includeID = id('include-succeeded');
  const include = h('input', { type: 'checkbox', id: includeID, name: 'include_succeeded' });
  const result = h('p', { class: 'hint', 'aria-live': 'polite' });
  const start = h('button', { type: 'submit' }, 'Start replay…');
  let timer = null;
  let shownKey = null;
  let running = null;
  let busy = false;

  const form = h('form', { class: 'replay-form', novalidate: true, onsubmit: startReplay },
    range.el,
    h('div', { class: 'field checkbox-field' }, include,
      h('label', { for: includeID }, 'Include the events it received already'),
      h('p', { class: 'hint' }, 'Off: only the events it did not receive (failed for good, or never sent).')),
    h('div', { class: 'actions' }, start),
    result);

  async function startReplay(ev) {
    ev.preventDefault();
    range.clearErrors();
    result.textContent = '';
    const body = { ...range.read(), include_succeeded: include.checked };
    const ok = await confirmDialog({
      title: 'Start a replay?',
      text: `Every event accepted ${range.describe()} that this webhook receives as it is now (its events, project, users and filter)${include.checked ? ', received or not,' : ' and did not receive'} is sent again, with its first webhook-id. Its receiver may get events it has seen before.`,
      action: 'Start replay',
    });
    if (!ok || !page.alive) return;
    start.disabled = true;
    try {
      const r = await api.startReplay(webhookID, body);
      notice(`Replay ${r.id} started: ${plural(r.total, 'event')} in the range.`, 'success');
      await load();
    } catch (err) {
      if (!page.alive || err.status === 401) return;
      if (!range.showError(err)) result.textContent = `Not started: ${shortMessage(err.message)}`;
    } finally {
      start.disabled = false;
    }
  }

  async function cancel(r) {
    const ok = await confirmDialog({
      title: `Cancel replay ${r.id}?`,
      text: 'It stops reading events, and its deliveries that no attempt has started are dropped. Those already sent stay sent.',
      action: 'Cancel replay',
      dismiss: 'Keep it running',
      danger: true,
    });
    if (!ok || !page.alive) return;
    try {
      const after = await api.cancelReplay(webhookID, r.id);
      notice(after.state === 'cancelled' ? `Replay ${r.id} cancelled.` : `Replay ${r.id} had finished already.`, 'success');
      await load();
    } catch (err) {
      if (err.status !== 401) notice(`Could not cancel the replay: ${err.message}`, 'error');
    }
  }

  // counts says what became of a replay's events and deliveries.
  const counts = (r) => [
    ['Events read', `${r.scanned} of ${r.total}`],
    ['Deliveries queued', r.queued],
    ['Waiting', r.pending],
    ['Delivered', r.succeeded],
    ['Failed', r.failed],
    ['Skipped, data expired', r.skipped_payload_expired],
  ];

  function progress(r) {
    const pct = r.total ? Math.floor((100 * r.scanned) / r.total) : 100;
    const labelID = id('replay-progress');
    return h('div', { class: 'replay-progress' },
      h('p', { id: labelID }, h('strong', {}, `Replay ${r.id}`), ` is running: ${r.scanned} of ${plural(r.total, 'event')} read (${pct}%).`),
      h('progress', { max: String(Math.max(r.total, 1)), value: String(r.total ? r.scanned : 1), 'aria-labelledby': labelID }),
      h('dl', { class: 'replay-counts' }, counts(r).map(([term, n]) => h('div', {}, h('dt', {}, term), h('dd', {}, String(n))))),
      h('p', { class: 'hint' }, `Events accepted from ${when(r.since)} to ${when(r.until)}`,
        r.include_succeeded ? ', received or not.' : ', that the webhook did not receive.'),
      h('div', { class: 'actions' }, h('button', { type: 'button', class: 'danger-outline', 'data-key': 'cancel', onclick: () => cancel(r) }, 'Cancel replay…')));
  }

  function pastEntry(r) {
    const [label, kind] = STATES[r.state] || [r.state, 'off'];
    return h('li', { 'data-replay-id': r.id },
      h('div', { class: 'entry-head' }, badge(label, kind), h('strong', {}, `Replay ${r.id}`),
        h('span', { class: 'muted' }, `${when(r.since)} → ${when(r.until)}`)),
      h('p', { class: 'muted replay-line' },
        `${r.scanned} of ${plural(r.total, 'event')} read · ${r.queued} queued · ${r.succeeded} delivered · ${r.failed} failed · ${r.pending} waiting`,
        r.skipped_payload_expired ? ` · ${r.skipped_payload_expired} skipped (data expired)` : '',
        r.include_succeeded ? ' · received ones included' : ''));
  }

  function show(list) {
    const key = JSON.stringify(list);
    if (key === shownKey) return;
    shownKey = key;
    const focusedCancel = current.contains(document.activeElement);
    running = list.find((r) => r.state === 'running') || null;
    busy = list.some((r) => r.state === 'running' || r.pending > 0);
    current.replaceChildren(running ? progress(running) : '');
    form.hidden = Boolean(running);
    const finished = list.filter((r) => r !== running);
    past.replaceChildren(h('h3', {}, 'Past replays'), finished.length
      ? h('ol', { class: 'replays plain-list' }, finished.map(pastEntry))
      : h('p', { class: 'muted' }, 'None yet.'));
    if (focusedCancel) (current.querySelector('button') || start).focus();
  }

  async function load() {
    clearTimeout(timer);
    try {
      show(await api.replays(webhookID));
    } catch (err) {
      if (!page.alive || err.status === 401) return;
      shownKey = null;
      past.replaceChildren(errorBox('Could not load the replays', err, load));
    }
    if (page.alive) timer = setTimeout(load, busy ? BUSY_MS : IDLE_MS);
  }

  card.replaceChildren(heading,
    h('p', { class: 'hint' }, 'Re-send this webhook’s events of a range of time, after an outage of its receiver or a bug that made it drop events: in the background, in order, within its settings, each with its first webhook-id so that receivers can dedupe. One replay at a time.'),
    current, form, past);
  load();
  return card;
}
