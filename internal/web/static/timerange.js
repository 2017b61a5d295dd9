// A range of time to act on (a replay, retrying failed deliveries): since
// and an optional until, typed in local time and sent as RFC 3339. hookd
// checks them; its refusal is shown next to the field it names.

import { shortMessage } from './api.js';
import { h, id } from './dom.js';

// localValue is date as a datetime-local input shows it.
function localValue(date) {
  return new Date(date.getTime() - date.getTimezoneOffset() * 60000).toISOString().slice(0, 19);
}

export function rangeFields({ since = new Date(Date.now() - 3600 * 1000) } = {}) {
  const fields = {};
  const field = (name, label, hint, value) => {
    const input = h('input', { type: 'datetime-local', step: '1', name, id: id(name), value });
    const error = h('p', { class: 'field-error', id: `${input.id}-error`, hidden: true });
    const hintEl = h('p', { class: 'hint', id: `${input.id}-hint` }, hint);
    input.setAttribute('aria-describedby', `${error.id} ${hintEl.id}`);
    fields[name] = { input, error };
    return h('div', { class: 'field' }, h('label', { for: input.id }, label), input, hintEl, error);
  };
  const el = h('div', { class: 'range' },
    field('since', 'Since', 'Your local time.', localValue(since)),
    field('until', 'Until', 'Empty: now.', ''));
  return {
    el,
    // read is the body's since and until (left out when empty, for hookd
    // to name what is missing).
    read() {
      const out = {};
      for (const name of ['since', 'until']) {
        const v = fields[name].input.value;
        if (v) out[name] = new Date(v).toISOString();
      }
      return out;
    },
    // describe says the range in words, for a confirmation.
    describe() {
      const { since, until } = this.read();
      const when = (iso) => new Date(iso).toLocaleString();
      return `${since ? `from ${when(since)}` : 'from (no start given)'} ${until ? `to ${when(until)}` : 'until now'}`;
    },
    clearErrors() {
      for (const f of Object.values(fields)) {
        f.error.hidden = true;
        f.input.removeAttribute('aria-invalid');
      }
    },
    // showError puts err next to its field; false when it names none here.
    showError(err) {
      const f = fields[err.field];
      if (!f) return false;
      f.error.textContent = shortMessage(err.message);
      f.error.hidden = false;
      f.input.setAttribute('aria-invalid', 'true');
      f.input.focus();
      return true;
    },
  };
}
