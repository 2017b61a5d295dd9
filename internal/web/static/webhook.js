// A webhook's page: its settings and live figures, actions (test event,
// enable and disable, signing secret, delete), the 24-hour chart of its
// stats, and its deliveries (the success and failed logs grouped by
// delivery) with their payloads, curl commands and retries.

import { api, shortMessage } from './api.js';
import { dayChart } from './chart.js';
import {
  badge, confirmDialog, emptyState, errorBox, formatDuration, h, id, newerOlderPager, notice, plural, relative, tabList, timeEl,
} from './dom.js';
import { circuitBadge, circuitCard } from './circuit.js';
import { formatJSON } from './jsontext.js';
import { attemptEl } from './log.js';
import { copyText, secretCard } from './secret.js';
import { replayCard } from './replay.js';
import { settingsCard } from './settings.js';

const REFRESH_MS = 5000;
const PER_PAGE = 25;

// PAYLOAD_LIMIT bounds the text of a payload shown, in characters. A
// publisher chooses the payload's shape, and indenting nested arrays
// multiplies its size by their depth: 9 KB of them indent to 44 million
// characters, which a <pre> takes seconds to lay out. 256 K characters lay
// out at once and hold every payload of a usual size indented (the intake
// takes bodies of up to 1 MB).
const PAYLOAD_LIMIT = 256 * 1024;

// LOGS are the tabs: the deliveries each shows, by state.
const LOGS = {
  success: { label: 'Delivered', states: ['succeeded'] },
  failed: { label: 'Failed and retrying', states: ['failed', 'pending'] },
};

export function renderWebhook(page, webhookID, query) {
  page.title('Webhook');
  const state = {
    webhook: null,
    tab: query.get('tab') === 'failed' ? 'failed' : 'success',
    page: Math.max(1, parseInt(query.get('page') || '1', 10) || 1),
    logKey: null,
    chartKey: null,
  };
  let timer = null;
  page.main.replaceChildren(h('p', { class: 'loading' }, 'Loading the webhook…'));

  // Layout, filled as data arrives.
  const heading = h('h1', {});
  const stateBadge = h('span', {});
  const circuitSlot = h('span', {});
  const headActions = h('div', { class: 'head-actions' });
  const summary = h('dl', { class: 'summary' });
  const circuitInfo = circuitCard(webhookID, () => setTimeout(refresh, 700));
  const testCard = h('section', { class: 'card', 'aria-labelledby': 'sec-test' });
  const secretSection = h('section', { class: 'card', 'aria-labelledby': 'sec-secret' });
  const chartBody = h('div', { class: 'chart-body' }, h('p', { class: 'loading' }, 'Reading the last 24 hours…'));
  const logBody = h('div', { class: 'log-body' });
  const logTools = h('div', { class: 'log-tools' });
  const pager = h('nav', { class: 'pager', 'aria-label': 'Log pages' });

  // Tabs: the success and failed logs (WAI-ARIA tabs, arrow keys move).
  const logTabs = tabList({
    label: 'Logs',
    choices: Object.entries(LOGS).map(([key, { label }]) => [key, label]),
    selected: state.tab,
    onSelect: selectTab,
  }, logTools, logBody, pager);

  function syncAddress() {
    const q = new URLSearchParams();
    if (state.tab === 'failed') q.set('tab', 'failed');
    if (state.page > 1) q.set('page', String(state.page));
    const qs = q.toString();
    history.replaceState(null, '', `#/webhooks/${webhookID}${qs ? '?' + qs : ''}`);
  }

  function selectTab(key) {
    state.tab = key;
    state.page = 1;
    state.logKey = null;
    syncAddress();
    logBody.replaceChildren(h('p', { class: 'loading' }, 'Loading…'));
    loadLog();
  }

  // Data --------------------------------------------------------------------

  async function loadWebhook() {
    const [w, circuit] = await Promise.all([api.getWebhook(webhookID), api.getCircuit(webhookID)]);
    if (!page.alive) return;
    const first = !state.webhook;
    state.webhook = w;
    renderSummary(w);
    const circuitShown = circuitBadge(circuit);
    circuitSlot.replaceChildren(circuitShown || '');
    circuitSlot.hidden = !circuitShown;
    circuitInfo.update(circuit);
    if (first) renderTest(w);
  }

  async function loadLog() {
    const { tab, page: pageNo } = state;
    let list;
    try {
      list = await api.deliveries(webhookID, LOGS[tab].states, pageNo, PER_PAGE);
    } catch (err) {
      if (!page.alive || err.status === 401) return;
      state.logKey = null;
      logBody.replaceChildren(errorBox('Could not load the deliveries', err, loadLog));
      return;
    }
    if (!page.alive || tab !== state.tab || pageNo !== state.page) return;
    const key = JSON.stringify(list);
    renderLogTools();
    renderPager(list.length);
    if (key === state.logKey) {
      // Only the relative times move, and a retry's time may have come.
      for (const t of logBody.querySelectorAll('time[data-relative]')) t.textContent = relative(t.dateTime);
      for (const el of logBody.querySelectorAll('[data-next-at]')) el.replaceChildren(...nextAttempt(el.dataset.nextAt));
      return;
    }
    state.logKey = key;
    renderDeliveries(list);
  }

  // loadChart draws the last 24 hours of the webhook's stats, as the server
  // counted them, when they changed.
  async function loadChart() {
    let stats;
    try {
      stats = await api.webhookStats(webhookID);
    } catch (err) {
      if (!page.alive || err.status === 401) return;
      state.chartKey = null;
      chartBody.replaceChildren(errorBox('Could not read the last 24 hours', err, loadChart));
      return;
    }
    if (!page.alive) return;
    const key = JSON.stringify([stats.last_day.from, stats.last_day.succeeded, stats.last_day.failed]);
    if (key === state.chartKey) return;
    state.chartKey = key;
    chartBody.replaceChildren(dayChart(stats));
  }

  async function refresh() {
    clearTimeout(timer);
    if (document.hidden) {
      // Nobody is looking: check again later.
      timer = setTimeout(refresh, REFRESH_MS);
      return;
    }
    try {
      await loadWebhook();
      await Promise.all([state.page === 1 ? loadLog() : null, loadChart()]);
    } catch (err) {
      if (!page.alive || err.status === 401) return;
      if (err.status === 404) {
        page.navigate('#/webhooks', { message: 'This webhook was deleted.', kind: 'info' });
        return;
      }
      notice(`Could not refresh the webhook: ${err.message}`, 'error');
    }
    if (page.alive) {
      clearTimeout(timer);
      timer = setTimeout(refresh, REFRESH_MS);
    }
  }

  // Rendering -----------------------------------------------------------------

  // renderSummary redraws the settings when they changed; a refresh with
  // nothing new only moves the relative times, and keeps the focus and the
  // open event list where they were.
  function renderSummary(w) {
    const key = JSON.stringify(w);
    if (key === state.summaryKey) {
      for (const t of summary.querySelectorAll('time[data-relative]')) t.textContent = relative(t.dateTime);
      return;
    }
    state.summaryKey = key;
    heading.textContent = w.name;
    page.title(w.name);
    stateBadge.replaceChildren(w.disabled ? badge('Disabled', 'off') : badge('Enabled', 'on'));
    const actionsKey = String(w.disabled);
    if (headActions.dataset.key !== actionsKey) {
      const focusedAction = [...headActions.children].indexOf(document.activeElement);
      headActions.dataset.key = actionsKey;
      headActions.replaceChildren(
        h('a', { href: `#/webhooks/${w.id}/edit`, class: 'button secondary' }, 'Edit'),
        w.disabled
          ? h('button', { type: 'button', onclick: () => setDisabled(false) }, 'Enable')
          : h('button', { type: 'button', class: 'secondary', onclick: () => setDisabled(true) }, 'Disable'),
        h('button', { type: 'button', class: 'danger-outline', onclick: remove }, 'Delete'));
      if (focusedAction >= 0) headActions.children[focusedAction].focus();
    }
    const eventsOpen = summary.querySelector('details')?.open;
    const summaryFocused = summary.contains(document.activeElement);
    const run = w.latest_run;
    const runTime = run ? timeEl(run.created_at) : null;
    if (runTime) runTime.dataset.relative = '';
    const item = (term, ...desc) => [h('dt', {}, term), h('dd', {}, ...desc)];
    summary.replaceChildren(
      ...item('URL', h('span', { class: 'method' }, w.http_method), ' ', h('span', { class: 'break' }, w.http_url)),
      ...item('Project', w.project_id === null ? 'Any project' : h('code', {}, w.project_id)),
      ...item('Queue', `${w.queue_length} waiting or in flight · `,
        w.retry_queue_length ? h('strong', {}, `${w.retry_queue_length} waiting for a retry`) : '0 waiting for a retry'),
      ...item('Last run', run
        ? [run.status === 'success' ? badge('Success', 'ok') : badge('Failed', 'fail'), ' ',
          run.event, ' · ', run.http_status ? `HTTP ${run.http_status} · ` : 'no response · ',
          formatDuration(run.duration_ms), ' · ', runTime]
        : h('span', { class: 'muted' }, 'Never run')),
      ...item('Trigger events', h('details', { class: 'inline-details' },
        h('summary', {}, plural(w.trigger_events.length, 'event')),
        h('ul', { class: 'plain-list' }, w.trigger_events.map((e) => h('li', {}, h('code', {}, e)))))),
      ...item('Users', w.webhook_users.length
        ? w.webhook_users.map((u) => `User ${u.user_id}`).join(', ')
        : h('span', { class: 'muted' }, 'Every user')),
      ...item('Headers', w.webhook_headers.length
        ? w.webhook_headers.map((x, i) => [i ? ', ' : '', h('code', {}, x.header_key),
          x.is_hmac ? ' (HMAC)' : x.hidden ? ' (hidden)' : ''])
        : h('span', { class: 'muted' }, 'None')),
      ...item('Created', timeEl(w.created_at, { exact: true })),
      ...item('Updated', timeEl(w.updated_at, { exact: true })));
    const details = summary.querySelector('details');
    if (eventsOpen) details.open = true;
    if (summaryFocused) details.querySelector('summary').focus();
  }

  function renderTest(w) {
    const selectID = id('test-event');
    const select = h('select', { id: selectID }, w.trigger_events.map((e) => h('option', { value: e }, e)));
    const result = h('p', { class: 'hint', 'aria-live': 'polite' });
    const button = h('button', { type: 'button', onclick: async () => {
      button.disabled = true;
      try {
        const ev = await api.sendTest(webhookID, select.value);
        result.textContent = `Queued test event ${ev.event} (${ev.id}). It goes out at once; watch the deliveries below.`;
        setTimeout(refresh, 700);
      } catch (err) {
        if (err.status !== 401) result.textContent = `Could not send a test event: ${shortMessage(err.message)}`;
      } finally {
        button.disabled = false;
      }
    } }, 'Send test event');
    testCard.replaceChildren(
      h('h2', { id: 'sec-test' }, 'Test event'),
      h('p', { class: 'hint' }, 'Sends an event with the data {"test": true} to this webhook alone, whatever its filters.'),
      h('div', { class: 'field inline' }, h('label', { for: selectID }, 'Event'), select, button),
      result);
  }

  function renderSecret() {
    secretCard(secretSection, {
      headingID: 'sec-secret',
      hint: 'Receivers check the webhook-signature header (Standard Webhooks) with this secret.',
      load: () => api.getSecret(webhookID),
      rotate: () => api.rotateSecret(webhookID),
      alive: () => page.alive,
    });
  }

  function renderLogTools() {
    if (logTools.dataset.tab === state.tab) return;
    logTools.dataset.tab = state.tab;
    if (state.tab === 'failed') {
      logTools.replaceChildren(
        h('p', { class: 'hint' }, 'Deliveries with a failed attempt: waiting for a retry, or failed for good (no retry left). Those can be sent again.'),
        h('button', { type: 'button', class: 'secondary', onclick: retryAll }, 'Retry all failed deliveries'));
    } else {
      logTools.replaceChildren(h('p', { class: 'hint' }, 'Deliveries that the receiver accepted (a 2xx answer), with every attempt they took.'));
    }
  }

  function renderPager(count) {
    newerOlderPager(pager, state.page, count === PER_PAGE, (n) => {
      state.page = n;
      state.logKey = null;
      syncAddress();
      logBody.replaceChildren(h('p', { class: 'loading' }, 'Loading…'));
      loadLog();
      logTabs.button(state.tab).scrollIntoView({ block: 'nearest' });
    });
  }

  function renderDeliveries(list) {
    // Keep what the reader opened, and the focus, across a refresh.
    const open = new Set([...logBody.querySelectorAll('details[open]')].map((d) => d.dataset.key));
    const focused = logBody.contains(document.activeElement) ? document.activeElement.dataset.key : null;
    if (list.length === 0) {
      logBody.replaceChildren(state.tab === 'success'
        ? emptyState(state.page > 1 ? 'No older deliveries' : 'No successful delivery yet',
          'Deliveries that the receiver accepts appear here. Send a test event to try the webhook.')
        : emptyState(state.page > 1 ? 'No older deliveries' : 'No failed delivery',
          'Deliveries whose attempts time out, cannot connect or get an answer other than 2xx appear here.'));
      return;
    }
    const ids = new Set(list.map((d) => d.id));
    for (const deliveryID of shownExtras.keys()) if (!ids.has(deliveryID)) shownExtras.delete(deliveryID);
    logBody.replaceChildren(h('ol', { class: 'entries', 'aria-label': `${LOGS[state.tab].label}: deliveries, latest attempt first` },
      list.map((d) => h('li', {}, deliveryEl(d)))));
    for (const d of logBody.querySelectorAll('details')) {
      if (open.has(d.dataset.key)) {
        d.open = true;
        d.dispatchEvent(new Event('toggle'));
      }
    }
    if (focused) logBody.querySelector(`[data-key="${CSS.escape(focused)}"]`)?.focus();
  }

  // nextAttempt says when a pending delivery goes out again: a time while
  // it is ahead, "now" once it has come (the attempt is due or out).
  function nextAttempt(iso) {
    if (Date.parse(iso) > Date.now()) return ['Next attempt ', timeEl(iso, { exact: true }), ' (', relative(iso), ').'];
    return ['Next attempt due now: it goes out as soon as a worker is free.'];
  }

  const STATES = {
    succeeded: ['Delivered', 'ok'],
    failed: ['Failed for good', 'fail'],
    pending: ['Retrying', 'circuit'],
  };

  function deliveryEl(d) {
    const k = (part) => `${d.id}-${part}`;
    const [stateLabel, stateKind] = STATES[d.state] || [d.state, 'off'];
    const last = d.attempts[d.attempts.length - 1];
    let outcome = null;
    if (d.state === 'failed') {
      outcome = h('p', { class: 'entry-next' }, h('strong', {}, 'No retry left. '),
        h('button', { type: 'button', class: 'small', 'data-key': k('retry'), onclick: (ev) => retryOne(d, ev.currentTarget) },
          'Retry this delivery'));
    } else if (d.state === 'pending' && d.next_attempt_at) {
      outcome = h('p', { class: 'entry-next', 'data-next-at': d.next_attempt_at }, ...nextAttempt(d.next_attempt_at));
    } else if (d.state === 'pending') {
      outcome = h('p', { class: 'entry-next' }, 'An attempt is out now.');
    }
    const rel = d.last_attempt_at ? timeEl(d.last_attempt_at) : null;
    if (rel) rel.dataset.relative = '';
    const extra = shownExtras.get(d.id)?.el ||
      h('div', { class: 'delivery-extra' }, h('p', { class: 'loading' }, 'Loading the payload…'));
    const payload = h('details', {
      'data-key': k('payload'),
      ontoggle: (ev) => {
        if (ev.currentTarget.open) loadExtra(d, extra);
      },
    }, h('summary', { 'data-key': k('payload-summary') }, 'Payload and curl command'), extra);
    return h('article', { class: `entry ${d.state === 'succeeded' ? 'entry-ok' : 'entry-fail'}`, 'data-delivery-id': d.id },
      h('div', { class: 'entry-head' },
        badge(stateLabel, stateKind),
        h('strong', { class: 'entry-event' }, d.event),
        h('span', {}, plural(d.attempt_count, 'attempt')),
        last ? h('span', {}, last.http_status ? `HTTP ${last.http_status}` : (last.error_class || 'no response')) : null,
        rel ? h('span', { class: 'entry-time' }, rel) : null),
      h('p', { class: 'ids muted' }, 'webhook-id ', h('code', {}, d.message_id), ' · event ', h('code', {}, d.event_id),
        ' · delivery ', String(d.id)),
      outcome,
      h('details', { 'data-key': k('attempts') },
        h('summary', { 'data-key': k('attempts-summary') }, `Attempts, in order (${d.attempts.length})`),
        d.attempts.length
          ? h('ol', { class: 'attempts' }, d.attempts.map((e) => h('li', {}, attemptEl(e))))
          : h('p', { class: 'muted' }, 'Their log entries were pruned.')),
      payload);
  }

  // shownExtras holds, by delivery id, the element that shows a delivery's
  // payload and the curl command it was drawn from (the curl command holds
  // the payload): a redraw of the log moves the element into the new entry,
  // and a reload draws it again only when the answer changed, since a large
  // payload takes a while to lay out.
  const shownExtras = new Map();
  const loadingExtras = new WeakSet(); // the elements whose load is under way

  // loadExtra shows a delivery's payload and the curl command that sends
  // it again (without the secret), with a copy button.
  async function loadExtra(d, into) {
    if (loadingExtras.has(into)) return;
    loadingExtras.add(into);
    let r;
    try {
      r = await api.delivery(webhookID, d.id);
    } catch (err) {
      if (!page.alive || err.status === 401 || shownExtras.get(d.id)?.el === into) return; // keep what is shown
      into.replaceChildren(h('p', { class: 'field-error' }, `Could not load the payload: ${err.message}`));
      return;
    } finally {
      loadingExtras.delete(into);
    }
    const shown = shownExtras.get(d.id);
    if (!page.alive || (shown?.el === into && shown.curl === r.curl)) return;
    shownExtras.set(d.id, { el: into, curl: r.curl });
    const curl = h('pre', { class: 'curl' }, r.curl);
    const result = h('span', { class: 'hint', 'aria-live': 'polite' });
    const copy = h('button', { type: 'button', class: 'secondary small', 'data-key': `${d.id}-copy` }, 'Copy curl command');
    copy.addEventListener('click', () => copyText(r.curl, curl, result));
    into.replaceChildren(
      h('h3', {}, 'Payload'),
      ...payloadEl(r.payload, d.id),
      h('h3', {}, 'Send it again with curl'),
      h('p', { class: 'hint' }, 'The same request to the webhook’s URL. The signature is a placeholder and hidden header values are masked: the command carries no secret.'),
      curl,
      h('div', { class: 'actions' }, copy, result),
      h('p', { class: 'hint' }, 'A data protection request? ',
        h('a', { href: `#/erase?${new URLSearchParams({ scope: 'event', id: d.event_id })}` }, 'Erase this event’s data…')));
  }

  // payloadEl returns the elements that show a payload: indented when that
  // is short enough, else compact, as stored, and cut past PAYLOAD_LIMIT;
  // the curl command below them always holds the whole payload.
  function payloadEl(payload, deliveryID) {
    try {
      const indented = formatJSON(payload, 2, PAYLOAD_LIMIT);
      if (indented.whole) return [h('pre', { class: 'payload' }, indented.text)];
      const compact = formatJSON(payload, 0, PAYLOAD_LIMIT);
      return [
        h('p', { class: 'hint' }, compact.whole
          ? 'Shown compact, as stored: indented, it would be too long to show.'
          : `Cut after its first ${PAYLOAD_LIMIT / 1024} K characters. The curl command below holds it whole, as does the API's answer to GET /api/v2/admin/webhooks/${webhookID}/deliveries/${deliveryID}.`),
        h('pre', { class: 'payload' }, compact.text)];
    } catch (err) {
      return [h('p', { class: 'field-error' }, `Could not show the payload: ${err.message}. The curl command below holds it.`)];
    }
  }

  // Actions -------------------------------------------------------------------

  async function retryOne(d, button) {
    // The retry action re-queues deliveries whose final attempt falls in
    // [from, to); the delivery's last attempt is that one, in milliseconds.
    const from = d.last_attempt_at;
    const to = new Date(Date.parse(from) + 1).toISOString();
    const ok = await confirmDialog({
      title: 'Retry this delivery?',
      text: `Delivery ${d.id} (${d.event}, webhook-id ${d.message_id}) is sent again at once, with the same webhook-id.`,
      action: 'Retry delivery',
    });
    if (!ok || !page.alive) return;
    button.disabled = true;
    try {
      const n = await api.retry(webhookID, { from, to });
      if (n === 0) notice('Nothing to retry: this delivery is no longer failed (it was retried already).', 'info');
      else if (n === 1) notice(`Delivery ${d.id} re-queued: its next attempt shows up here in a moment.`, 'success');
      else notice(`Re-queued ${n} deliveries: their final attempts failed in the same millisecond as this one.`, 'success');
      setTimeout(refresh, 700);
    } catch (err) {
      button.disabled = false;
      if (err.status !== 401) notice(`Could not retry: ${err.message}`, 'error');
    }
  }

  async function retryAll() {
    const ok = await confirmDialog({
      title: 'Retry every failed delivery?',
      text: 'Every delivery of this webhook that failed for good is sent again at once, with its webhook-id. Receivers may get events they gave up on long ago.',
      action: 'Retry all',
    });
    if (!ok || !page.alive) return;
    try {
      const n = await api.retry(webhookID);
      notice(n ? `Re-queued ${plural(n, 'failed delivery', 'failed deliveries')}.` : 'Nothing to retry: no delivery has failed for good.', n ? 'success' : 'info');
      setTimeout(refresh, 700);
    } catch (err) {
      if (err.status !== 401) notice(`Could not retry: ${err.message}`, 'error');
    }
  }

  async function setDisabled(disabled) {
    const w = state.webhook;
    if (disabled) {
      const ok = await confirmDialog({
        title: ['Disable ', w.name, '?'],
        text: 'It receives no new events, and deliveries still queued for it are dropped. You can enable it again at any time.',
        action: 'Disable webhook',
      });
      if (!ok || !page.alive) return;
    }
    try {
      const updated = await api.updateWebhook(webhookID, { disabled });
      if (!page.alive) return;
      state.webhook = updated;
      renderSummary(updated);
      notice([updated.name, disabled ? ' is disabled.' : ' is enabled.'], 'success');
      headActions.querySelector('button')?.focus(); // the Enable or Disable button
    } catch (err) {
      if (err.status !== 401) notice(`Could not ${disabled ? 'disable' : 'enable'} the webhook: ${err.message}`, 'error');
    }
  }

  async function remove() {
    const w = state.webhook;
    const ok = await confirmDialog({
      title: ['Delete ', w.name, '?'],
      text: 'The webhook, its headers, users, queued deliveries and logs are deleted. This cannot be undone.',
      action: 'Delete webhook',
      danger: true,
    });
    if (!ok || !page.alive) return;
    try {
      await api.deleteWebhook(webhookID);
      page.navigate('#/webhooks', { message: ['Webhook “', w.name, '” deleted.'] });
    } catch (err) {
      if (err.status !== 401) notice(`Could not delete the webhook: ${err.message}`, 'error');
    }
  }

  // First load ------------------------------------------------------------------

  loadWebhook().then(() => {
    if (!page.alive) return;
    renderSecret();
    page.main.replaceChildren(
      h('nav', { class: 'breadcrumbs', 'aria-label': 'Breadcrumb' },
        h('a', { href: '#/webhooks' }, 'Webhooks'), ' / ',
        h('span', { 'aria-current': 'page', class: 'truncate', title: state.webhook.name }, state.webhook.name)),
      h('div', { class: 'page-head' }, h('div', { class: 'title' }, heading, stateBadge, circuitSlot), headActions),
      h('section', { class: 'card', 'aria-label': 'Settings and queue' }, summary),
      h('div', { class: 'grid-2 cards' }, testCard, secretSection),
      h('div', { class: 'grid-2 cards' }, settingsCard(page, webhookID), circuitInfo.card),
      replayCard(page, webhookID),
      h('section', { class: 'card', 'aria-labelledby': 'sec-activity' },
        h('h2', { id: 'sec-activity' }, 'Last 24 hours'), chartBody),
      h('section', { class: 'card', 'aria-labelledby': 'sec-logs' },
        h('h2', { id: 'sec-logs' }, 'Deliveries'),
        logTabs.list,
        logTabs.panel));
    page.focus();
    Promise.all([loadLog(), loadChart()]).then(() => { if (page.alive) timer = setTimeout(refresh, REFRESH_MS); });
  }).catch((err) => {
    if (!page.alive || err.status === 401) return;
    page.main.replaceChildren(
      h('h1', {}, err.status === 404 ? 'Webhook not found' : 'Webhook'),
      err.status === 404
        ? emptyState('This webhook does not exist', 'It may have been deleted.', h('a', { href: '#/webhooks', class: 'button secondary' }, 'Back to the webhooks'))
        : errorBox('Could not load the webhook', err, () => page.navigate(location.hash)));
    page.focus();
  });

  return () => clearTimeout(timer);
}
