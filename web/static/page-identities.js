// The Security page's "Linked accounts" section (order 30): the upstream
// providers linked to this account (docs/federation.md, "Linking"), Link
// and Unlink. Linking asks gatehouse for a start URL (POST
// /v1/me/identities, which needs a recent sign-in) and sends the browser
// there; it comes back to the portal with the provider linked.
'use strict';

(() => {
  const g = window.gatehouse;
  const { el, api, cell } = g;
  const enc = encodeURIComponent;

  g.registerSecuritySection({
    id: 'identities',
    order: 30,
    async render(box) {
      let ids;
      try {
        const r = await api('GET', '/v1/me/identities');
        ids = (r && r.identities) || [];
      } catch (e) {
        // An older gatehouse, or one without providers: no section.
        if (g.missing(e) || e.status === 503) return;
        throw e;
      }
      const providers = g.providers ? await g.providers() : [];
      if (!ids.length && !providers.length) return;

      const list = el('div', {});
      const links = el('div', { className: 'actions', id: 'link-providers' });
      box.replaceChildren(g.section('Linked accounts',
        'Accounts at other providers you can sign in with. Link one while signed in here; an account is never linked by its email alone.',
        list, links));

      async function link(p, button) {
        await g.busy(button, async () => {
          try {
            const r = await api('POST', '/v1/me/identities', { provider_id: p.id });
            location.assign(r.url);
          } catch (e) {
            if (e.code === 'reauthentication_required') {
              // A portal with second factors asks for the password or a
              // factor inside api() and retries; this is what is left when
              // there is no such dialog, or the person cancelled it.
              g.say('To link ' + p.name + ', confirm it is you: sign out, sign in again, and press "Link ' + p.name + '" within a few minutes.', true);
              return;
            }
            g.report(e);
          }
        });
      }

      function draw() {
        const linked = new Set(ids.map((i) => i.provider_id));
        if (ids.length) {
          list.replaceChildren(g.table(['Provider', 'Account', 'Linked', ''], ids.map((i) => {
            const unlink = el('button', { type: 'button', className: 'danger-outline', 'aria-label': 'Unlink ' + i.provider_name }, 'Unlink');
            unlink.addEventListener('click', async () => {
              const ok = await g.confirm({ title: 'Unlink ' + i.provider_name + '?',
                body: 'You will no longer be able to sign in with ' + i.provider_name + (i.email ? ' (' + i.email + ')' : '') + '. You can link it again later.',
                action: 'Unlink' });
              if (!ok) return;
              await g.busy(unlink, async () => {
                try {
                  await api('DELETE', '/v1/me/identities/' + enc(i.id));
                  ids = ids.filter((x) => x.id !== i.id);
                  g.say('Unlinked ' + i.provider_name + '.');
                  draw();
                } catch (e) {
                  if (e.status === 409) {
                    g.say('You cannot unlink ' + i.provider_name + ': it is your last way to sign in. Set a password or add a passkey first.', true);
                    return;
                  }
                  g.report(e);
                }
              });
            });
            return el('tr', { 'data-identity': i.id },
              cell('Provider', i.provider_name || i.provider_id),
              cell('Account', i.email || i.subject, i.email ? el('span', { className: 'sub mono' }, i.subject) : null),
              cell('Linked', g.ago(i.created_at)),
              el('td', { className: 'actions-cell' }, unlink));
          }), { bodyId: 'identities-body' }));
        } else {
          list.replaceChildren(g.empty('No linked accounts. Link one to sign in with it next time.'));
        }
        links.replaceChildren(...providers.filter((p) => !linked.has(p.id)).map((p) => {
          const b = el('button', { type: 'button', className: 'secondary', 'data-link-provider': p.id }, 'Link ' + p.name);
          b.addEventListener('click', () => link(p, b));
          return b;
        }));
      }
      draw();
    },
  });
})();
