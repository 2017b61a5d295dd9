// The hookd API as the UI calls it: the same public endpoints as every
// other client, authenticated with the admin key in X-API-KEY.

const KEY = 'hookd.apiKey';

// The key lives in sessionStorage: this tab only, gone when it closes.
export function apiKey() {
  return sessionStorage.getItem(KEY);
}

export function setApiKey(key) {
  sessionStorage.setItem(KEY, key);
}

export function clearApiKey() {
  sessionStorage.removeItem(KEY);
}

// ApiError is an answer other than 200, or no answer at all (status 0).
export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
  }

  // field names the parameter a 422 is about ("http_url", "header_key"),
  // following Apipie's wording: "Missing parameter X" and
  // "Invalid parameter 'X' value ...".
  get field() {
    const m = /^Missing parameter (\S+)/.exec(this.message) ||
      /^Invalid parameter '([^']+)'/.exec(this.message);
    return m ? m[1] : null;
  }
}

// shortMessage keeps an API message readable: the rules that list all 123
// event names are cut to a summary.
export function shortMessage(message) {
  return String(message)
    .replace(/Must be an array of \[[^\]]*\]/, 'Must be a non-empty array of trigger event names (choose at least one event)')
    .replace(/Must be one of: ASSET_[A-Z0-9_, ]+$/, 'Must be one of the trigger event names')
    // A refused filter: CEL's message and position, without the
    // expression again (it is in the field, and may be long).
    .replace(/^Invalid parameter 'filter' value [\s\S]*: Must be a CEL expression over event, project_id, user_id and data, true for the events to deliver: /,
      'Not a valid filter: ');
}

export async function request(method, path, body, key = apiKey()) {
  return (await call(method, path, body, key)).data;
}

// call is request that also gives the answer's headers.
async function call(method, path, body, key = apiKey()) {
  const headers = { 'Accept': 'application/json' };
  if (key) headers['X-API-KEY'] = key;
  const init = { method, headers, cache: 'no-store', credentials: 'omit' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch {
    throw new ApiError(0, 'Could not reach hookd. Check that it is running and that this computer can reach it, then try again.');
  }
  const text = await res.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!res.ok) {
    const message = data && typeof data.error === 'string'
      ? data.error
      : `hookd answered ${res.status} ${res.statusText}`.trim();
    if (res.status === 401 && key === apiKey()) {
      window.dispatchEvent(new CustomEvent('hookd:unauthorized'));
    }
    throw new ApiError(res.status, message);
  }
  if (data === null) throw new ApiError(res.status, 'hookd answered with something other than JSON.');
  return { data, headers: res.headers };
}

const base = '/api/v2/admin';
const hook = (id) => `${base}/webhooks/${encodeURIComponent(id)}`;
const notification = (id) => `${base}/notifications/${encodeURIComponent(id)}`;

export const api = {
  // verifyKey checks a key before it is kept: any admin route will do,
  // and a page of one project costs the least.
  verifyKey: (key) => request('GET', `${base}/projects?limit=1`, undefined, key),

  // listWebhooks reads a page of the webhooks that pass filter, and how
  // many pass it in all (the X-Total-Count header).
  async listWebhooks(filter = {}, page = 1, perPage = 25) {
    const q = new URLSearchParams();
    if (filter.project) q.set('project_id', filter.project);
    if (filter.noProject) q.set('no_project', 'true');
    if (filter.disabled !== undefined) q.set('disabled', String(filter.disabled));
    if (filter.health) q.set('health', filter.health);
    if (filter.search) q.set('q', filter.search);
    if (filter.sort) q.set('sort', filter.sort);
    q.set('page', String(page));
    q.set('per_page', String(perPage));
    const { data, headers } = await call('GET', `${base}/webhooks?${q}`);
    return { webhooks: data.webhooks, total: Number(headers.get('X-Total-Count')) };
  },
  stats: () => request('GET', `${base}/webhooks/stats`).then((r) => r.stats),
  webhookStats: (id) => request('GET', `${hook(id)}/stats`).then((r) => r.stats),
  deliveries: (id, states, page = 1, perPage = 25) =>
    request('GET', `${hook(id)}/deliveries?state=${states.join(',')}&page=${page}&per_page=${perPage}`).then((r) => r.deliveries),
  delivery: (id, deliveryID) => request('GET', `${hook(id)}/deliveries/${encodeURIComponent(deliveryID)}`),
  getWebhook: (id) => request('GET', hook(id)).then((r) => r.webhook),
  createWebhook: (body) => request('POST', `${base}/webhooks`, body).then((r) => r.webhook),
  updateWebhook: (id, body) => request('POST', hook(id), body).then((r) => r.webhook),
  deleteWebhook: (id) => request('DELETE', hook(id)),

  addHeader: (id, body) => request('POST', `${hook(id)}/webhook_headers`, body).then((r) => r.webhook_header),
  updateHeader: (id, headerID, body) =>
    request('POST', `${hook(id)}/webhook_headers/${headerID}`, body).then((r) => r.webhook_header),
  deleteHeader: (id, headerID) => request('DELETE', `${hook(id)}/webhook_headers/${headerID}`),

  addUser: (id, userID) => request('POST', `${hook(id)}/webhook_users`, { user_id: userID }).then((r) => r.webhook_user),
  deleteUser: (id, webhookUserID) => request('DELETE', `${hook(id)}/webhook_users/${webhookUserID}`),

  getSecret: (id) => request('GET', `${hook(id)}/secret`).then((r) => r.secret),
  rotateSecret: (id) => request('POST', `${hook(id)}/secret/rotate`).then((r) => r.secret),
  sendTest: (id, event) => request('POST', `${hook(id)}/test`, event ? { event } : {}).then((r) => r.event),
  retry: (id, range = {}) => request('POST', `${hook(id)}/retry`, range).then((r) => r.requeued),
  getCircuit: (id) => request('GET', `${hook(id)}/circuit`).then((r) => r.circuit),
  probeCircuit: (id) => request('POST', `${hook(id)}/circuit/probe`).then((r) => r.circuit),
  startReplay: (id, body) => request('POST', `${hook(id)}/replays`, body).then((r) => r.replay),
  replays: (id) => request('GET', `${hook(id)}/replays`).then((r) => r.replays),
  cancelReplay: (id, replayID) => request('DELETE', `${hook(id)}/replays/${encodeURIComponent(replayID)}`).then((r) => r.replay),
  // retryFailed re-queues every webhook's deliveries that failed for good
  // with a last attempt in [since, until).
  retryFailed: (range) => request('POST', `${base}/webhooks/retry_failed`, range).then((r) => r.requeued),
  getSettings: (id) => request('GET', `${hook(id)}/settings`).then((r) => r.settings),
  updateSettings: (id, change) => request('POST', `${hook(id)}/settings`, { settings: change }).then((r) => r.settings),

  // listProjects reads a page of the registry, oldest first: at most limit
  // (hookd's default 100) projects whose id or title contains q, from the
  // one after the project after. A registry may hold 100,000 projects:
  // never ask for all of them.
  listProjects({ q, limit, after } = {}) {
    const params = new URLSearchParams();
    if (q) params.set('q', q);
    if (limit) params.set('limit', String(limit));
    if (after) params.set('after', after);
    const qs = params.toString();
    return request('GET', `${base}/projects${qs ? '?' + qs : ''}`).then((r) => r.projects);
  },
  // getProject reads one project of the registry (404 when it is not in
  // it), in MediaPocket's shape.
  getProject: (id) => request('GET', `/api/v2/projects/${encodeURIComponent(id)}`).then((r) => r.project),

  // Operational notifications' subscriptions.
  listNotifications: () => request('GET', `${base}/notifications`).then((r) => r.notifications),
  getNotification: (id) => request('GET', notification(id)).then((r) => r.notification),
  createNotification: (body) => request('POST', `${base}/notifications`, body).then((r) => r.notification),
  updateNotification: (id, change) => request('POST', notification(id), change).then((r) => r.notification),
  deleteNotification: (id) => request('DELETE', notification(id)),
  notificationSecret: (id) => request('GET', `${notification(id)}/secret`).then((r) => r.secret),
  // notificationLog reads a page of a subscription's success or failed
  // log: its attempts, latest first.
  notificationLog: (id, success, page = 1, perPage = 25) =>
    request('GET', `${notification(id)}/${success ? 'success' : 'failed'}?page=${page}&per_page=${perPage}`)
      .then((r) => (success ? r.success_log : r.failed_log)),

  // erase clears the data of an event, or of every event of a project or
  // a user (scope "events", "projects" or "users").
  erase: (scope, id) => request('POST', `${base}/${scope}/${encodeURIComponent(id)}/erase`).then((r) => r.erased),
};
