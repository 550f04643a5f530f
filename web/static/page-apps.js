// Connected apps: a section of the Security page (order 50, after personal
// access tokens). The applications the person allowed to act for them
// (their OAuth grants, GET /v1/me/grants), each with Revoke (DELETE
// /v1/me/grants/{id}): the application's refresh token stops working and,
// if it registered for back-channel logout, it is told to end its session.
// A section, not a page of its own: like sessions and tokens, a grant is
// something that acts for the person, and Security is where they look.
'use strict';

(() => {
  const g = window.gatehouse;
  const { el, api, cell } = g;

  // The words the consent page uses (httpapi/authorize.go scopeWords).
  const WORDS = {
    openid: 'Know who you are and when you signed in',
    email: 'See your email address',
    profile: 'See your profile: your email address',
    offline_access: 'Stay connected when you are not using it',
    'profile:read': 'See your email address and account id',
    'workspaces:read': 'See the workspace and its members',
    'workspaces:write': 'Manage the workspace\'s members',
    'audit:read': 'Read the workspace\'s audit trail',
  };
  const words = (s) => WORDS[s] || s;

  g.registerSecuritySection({
    id: 'apps',
    order: 50,
    async render(box) {
      const list = el('div', { id: 'apps-list' });
      box.replaceChildren(g.section('Connected apps',
        'Applications you allowed to sign you in and act for you. Revoke one you no longer use: it loses access at once.', list));
      async function load() {
        let grants;
        try {
          const r = await api('GET', '/v1/me/grants');
          grants = (r && r.grants) || [];
        } catch (e) {
          if (g.missing(e)) {
            list.replaceChildren(g.empty('This gatehouse does not list connected apps yet.'));
            return;
          }
          throw e;
        }
        if (!grants.length) {
          list.replaceChildren(g.empty('No connected apps. When you allow an application on a consent page, it appears here.'));
          return;
        }
        const rows = grants.map((x) => {
          const name = x.client_name || x.client_id;
          const revoke = el('button', { type: 'button', className: 'danger-outline', 'aria-label': 'Revoke ' + name }, 'Revoke');
          revoke.addEventListener('click', async () => {
            const ok = await g.confirm({
              title: 'Revoke ' + name + '?',
              body: name + ' loses access to your account now and is told to sign you out. To use it again, you will be asked to allow it again.',
              action: 'Revoke access',
            });
            if (!ok) return;
            await g.busy(revoke, async () => {
              try {
                await api('DELETE', '/v1/me/grants/' + encodeURIComponent(x.id));
                g.say(name + ' no longer has access.');
                await load();
              } catch (e) { g.report(e); }
            });
          });
          return el('tr', { 'data-grant': x.id },
            cell('App', name, el('span', { className: 'sub mono' }, x.client_id)),
            cell('Workspace', x.workspace_name || x.workspace_id),
            cell('May', el('ul', { className: 'plain' }, (x.scopes || []).map((s) => el('li', {}, words(s))))),
            cell('Allowed', g.ago(x.created_at)),
            cell('Last used', g.ago(x.last_used_at)),
            el('td', { className: 'actions-cell' }, revoke));
        });
        list.replaceChildren(g.table(['App', 'Workspace', 'May', 'Allowed', 'Last used', ''], rows, { id: 'apps-table' }));
      }
      await load();
    },
  });
})();
