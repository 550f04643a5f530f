// The Admin page, for instance administrators only: find accounts by address
// or id, and suspend or reactivate them.
'use strict';

(() => {
  const g = window.gatehouse;
  const { el, api, cell } = g;

  g.registerPage({
    id: 'admin',
    label: 'Admin',
    order: 90,
    admin: true,
    async render(view) {
      const box = el('div', { id: 'admin-users' });
      const more = el('button', { type: 'button', id: 'admin-more', hidden: true }, 'More');
      let cursor = null;
      const form = el('form', { id: 'admin-search', method: 'get', action: '/', noValidate: true },
        el('div', { className: 'row' },
          el('div', { className: 'field' }, el('label', { for: 'admin-query' }, 'Address or account id'),
            el('input', { id: 'admin-query', name: 'query', type: 'search', maxLength: 254, autocomplete: 'off' })),
          el('button', { type: 'submit', className: 'primary' }, 'Search')));
      const body = el('tbody', { id: 'admin-body' });

      function row(u) {
        const active = u.status === 'active';
        const b = el('button', { type: 'button', className: active ? 'danger-outline' : 'secondary' }, active ? 'Suspend' : 'Reactivate');
        b.addEventListener('click', async () => {
          const next = active ? 'suspended' : 'active';
          const ok = await g.confirm({ title: (active ? 'Suspend ' : 'Reactivate ') + u.email + '?',
            body: active ? 'Every session and token of the account stops working at once.' : 'The person can sign in again.',
            action: active ? 'Suspend' : 'Reactivate', danger: active });
          if (!ok) return;
          await g.busy(b, async () => {
            try {
              const r = await api('PATCH', '/v1/admin/users/' + encodeURIComponent(u.id), { status: next, reason: 'changed in the portal' });
              Object.assign(u, r && r.user ? r.user : { status: next });
              tr.replaceWith(row(u));
              g.say(u.email + ' is now ' + u.status + '.');
            } catch (e) { g.report(e); }
          });
        });
        const tr = el('tr', { 'data-user': u.id },
          cell('Account', u.email, u.admin ? el('span', { className: 'badge' }, 'admin') : null, el('span', { className: 'sub mono' }, u.id)),
          cell('Status', el('span', { className: 'badge ' + (active ? 'ok' : 'warn') }, u.status),
            u.email_verified === false ? el('span', { className: 'badge warn' }, 'address not confirmed') : null),
          cell('Created', g.ago(u.created_at)),
          el('td', { className: 'actions-cell' }, b));
        return tr;
      }

      async function load(fresh) {
        if (fresh) cursor = null;
        const q = new URLSearchParams({ query: form.query.value.trim(), limit: '50' });
        if (cursor) q.set('cursor', cursor);
        let r;
        try {
          r = await api('GET', '/v1/admin/users?' + q);
        } catch (e) {
          if (g.missing(e)) { box.replaceChildren(g.empty('This gatehouse does not offer user search yet (GET /v1/admin/users).')); return; }
          throw e;
        }
        const users = (r && r.users) || [];
        if (fresh) body.replaceChildren(...users.map(row));
        else body.append(...users.map(row));
        cursor = (r && r.next_cursor) || null;
        more.hidden = !cursor;
        if (body.children.length) {
          const tb = g.table(['Account', 'Status', 'Created', ''], [], {});
          tb.querySelector('tbody').replaceWith(body);
          box.replaceChildren(tb);
        } else box.replaceChildren(g.empty('No account matches — try part of an address.'));
      }
      form.addEventListener('submit', (ev) => { ev.preventDefault(); g.busy(form.querySelector('button'), () => load(true).catch(g.report)); });
      more.addEventListener('click', () => g.busy(more, () => load(false).catch(g.report)));
      view.replaceChildren(g.pageHead('Admin', 'Accounts on this gatehouse. Only instance administrators see this page.'),
        g.section('Users', 'Find an account by address or id; suspend it to end every session and token at once.', form, box, more));
      await load(true);
    },
  });
})();
