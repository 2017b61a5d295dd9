// Erasure, for data protection requests: clear the data of one event, or
// of every event of a project or of a user. The events' data become {},
// their logged response bodies empty, and their queued deliveries are
// cancelled; ids, names and times stay. The operator types the id again to
// confirm, since nothing brings the data back.

import { api, shortMessage } from './api.js';
import { confirmDialog, fill, h, id, plural } from './dom.js';

// SCOPES are what can be erased, by the address's scope: the API's path,
// and the words for it.
const SCOPES = {
  event: { path: 'events', label: 'One event', what: 'event id', placeholder: 'evt_…', field: 'event_id',
    text: (x) => ['the data of event ', x] },
  project: { path: 'projects', label: 'Every event of a project', what: 'project id', placeholder: 'GsrwPNm6nJ7CKRYnQZl6', field: 'project_id',
    text: (x) => ['the data of every event of project ', x] },
  user: { path: 'users', label: 'Every event of a user', what: 'user id', placeholder: '42', field: 'user_id',
    text: (x) => ['the data of every event of user ', x] },
};

export function renderErase(page, query) {
  page.title('Erase data');
  let scope = SCOPES[query.get('scope')] ? query.get('scope') : 'event';
  const inputID = id('erase-id');
  const input = h('input', { type: 'text', id: inputID, name: 'target', autocomplete: 'off', spellcheck: 'false', value: query.get('id') || '' });
  const label = h('label', { for: inputID });
  const error = h('p', { class: 'field-error', id: `${inputID}-error`, hidden: true });
  const hint = h('p', { class: 'hint', id: `${inputID}-hint` });
  input.setAttribute('aria-describedby', `${error.id} ${hint.id}`);
  const result = h('div', { 'aria-live': 'polite' });
  const submit = h('button', { type: 'submit', class: 'danger' }, 'Erase…');

  const radios = Object.entries(SCOPES).map(([key, s]) => {
    const radioID = id('scope');
    const radio = h('input', { type: 'radio', name: 'scope', id: radioID, value: key, checked: key === scope,
      onchange: () => { scope = key; sync(); } });
    return h('li', {}, radio, h('label', { for: radioID }, s.label));
  });

  // sync shows the chosen scope's words and keeps the form in the address.
  function sync() {
    const s = SCOPES[scope];
    label.textContent = s.what[0].toUpperCase() + s.what.slice(1);
    input.placeholder = s.placeholder;
    hint.textContent = scope === 'user'
      ? 'The user_id of the events: a whole number. hookd keeps no user records, only the events that name one.'
      : scope === 'project'
        ? 'The project_id of the events, registered or not: a purged project’s events still hold its data.'
        : 'The id of an event, as its publisher set it or hookd gave it (a delivery’s page shows it).';
    error.hidden = true;
    input.removeAttribute('aria-invalid');
    const q = new URLSearchParams({ scope });
    if (targetOf()) q.set('id', targetOf());
    history.replaceState(null, '', `#/erase?${q}`);
  }
  input.addEventListener('input', () => sync());

  // targetOf is the id to erase: an event id as typed, since it may begin
  // or end with spaces (trimmed, it would name another event or none); a
  // project or user id trimmed, since neither holds spaces. '' when blank.
  function targetOf() {
    if (input.value.trim() === '') return '';
    return scope === 'event' ? input.value : input.value.trim();
  }

  async function erase(ev) {
    ev.preventDefault();
    const s = SCOPES[scope];
    const target = targetOf();
    error.hidden = true;
    input.removeAttribute('aria-invalid');
    result.replaceChildren();
    if (target === '') {
      showError(`Enter the ${s.what} to erase.`);
      return;
    }
    const ok = await confirmDialog({
      title: 'Erase this data for good?',
      text: ['This erases ', s.text(target), ': the events’ data become {}, the receivers’ answers logged for them are emptied, and their queued deliveries are cancelled. Ids, event names and times stay. Nothing brings the data back.'],
      action: 'Erase data',
      danger: true,
      typeToConfirm: target,
    });
    if (!ok || !page.alive) return;
    submit.disabled = true;
    try {
      const erased = await api.erase(s.path, target);
      if (!page.alive) return;
      result.replaceChildren(h('div', { class: 'notice notice-success', role: 'status' }, h('p', {},
        'Erased ', s.text(target), `: ${plural(erased.events, 'event')}, `,
        `${plural(erased.cancelled_deliveries, 'queued delivery', 'queued deliveries')} cancelled, `,
        `${plural(erased.cleared_attempts, 'logged answer')} cleared.`,
        erased.events === 0 ? ' No event matched: nothing was changed.' : '')));
    } catch (err) {
      if (!page.alive || err.status === 401) return;
      // Only the API's own answer says there is no such event: another 404
      // (a proxy, an id the browser reads as a path: "..") says nothing of it.
      if (err.status === 404 && err.message.startsWith("Couldn't find Event")) showError('No event has the id “', target, '”.');
      else if (err.field === s.field) showError(shortMessage(err.message));
      else result.replaceChildren(h('div', { class: 'notice notice-error', role: 'alert' }, h('p', {}, `Nothing was erased: ${err.message}`)));
    } finally {
      submit.disabled = false;
    }
  }

  function showError(...message) {
    fill(error, ...message);
    error.hidden = false;
    input.setAttribute('aria-invalid', 'true');
    input.focus();
  }

  page.main.replaceChildren(
    h('h1', {}, 'Erase data'),
    h('p', { class: 'hint intro' }, 'For a data protection request: clear the data that hookd holds for an event, a project or a user. ',
      'The records stay (ids, event names, times, statuses), so the logs still add up.'),
    h('form', { class: 'card erase-form', novalidate: true, onsubmit: erase },
      h('fieldset', { class: 'scopes' }, h('legend', {}, 'What to erase'), h('ul', { class: 'plain-list' }, radios)),
      h('div', { class: 'field' }, label, input, hint, error),
      h('div', { class: 'actions' }, submit)),
    result);
  sync();
  page.focus();
}
