// The Workspaces page (#/workspaces: the list and a form for a new one) and
// the tabs of one workspace (#/workspaces/{id}/{tab}), each registered with
// registerWorkspaceTab: Members, Invitations, Apps, Audit. Another file adds
// a tab the same way (docs/portal.md, "Adding a page").
'use strict';

(() => {
  const g = window.gatehouse;
  const { el, api, cell } = g;
  const enc = encodeURIComponent;
  const ROLES = ['member', 'admin', 'owner'];

  g.registerPage({
    id: 'workspaces',
    label: 'Workspaces',
    order: 30,
    async render(view, rest) {
      if (rest.length) return renderWorkspace(view, rest[0], rest[1]);
      const list = g.workspaces();
      const form = el('form', { id: 'workspace-form', method: 'post', action: '/', noValidate: true },
        el('div', { className: 'row' },
          el('div', { className: 'field' }, el('label', { for: 'workspace-name' }, 'Name'),
            el('input', { id: 'workspace-name', name: 'name', required: true, maxLength: 100, autocomplete: 'organization', 'aria-describedby': 'workspace-name-error' }),
            el('p', { className: 'field-error', id: 'workspace-name-error', hidden: true })),
          el('button', { type: 'submit', className: 'primary' }, 'Create workspace')));
      g.onSubmit(form, async (f) => {
        const ws = await api('POST', '/v1/workspaces', { name: f.name.value });
        f.reset();
        g.say('Workspace "' + ws.name + '" created.');
        await g.reloadWorkspaces();
        location.hash = '#/workspaces/' + enc(ws.id) + '/members';
      }, (e, f) => (e.status === 400 ? f.name : null));
      view.replaceChildren(g.pageHead('Workspaces', 'A workspace holds people, the apps that sign them in, and an audit trail.'),
        g.section('Your workspaces', null, list.length
          ? el('ul', { id: 'workspace-list' }, list.map((w) => el('li', {}, el('a', { href: '#/workspaces/' + enc(w.id) + '/members' }, w.name || w.id))))
          : g.empty('You are in no workspace yet — create one below, or ask an owner to invite you.')),
        g.section('New workspace', 'You become its owner.', form));
    },
  });

  async function renderWorkspace(view, id, tabID) {
    const ws = g.workspaces().find((w) => w.id === id) || await api('GET', '/v1/workspaces/' + enc(id));
    const tabs = g.workspaceTabs();
    const tab = tabs.find((t) => t.id === tabID) || tabs[0];
    document.title = tab.label + ' · ' + ws.name + ' · gatehouse';
    view.replaceChildren(g.pageHead(ws.name + ' · ' + tab.label, tab.lead));
    await tab.render(view, ws);
  }

  // members returns the workspace's members (for addresses in place of ids).
  async function members(ws) {
    const out = [];
    let cursor = '';
    for (let i = 0; i < 20; i++) {
      const r = await api('GET', '/v1/workspaces/' + enc(ws.id) + '/members' + (cursor ? '?cursor=' + enc(cursor) : ''));
      out.push(...((r && r.members) || []));
      cursor = r && r.next_cursor;
      if (!cursor) break;
    }
    return out;
  }

  function roleSelect(id, value) {
    return el('select', { id, name: 'role' }, ROLES.map((r) => el('option', { value: r, selected: r === value }, r)));
  }

  // ---- Members ---------------------------------------------------------------
  g.registerWorkspaceTab({
    id: 'members', label: 'Members', order: 10,
    lead: 'People in this workspace and what they may do: owners and admins manage members and apps.',
    async render(view, ws) {
      const box = el('div', {});
      const me = g.me() || {};
      async function load() {
        const list = await members(ws);
        const rows = list.map((m, i) => {
          const sel = roleSelect('role-' + i, m.role);
          const label = el('label', { for: 'role-' + i, className: 'sr-label' }, 'Role of ' + m.email);
          label.hidden = true;
          sel.setAttribute('aria-label', 'Role of ' + m.email);
          sel.addEventListener('change', async () => {
            try {
              await api('PATCH', '/v1/workspaces/' + enc(ws.id) + '/members/' + enc(m.user_id), { role: sel.value });
              g.say(m.email + ' is now ' + sel.value + '.');
            } catch (e) { sel.value = m.role; g.report(e); }
          });
          const rm = el('button', { type: 'button', className: 'danger-outline' }, m.user_id === me.id ? 'Leave' : 'Remove');
          rm.addEventListener('click', async () => {
            const ok = await g.confirm({ title: (m.user_id === me.id ? 'Leave ' + ws.name : 'Remove ' + m.email + ' from ' + ws.name) + '?',
              body: 'Their tokens for this workspace stop working at once.', action: m.user_id === me.id ? 'Leave' : 'Remove' });
            if (!ok) return;
            await g.busy(rm, async () => {
              try {
                await api('DELETE', '/v1/workspaces/' + enc(ws.id) + '/members/' + enc(m.user_id));
                g.say(m.email + ' removed.');
                await load();
              } catch (e) { g.report(e); }
            });
          });
          return el('tr', { 'data-member': m.user_id },
            cell('Person', m.email, m.user_id === me.id ? el('span', { className: 'badge' }, 'you') : null),
            cell('Role', sel),
            cell('Since', g.ago(m.created_at)),
            el('td', { className: 'actions-cell' }, rm));
        });
        box.replaceChildren(rows.length ? g.table(['Person', 'Role', 'Since', ''], rows, { bodyId: 'members-body' }) : g.empty('No members.'));
      }
      const add = el('form', { id: 'member-form', method: 'post', action: '/', noValidate: true },
        el('div', { className: 'row' },
          el('div', { className: 'field' }, el('label', { for: 'member-email' }, 'Email of an existing account'),
            el('input', { id: 'member-email', name: 'email', type: 'email', required: true, maxLength: 254, autocomplete: 'off', 'aria-describedby': 'member-email-error' }),
            el('p', { className: 'field-error', id: 'member-email-error', hidden: true })),
          el('div', { className: 'field' }, el('label', { for: 'member-role' }, 'Role'), roleSelect('member-role', 'member')),
          el('button', { type: 'submit', className: 'primary' }, 'Add member')));
      g.onSubmit(add, async (f) => {
        await api('POST', '/v1/workspaces/' + enc(ws.id) + '/members', { email: f.email.value, role: f.role.value });
        g.say(f.email.value + ' added.');
        f.reset();
        await load();
      }, (e, f) => (e.status === 400 || e.status === 404 || e.status === 409 ? f.email : null));
      view.append(g.section('Members', null, box), g.section('Add a member', 'Someone without an account? Invite them instead (Invitations).', add));
      await load();
    },
  });

  // ---- Invitations -----------------------------------------------------------
  g.registerWorkspaceTab({
    id: 'invitations', label: 'Invitations', order: 20,
    lead: 'Invite people by email; they join when they open the link and accept.',
    async render(view, ws) {
      const box = el('div', { id: 'invitations-list' });
      const base = '/v1/workspaces/' + enc(ws.id) + '/invitations';
      async function load() {
        let r;
        try {
          r = await api('GET', base);
        } catch (e) {
          if (g.missing(e)) { box.replaceChildren(g.empty('This gatehouse does not offer invitations yet (GET ' + '/v1/workspaces/{id}/invitations).')); return; }
          throw e;
        }
        const list = (r && r.invitations) || [];
        const rows = list.map((inv) => {
          const rv = el('button', { type: 'button', className: 'danger-outline' }, 'Revoke');
          rv.addEventListener('click', async () => {
            const ok = await g.confirm({ title: 'Revoke the invitation of ' + inv.email + '?', body: 'The link in their mail stops working.', action: 'Revoke' });
            if (!ok) return;
            await g.busy(rv, async () => {
              try { await api('DELETE', base + '/' + enc(inv.id)); await load(); } catch (e) { g.report(e); }
            });
          });
          return el('tr', { 'data-invitation': inv.id }, cell('Address', inv.email), cell('Role', inv.role),
            cell('Expires', g.ago(inv.expires_at)), el('td', { className: 'actions-cell' }, rv));
        });
        box.replaceChildren(rows.length ? g.table(['Address', 'Role', 'Expires', ''], rows, { bodyId: 'invitations-body' })
          : g.empty('No pending invitations — invite someone below.'));
      }
      const form = el('form', { id: 'invite-form', method: 'post', action: '/', noValidate: true },
        el('div', { className: 'row' },
          el('div', { className: 'field' }, el('label', { for: 'invite-to' }, 'Email'),
            el('input', { id: 'invite-to', name: 'email', type: 'email', required: true, maxLength: 254, autocomplete: 'off', 'aria-describedby': 'invite-to-error' }),
            el('p', { className: 'field-error', id: 'invite-to-error', hidden: true })),
          el('div', { className: 'field' }, el('label', { for: 'invite-role' }, 'Role'), roleSelect('invite-role', 'member')),
          el('button', { type: 'submit', className: 'primary' }, 'Send invitation')));
      g.onSubmit(form, async (f) => {
        try {
          await api('POST', base, { email: f.email.value, role: f.role.value });
        } catch (e) {
          if (g.missing(e)) e.message = 'This gatehouse does not offer invitations yet (POST /v1/workspaces/{id}/invitations).';
          throw e;
        }
        g.say('Invitation sent to ' + f.email.value + '. It works for 7 days.');
        f.reset();
        await load();
      }, (e, f) => (e.status === 400 || e.status === 409 ? f.email : null));
      view.append(g.section('Pending invitations', null, box), g.section('Invite someone', 'The link in the mail works for 7 days, only for that address.', form));
      await load();
    },
  });

  // ---- Apps (OAuth clients) --------------------------------------------------
  g.registerWorkspaceTab({
    id: 'apps', label: 'Apps', order: 30,
    lead: 'Applications that sign people in with this workspace (OAuth clients).',
    async render(view, ws) {
      const base = '/v1/workspaces/' + enc(ws.id) + '/clients';
      const box = el('div', {});
      const slot = el('div', {});
      async function load() {
        const r = await api('GET', base);
        const rows = ((r && r.clients) || []).map((c) => {
          const del = el('button', { type: 'button', className: 'danger-outline' }, 'Delete');
          del.addEventListener('click', async () => {
            const ok = await g.confirm({ title: 'Delete ' + c.name + '?', body: 'People can no longer sign in to it, and its tokens stop working at once.', action: 'Delete app' });
            if (!ok) return;
            await g.busy(del, async () => {
              try { await api('DELETE', base + '/' + enc(c.client_id)); await load(); } catch (e) { g.report(e); }
            });
          });
          return el('tr', { 'data-client': c.client_id },
            cell('App', c.name, el('span', { className: 'sub mono' }, c.client_id)),
            cell('Kind', c.public ? 'public (PKCE, no secret)' : 'confidential (has a secret)'),
            cell('Sends people back to', (c.redirect_uris || []).join(', ') || '—'),
            cell('Created', g.ago(c.created_at)),
            el('td', { className: 'actions-cell' }, del));
        });
        box.replaceChildren(rows.length ? g.table(['App', 'Kind', 'Sends people back to', 'Created', ''], rows, { bodyId: 'clients-body' })
          : g.empty('No apps yet — register one below so it can sign people in.'));
      }
      const form = el('form', { id: 'client-form', method: 'post', action: '/', noValidate: true },
        el('div', { className: 'field' }, el('label', { for: 'client-name' }, 'Name people will see'),
          el('input', { id: 'client-name', name: 'name', required: true, maxLength: 100, autocomplete: 'off', 'aria-describedby': 'client-name-error' }),
          el('p', { className: 'field-error', id: 'client-name-error', hidden: true })),
        el('div', { className: 'field' }, el('label', { for: 'client-redirect' }, 'Redirect URI'),
          el('p', { className: 'hint', id: 'client-redirect-hint' }, 'Where gatehouse sends people back, e.g. https://app.example.com/callback.'),
          el('input', { id: 'client-redirect', name: 'redirect', type: 'url', required: true, autocomplete: 'off', 'aria-describedby': 'client-redirect-hint client-redirect-error' }),
          el('p', { className: 'field-error', id: 'client-redirect-error', hidden: true })),
        el('label', { className: 'check' }, el('input', { type: 'checkbox', name: 'public', id: 'client-public' }), 'Public app (runs in a browser or on a phone: no secret, PKCE only)'),
        el('button', { type: 'submit', className: 'primary' }, 'Register app'));
      g.onSubmit(form, async (f) => {
        const c = await api('POST', base, { name: f.name.value, redirect_uris: [f.redirect.value], public: f.public.checked,
          scopes: ['profile:read'] });
        f.reset();
        if (c.client_secret) slot.replaceChildren(g.secretBox('new-secret', 'The client secret of ' + c.name, c.client_secret));
        else g.say(c.name + ' registered. Its client id is ' + c.client_id + '.');
        await load();
      }, (e, f) => (e.status === 400 ? (/redirect/i.test(e.message) ? f.redirect : f.name) : null));
      view.append(slot, g.section('Apps', null, box), g.section('Register an app', 'It may read the profile of the people who allow it.', form));
      await load();
    },
  });

  // ---- Audit -------------------------------------------------------------------
  // What an event type means, in words.
  const EVENT_WORDS = {
    'login.succeeded': 'signed in', 'login.failed': 'failed to sign in', 'magic_link.requested': 'asked for a sign-in link',
    'magic_link.consumed': 'signed in with a link', 'token.issued': 'got a token', 'refresh.rotated': 'renewed a session',
    'refresh.reuse_detected': 'reused an old session token (the session was ended)', 'session.revoked': 'ended a session',
    'pat.created': 'created an access token', 'pat.updated': 'changed an access token', 'pat.deleted': 'revoked an access token',
    'oauth_client.created': 'registered an app', 'oauth_client.deleted': 'deleted an app', 'oauth_client.secret_rotated': 'rotated an app\'s secret',
    'workspace.created': 'created the workspace', 'member.added': 'added a member', 'member.updated': 'changed a member\'s role',
    'member.removed': 'removed a member', 'invitation.created': 'invited someone', 'invitation.accepted': 'accepted an invitation',
    'invitation.revoked': 'revoked an invitation', 'account.status_changed': 'changed an account\'s status',
    'oauth_grant.revoked': 'revoked an app\'s access', 'rate_limit.exceeded': 'hit a rate limit', 'csrf.rejected': 'was refused (CSRF check)',
  };

  // readableTarget names what an event acted on ("kind:id"): a person by
  // address, an app by name; ids of sessions, tokens and the workspace
  // itself say nothing to a reader and are left out.
  let people = {};
  function readableTarget(t, details) {
    if (!t) return '';
    const i = t.indexOf(':');
    const kind = i < 0 ? '' : t.slice(0, i), id = i < 0 ? t : t.slice(i + 1);
    if (kind === 'user') return people[id] || 'an account no longer here';
    if (kind === 'client') return details.name || '';
    if (kind === 'pat') return details.name ? '"' + details.name + '"' : '';
    if (kind === 'workspace' || kind === 'session') return '';
    return people[t] || t;
  }

  g.registerWorkspaceTab({
    id: 'audit', label: 'Audit', order: 40,
    lead: 'Who did what in this workspace, newest first.',
    async render(view, ws) {
      const base = '/v1/workspaces/' + enc(ws.id) + '/audit-events';
      people = {};
      try { for (const m of await members(ws)) people[m.user_id] = m.email; } catch (e) { people = {}; }
      const who = (id) => (id ? people[id] || (id.length > 12 ? 'someone (' + id.slice(0, 8) + '…)' : id) : 'gatehouse');
      const body = el('tbody', { id: 'audit-body' });
      const more = el('button', { type: 'button', id: 'audit-more', hidden: true }, 'Show older events');
      const tableBox = el('div', {});
      let cursor = null;
      const filter = el('form', { id: 'audit-form', method: 'get', action: '/', noValidate: true },
        el('div', { className: 'row' },
          el('div', { className: 'field' }, el('label', { for: 'audit-type' }, 'Only events of type'),
            el('input', { id: 'audit-type', name: 'type', maxLength: 64, autocomplete: 'off', placeholder: 'e.g. member.added' })),
          el('button', { type: 'submit', className: 'secondary' }, 'Filter')));
      async function load(fresh) {
        if (fresh) cursor = null;
        const q = new URLSearchParams();
        const type = filter.type.value.trim();
        if (type) q.set('type', type);
        if (cursor) q.set('cursor', cursor);
        const r = await api('GET', base + (q.toString() ? '?' + q : ''));
        const rows = ((r && r.events) || []).map((e) => {
          const details = Object.entries(e.details || {}).map(([k, v]) => k.replace(/_/g, ' ') + ': ' + (people[v] || v)).join(', ');
          const target = readableTarget(e.target, e.details || {});
          return el('tr', { 'data-type': e.type },
            cell('When', g.ago(e.time)),
            cell('What', el('span', {}, who(e.actor) + ' ' + (EVENT_WORDS[e.type] || e.type) + (target && target !== who(e.actor) ? ' — ' + target : '')),
              e.outcome && e.outcome !== 'success' ? el('span', { className: 'badge warn' }, e.outcome) : null,
              el('span', { className: 'sub' }, el('code', {}, e.type), details ? ' · ' + details : '')),
            cell('From', el('span', { title: e.user_agent || '' }, g.browserName(e.user_agent)), el('span', { className: 'sub' }, e.ip ? e.ip + ' (approximate)' : '')));
        });
        if (fresh) body.replaceChildren(...rows);
        else body.append(...rows);
        cursor = (r && r.next_cursor) || null;
        more.hidden = !cursor;
        if (body.children.length) {
          if (!body.isConnected) {
            const tb = g.table(['When', 'What', 'From'], [], {});
            tb.querySelector('tbody').replaceWith(body);
            tableBox.replaceChildren(tb);
          }
        } else tableBox.replaceChildren(g.empty(type ? 'No events of that type — clear the filter to see all.' : 'Nothing has happened here yet.'));
      }
      filter.addEventListener('submit', (ev) => { ev.preventDefault(); load(true).catch(g.report); });
      more.addEventListener('click', () => g.busy(more, () => load(false).catch(g.report)));
      view.append(g.section('Events', null, filter, tableBox, more));
      try {
        await load(true);
      } catch (e) {
        if (e.status === 403) tableBox.replaceChildren(g.empty('Only owners and admins can read the audit trail. Ask an owner if you need it.'));
        else throw e;
      }
    },
  });
})();
