// A webhook's circuit breaker: a badge while it holds deliveries back, and
// a card with its state and a way to probe the receiver at once.

import { api } from './api.js';
import { badge, confirmDialog, h, notice, timeEl } from './dom.js';

// circuitBadge is a badge for an open or half open circuit, with the time of
// its next probe; null while the circuit is closed.
export function circuitBadge(c) {
  if (!c || c.state === 'closed') return null;
  const probe = c.next_probe_at ? new Date(c.next_probe_at).toLocaleTimeString() : '';
  const open = c.state === 'open';
  const el = badge(open ? 'Circuit open' : 'Circuit half open', 'circuit');
  el.title = open
    ? `${c.consecutive_failures} failed attempts in a row: deliveries wait until one probe at ${probe}`
    : 'A probe attempt is out: its success sends the waiting deliveries';
  return h('span', { class: 'circuit' }, el, ' ',
    h('span', { class: 'muted' }, open ? `next probe ${probe}` : 'probing'));
}

const STATE_TEXT = {
  closed: 'Closed: deliveries go out as usual.',
  open: 'Open: the receiver kept failing, so its deliveries wait, using no worker, until one probe attempt.',
  half_open: 'Half open: the probe attempt is out; its success sends the waiting deliveries.',
};

// circuitCard shows a webhook's circuit; update(c) redraws it when the
// circuit read at each refresh changed. onProbe runs after a probe.
export function circuitCard(webhookID, onProbe) {
  const card = h('section', { class: 'card', 'aria-labelledby': 'sec-circuit' });
  const result = h('p', { class: 'hint', 'aria-live': 'polite' });
  let shown = null;

  async function probe() {
    const ok = await confirmDialog({
      title: 'Probe the receiver now?',
      text: 'One waiting delivery goes out now instead of at the next probe time. If it succeeds the circuit closes and every waiting delivery follows; if it fails the circuit stays open, for a longer cool-down.',
      action: 'Probe now',
    });
    if (!ok) return;
    try {
      const c = await api.probeCircuit(webhookID);
      notice(c.state === 'open' ? 'The probe is due: it goes out as soon as a worker is free.' : 'The probe is out already.', 'success');
      update(c);
      onProbe();
    } catch (err) {
      if (err.status !== 401) result.textContent = `Could not probe: ${err.message}`;
    }
  }

  function update(c) {
    const key = JSON.stringify(c);
    if (key === shown) return;
    shown = key;
    const focused = card.contains(document.activeElement);
    const open = c.state === 'open';
    const item = (term, ...desc) => [h('dt', {}, term), h('dd', {}, ...desc)];
    card.replaceChildren(
      h('h2', { id: 'sec-circuit' }, 'Circuit breaker'),
      h('p', { class: 'hint' }, STATE_TEXT[c.state] || c.state),
      h('dl', { class: 'summary' },
        ...item('State', c.state === 'closed' ? badge('Closed', 'on') : circuitBadge(c)),
        ...item('Failures in a row', String(c.consecutive_failures)),
        ...(c.opened_at ? item('Opened', timeEl(c.opened_at, { exact: true })) : []),
        ...(c.next_probe_at ? item(open ? 'Next probe' : 'Probe counts as lost', timeEl(c.next_probe_at, { exact: true })) : [])),
      ...(open ? [h('div', { class: 'actions' }, h('button', { type: 'button', class: 'secondary', onclick: probe }, 'Probe now'))] : []),
      result);
    if (focused) card.querySelector('button')?.focus();
  }

  return { card, update };
}
