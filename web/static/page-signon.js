// A workspace's "Sign-on" tab (owners): the email domains the workspace
// proves with a DNS TXT record, so that its own provider (single sign-on)
// may sign in the people of those domains (docs/federation.md, "Workspace
// single sign-on and domain proof"). The provider itself is registered by
// the gatehouse operator with the command line; this tab says so.
'use strict';

(() => {
  const g = window.gatehouse;
  const { el, api, cell } = g;
  const enc = encodeURIComponent;

  function copyButton(label, value) {
    const b = el('button', { type: 'button', className: 'secondary small', 'aria-label': 'Copy ' + label }, 'Copy');
    b.addEventListener('click', () => {
      if (navigator.clipboard) navigator.clipboard.writeText(value).then(() => g.say('Copied.'), () => g.say('Copying failed: select the text and copy it.', true));
    });
    return b;
  }

  // record shows the TXT record to publish, each part with Copy.
  function record(d) {
    return el('div', { className: 'record', role: 'group', 'aria-label': 'TXT record for ' + d.domain },
      el('span', { className: 'muted' }, 'Name'), el('span', {}, el('code', {}, d.record_name), ' ', copyButton('the record name for ' + d.domain, d.record_name)),
      el('span', { className: 'muted' }, 'Type'), el('span', {}, el('code', {}, 'TXT')),
      el('span', { className: 'muted' }, 'Value'), el('span', {}, el('code', {}, d.record_value), ' ', copyButton('the record value for ' + d.domain, d.record_value)));
  }

  g.registerWorkspaceTab({
    id: 'sign-on',
    label: 'Sign-on',
    order: 45,
    lead: 'Single sign-on: the email domains this workspace has proven, so its own provider can sign in their people.',
    async render(view, ws) {
      const base = '/v1/workspaces/' + enc(ws.id) + '/domains';
      const operator = g.section('Your provider',
        'The workspace\'s provider (your company\'s OpenID Connect or Entra ID tenant) is registered by the gatehouse operator on the command line, for this workspace and its domains:',
        el('pre', { className: 'mono command' }, 'gatehouse providers create --name NAME --issuer URL --client-id ID \\\n  --client-secret-stdin --workspace ' + ws.id + ' --domain example.com'),
        el('p', { className: 'small muted' }, 'It serves the people of a domain only once that domain is proven below. People who sign in through it join this workspace as members.'));
      if (ws.role && ws.role !== 'owner') {
        view.append(g.empty('Only owners manage sign-on. Ask an owner of ' + (ws.name || 'this workspace') + ' if you need a domain proven.'), operator);
        return;
      }
      let domains;
      try {
        const r = await api('GET', base);
        domains = (r && r.domains) || [];
      } catch (e) {
        if (g.missing(e) || e.status === 503) {
          view.append(g.empty('This gatehouse does not offer single sign-on.'));
          return;
        }
        if (e.status === 403) {
          view.append(g.empty('Only owners manage sign-on.'), operator);
          return;
        }
        throw e;
      }
      const list = el('div', {});
      const form = el('form', { id: 'domain-form', method: 'post', action: '/', noValidate: true },
        el('div', { className: 'row' },
          el('div', { className: 'field' }, el('label', { for: 'domain-name' }, 'Domain'),
            el('input', { id: 'domain-name', name: 'domain', required: true, maxLength: 253, autocomplete: 'off', spellcheck: false,
              placeholder: 'example.com', 'aria-describedby': 'domain-name-error' }),
            el('p', { className: 'field-error', id: 'domain-name-error', hidden: true })),
          el('button', { type: 'submit', className: 'primary' }, 'Add domain')));

      function draw() {
        if (!domains.length) {
          list.replaceChildren(g.empty('No domains yet. Add your company\'s email domain, publish the record shown, then press Verify.'));
          return;
        }
        list.replaceChildren(g.table(['Domain', 'DNS record to publish', 'State', ''], domains.map((d) => {
          const verify = d.verified ? null : el('button', { type: 'button', className: 'secondary', 'aria-label': 'Verify ' + d.domain }, 'Verify');
          if (verify) {
            verify.addEventListener('click', () => g.busy(verify, async () => {
              try {
                const nd = await api('POST', base + '/' + enc(d.id) + '/verify', {});
                domains = domains.map((x) => (x.id === d.id ? nd : x));
                g.say(d.domain + ' is verified.');
                draw();
              } catch (e) {
                if (e.status === 409 && e.code === 'conflict') e.message = d.domain + ' is already proven by another workspace.';
                g.report(e);
              }
            }));
          }
          return el('tr', { 'data-domain': d.id },
            cell('Domain', el('strong', {}, d.domain)),
            cell('DNS record to publish', record(d)),
            cell('State', d.verified ? el('span', { className: 'badge ok' }, 'verified') : el('span', { className: 'badge warn' }, 'not verified'),
              d.verified ? el('span', { className: 'sub' }, g.ago(d.verified_at)) : null),
            el('td', { className: 'actions-cell' }, verify));
        }), { bodyId: 'domains-body' }));
      }
      g.onSubmit(form, async (f) => {
        const d = await api('POST', base, { domain: f.domain.value.trim() });
        domains = domains.concat([d]);
        f.reset();
        draw();
        g.say('Added ' + d.domain + '. Publish its TXT record, then press Verify.');
      }, (e, f) => (e.status === 400 || e.status === 409 ? f.domain : null));
      draw();
      view.append(g.section('Domains', 'A domain counts only once you prove the workspace controls it: publish the TXT record at your DNS host, then press Verify.', form, list), operator);
    },
  });
})();
