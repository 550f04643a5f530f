// gatehouse portal. Same origin as the API, so it uses cookie mode: the
// refresh token lives only in the HttpOnly cookie the browser keeps; this
// script keeps the access token in memory only (never in storage) and sends
// X-CSRF-Token with every state change. No framework, no build step; every
// piece of server data reaches the page through textContent, never as HTML.
'use strict';

(() => {
  // ---- state: memory only -------------------------------------------------
  const state = {
    access: null,      // access token (JWT), memory only
    csrf: null,        // CSRF token from the last token response
    sessionID: null,
    refreshTimer: 0,
    me: null,
    workspaces: [],
    auditCursor: null,
  };

  const CSRF_COOKIES = ['__Host-gatehouse_csrf', '__Secure-gatehouse_csrf'];
  const SHELL_CACHE_PREFIX = 'gatehouse-shell-';

  const $ = (id) => document.getElementById(id);

  // el builds an element; children are nodes or strings (as text).
  function el(tag, attrs, ...children) {
    const n = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k.startsWith('data-')) n.setAttribute(k, v);
      else n[k] = v;
    }
    for (const c of children) n.append(c instanceof Node ? c : document.createTextNode(String(c ?? '')));
    return n;
  }

  function say(msg, isError) {
    const s = $('status');
    s.textContent = msg || '';
    s.className = isError ? 'error' : '';
  }

  // ---- CSRF token: the token response, else the CSRF cookie ----------------
  function readCSRFCookie() {
    for (const part of document.cookie.split(';')) {
      const i = part.indexOf('=');
      if (i < 0) continue;
      const name = part.slice(0, i).trim();
      if (CSRF_COOKIES.includes(name)) return decodeURIComponent(part.slice(i + 1).trim());
    }
    return null;
  }
  const csrfToken = () => state.csrf || readCSRFCookie();

  // ---- API -----------------------------------------------------------------
  class APIError extends Error {
    constructor(status, code, description) {
      super(description || code || ('HTTP ' + status));
      this.status = status;
      this.code = code;
    }
  }

  // api calls the gatehouse API. It sends the cookie (credentials: include),
  // the access token if there is one, and X-CSRF-Token on every non-GET. On a
  // 401 with an access token it refreshes once and retries.
  async function api(method, path, body, opts) {
    opts = opts || {};
    const headers = { 'Accept': 'application/json' };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (state.access && !opts.noAuth) headers['Authorization'] = 'Bearer ' + state.access;
    if (method !== 'GET') {
      const t = csrfToken();
      if (t) headers['X-CSRF-Token'] = t;
    }
    const res = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'include',
      cache: 'no-store',
      redirect: 'error',
    });
    if (res.status === 401 && state.access && !opts.noAuth && !opts.retried) {
      if (await refresh()) return api(method, path, body, Object.assign({}, opts, { retried: true }));
    }
    if (res.status === 204 || res.status === 202) return null;
    let data = null;
    const ct = res.headers.get('Content-Type') || '';
    if (ct.startsWith('application/json')) data = await res.json().catch(() => null);
    if (!res.ok) {
      let desc = data && data.error_description;
      if (res.status === 429) {
        const after = res.headers.get('Retry-After');
        desc = 'Too many attempts' + (after ? '; try again in ' + after + ' s' : '') + '.';
      }
      throw new APIError(res.status, data && data.error, desc);
    }
    return data;
  }

  // ---- signing in and out ------------------------------------------------
  function accept(tok) {
    state.access = tok.access_token;
    state.sessionID = tok.session_id || null;
    if (tok.csrf_token) state.csrf = tok.csrf_token;
    clearTimeout(state.refreshTimer);
    const secs = Math.max(10, Math.floor((tok.expires_in || 900) * 0.8));
    state.refreshTimer = setTimeout(() => { refresh(); }, secs * 1000);
  }

  let refreshing = null;
  // refresh rotates the refresh cookie; the server answers with a new access
  // token and CSRF token. Concurrent callers share one request.
  function refresh() {
    if (!refreshing) {
      refreshing = api('POST', '/v1/auth/refresh', {}, { noAuth: true })
        .then((tok) => { accept(tok); return true; })
        .catch(async (e) => {
          if (e instanceof APIError && (e.status === 401 || e.status === 403)) await forget();
          return false;
        })
        .finally(() => { refreshing = null; });
    }
    return refreshing;
  }

  // forget clears everything the portal holds: memory, web storage (the
  // portal writes none, but clears it anyway) and any cache other than the
  // service worker's static shell, which holds no user data.
  async function forget() {
    clearTimeout(state.refreshTimer);
    state.access = null;
    state.csrf = null;
    state.sessionID = null;
    state.me = null;
    state.workspaces = [];
    state.auditCursor = null;
    try { sessionStorage.clear(); } catch (_) { /* storage may be disabled */ }
    try { localStorage.clear(); } catch (_) { /* storage may be disabled */ }
    if (window.caches) {
      try {
        for (const k of await caches.keys()) {
          if (!k.startsWith(SHELL_CACHE_PREFIX)) await caches.delete(k);
        }
      } catch (_) { /* no cache storage */ }
    }
    for (const id of ['sessions-body', 'tokens-body', 'audit-body', 'token-workspace', 'audit-workspace', 'token-scopes']) {
      const n = $(id);
      if (id === 'token-scopes') n.replaceChildren(el('legend', {}, 'Scopes'));
      else n.replaceChildren();
    }
    hideNewToken();
    showSignedOut();
  }

  async function signOut() {
    try {
      await api('POST', '/v1/auth/logout', {}, { noAuth: true });
    } catch (e) {
      // The session may be gone already; the local state goes either way.
    }
    await forget();
    say('Signed out.');
  }

  function showSignedOut() {
    $('signed-out').hidden = false;
    $('signed-in').hidden = true;
    $('magic-link').hidden = true;
    $('signout').hidden = true;
    $('whoami').hidden = true;
    document.body.dataset.state = 'signed-out';
  }

  // authorizeNext returns the authorization request to go back to after
  // signing in (/?next=/v1/oauth/authorize?…, set by gatehouse's
  // authorization endpoint), or null. Only that path on this origin is
  // followed, never another page or site (no open redirect).
  function authorizeNext() {
    const next = new URLSearchParams(location.search).get('next');
    if (!next || !next.startsWith('/v1/oauth/authorize?')) return null;
    const u = new URL(next, location.origin);
    return u.origin === location.origin && u.pathname === '/v1/oauth/authorize' ? u.href : null;
  }

  async function showSignedIn() {
    const next = authorizeNext();
    if (next) {
      location.assign(next);
      return;
    }
    $('signed-out').hidden = true;
    $('magic-link').hidden = true;
    $('signed-in').hidden = false;
    $('signout').hidden = false;
    document.body.dataset.state = 'signed-in';
    for (const f of ['signin-form', 'signup-form', 'magic-form', 'workspace-form']) $(f).reset();
    try {
      state.me = await api('GET', '/v1/me');
      $('whoami').textContent = state.me.email || '';
      $('whoami').hidden = false;
    } catch (e) { /* shown by the tab loads */ }
    await loadWorkspaces();
    await openTab('sessions');
  }

  async function signIn(ev) {
    ev.preventDefault();
    const f = ev.target;
    say('Signing in…');
    try {
      const tok = await api('POST', '/v1/auth/token', { email: f.email.value, password: f.password.value }, { noAuth: true });
      f.password.value = '';
      accept(tok);
      say('');
      await showSignedIn();
    } catch (e) {
      f.password.value = '';
      say(e.code === 'invalid_grant' ? 'Wrong email or password.' : e.message, true);
    }
  }

  async function signUp(ev) {
    ev.preventDefault();
    const f = ev.target;
    const email = f.email.value, password = f.password.value;
    say('Creating your account…');
    try {
      await api('POST', '/v1/auth/signup', { email, password }, { noAuth: true });
      const tok = await api('POST', '/v1/auth/token', { email, password }, { noAuth: true });
      f.password.value = '';
      accept(tok);
      say('');
      await showSignedIn();
    } catch (e) {
      f.password.value = '';
      say(e.message, true);
    }
  }

  async function askMagicLink(ev) {
    ev.preventDefault();
    const f = ev.target;
    try {
      await api('POST', '/v1/auth/magic-link', { email: f.email.value }, { noAuth: true });
      say('If that address has an account, a sign-in link is on its way. It works once, for a few minutes.');
      f.reset();
    } catch (e) {
      say(e.message, true);
    }
  }

  // The /magic-link page: take the token from the URL, remove it from the URL
  // and history at once, then post it.
  async function verifyMagicLink() {
    const token = new URLSearchParams(location.search).get('token');
    history.replaceState(null, '', '/magic-link');
    $('signed-out').hidden = true;
    $('magic-link').hidden = false;
    document.body.dataset.state = 'magic-link';
    if (!token) {
      $('magic-title').textContent = 'This sign-in link is incomplete.';
      return;
    }
    try {
      const tok = await api('POST', '/v1/auth/magic-link/verify', { token }, { noAuth: true });
      accept(tok);
      history.replaceState(null, '', '/');
      await showSignedIn();
    } catch (e) {
      $('magic-title').textContent = e.status === 401
        ? 'This sign-in link has expired or was already used.'
        : 'Signing in failed: ' + e.message;
    }
  }

  // ---- formatting ----------------------------------------------------------
  function when(s) {
    if (!s) return '—';
    const d = new Date(s);
    return isNaN(d) ? String(s) : d.toLocaleString();
  }

  function report(e) {
    if (e instanceof APIError && e.status === 401) { forget(); say('Your session ended. Sign in again.', true); return; }
    say(e.message, true);
  }

  // ---- tabs ------------------------------------------------------------------
  async function openTab(name) {
    for (const b of document.querySelectorAll('.tabs button')) {
      b.setAttribute('aria-selected', String(b.dataset.tab === name));
    }
    for (const t of ['sessions', 'tokens', 'audit']) $('tab-' + t).hidden = t !== name;
    try {
      if (name === 'sessions') await loadSessions();
      if (name === 'tokens') await loadTokens();
      if (name === 'audit') await loadAudit(true);
    } catch (e) { report(e); }
  }

  async function loadWorkspaces() {
    try {
      const r = await api('GET', '/v1/workspaces');
      state.workspaces = (r && r.workspaces) || [];
    } catch (e) {
      state.workspaces = [];
    }
    for (const id of ['token-workspace', 'audit-workspace']) {
      $(id).replaceChildren(...state.workspaces.map((w) => el('option', { value: w.id }, w.name || w.id)));
    }
    let scopes = ['profile:read', 'workspaces:read', 'workspaces:write', 'audit:read'];
    try {
      const d = await api('GET', '/.well-known/oauth-authorization-server', undefined, { noAuth: true });
      if (d && Array.isArray(d.scopes_supported) && d.scopes_supported.length) scopes = d.scopes_supported;
    } catch (e) { /* keep the defaults */ }
    $('token-scopes').replaceChildren(el('legend', {}, 'Scopes'), ...scopes.map((s) =>
      el('label', { className: 'check' }, el('input', { type: 'checkbox', name: 'scope', value: s }), ' ' + s)));
  }

  async function createWorkspace(ev) {
    ev.preventDefault();
    const f = ev.target;
    try {
      const ws = await api('POST', '/v1/workspaces', { name: f.name.value });
      f.reset();
      say('Workspace created.');
      await loadWorkspaces();
      for (const id of ['token-workspace', 'audit-workspace']) $(id).value = ws.id;
    } catch (e) { report(e); }
  }

  // ---- sessions --------------------------------------------------------------
  async function loadSessions() {
    const r = await api('GET', '/v1/auth/sessions');
    const rows = ((r && r.sessions) || []).map((s) => {
      const revoke = el('button', { type: 'button', className: 'danger' }, s.current ? 'Sign out here' : 'Revoke');
      revoke.addEventListener('click', () => revokeSession(s));
      return el('tr', { 'data-session': s.id },
        el('td', {}, when(s.created_at)),
        el('td', {}, when(s.last_used_at)),
        el('td', {}, s.ip || '—'),
        el('td', { className: 'ua' }, s.user_agent || '—', s.current ? el('span', { className: 'badge' }, 'this browser') : ''),
        el('td', {}, revoke));
    });
    $('sessions-body').replaceChildren(...rows);
  }

  async function revokeSession(s) {
    if (s.current) return signOut();
    try {
      await api('DELETE', '/v1/auth/sessions/' + encodeURIComponent(s.id));
      say('Session revoked.');
      await loadSessions();
    } catch (e) { report(e); }
  }

  // ---- personal access tokens ----------------------------------------------
  async function loadTokens() {
    const r = await api('GET', '/v1/tokens');
    const rows = ((r && r.tokens) || []).map((t) => {
      const revoke = el('button', { type: 'button', className: 'danger' }, 'Revoke');
      revoke.addEventListener('click', async () => {
        try {
          await api('DELETE', '/v1/tokens/' + encodeURIComponent(t.id));
          say('Token revoked.');
          await loadTokens();
        } catch (e) { report(e); }
      });
      return el('tr', { 'data-token': t.id },
        el('td', {}, t.name || ''),
        el('td', {}, el('code', {}, t.prefix || '')),
        el('td', {}, (t.scopes || []).join(' ')),
        el('td', {}, when(t.expires_at)),
        el('td', {}, when(t.last_used_at)),
        el('td', {}, revoke));
    });
    $('tokens-body').replaceChildren(...rows);
  }

  async function createToken(ev) {
    ev.preventDefault();
    const f = ev.target;
    const body = { name: f.name.value, workspace_id: f.workspace_id.value };
    const scopes = [...f.querySelectorAll('input[name=scope]:checked')].map((c) => c.value);
    if (scopes.length) body.scopes = scopes;
    if (f.expiry.value) body.expires_at = new Date(Date.now() + Number(f.expiry.value) * 86400e3).toISOString();
    try {
      const t = await api('POST', '/v1/tokens', body);
      // Shown once: kept in the DOM until "Done", never in storage.
      $('new-token-value').textContent = t.token;
      $('new-token').hidden = false;
      f.reset();
      await loadTokens();
    } catch (e) { report(e); }
  }

  function hideNewToken() {
    $('new-token-value').textContent = '';
    $('new-token').hidden = true;
  }

  // ---- audit events ----------------------------------------------------------
  async function loadAudit(fresh) {
    const ws = $('audit-workspace').value;
    if (!ws) {
      $('audit-body').replaceChildren(el('tr', {}, el('td', { colSpan: 6 }, 'You are not a member of any workspace.')));
      $('audit-more').hidden = true;
      return;
    }
    if (fresh) state.auditCursor = null;
    const q = new URLSearchParams();
    const type = $('audit-type').value.trim();
    if (type) q.set('type', type);
    if (state.auditCursor) q.set('cursor', state.auditCursor);
    const r = await api('GET', '/v1/workspaces/' + encodeURIComponent(ws) + '/audit-events' + (q.toString() ? '?' + q : ''));
    const rows = ((r && r.events) || []).map((e) => el('tr', {},
      el('td', {}, when(e.time)),
      el('td', {}, el('code', {}, e.type || '')),
      el('td', {}, e.outcome || ''),
      el('td', {}, e.actor || '—'),
      el('td', {}, e.target || '—'),
      el('td', {}, e.ip || '—')));
    if (fresh) $('audit-body').replaceChildren(...rows);
    else $('audit-body').append(...rows);
    state.auditCursor = (r && r.next_cursor) || null;
    $('audit-more').hidden = !state.auditCursor;
  }

  // ---- start -----------------------------------------------------------------
  function wire() {
    $('signin-form').addEventListener('submit', signIn);
    $('signup-form').addEventListener('submit', signUp);
    $('magic-form').addEventListener('submit', askMagicLink);
    $('signout').addEventListener('click', signOut);
    $('token-form').addEventListener('submit', createToken);
    $('workspace-form').addEventListener('submit', createWorkspace);
    $('new-token-done').addEventListener('click', hideNewToken);
    $('new-token-copy').addEventListener('click', () => {
      navigator.clipboard && navigator.clipboard.writeText($('new-token-value').textContent).then(() => say('Copied.'));
    });
    $('audit-form').addEventListener('submit', (ev) => { ev.preventDefault(); loadAudit(true).catch(report); });
    $('audit-more').addEventListener('click', () => loadAudit(false).catch(report));
    for (const b of document.querySelectorAll('.tabs button')) {
      b.addEventListener('click', () => openTab(b.dataset.tab));
    }
  }

  async function start() {
    wire();
    if ('serviceWorker' in navigator) {
      navigator.serviceWorker.register('/sw.js', { scope: '/' }).catch(() => { /* the portal works without it */ });
    }
    if (location.pathname === '/magic-link') {
      await verifyMagicLink();
    } else if (readCSRFCookie() && await refresh()) {
      // A cookie session from an earlier visit: the refresh cookie is
      // HttpOnly, the CSRF cookie beside it says one may exist.
      await showSignedIn();
    } else {
      showSignedOut();
    }
    document.documentElement.dataset.ready = 'true';
  }

  // Exposed for the browser test only: nothing secret.
  window.gatehousePortal = { signedIn: () => state.access !== null };

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
