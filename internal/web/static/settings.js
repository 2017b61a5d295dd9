// A webhook's delivery settings: hookd's own (the settings sub-resource,
// beside MediaPocket's webhook object), shown with their defaults and
// changed with a small form. A validation error the API answers is shown
// next to the field it names, as in the webhook form.

import { api, shortMessage } from './api.js';
import { confirmDialog, errorBox, h, id, notice } from './dom.js';

// FIELDS are the settings, by API name: a label, what null means, a hint.
const FIELDS = [
  ['max_in_flight', 'Attempts at once', 'default (a quarter of the workers, at least 1)',
    'The most attempts to this webhook at the same time, across every hookd process: a whole number from 1 to 1000. Empty: the default.'],
  ['max_per_second', 'Attempts per second', 'default (no cap)',
    'The most attempts to this webhook a second, across every hookd process: a number from 0.001 to 10000 (0.5 is one every 2 seconds). Empty: no cap.'],
];

const shown = (value) => (value === null ? '' : String(value));

export function settingsCard(page, webhookID) {
  const card = h('section', { class: 'card', 'aria-labelledby': 'sec-settings' });
  const heading = h('h2', { id: 'sec-settings' }, 'Delivery settings');
  let current = null; // the settings as stored

  const values = h('dl', { class: 'summary' });
  const fields = {}; // API name -> {input, error}
  const result = h('p', { class: 'hint', 'aria-live': 'polite' });
  const submit = h('button', { type: 'submit' }, 'Save settings');
  const form = h('form', { novalidate: true, onsubmit: save },
    FIELDS.map(([name, label, , hint]) => {
      const input = h('input', { type: 'text', inputmode: name === 'max_in_flight' ? 'numeric' : 'decimal', name, id: id(name), autocomplete: 'off', spellcheck: 'false', placeholder: 'default' });
      const error = h('p', { class: 'field-error', id: `${input.id}-error`, hidden: true });
      const hintEl = h('p', { class: 'hint', id: `${input.id}-hint` }, hint);
      input.setAttribute('aria-describedby', `${error.id} ${hintEl.id}`);
      fields[name] = { input, error };
      return h('div', { class: 'field' }, h('label', { for: input.id }, label), input, hintEl, error);
    }),
    h('div', { class: 'actions' }, submit),
    result);

  function render(settings) {
    current = settings;
    values.replaceChildren(...FIELDS.flatMap(([name, label, byDefault]) => [
      h('dt', {}, label),
      h('dd', {}, settings[name] === null ? h('span', { class: 'muted' }, byDefault) : String(settings[name])),
    ]));
    for (const [name] of FIELDS) fields[name].input.value = shown(settings[name]);
  }

  function clearErrors() {
    result.textContent = '';
    for (const f of Object.values(fields)) {
      f.error.hidden = true;
      f.error.textContent = '';
      f.input.removeAttribute('aria-invalid');
    }
  }

  async function save(ev) {
    ev.preventDefault();
    clearErrors();
    // Only what changed is sent: empty is the default (null); the text goes
    // as typed, for hookd to check and name what is wrong.
    const change = {};
    for (const [name] of FIELDS) {
      const text = fields[name].input.value.trim();
      if (text !== shown(current[name])) change[name] = text === '' ? null : text;
    }
    if (Object.keys(change).length === 0) {
      result.textContent = 'Nothing to save: the settings are as shown.';
      return;
    }
    const list = FIELDS.filter(([name]) => name in change)
      .map(([name, label, byDefault]) => `${label}: ${change[name] === null ? byDefault : change[name]}`).join('; ');
    const ok = await confirmDialog({
      title: 'Change the delivery settings?',
      text: `${list}. The new settings apply to the next attempts of this webhook, in every hookd process.`,
      action: 'Save settings',
    });
    if (!ok || !page.alive) return;
    submit.disabled = true;
    try {
      render(await api.updateSettings(webhookID, change));
      notice('Delivery settings saved.', 'success');
    } catch (err) {
      if (!page.alive || err.status === 401) return;
      const f = err.field ? fields[err.field] : null;
      if (f) {
        f.error.textContent = shortMessage(err.message);
        f.error.hidden = false;
        f.input.setAttribute('aria-invalid', 'true');
        f.input.focus();
      } else {
        result.textContent = `Not saved: ${shortMessage(err.message)}`;
      }
    } finally {
      submit.disabled = false;
    }
  }

  async function load() {
    card.replaceChildren(heading, h('p', { class: 'loading' }, 'Loading the settings…'));
    try {
      render(await api.getSettings(webhookID));
    } catch (err) {
      if (!page.alive || err.status === 401) return;
      card.replaceChildren(heading, errorBox('Could not load the delivery settings', err, load));
      return;
    }
    if (!page.alive) return;
    card.replaceChildren(heading,
      h('p', { class: 'hint' }, 'How hard hookd may press this receiver, so that a slow one never holds up the other webhooks.'),
      values, form);
  }

  load();
  return card;
}
