// The sign-in page: an admin API key, checked against the API and kept in
// sessionStorage for this tab only.

import { api, setApiKey } from './api.js';
import { h, id } from './dom.js';

export function renderSignIn(page, done) {
  page.title('Sign in');
  const inputID = id('api-key');
  const errorID = id('api-key-error');
  const input = h('input', {
    id: inputID, name: 'api_key', type: 'password', autocomplete: 'off', spellcheck: 'false',
    autocapitalize: 'off', 'aria-describedby': `${errorID} ${inputID}-hint`, placeholder: 'prefix.secret',
  });
  const error = h('p', { id: errorID, class: 'field-error', hidden: true });
  const button = h('button', { type: 'submit' }, 'Sign in');

  const showError = (message) => {
    error.textContent = message;
    error.hidden = false;
    input.setAttribute('aria-invalid', 'true');
    input.focus();
  };

  const form = h('form', { class: 'card signin', novalidate: true, onsubmit: async (ev) => {
    ev.preventDefault();
    const key = input.value.trim();
    if (!/^[^.\s]+\.\S+$/.test(key)) {
      showError(key ? 'An API key looks like <prefix>.<secret>: check that you pasted all of it.' : 'Enter an admin API key.');
      return;
    }
    button.disabled = true;
    button.textContent = 'Signing in…';
    try {
      await api.verifyKey(key);
      setApiKey(key);
      done();
    } catch (err) {
      button.disabled = false;
      button.textContent = 'Sign in';
      if (!page.alive) return;
      showError(err.status === 401
        ? 'hookd refused this key: it is unknown, revoked, or not an admin key.'
        : err.message);
    }
  } },
  h('h1', {}, 'Sign in to hookd'),
  h('p', {}, 'Manage webhooks, read their delivery logs and retry failed deliveries.'),
  h('div', { class: 'field' },
    h('label', { for: inputID }, 'Admin API key'),
    input,
    error,
    h('p', { class: 'hint', id: `${inputID}-hint` },
      'The key stays in this browser tab only (session storage) and is sent to hookd\'s API as X-API-KEY. ',
      'Create one with ', h('code', {}, 'hookd keys create --name ui --admin'), '.')),
  h('div', { class: 'actions' }, button));

  page.main.replaceChildren(form);
  input.focus();
}
