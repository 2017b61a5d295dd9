// hookd's admin UI: a hash router over a few pages. Every page renders into
// <main> and returns a cleanup function that stops its timers.

import { apiKey, clearApiKey } from './api.js';
import { clearNotices, h, notice } from './dom.js';
import { renderSignIn } from './signin.js';
import { renderList } from './webhooks.js';
import { renderForm } from './form.js';
import { renderWebhook } from './webhook.js';
import { renderOverview } from './overview.js';
import { renderNotification, renderNotificationForm, renderNotifications } from './notifications.js';
import { renderErase } from './erase.js';

const main = document.getElementById('main');
let current = null; // {abort: AbortController, cleanup}
let flash = null;

// navigate goes to a route; message is shown once on the page it opens.
export function navigate(hash, { message, kind = 'success', replace = false } = {}) {
  if (message) flash = { message, kind };
  if (replace) {
    history.replaceState(null, '', hash);
    render();
  } else if (location.hash === hash) {
    render();
  } else {
    location.hash = hash;
  }
}

function parse(hash) {
  const raw = hash.replace(/^#/, '') || '/webhooks';
  const [path, qs = ''] = raw.split('?');
  return { parts: path.split('/').filter(Boolean), query: new URLSearchParams(qs) };
}

function route({ parts, query }) {
  if (parts[0] === 'overview' && parts.length === 1) return (page) => renderOverview(page);
  if (parts[0] === 'erase' && parts.length === 1) return (page) => renderErase(page, query);
  if (parts[0] === 'notifications') {
    if (parts.length === 1) return (page) => renderNotifications(page);
    if (parts[1] === 'new' && parts.length === 2) return (page) => renderNotificationForm(page, null);
    if (/^\d+$/.test(parts[1] || '')) {
      if (parts.length === 2) return (page) => renderNotification(page, parts[1], query);
      if (parts.length === 3 && parts[2] === 'edit') return (page) => renderNotificationForm(page, parts[1]);
    }
  }
  if (parts.length === 0 || (parts[0] === 'webhooks' && parts.length === 1)) {
    return (page) => renderList(page, query);
  }
  if (parts[0] === 'webhooks' && parts[1] === 'new' && parts.length === 2) {
    return (page) => renderForm(page, null);
  }
  if (parts[0] === 'webhooks' && /^\d+$/.test(parts[1] || '')) {
    if (parts.length === 2) return (page) => renderWebhook(page, parts[1], query);
    if (parts.length === 3 && parts[2] === 'edit') return (page) => renderForm(page, parts[1]);
  }
  return null;
}

function notFound(page) {
  page.title('Not found');
  page.main.replaceChildren(
    h('h1', { tabindex: '-1' }, 'Page not found'),
    h('p', {}, 'There is no page at this address. ', h('a', { href: '#/webhooks' }, 'Go to the webhooks list'), '.'));
}

function render() {
  if (current) {
    current.abort.abort();
    if (current.cleanup) current.cleanup();
    current = null;
  }
  clearNotices();
  if (flash) {
    notice(flash.message, flash.kind);
    flash = null;
  }
  const signedIn = Boolean(apiKey());
  document.getElementById('nav').hidden = !signedIn;
  document.getElementById('sign-out').hidden = !signedIn;
  const abort = new AbortController();
  const page = {
    main,
    signal: abort.signal,
    get alive() { return !abort.signal.aborted; },
    title(text) { document.title = `${text} · hookd`; },
    // focus moves keyboard and screen reader users to the page's heading
    // after a navigation.
    focus() {
      const h1 = main.querySelector('h1');
      if (h1) {
        h1.setAttribute('tabindex', '-1');
        h1.focus({ preventScroll: true });
      }
    },
    navigate,
  };
  current = { abort };
  main.replaceChildren();
  const { parts, query } = parse(location.hash);
  const section = parts[0] || 'webhooks';
  for (const link of document.querySelectorAll('#nav a')) {
    if (link.id === `nav-${section}`) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  let cleanup;
  if (!signedIn) {
    cleanup = renderSignIn(page, () => render());
  } else {
    const view = route({ parts, query });
    cleanup = view ? view(page) : notFound(page);
  }
  current.cleanup = typeof cleanup === 'function' ? cleanup : null;
}

window.addEventListener('hashchange', render);

window.addEventListener('hookd:unauthorized', () => {
  clearApiKey();
  flash = { message: 'hookd refused the API key of this session: it was revoked or is not an admin key. Sign in again.', kind: 'error' };
  render();
});

document.getElementById('sign-out').addEventListener('click', () => {
  clearApiKey();
  flash = { message: 'Signed out. The key was removed from this browser tab.', kind: 'info' };
  history.replaceState(null, '', '#/webhooks');
  render();
});

render();
