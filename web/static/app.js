// gatehouse portal: the core. Same origin as the API, so it uses cookie mode:
// the refresh token lives only in the HttpOnly cookie the browser keeps; this
// script keeps the access token in memory only (never in storage) and sends
// X-CSRF-Token with every state change. No framework, no build step; every
// piece of server data reaches the page through textContent, never as HTML.
//
// This file holds what every page shares: the API client, signing in and
// out, a small hash router, the navigation and UI helpers. Each page is its
// own file (page-*.js) that calls window.gatehouse.registerPage (or
// registerSecuritySection, registerWorkspaceTab, registerLinkPage); see
// docs/portal.md, "Adding a page".
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
  };

  const CSRF_COOKIES = ['__Host-gatehouse_csrf', '__Secure-gatehouse_csrf'];
  const SHELL_CACHE_PREFIX = 'gatehouse-shell-';

  const $ = (id) => document.getElementById(id);

  // el builds an element; children are nodes or strings (as text). Attributes
  // named data-*, aria-* or role are set as attributes, the rest as properties.
  function el(tag, attrs, ...children) {
    const n = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k.startsWith('data-') || k.startsWith('aria-') || k === 'role' || k === 'for') n.setAttribute(k, v);
      else n[k] = v;
    }
    for (const c of children.flat()) {
      if (c === undefined || c === null || c === false) continue;
      n.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return n;
  }

  let sayTimer = 0;
  // say shows a short message in the live region (read by screen readers).
  function say(msg, isError) {
    const s = $('status');
    s.textContent = msg || '';
    s.className = 'live' + (isError ? ' error' : '');
    clearTimeout(sayTimer);
    if (msg && !isError) sayTimer = setTimeout(() => { s.textContent = ''; }, 6000);
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
    if (res.status === 204) return null;
    let data = null;
    const ct = res.headers.get('Content-Type') || '';
    if (ct.startsWith('application/json')) data = await res.json().catch(() => null);
    if (!res.ok) {
      // Error hooks (onAPIError) may answer instead: a second factor at
      // sign-in, re-authentication before a sensitive change (signin-mfa.js).
      for (const h of errorHooks) { const r = await h({ status: res.status, data, method, path, body, opts }); if (r !== undefined) return r; }
      let desc = data && data.error_description;
      if (res.status === 429) {
        const after = res.headers.get('Retry-After');
        desc = 'Too many attempts' + (after ? '; try again in ' + after + ' s' : '') + '.';
      }
      throw new APIError(res.status, data && data.error, desc);
    }
    return data;
  }

  // errorHooks run on every failed API answer, in order; the first that
  // returns something other than undefined answers the call instead.
  const errorHooks = [];
  const onAPIError = (h) => { errorHooks.push(h); };

  // missing reports whether an error means this gatehouse has no such route
  // (an older server): 404 not_found or 405 on the route itself.
  const missing = (e) => e instanceof APIError && (e.status === 405 || (e.status === 404 && e.code === 'not_found' && e.message === 'not found'));

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
  // portal writes none, but clears it anyway), the rendered pages, and any
  // cache other than the service worker's static shell (no user data).
  async function forget() {
    clearTimeout(state.refreshTimer);
    state.access = null;
    state.csrf = null;
    state.sessionID = null;
    state.me = null;
    state.workspaces = [];
    try { sessionStorage.clear(); } catch (_) { /* storage may be disabled */ }
    try { localStorage.clear(); } catch (_) { /* storage may be disabled */ }
    if (window.caches) {
      try {
        for (const k of await caches.keys()) {
          if (!k.startsWith(SHELL_CACHE_PREFIX)) await caches.delete(k);
        }
      } catch (_) { /* no cache storage */ }
    }
    $('view').replaceChildren();
    $('nav').replaceChildren();
    $('whoami').textContent = '';
    if (!linkActive) showSignedOut();
  }

  async function signOut() {
    try {
      await api('POST', '/v1/auth/logout', {}, { noAuth: true });
    } catch (e) {
      // The session may be gone already; the local state goes either way.
    }
    await forget();
    if (location.hash) history.replaceState(null, '', location.pathname + location.search);
    showSignedOut();
    say('Signed out.');
  }

  // show makes one of the top-level views visible.
  function show(id) {
    for (const v of ['signed-out', 'forgot', 'signup', 'link-page', 'signed-in', 'not-found']) $(v).hidden = v !== id;
    $('bar').hidden = id !== 'signed-in';
  }

  function showSignedOut() {
    const r = location.hash.replace(/^#/, '');
    if (r === '/forgot') show('forgot');
    else if (r === '/signup') show('signup');
    else show('signed-out');
    const next = authorizeNext();
    $('signin-why').hidden = !next;
    $('signin-why').textContent = next ? 'Sign in to continue to the application that sent you here.' : '';
    if (next && signInAgain()) $('signin-why').textContent = 'The application asks you to sign in again to continue.';
    fillLoginHint();
    document.body.dataset.state = 'signed-out';
  }

  // signInAgain reports whether the authorization endpoint asked for a new
  // sign-in (/?prompt=login&next=…: OpenID Connect prompt=login or
  // max_age): the form is shown even with a session, and only a new
  // sign-in goes back to the request (httpapi/authorize.go signInFirst).
  function signInAgain() {
    return new URLSearchParams(location.search).get('prompt') === 'login' && authorizeNext() !== null;
  }

  // fillLoginHint puts the request's login_hint (an address) into the
  // empty email field, once, and moves the focus to the password.
  function fillLoginHint() {
    const hint = new URLSearchParams(location.search).get('login_hint');
    const email = $('signin-email');
    if (!hint || email.value || hint.length > 254 || !authorizeNext()) return;
    email.value = hint;
    $('signin-password').focus();
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

  // showSignedIn loads who the person is and their workspaces, then shows
  // the page the hash names. An emailed-link page stays where it is.
  async function showSignedIn() {
    const next = authorizeNext();
    if (next) {
      location.assign(next);
      return;
    }
    for (const f of ['signin-form', 'signup-form', 'magic-form', 'forgot-form']) $(f).reset();
    try {
      state.me = await api('GET', '/v1/me');
      $('whoami').textContent = state.me.email || '';
    } catch (e) { /* shown by the pages */ }
    await loadWorkspaces();
    if (linkActive) {
      linkActive.refresh();
      return;
    }
    if (location.pathname !== '/') history.replaceState(null, '', '/' + location.hash);
    show('signed-in');
    document.body.dataset.state = 'signed-in';
    await route();
  }

  async function loadWorkspaces() {
    try {
      const r = await api('GET', '/v1/workspaces');
      state.workspaces = (r && r.workspaces) || [];
    } catch (e) {
      state.workspaces = [];
    }
  }

  // ---- form helpers ----------------------------------------------------------
  // fieldError shows msg next to a form field (or clears it) and marks the
  // field invalid for assistive technology.
  function fieldError(input, msg) {
    const p = $(input.id + '-error');
    input.setAttribute('aria-invalid', msg ? 'true' : 'false');
    if (p) {
      p.textContent = msg || '';
      p.hidden = !msg;
    }
  }

  function clearErrors(form) {
    for (const i of form.querySelectorAll('input, select, textarea')) if (i.id) fieldError(i, '');
  }

  // validate checks the form's fields with the browser's own rules and
  // shows each problem in words next to its field; focus goes to the first.
  function validate(form) {
    clearErrors(form);
    let first = null;
    for (const i of form.querySelectorAll('input, select, textarea')) {
      if (!i.id || i.type === 'hidden' || i.type === 'checkbox') continue;
      let msg = '';
      const label = (form.querySelector('label[for="' + i.id + '"]') || {}).textContent || 'This field';
      if (i.validity.valueMissing) msg = label.trim() + ' is required.';
      else if (i.validity.typeMismatch && i.type === 'email') msg = 'Enter an address like name@example.com.';
      else if (i.validity.tooShort) msg = 'Use at least ' + i.minLength + ' characters (now ' + i.value.length + ').';
      else if (i.validity.tooLong) msg = 'Use at most ' + i.maxLength + ' characters.';
      else if (!i.validity.valid) msg = i.validationMessage;
      if (msg) {
        fieldError(i, msg);
        first = first || i;
      }
    }
    if (first) first.focus();
    return !first;
  }

  // busy runs fn with the button marked busy (disabled, aria-busy).
  async function busy(button, fn) {
    if (!button) return fn();
    button.disabled = true;
    button.setAttribute('aria-busy', 'true');
    try {
      return await fn();
    } finally {
      button.disabled = false;
      button.removeAttribute('aria-busy');
    }
  }

  // submitter returns a form's submit button.
  const submitter = (form) => form.querySelector('button[type=submit]');

  // onSubmit wires a form: validation, a busy button, and errors shown next
  // to the field named by errorField(e) (or in the live region).
  function onSubmit(form, fn, errorField) {
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      if (!validate(form)) return;
      await busy(submitter(form), async () => {
        try {
          await fn(form);
        } catch (e) {
          const f = errorField && errorField(e, form);
          if (f) {
            fieldError(f, e.message);
            f.focus();
          } else report(e);
        }
      });
    });
  }

  // confirm asks a question in words in a modal dialog (Escape cancels);
  // with typed, the person must type that text to go on.
  function confirm(opts) {
    return new Promise((resolve) => {
      const input = opts.typed ? el('input', { id: 'confirm-typed', type: 'text', autocomplete: 'off', spellcheck: false }) : null;
      const yes = el('button', { type: 'submit', className: opts.danger === false ? 'primary' : 'danger' }, opts.action || 'Confirm');
      const no = el('button', { type: 'button', className: 'secondary' }, 'Cancel');
      const form = el('form', { method: 'dialog' },
        el('h2', { id: 'confirm-title' }, opts.title),
        el('p', {}, opts.body || ''),
        input ? el('div', { className: 'field' },
          el('label', { for: 'confirm-typed' }, 'Type ' + opts.typed + ' to confirm'), input,
          el('p', { className: 'field-error', id: 'confirm-typed-error', hidden: true })) : null,
        el('div', { className: 'actions' }, yes, no));
      const d = el('dialog', { 'aria-labelledby': 'confirm-title' }, form);
      let result = false;
      form.addEventListener('submit', (ev) => {
        if (input && input.value.trim() !== opts.typed) {
          ev.preventDefault();
          fieldError(input, 'Type ' + opts.typed + ' exactly, or press Cancel.');
          input.focus();
          return;
        }
        result = true;
      });
      no.addEventListener('click', () => d.close());
      d.addEventListener('close', () => { d.remove(); resolve(result); });
      document.body.append(d);
      d.showModal();
      (input || no).focus();
    });
  }

  // ---- formatting ----------------------------------------------------------
  // ago renders a time as "3 minutes ago" with the exact time on hover.
  function ago(s, empty) {
    if (!s || s.startsWith('0001-')) return el('span', { className: 'muted' }, empty || 'never');
    const d = new Date(s);
    if (isNaN(d)) return document.createTextNode(String(s));
    const secs = Math.round((d.getTime() - Date.now()) / 1000);
    const abs = Math.abs(secs);
    const units = [['year', 31536000], ['month', 2592000], ['week', 604800], ['day', 86400], ['hour', 3600], ['minute', 60]];
    let text = abs < 45 ? (secs <= 0 ? 'just now' : 'in a moment') : null;
    if (!text) {
      const rtf = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });
      for (const [u, n] of units) {
        if (abs >= n || u === 'minute') { text = rtf.format(Math.round(secs / n), u); break; }
      }
    }
    return el('time', { dateTime: d.toISOString(), title: d.toLocaleString() }, text);
  }

  // browserName turns a User-Agent string into "Chrome on Linux".
  function browserName(ua) {
    if (!ua) return 'Unknown browser';
    const b = [[/Edg\//, 'Edge'], [/OPR\//, 'Opera'], [/Firefox\//, 'Firefox'], [/HeadlessChrome|Chromium/, 'Chromium'],
      [/Chrome\//, 'Chrome'], [/Version\/.*Safari\//, 'Safari'], [/^curl\//, 'curl'], [/Go-http-client/, 'a Go program'],
      [/python-requests|aiohttp|urllib/i, 'a Python program']].find(([re]) => re.test(ua));
    const o = [[/Android/, 'Android'], [/iPhone|iPad|iPod/, 'iOS'], [/Windows/, 'Windows'], [/Mac OS X|Macintosh/, 'macOS'],
      [/CrOS/, 'ChromeOS'], [/Linux|X11/, 'Linux']].find(([re]) => re.test(ua));
    const name = b ? b[1] : ua.split(/[\s/]/)[0] || 'Unknown browser';
    return o ? name + ' on ' + o[1] : name;
  }

  // network shows the address as the server stored it (cut to a network)
  // and says it is approximate.
  function network(ip) {
    if (!ip) return el('span', { className: 'muted' }, 'unknown');
    return el('span', {}, ip, el('span', { className: 'sub' }, 'approximate'));
  }

  function report(e) {
    if (e instanceof APIError && e.status === 401 && !linkActive) {
      forget();
      say('Your session ended. Sign in again.', true);
      return;
    }
    say(e.message || String(e), true);
  }

  // empty is an empty state that says what to do next.
  const empty = (text) => el('p', { className: 'empty' }, text);

  // table builds a table that becomes a list of cards on a narrow screen.
  function table(headers, rows, attrs) {
    return el('table', Object.assign({ className: 'cards' }, attrs || {}),
      el('thead', {}, el('tr', {}, headers.map((h) => el('th', { scope: 'col' }, h)))),
      el('tbody', { id: attrs && attrs.bodyId }, rows));
  }

  // cell is a table cell labelled for the narrow-screen card layout.
  const cell = (label, ...children) => el('td', { 'data-label': label }, ...children);

  // section is a page section: a title, a one-line explanation, content.
  function section(title, lead, ...children) {
    const id = 'sec-' + title.toLowerCase().replace(/[^a-z0-9]+/g, '-');
    return el('section', { className: 'section', 'aria-labelledby': id },
      el('h2', { id }, title), lead ? el('p', { className: 'lead' }, lead) : null, ...children);
  }

  function pageHead(title, lead) {
    return el('div', { className: 'page-head' }, el('h1', { id: 'page-title' }, title), lead ? el('p', {}, lead) : null);
  }

  // secretBox shows a secret once, with Copy and a warning.
  function secretBox(id, label, secret, onDone) {
    const value = el('output', { className: 'secret', id: id + '-value' }, secret);
    const copy = el('button', { type: 'button', className: 'secondary', id: id + '-copy' }, 'Copy');
    const done = el('button', { type: 'button', id: id + '-done' }, 'Done');
    const box = el('div', { className: 'once', id, role: 'region', 'aria-label': label },
      el('p', {}, el('strong', {}, label)), value,
      el('p', { className: 'warn' }, 'Copy it now: it will not be shown again.'),
      el('div', { className: 'actions' }, copy, done));
    copy.addEventListener('click', () => {
      if (navigator.clipboard) navigator.clipboard.writeText(value.textContent).then(() => say('Copied.'), () => say('Copying failed: select the text and copy it.', true));
    });
    done.addEventListener('click', () => {
      value.textContent = '';
      box.remove();
      if (onDone) onDone();
    });
    return box;
  }

  // ---- registries: pages, Security sections, workspace tabs, link pages ------
  const pages = [];            // {id, label, order, group, path, admin, render(view, params)}
  const securitySections = []; // {id, order, render(container)}
  const workspaceTabs = [];    // {id, label, order, render(view, ws)}
  const linkPages = {};        // path -> {title, render(body, token, ctx)}

  const byOrder = (a, b) => (a.order || 0) - (b.order || 0);
  function registerPage(p) { pages.push(p); pages.sort(byOrder); }
  function registerSecuritySection(s) { securitySections.push(s); securitySections.sort(byOrder); }
  function registerWorkspaceTab(t) { workspaceTabs.push(t); workspaceTabs.sort(byOrder); }
  function registerLinkPage(path, p) { linkPages[path] = p; }

  // ---- router ------------------------------------------------------------------
  // Routes are hashes: #/account, #/security, #/workspaces,
  // #/workspaces/{id}/{tab}, #/admin, or #/{id} of any registered page.
  function parseRoute() {
    const parts = location.hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent);
    return { page: parts[0] || 'account', rest: parts.slice(1) };
  }

  function navLink(href, label, current) {
    return el('li', {}, el('a', { href, 'aria-current': current ? 'page' : null }, label));
  }

  function renderNav(r) {
    const items = [];
    for (const p of pages) {
      if (p.admin && !(state.me && state.me.admin)) continue;
      if (p.id === 'workspaces') {
        items.push(navLink('#/workspaces', p.label, r.page === 'workspaces' && !r.rest.length));
        for (const w of state.workspaces) {
          const here = r.page === 'workspaces' && r.rest[0] === w.id;
          items.push(el('li', { className: 'ws-sub' + (here ? '' : ' folded') },
            el('div', { className: 'ws-name' }, w.name || w.id),
            el('ul', { className: 'sub' }, workspaceTabs.map((t) =>
              navLink('#/workspaces/' + encodeURIComponent(w.id) + '/' + t.id, t.label,
                here && (r.rest[1] || workspaceTabs[0].id) === t.id)))));
        }
        continue;
      }
      items.push(navLink('#/' + p.id, p.label, r.page === p.id));
    }
    $('nav').replaceChildren(el('ul', {}, items));
  }

  let routing = 0;
  async function route() {
    if (document.body.dataset.state !== 'signed-in') return;
    const r = parseRoute();
    const my = ++routing;
    renderNav(r);
    const p = pages.find((x) => x.id === r.page && (!x.admin || (state.me && state.me.admin)));
    const view = $('view');
    if (!p) {
      view.replaceChildren(pageHead('Page not found', 'There is nothing at this address.'),
        el('p', {}, el('a', { href: '#/account' }, 'Go to your account')));
      return;
    }
    view.replaceChildren();
    document.title = p.label + ' · gatehouse';
    try {
      await p.render(view, r.rest);
    } catch (e) {
      if (my === routing) report(e);
    }
    view.dataset.page = p.id;
    view.dataset.loaded = String(my);
  }

  // ---- signed out: forms --------------------------------------------------------
  function wireSignedOut() {
    onSubmit($('signin-form'), async (f) => {
      try {
        const tok = await api('POST', '/v1/auth/token', { email: f.email.value, password: f.password.value }, { noAuth: true });
        accept(tok);
      } finally {
        f.password.value = '';
      }
      say('');
      await showSignedIn();
    }, (e, f) => {
      if (e.code === 'invalid_grant') { e.message = 'Wrong email or password. Check both, or use "Forgot password?".'; return f.password; }
      if (e.code === 'email_unverified') { e.message = 'Confirm your address first: open the link we mailed you.'; return f.email; }
      return null;
    });

    onSubmit($('signup-form'), async (f) => {
      const email = f.email.value, password = f.password.value;
      let created;
      try {
        created = await fetchStatus('POST', '/v1/auth/signup', { email, password });
      } finally {
        f.password.value = '';
      }
      if (created === 202) {
        $('signup-form').replaceWith(el('div', { className: 'notice', role: 'status', id: 'signup-sent' },
          'Check your mail: we sent a link to ' + email + '. Open it to confirm your address, then sign in.'));
        return;
      }
      const tok = await api('POST', '/v1/auth/token', { email, password }, { noAuth: true });
      accept(tok);
      await showSignedIn();
    }, (e, f) => (e.code === 'invalid_request' && /password/i.test(e.message) ? f.password : e.code === 'invalid_request' ? f.email : null));

    $('magic-open').addEventListener('click', () => {
      const f = $('magic-form');
      f.hidden = !f.hidden;
      $('magic-open').setAttribute('aria-expanded', String(!f.hidden));
      if (!f.hidden) {
        $('magic-email').value = $('signin-email').value;
        $('magic-email').focus();
      }
    });
    onSubmit($('magic-form'), async (f) => {
      await api('POST', '/v1/auth/magic-link', { email: f.email.value }, { noAuth: true });
      say('If that address has an account, a sign-in link is on its way. It works once, for a few minutes.');
      f.reset();
    });

    onSubmit($('forgot-form'), async (f) => {
      await api('POST', '/v1/auth/password-reset', { email: f.email.value }, { noAuth: true });
      f.replaceWith(el('div', { className: 'notice', role: 'status', id: 'forgot-sent' },
        'If ' + f.email.value + ' has an account, a link to choose a new password is on its way. Check your mail.'));
    }, (e, f) => (missing(e) ? (e.message = 'This gatehouse cannot reset passwords yet (no POST /v1/auth/password-reset). Ask your administrator.', f.email) : null));
  }

  // fetchStatus posts without the API wrapper's body handling and returns
  // the status (signup answers 201 or 202), throwing APIError on failure.
  async function fetchStatus(method, path, body) {
    const res = await fetch(path, { method, headers: { 'Content-Type': 'application/json', 'Accept': 'application/json' },
      body: JSON.stringify(body), credentials: 'include', cache: 'no-store', redirect: 'error' });
    if (!res.ok) {
      const d = await res.json().catch(() => null);
      throw new APIError(res.status, d && d.error, d && d.error_description);
    }
    return res.status;
  }

  // ---- emailed-link pages ------------------------------------------------------
  // The token is read from the URL and removed from the address bar and the
  // history at once; it is posted only when the person presses the page's
  // button (mail scanners open links and may run their scripts).
  let linkActive = null;
  function startLinkPage() {
    const def = linkPages[location.pathname];
    const token = new URLSearchParams(location.search).get('token');
    history.replaceState(null, '', location.pathname);
    show('link-page');
    document.body.dataset.state = 'link';
    $('magic-title').textContent = def.title;
    document.title = def.title + ' · gatehouse';
    const body = $('link-body');
    const ctx = {
      token,
      body,
      setTitle: (t) => { $('magic-title').textContent = t; },
      refresh: () => def.render(ctx),
    };
    linkActive = ctx;
    if (!token) {
      ctx.setTitle('This link is incomplete');
      body.replaceChildren(el('p', {}, 'The link has no token. Copy the whole link from the mail into the address bar, or ask for a new one.'));
      return;
    }
    def.render(ctx);
  }

  // ---- start -------------------------------------------------------------------
  async function start() {
    wireSignedOut();
    $('signout').addEventListener('click', signOut);
    window.addEventListener('hashchange', async () => {
      if (document.body.dataset.state === 'signed-in') {
        await route();
        // A new page: focus its content, so a screen reader starts there.
        $('view').focus({ preventScroll: true });
      }
      else if (document.body.dataset.state === 'signed-out') showSignedOut();
    });
    if ('serviceWorker' in navigator) {
      navigator.serviceWorker.register('/sw.js', { scope: '/' }).catch(() => { /* the portal works without it */ });
    }
    // prompt=login: a new sign-in, so the old session is not even refreshed.
    const signedIn = !signInAgain() && readCSRFCookie() && await refresh();
    if (linkPages[location.pathname]) {
      // A cookie session from an earlier visit is used by the invitation page.
      if (signedIn) {
        try { state.me = await api('GET', '/v1/me'); } catch (_) { /* the page says what to do */ }
      }
      startLinkPage();
    } else if (location.pathname !== '/') {
      show('not-found');
      document.body.dataset.state = 'not-found';
    } else if (signedIn) {
      // The refresh cookie is HttpOnly; the CSRF cookie beside it says one
      // may exist.
      await showSignedIn();
    } else {
      showSignedOut();
    }
    document.documentElement.dataset.ready = 'true';
  }

  // The interface page files use (docs/portal.md, "Adding a page").
  window.gatehouse = {
    api, APIError, missing, accept, refresh, showSignedIn, signOut,
    el, say, report, ago, browserName, network, empty, table, cell, section, pageHead, secretBox,
    fieldError, clearErrors, validate, busy, onSubmit, confirm,
    registerPage, registerSecuritySection, registerWorkspaceTab, registerLinkPage,
    onAPIError,
    securitySections: () => securitySections.slice(),
    workspaceTabs: () => workspaceTabs.slice(),
    me: () => state.me,
    sessionID: () => state.sessionID,
    workspaces: () => state.workspaces.slice(),
    reloadWorkspaces: async () => { await loadWorkspaces(); renderNav(parseRoute()); },
    route,
  };

  // Exposed for the browser test only: nothing secret.
  window.gatehousePortal = { signedIn: () => state.access !== null };

  // Deferred scripts (this one and the page files) all run before
  // DOMContentLoaded, so every page has registered when start runs.
  document.addEventListener('DOMContentLoaded', start);
})();
