// One logged attempt (an entry of a success or failed log, api.LogEntry):
// its status, duration and time, the error, the receiver's answer and the
// request's headers (secrets masked).

import { badge, formatDuration, h, timeEl } from './dom.js';

export function attemptEl(e) {
  const k = (part) => `${e.id}-${part}`;
  const ok = !e.error_class;
  const status = e.http_status ? `HTTP ${e.http_status}` : 'no response';
  const body = e.response_body || '';
  const headers = Object.entries(e.request_headers || {}).map(([n, v]) => `${n}: ${v}`).join('\n');
  return h('div', { class: `attempt ${ok ? 'attempt-ok' : 'attempt-fail'}` },
    h('div', { class: 'entry-head' },
      ok ? badge(status, 'ok') : badge(e.error_class === 'status' ? status : e.error_class, 'fail'),
      h('span', {}, `attempt ${e.attempt}`),
      ok || e.error_class === 'status' ? null : h('span', {}, status),
      h('span', {}, formatDuration(e.duration_ms)),
      h('span', { class: 'entry-time' }, timeEl(e.created_at, { exact: true }))),
    !ok && e.error ? h('p', { class: 'entry-error' }, h('code', {}, e.error_class), ' ', e.error) : null,
    h('details', { 'data-key': k('body') },
      h('summary', { 'data-key': k('body-summary') }, body ? `Response body (${body.length} characters)` : 'Response body (empty)'),
      body ? h('pre', {}, body) : h('p', { class: 'muted' }, 'The receiver sent no body.')),
    h('details', { 'data-key': k('headers') },
      h('summary', { 'data-key': k('headers-summary') }, 'Request headers'),
      h('pre', {}, headers || '(none recorded)')));
}
