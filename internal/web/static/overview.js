// The overview: the figures an operator looks at first, from the stats that
// hookd computes (GET /api/v2/admin/webhooks/stats): deliveries and
// failures over the last hour and day, the queues, and the webhooks that
// need a look. It refreshes every few seconds.

import { api, shortMessage } from './api.js';
import { dayChart, hourChart, perMinute } from './chart.js';
import { confirmDialog, errorBox, h, notice, plural } from './dom.js';
import { rangeFields } from './timerange.js';

const REFRESH_MS = 5000;

const rate = (n) => `${perMinute(n)} a minute`;

export function renderOverview(page) {
  page.title('Overview');
  let timer = null;
  let shownKey = null;
  const figures = h('div', { class: 'figures' });
  const hourBody = h('div', {}, h('p', { class: 'loading' }, 'Loading…'));
  const dayBody = h('div', {});
  const status = h('p', { class: 'muted list-status', 'aria-live': 'polite' });

  // figure is one number with what it means; href makes it a way in.
  const figure = (label, value, detail, { href, alert } = {}) => h('div', { class: `figure${alert ? ' figure-alert' : ''}` },
    h('dt', {}, label),
    h('dd', {}, href ? h('a', { href }, String(value)) : String(value)),
    detail ? h('dd', { class: 'muted' }, detail) : null);

  function show(s) {
    const key = JSON.stringify({ ...s, at: null });
    if (key === shownKey) return;
    shownKey = key;
    const hour = s.last_hour, day = s.last_day, w = s.webhooks;
    figures.replaceChildren(h('dl', { class: 'figure-grid' },
      figure('Delivered, last hour', hour.total_succeeded, rate(hour.succeeded_per_minute)),
      figure('Failed attempts, last hour', hour.total_failed, rate(hour.failed_per_minute), { alert: hour.total_failed > 0 }),
      figure('Delivered, last 24 hours', day.total_succeeded, rate(day.succeeded_per_minute)),
      figure('Failed attempts, last 24 hours', day.total_failed, rate(day.failed_per_minute), { alert: day.total_failed > 0 }),
      figure('Queue', s.queue_length, 'waiting for a first attempt or in flight'),
      figure('Retry queue', s.retry_queue_length, 'waiting for a retry', { alert: s.retry_queue_length > 0 }),
      figure('Webhooks failing', w.failing, 'their latest attempt failed', { href: '#/webhooks?state=failing', alert: w.failing > 0 }),
      figure('Circuits open', w.circuits_open, 'deliveries wait for a probe', { href: '#/webhooks?state=circuit_open', alert: w.circuits_open > 0 }),
      figure('Throttled', w.throttled, 'held back by their rate cap now'),
      figure('Disabled', w.disabled, `${w.enabled} enabled`, { href: '#/webhooks?state=disabled' })));
    hourBody.replaceChildren(hourChart(s));
    dayBody.replaceChildren(dayChart(s));
  }

  async function load() {
    clearTimeout(timer);
    if (document.hidden && shownKey) {
      timer = setTimeout(load, REFRESH_MS);
      return;
    }
    try {
      const s = await api.stats();
      if (!page.alive) return;
      show(s);
      status.textContent = `Live, updated ${new Date().toLocaleTimeString()}`;
    } catch (err) {
      if (!page.alive || err.status === 401) return;
      shownKey = null;
      figures.replaceChildren(errorBox('Could not load the stats', err, load));
      status.textContent = '';
    }
    timer = setTimeout(load, REFRESH_MS);
  }

  page.main.replaceChildren(
    h('div', { class: 'page-head' }, h('h1', {}, 'Overview'), status),
    h('section', { class: 'card', 'aria-label': 'Figures' }, figures),
    h('section', { class: 'card', 'aria-labelledby': 'sec-hour' }, h('h2', { id: 'sec-hour' }, 'Last hour, per minute'), hourBody),
    h('section', { class: 'card', 'aria-labelledby': 'sec-day' }, h('h2', { id: 'sec-day' }, 'Last 24 hours, per hour'), dayBody),
    retryFailedCard(page, () => load()));
  page.focus();
  load();
  return () => clearTimeout(timer);
}

// retryFailedCard is an operator's action after an incident: every
// webhook's deliveries that failed for good in a range of time go out
// again. onDone runs after it re-queued some.
function retryFailedCard(page, onDone) {
  const range = rangeFields();
  const result = h('p', { class: 'hint', 'aria-live': 'polite' });
  const submit = h('button', { type: 'submit', class: 'secondary' }, 'Retry failed deliveries…');
  async function retry(ev) {
    ev.preventDefault();
    range.clearErrors();
    result.textContent = '';
    const ok = await confirmDialog({
      title: 'Retry the failed deliveries of every webhook?',
      text: `Every delivery of every webhook that failed for good with its last attempt ${range.describe()} is sent again at once, with its webhook-id. Receivers may get events they gave up on.`,
      action: 'Retry them all',
    });
    if (!ok || !page.alive) return;
    submit.disabled = true;
    try {
      const n = await api.retryFailed(range.read());
      notice(n ? `Re-queued ${plural(n, 'failed delivery', 'failed deliveries')}.` : 'Nothing to retry: no delivery failed for good in that range.', n ? 'success' : 'info');
      if (n) onDone();
    } catch (err) {
      if (!page.alive || err.status === 401) return;
      if (!range.showError(err)) result.textContent = `Nothing was retried: ${shortMessage(err.message)}`;
    } finally {
      submit.disabled = false;
    }
  }
  return h('section', { class: 'card', 'aria-labelledby': 'sec-retry-failed' },
    h('h2', { id: 'sec-retry-failed' }, 'After an incident'),
    h('p', { class: 'hint' }, 'Send again every delivery, of every webhook, that failed for good in a range of time: with its webhook-id, back into its ordered lane if it has one. Erased events stay erased.'),
    h('form', { novalidate: true, onsubmit: retry }, range.el, h('div', { class: 'actions' }, submit), result));
}
