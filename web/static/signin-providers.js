// Signing in with another provider (docs/federation.md): a "Sign in with
// NAME" button in the signed-out card for each provider GET
// /v1/auth/providers lists. A button is a plain link to gatehouse's start
// endpoint: the browser leaves for the provider and comes back through
// gatehouse's callback, which sets the session cookies (cookie mode) and
// sends it to return_to, the portal's own origin; the portal then finds the
// session with its usual refresh. A failed callback answers a page in words
// (a browser navigation asks for text/html), not this portal.
'use strict';

(() => {
  const g = window.gatehouse;
  const { el } = g;

  // startURL is gatehouse's start endpoint for provider id, coming back to
  // this portal (and to the authorization request that sent the person
  // here, /?next=…, which the portal follows once signed in).
  function startURL(id) {
    const next = new URLSearchParams(location.search).get('next');
    const back = location.origin + '/' + (next ? '?next=' + encodeURIComponent(next) : '');
    return '/v1/auth/providers/' + encodeURIComponent(id) + '/start?return_to=' + encodeURIComponent(back);
  }

  // providers lists the enabled providers, [] when none or when this
  // gatehouse does not offer signing in with another provider.
  g.providers = async () => {
    try {
      const r = await g.api('GET', '/v1/auth/providers', undefined, { noAuth: true });
      return (r && r.providers) || [];
    } catch (_) {
      return [];
    }
  };

  async function render() {
    const slot = document.getElementById('signin-extra');
    if (!slot) return;
    const ps = await g.providers();
    if (!ps.length) return;
    slot.append(el('div', { className: 'providers', id: 'signin-providers', role: 'group', 'aria-label': 'Sign in with another provider' },
      el('p', { className: 'or' }, el('span', {}, 'or')),
      ps.map((p) => el('a', { className: 'button secondary wide provider', href: startURL(p.id), 'data-provider': p.id },
        'Sign in with ' + p.name))));
  }

  document.addEventListener('DOMContentLoaded', render);
})();
