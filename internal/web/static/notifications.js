// Operational notifications: the operators' subscriptions to hookd's own
// incidents (a webhook disabled, a circuit opened or closed, a delivery
// failed for good, a replay finished). A list, a form to subscribe or
// change one, and a page per subscription with its signing secret and its
// delivery logs.

import { api, shortMessage } from './api.js';
import {
  badge, confirmDialog, emptyState, errorBox, h, id, newerOlderPager, notice, relative, tabList, timeEl,
} from './dom.js';
import { NOTIFICATION_KINDS } from './events.js';
import { attemptEl } from './log.js';
import { secretCard } from './secret.js';

const REFRESH_MS = 5000;
const PER_PAGE = 25;

// KIND_TEXT says when each kind is sent.
const KIND_TEXT = {
  'webhook.disabled': 'hookd disabled a webhook: its receiver answered 410 Gone, or kept failing',
  'circuit.opened': 'a webhook’s circuit opened: its receiver kept failing',
  'circuit.closed': 'a webhook’s circuit closed again',
  'delivery.failed': 'a delivery failed for good (no retry left)',
  'replay.finished': 'a replay of a webhook’s history ended',
};

const kindText = (kind) => KIND_TEXT[kind] || kind;
const stateBadge = (n) => (n.disabled ? badge('Disabled', 'off') : badge('Enabled', 'on'));

// The list ---------------------------------------------------------------------

export function renderNotifications(page) {
  page.title('Notifications');
  const body = h('div', { class: 'list-body' }, h('p', { class: 'loading' }, 'Loading the subscriptions…'));
  page.main.replaceChildren(
    h('div', { class: 'page-head' },
      h('h1', {}, 'Notifications'),
      h('a', { href: '#/notifications/new', class: 'button' }, 'New subscription')),
    h('p', { class: 'hint intro' }, 'hookd tells these URLs of yours (not your customers’ webhooks) when something breaks. ',
      'Each notification is signed and retried like a webhook delivery, and debounced: a failing webhook sends one, not thousands.'),
    body);
  page.focus();

  async function load() {
    let list;
    try {
      list = await api.listNotifications();
    } catch (err) {
      if (!page.alive || err.status === 401) return;
      body.replaceChildren(errorBox('Could not load the subscriptions', err, load));
      return;
    }
    if (!page.alive) return;
    if (list.length === 0) {
      body.replaceChildren(emptyState('No subscriptions yet',
        'Subscribe a URL of your team’s (a chat hook, an incident tool) to hear of disabled webhooks, open circuits and failed deliveries.',
        h('a', { href: '#/notifications/new', class: 'button' }, 'Subscribe a URL')));
      return;
    }
    body.replaceChildren(h('div', { class: 'table-wrap' }, h('table', { class: 'notifications' },
      h('caption', { class: 'visually-hidden' }, 'Subscriptions to operational notifications'),
      h('thead', {}, h('tr', {},
        h('th', { scope: 'col', class: 'col-url' }, 'URL'),
        h('th', { scope: 'col', class: 'col-kinds' }, 'Kinds'),
        h('th', { scope: 'col', class: 'col-state' }, 'State'),
        h('th', { scope: 'col', class: 'col-created' }, 'Created'))),
      h('tbody', {}, list.map((n) => h('tr', { 'data-notification-id': n.id },
        h('th', { scope: 'row', class: 'url' }, h('a', { href: `#/notifications/${n.id}`, class: 'truncate', title: n.url }, n.url)),
        h('td', { 'data-label': 'Kinds' }, n.kinds.length === NOTIFICATION_KINDS.length
          ? 'Every kind'
          : n.kinds.map((k, i) => [i ? ', ' : '', h('code', {}, k)])),
        h('td', { 'data-label': 'State' }, stateBadge(n)),
        h('td', { 'data-label': 'Created' }, timeEl(n.created_at))))))));
  }

  load();
}

// The form ---------------------------------------------------------------------

// renderNotificationForm subscribes a URL (notificationID null) or changes
// a subscription's URL and kinds.
export function renderNotificationForm(page, notificationID) {
  page.title(notificationID ? 'Edit subscription' : 'New subscription');
  if (!notificationID) {
    buildForm(page, null);
    return;
  }
  page.main.replaceChildren(h('p', { class: 'loading' }, 'Loading…'));
  api.getNotification(notificationID).then((n) => {
    if (page.alive) buildForm(page, n);
  }).catch((err) => {
    if (!page.alive || err.status === 401) return;
    page.main.replaceChildren(h('h1', {}, 'Edit subscription'),
      errorBox(err.status === 404 ? 'This subscription does not exist' : 'Could not load the subscription', err,
        err.status === 404 ? null : () => renderNotificationForm(page, notificationID)),
      h('p', {}, h('a', { href: '#/notifications' }, 'Back to the notifications')));
  });
}

function buildForm(page, n) {
  const urlID = id('notification-url');
  const url = h('input', { type: 'url', id: urlID, name: 'url', autocomplete: 'off', spellcheck: 'false', value: n?.url ?? '', placeholder: 'https://ops.example.com/hookd' });
  const urlError = h('p', { class: 'field-error', id: `${urlID}-error`, hidden: true });
  url.setAttribute('aria-describedby', `${urlError.id} ${urlID}-hint`);
  const boxes = NOTIFICATION_KINDS.map((kind) => {
    const boxID = id('kind');
    const box = h('input', { type: 'checkbox', id: boxID, name: 'kinds', value: kind, checked: n ? n.kinds.includes(kind) : true });
    return { kind, box, el: h('li', {}, box, h('label', { for: boxID }, h('code', {}, kind), ': ', kindText(kind))) };
  });
  const kindsError = h('p', { class: 'field-error', id: id('kinds-error'), hidden: true });
  const summary = h('div', { class: 'notice notice-error', role: 'alert', tabindex: '-1', hidden: true });
  const submit = h('button', { type: 'submit' }, n ? 'Save changes' : 'Subscribe');
  const errors = {
    url: { error: urlError, focus: () => url.focus(), inputs: [url] },
    kinds: { error: kindsError, focus: () => boxes[0].box.focus(), inputs: boxes.map((b) => b.box) },
  };

  function clearErrors() {
    summary.hidden = true;
    for (const f of Object.values(errors)) {
      f.error.hidden = true;
      for (const input of f.inputs) input.removeAttribute('aria-invalid');
    }
  }

  async function save(ev) {
    ev.preventDefault();
    clearErrors();
    const kinds = boxes.filter((b) => b.box.checked).map((b) => b.kind);
    const body = {};
    if (!n || url.value.trim() !== n.url) body.url = url.value.trim();
    if (!n || kinds.join() !== n.kinds.join()) body.kinds = kinds;
    if (n && Object.keys(body).length === 0) {
      page.navigate(`#/notifications/${n.id}`, { message: 'Nothing to save: the subscription is as it was.', kind: 'info' });
      return;
    }
    submit.disabled = true;
    try {
      const saved = n ? await api.updateNotification(n.id, body) : await api.createNotification(body);
      if (!page.alive) return;
      page.navigate(`#/notifications/${saved.id}`, { message: n ? 'Changes saved.' : ['Subscribed ', saved.url, '.'] });
    } catch (err) {
      if (!page.alive || err.status === 401) return;
      submit.disabled = false;
      const f = err.field ? errors[err.field] : null;
      if (f) {
        f.error.textContent = shortMessage(err.message);
        f.error.hidden = false;
        for (const input of f.inputs) input.setAttribute('aria-invalid', 'true');
        f.focus();
      } else {
        summary.replaceChildren(h('p', {}, 'Not saved: ', h('strong', {}, shortMessage(err.message))));
        summary.hidden = false;
        summary.focus();
      }
    }
  }

  const cancelHref = n ? `#/notifications/${n.id}` : '#/notifications';
  page.main.replaceChildren(
    h('nav', { class: 'breadcrumbs', 'aria-label': 'Breadcrumb' },
      h('a', { href: '#/notifications' }, 'Notifications'), ' / ',
      n ? [h('a', { href: cancelHref, class: 'truncate', title: n.url }, n.url), ' / '] : null,
      h('span', { 'aria-current': 'page' }, n ? 'Edit' : 'New')),
    h('h1', {}, n ? 'Edit subscription' : 'New subscription'),
    h('form', { class: 'notification-form', novalidate: true, onsubmit: save },
      summary,
      h('section', { class: 'card' },
        h('div', { class: 'field', 'data-field': 'url' },
          h('label', { for: urlID }, 'URL'), url,
          h('p', { class: 'hint', id: `${urlID}-hint` }, 'Where hookd posts its notifications, signed with the subscription’s own secret. http or https.'),
          urlError),
        h('fieldset', { class: 'kinds', 'data-field': 'kinds', 'aria-describedby': kindsError.id },
          h('legend', {}, 'Kinds'),
          h('p', { class: 'hint' }, 'What to hear about. Choose at least one.'),
          h('ul', { class: 'plain-list kind-list' }, boxes.map((b) => b.el)),
          kindsError)),
      h('div', { class: 'actions' }, submit, h('a', { href: cancelHref, class: 'button secondary' }, 'Cancel'))));
  page.focus();
}

// A subscription's page -----------------------------------------------------------

const LOGS = { success: 'Delivered', failed: 'Failed and retrying' };

export function renderNotification(page, notificationID, query) {
  page.title('Subscription');
  const state = {
    n: null,
    key: null,
    tab: query.get('tab') === 'failed' ? 'failed' : 'success',
    page: Math.max(1, parseInt(query.get('page') || '1', 10) || 1),
    logKey: null,
  };
  let timer = null;
  const heading = h('h1', {});
  const badgeSlot = h('span', {});
  const headActions = h('div', { class: 'head-actions' });
  const summary = h('dl', { class: 'summary' });
  const secretSection = h('section', { class: 'card', 'aria-labelledby': 'sec-secret' });
  const logBody = h('div', { class: 'log-body' }, h('p', { class: 'loading' }, 'Loading…'));
  const pager = h('nav', { class: 'pager', 'aria-label': 'Log pages' });
  const logTabs = tabList({
    label: 'Logs', choices: Object.entries(LOGS), selected: state.tab,
    onSelect: (key) => {
      state.tab = key;
      openPage(1);
    },
  }, logBody, pager);

  function syncAddress() {
    const q = new URLSearchParams();
    if (state.tab === 'failed') q.set('tab', 'failed');
    if (state.page > 1) q.set('page', String(state.page));
    const qs = q.toString();
    history.replaceState(null, '', `#/notifications/${notificationID}${qs ? '?' + qs : ''}`);
  }

  function openPage(n) {
    state.page = n;
    state.logKey = null;
    syncAddress();
    logBody.replaceChildren(h('p', { class: 'loading' }, 'Loading…'));
    loadLog();
  }

  function render(n) {
    state.n = n;
    const key = JSON.stringify(n);
    if (key === state.key) return;
    state.key = key;
    heading.textContent = n.url;
    page.title(`Notifications to ${n.url}`);
    badgeSlot.replaceChildren(stateBadge(n));
    const focused = [...headActions.children].indexOf(document.activeElement);
    headActions.replaceChildren(
      h('a', { href: `#/notifications/${n.id}/edit`, class: 'button secondary' }, 'Edit'),
      n.disabled
        ? h('button', { type: 'button', onclick: () => setDisabled(false) }, 'Enable')
        : h('button', { type: 'button', class: 'secondary', onclick: () => setDisabled(true) }, 'Disable'),
      h('button', { type: 'button', class: 'danger-outline', onclick: remove }, 'Delete'));
    if (focused >= 0) headActions.children[focused].focus();
    const item = (term, ...desc) => [h('dt', {}, term), h('dd', {}, ...desc)];
    summary.replaceChildren(
      ...item('URL', h('span', { class: 'method' }, 'POST'), ' ', h('span', { class: 'break' }, n.url)),
      ...item('Kinds', h('ul', { class: 'plain-list kind-list' }, n.kinds.map((k) => h('li', {}, h('code', {}, k), ': ', kindText(k))))),
      ...item('State', n.disabled
        ? 'Disabled: its notifications wait, and go out once it is enabled again.'
        : 'Enabled: notifications go out as incidents happen.'),
      ...item('Created', timeEl(n.created_at, { exact: true })),
      ...item('Updated', timeEl(n.updated_at, { exact: true })));
  }

  async function loadLog() {
    const { tab, page: pageNo } = state;
    let entries;
    try {
      entries = await api.notificationLog(notificationID, tab === 'success', pageNo, PER_PAGE);
    } catch (err) {
      if (!page.alive || err.status === 401) return;
      state.logKey = null;
      logBody.replaceChildren(errorBox('Could not load the log', err, loadLog));
      return;
    }
    if (!page.alive || tab !== state.tab || pageNo !== state.page) return;
    newerOlderPager(pager, pageNo, entries.length === PER_PAGE, (n) => {
      openPage(n);
      logTabs.button(state.tab).scrollIntoView({ block: 'nearest' });
    });
    const key = JSON.stringify(entries);
    if (key === state.logKey) {
      for (const t of logBody.querySelectorAll('time[data-relative]')) t.textContent = relative(t.dateTime);
      return;
    }
    state.logKey = key;
    const open = new Set([...logBody.querySelectorAll('details[open]')].map((d) => d.dataset.key));
    if (entries.length === 0) {
      logBody.replaceChildren(tab === 'success'
        ? emptyState(pageNo > 1 ? 'No older notifications' : 'No notification delivered yet',
          'Notifications that this URL accepted (a 2xx answer) appear here, once something happens.')
        : emptyState(pageNo > 1 ? 'No older attempts' : 'No failed attempt',
          'Attempts that time out, cannot connect or get an answer other than 2xx appear here.'));
      return;
    }
    logBody.replaceChildren(h('ol', { class: 'entries', 'aria-label': `${LOGS[tab]}: attempts, latest first` },
      entries.map((e) => {
        const when = timeEl(e.created_at);
        when.dataset.relative = '';
        return h('li', {}, h('article', { class: `entry ${e.error_class ? 'entry-fail' : 'entry-ok'}` },
          h('div', { class: 'entry-head' },
            h('strong', { class: 'entry-event' }, e.event),
            h('span', { class: 'entry-time' }, when)),
          h('p', { class: 'ids muted' }, 'webhook-id ', h('code', {}, e.message_id), ' · delivery ', String(e.delivery_id)),
          e.next_attempt_at ? h('p', { class: 'entry-next' },
            Date.parse(e.next_attempt_at) > Date.now() ? 'Next attempt ' : 'Its next attempt was due ',
            timeEl(e.next_attempt_at, { exact: true }), '.') : null,
          attemptEl(e)));
      })));
    for (const d of logBody.querySelectorAll('details')) if (open.has(d.dataset.key)) d.open = true;
  }

  async function refresh() {
    clearTimeout(timer);
    if (!document.hidden) {
      try {
        render(await api.getNotification(notificationID));
        if (state.page === 1) await loadLog();
      } catch (err) {
        if (!page.alive || err.status === 401) return;
        if (err.status === 404) {
          page.navigate('#/notifications', { message: 'This subscription was deleted.', kind: 'info' });
          return;
        }
        notice(`Could not refresh the subscription: ${err.message}`, 'error');
      }
    }
    if (page.alive) timer = setTimeout(refresh, REFRESH_MS);
  }

  async function setDisabled(disabled) {
    if (disabled) {
      const ok = await confirmDialog({
        title: 'Disable these notifications?',
        text: [state.n.url, ' gets no notification until it is enabled again; the ones due meanwhile wait and go out then.'],
        action: 'Disable notifications',
      });
      if (!ok || !page.alive) return;
    }
    try {
      render(await api.updateNotification(notificationID, { disabled }));
      notice(disabled ? 'Notifications disabled.' : 'Notifications enabled.', 'success');
      headActions.querySelector('button')?.focus();
    } catch (err) {
      if (err.status !== 401) notice(`Could not ${disabled ? 'disable' : 'enable'} the notifications: ${err.message}`, 'error');
    }
  }

  async function remove() {
    const ok = await confirmDialog({
      title: 'Delete this subscription?',
      text: [state.n.url, ' gets no more notifications; the ones waiting, its secret and its logs are deleted. This cannot be undone.'],
      action: 'Delete subscription',
      danger: true,
    });
    if (!ok || !page.alive) return;
    try {
      await api.deleteNotification(notificationID);
      page.navigate('#/notifications', { message: ['The subscription of ', state.n.url, ' was deleted.'] });
    } catch (err) {
      if (err.status !== 401) notice(`Could not delete the subscription: ${err.message}`, 'error');
    }
  }

  page.main.replaceChildren(h('p', { class: 'loading' }, 'Loading the subscription…'));
  api.getNotification(notificationID).then((n) => {
    if (!page.alive) return;
    render(n);
    secretCard(secretSection, {
      headingID: 'sec-secret',
      hint: 'Check the webhook-signature header (Standard Webhooks) of each notification with this secret.',
      load: () => api.notificationSecret(notificationID),
      alive: () => page.alive,
    });
    page.main.replaceChildren(
      h('nav', { class: 'breadcrumbs', 'aria-label': 'Breadcrumb' },
        h('a', { href: '#/notifications' }, 'Notifications'), ' / ',
        h('span', { 'aria-current': 'page', class: 'truncate', title: n.url }, n.url)),
      h('div', { class: 'page-head' }, h('div', { class: 'title' }, heading, badgeSlot), headActions),
      h('section', { class: 'card', 'aria-label': 'Subscription' }, summary),
      secretSection,
      h('section', { class: 'card', 'aria-labelledby': 'sec-logs' },
        h('h2', { id: 'sec-logs' }, 'Notifications sent'),
        logTabs.list, logTabs.panel));
    page.focus();
    loadLog().then(() => { if (page.alive) timer = setTimeout(refresh, REFRESH_MS); });
  }).catch((err) => {
    if (!page.alive || err.status === 401) return;
    page.main.replaceChildren(
      h('h1', {}, err.status === 404 ? 'Subscription not found' : 'Subscription'),
      err.status === 404
        ? emptyState('This subscription does not exist', 'It may have been deleted.', h('a', { href: '#/notifications', class: 'button secondary' }, 'Back to the notifications'))
        : errorBox('Could not load the subscription', err, () => page.navigate(location.hash)));
    page.focus();
  });

  return () => clearTimeout(timer);
}
