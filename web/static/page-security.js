// The Security page: the sections registered with registerSecuritySection,
// in order. This file adds sessions (order 10) and personal access tokens
// (order 40).
//
// EXTENSION POINTS: second factors register a section with order 20, linked
// identities (upstream providers) with order 30, from their own files:
//
//   window.gatehouse.registerSecuritySection({
//     id: 'factors', order: 20,
//     async render(container) { container.append(window.gatehouse.section('Two-step sign-in', '…')); },
//   });
'use strict';

(() => {
  const g = window.gatehouse;
  const { el, api, cell } = g;

  g.registerPage({
    id: 'security',
    label: 'Security',
    order: 20,
    async render(view) {
      view.append(g.pageHead('Security', 'Where you are signed in, and the tokens that act for you.'));
      for (const s of g.securitySections()) {
        const box = el('div', { 'data-section': s.id });
        view.append(box);
        await s.render(box);
      }
    },
  });

  // ---- sessions ----------------------------------------------------------------
  g.registerSecuritySection({
    id: 'sessions',
    order: 10,
    async render(box) {
      const body = el('tbody', { id: 'sessions-body' });
      const list = el('div', {});
      box.replaceChildren(g.section('Sessions', 'Every device signed in to your account. Sign out any you do not recognise.', list));
      async function load() {
        const r = await api('GET', '/v1/auth/sessions');
        const sessions = (r && r.sessions) || [];
        body.replaceChildren(...sessions.map((s) => {
          const name = g.browserName(s.user_agent);
          const revoke = el('button', { type: 'button', className: 'danger-outline', 'aria-label': (s.current ? 'Sign out on this device' : 'Sign out ' + name) },
            s.current ? 'Sign out here' : 'Sign out');
          revoke.addEventListener('click', async () => {
            if (s.current) return g.signOut();
            const ok = await g.confirm({ title: 'Sign out ' + name + '?', body: 'That device will need to sign in again.', action: 'Sign out' });
            if (!ok) return;
            await g.busy(revoke, async () => {
              try {
                await api('DELETE', '/v1/auth/sessions/' + encodeURIComponent(s.id));
                g.say('Signed out ' + name + '.');
                await load();
              } catch (e) { g.report(e); }
            });
          });
          return el('tr', { 'data-session': s.id },
            cell('Device', el('span', { title: s.user_agent || '' }, name),
              s.current ? el('span', { className: 'badge' }, 'this device') : null,
              el('span', { className: 'sub' }, s.method ? 'signed in with ' + s.method : '')),
            cell('Network', g.network(s.ip)),
            cell('Signed in', g.ago(s.created_at)),
            cell('Last active', g.ago(s.last_used_at)),
            el('td', { className: 'actions-cell' }, revoke));
        }));
        list.replaceChildren(sessions.length ? g.table(['Device', 'Network', 'Signed in', 'Last active', ''], [], {}) : g.empty('No sessions.'));
        const t = list.querySelector('table');
        if (t) t.querySelector('tbody').replaceWith(body);
      }
      await load();
    },
  });

  // ---- personal access tokens ------------------------------------------------
  const SCOPE_WORDS = {
    'profile:read': 'Read your profile',
    'workspaces:read': 'Read the workspace and its members',
    'workspaces:write': 'Manage the workspace\'s members',
    'audit:read': 'Read the workspace\'s audit trail',
  };
  g.scopeWords = (s) => SCOPE_WORDS[s] || s;

  g.registerSecuritySection({
    id: 'tokens',
    order: 40,
    async render(box) {
      const workspaces = g.workspaces();
      const body = el('tbody', { id: 'tokens-body' });
      const list = el('div', {});
      const slot = el('div', { id: 'new-token-slot' });
      let scopes = Object.keys(SCOPE_WORDS);
      try {
        const d = await api('GET', '/.well-known/oauth-authorization-server', undefined, { noAuth: true });
        // A PAT's scopes are the resource:action ones (docs/scopes.md); openid,
        // profile and email are OpenID Connect's, for apps only.
        const pat = d && Array.isArray(d.scopes_supported) ? d.scopes_supported.filter((s) => s.includes(':')) : [];
        if (pat.length) scopes = pat;
      } catch (e) { /* keep the defaults */ }

      const form = el('form', { id: 'token-form', method: 'post', action: '/', noValidate: true },
        el('div', { className: 'row' },
          el('div', { className: 'field' }, el('label', { for: 'token-name' }, 'Name'),
            el('input', { id: 'token-name', name: 'name', required: true, maxLength: 100, autocomplete: 'off', placeholder: 'e.g. deploy script', 'aria-describedby': 'token-name-error' }),
            el('p', { className: 'field-error', id: 'token-name-error', hidden: true })),
          el('div', { className: 'field' }, el('label', { for: 'token-workspace' }, 'Workspace'),
            el('select', { id: 'token-workspace', name: 'workspace_id', required: true }, workspaces.map((w) => el('option', { value: w.id }, w.name || w.id)))),
          el('div', { className: 'field' }, el('label', { for: 'token-expiry' }, 'Expires in'),
            el('select', { id: 'token-expiry', name: 'expiry' },
              el('option', { value: '' }, 'Default'), el('option', { value: '7' }, '7 days'), el('option', { value: '30' }, '30 days'),
              el('option', { value: '90' }, '90 days'), el('option', { value: '365' }, '1 year')))),
        el('fieldset', { id: 'token-scopes' }, el('legend', {}, 'What it may do'),
          scopes.map((s) => el('label', { className: 'check' }, el('input', { type: 'checkbox', name: 'scope', value: s }), el('span', {}, g.scopeWords(s) + ' ', el('code', {}, s))))),
        el('button', { type: 'submit', className: 'primary' }, 'Create token'));

      async function load() {
        const r = await api('GET', '/v1/tokens');
        const tokens = (r && r.tokens) || [];
        const wsName = (id) => (workspaces.find((w) => w.id === id) || {}).name || id;
        body.replaceChildren(...tokens.map((t) => {
          const revoke = el('button', { type: 'button', className: 'danger-outline', 'aria-label': 'Revoke ' + t.name }, 'Revoke');
          revoke.addEventListener('click', async () => {
            const ok = await g.confirm({ title: 'Revoke "' + t.name + '"?', body: 'Scripts using it will get 401 from now on.', action: 'Revoke token' });
            if (!ok) return;
            await g.busy(revoke, async () => {
              try {
                await api('DELETE', '/v1/tokens/' + encodeURIComponent(t.id));
                g.say('Token revoked.');
                await load();
              } catch (e) { g.report(e); }
            });
          });
          return el('tr', { 'data-token': t.id },
            cell('Name', t.name || '', el('span', { className: 'sub mono' }, t.prefix || '')),
            cell('Workspace', wsName(t.workspace_id)),
            cell('May', (t.scopes || []).length ? (t.scopes || []).map(g.scopeWords).join(', ') : 'everything you may'),
            cell('Expires', g.ago(t.expires_at)),
            cell('Last used', g.ago(t.last_used_at)),
            el('td', { className: 'actions-cell' }, revoke));
        }));
        if (tokens.length) {
          const tb = g.table(['Name', 'Workspace', 'May', 'Expires', 'Last used', ''], [], {});
          tb.querySelector('tbody').replaceWith(body);
          list.replaceChildren(tb);
        } else {
          list.replaceChildren(g.empty('No tokens yet — create one to call the API from a script.'));
        }
      }

      g.onSubmit(form, async (f) => {
        const req = { name: f.name.value, workspace_id: f.workspace_id.value };
        const chosen = [...f.querySelectorAll('input[name=scope]:checked')].map((c) => c.value);
        if (chosen.length) req.scopes = chosen;
        if (f.expiry.value) req.expires_at = new Date(Date.now() + Number(f.expiry.value) * 86400e3).toISOString();
        const t = await api('POST', '/v1/tokens', req);
        // Shown once: kept in the DOM until "Done", never in storage.
        slot.replaceChildren(g.secretBox('new-token', 'Your new token "' + t.name + '"', t.token));
        f.reset();
        await load();
        document.getElementById('new-token-copy').focus();
      }, (e, f) => (e.status === 400 ? f.name : null));

      box.replaceChildren(g.section('Personal access tokens', 'Tokens let a script call the API as you, within one workspace and the scopes you pick.',
        slot,
        workspaces.length ? form : g.empty('Create a workspace first: every token belongs to one.'),
        el('h3', { className: 'small' }, 'Your tokens'), list));
      await load();
    },
  });
})();
