// Two-step sign-in (docs/mfa.md): the Security page's section of second
// factors (order 20) — the state in words, the factors with remove, an
// authenticator app enrolled through a QR code drawn in the page
// (qrcode.js, vendored), passkeys added and named, recovery codes shown once
// with Copy and Download — and each workspace's Settings tab (order 50),
// where owners require two factors of the workspace's people.
//
// Changes that need a recent sign-in answer 403 reauthentication_required;
// signin-mfa.js asks the person to confirm and retries, so the calls here
// read as if they simply succeed.
'use strict';

(() => {
  const g = window.gatehouse;
  const { el, api, cell } = g;
  const enc = encodeURIComponent;
  const TYPE_WORDS = { totp: 'authenticator app', passkey: 'passkey' };
  const SVG = 'http://www.w3.org/2000/svg';

  // qrSVG draws text as a QR code (error correction M) in an SVG of dark
  // squares: no image from elsewhere, no inline style.
  function qrSVG(text, label) {
    const q = window.qrcode(0, 'M');
    q.addData(text, 'Byte');
    q.make();
    const n = q.getModuleCount(), quiet = 4, size = n + 2 * quiet;
    const svg = document.createElementNS(SVG, 'svg');
    svg.setAttribute('viewBox', '0 0 ' + size + ' ' + size);
    svg.setAttribute('role', 'img');
    svg.setAttribute('aria-label', label);
    svg.setAttribute('class', 'qr');
    svg.setAttribute('shape-rendering', 'crispEdges');
    const bg = document.createElementNS(SVG, 'rect');
    bg.setAttribute('width', size); bg.setAttribute('height', size); bg.setAttribute('fill', '#fff');
    let d = '';
    for (let r = 0; r < n; r++) {
      for (let c = 0; c < n; c++) if (q.isDark(r, c)) d += 'M' + (c + quiet) + ' ' + (r + quiet) + 'h1v1h-1z';
    }
    const path = document.createElementNS(SVG, 'path');
    path.setAttribute('d', d);
    path.setAttribute('fill', '#000');
    svg.append(bg, path);
    return svg;
  }
  g.qrSVG = qrSVG;

  // ---- Security: Two-step sign-in ------------------------------------------------
  g.registerSecuritySection({
    id: 'factors',
    order: 20,
    async render(box) {
      const state = el('p', { id: 'mfa-state' });
      const list = el('div', { id: 'factors-list' });
      const slot = el('div', { id: 'factor-slot' });
      const actions = el('div', { className: 'actions', id: 'factor-actions' });
      let factors = [];

      async function load() {
        let r;
        try {
          r = await api('GET', '/v1/mfa/factors');
        } catch (e) {
          if (g.missing(e) || e.status === 503) {
            state.textContent = 'This gatehouse does not offer second factors.';
            list.replaceChildren();
            actions.replaceChildren();
            return;
          }
          throw e;
        }
        factors = ((r && r.factors) || []).filter((f) => !f.status || f.status === 'active');
        // (Recovery codes are not listed: they are a way through the second step, not a factor.)
        const active = factors.filter((f) => f.type === 'totp' || f.type === 'passkey');
        const kinds = [...new Set(active.map((f) => TYPE_WORDS[f.type]))];
        state.replaceChildren(el('strong', {}, 'Two-step sign-in is ' + (active.length ? 'on' : 'off')),
          active.length ? ' (' + kinds.join(', ') + '): after your password or an emailed link, you are asked for a second factor. A passkey signs you in on its own.'
            : ': your password or an emailed link alone signs you in. Add an authenticator app or a passkey to turn it on.');
        state.className = active.length ? 'notice' : 'notice warn-notice';
        const rows = factors.map((f) => {
          const name = f.name || (f.type === 'totp' ? 'Authenticator app' : f.type === 'passkey' ? 'Passkey' : 'Recovery codes');
          const rm = el('button', { type: 'button', className: 'danger-outline', 'aria-label': 'Remove ' + name }, 'Remove');
          rm.addEventListener('click', async () => {
            const ok = await g.confirm({
              title: 'Remove "' + name + '"?',
              body: 'It will no longer sign you in, and every session that was signed in with it ends now (this one too, if it was).' +
                (active.length === 1 && active[0].id === f.id ? ' It is your last second factor: two-step sign-in turns off.' : ''),
              action: 'Remove',
            });
            if (!ok) return;
            await g.busy(rm, async () => {
              try {
                await api('DELETE', '/v1/mfa/factors/' + enc(f.id));
                g.say('"' + name + '" removed.');
                await load();
              } catch (e) { g.report(e); }
            });
          });
          return el('tr', { 'data-factor': f.id },
            cell('Name', name),
            cell('Type', TYPE_WORDS[f.type] || f.type),
            cell('Added', g.ago(f.created_at)),
            cell('Last used', g.ago(f.last_used_at)),
            el('td', { className: 'actions-cell' }, rm));
        });
        list.replaceChildren(rows.length ? g.table(['Name', 'Type', 'Added', 'Last used', ''], rows, { bodyId: 'factors-body' })
          : g.empty('No second factors yet.'));
        const totp = el('button', { type: 'button', id: 'add-totp', className: 'secondary' }, 'Add an authenticator app');
        const pk = el('button', { type: 'button', id: 'add-passkey', className: 'secondary' }, 'Add a passkey');
        const rc = el('button', { type: 'button', id: 'make-recovery', className: 'secondary' }, 'Make recovery codes');
        totp.addEventListener('click', () => g.busy(totp, enrolTOTP));
        pk.addEventListener('click', () => addPasskey());
        rc.addEventListener('click', () => g.busy(rc, recoveryCodes));
        pk.hidden = !g.webauthn || !g.webauthn.supported();
        actions.replaceChildren(totp, pk, rc);
      }

      // An authenticator app: the QR code, the key in words, and the code.
      async function enrolTOTP() {
        let e;
        try {
          e = await api('POST', '/v1/mfa/totp', {});
        } catch (err) { g.report(err); return; }
        const form = el('form', { id: 'totp-form', method: 'post', action: '/', noValidate: true },
          el('div', { className: 'field' },
            el('label', { for: 'totp-code' }, 'The 6-digit code the app shows'),
            el('input', { id: 'totp-code', name: 'code', type: 'text', inputMode: 'numeric', autocomplete: 'one-time-code', pattern: '[0-9]{6}',
              required: true, maxLength: 6, spellcheck: false, 'aria-describedby': 'totp-code-error' }),
            el('p', { className: 'field-error', id: 'totp-code-error', hidden: true })),
          el('div', { className: 'actions' }, el('button', { type: 'submit', className: 'primary' }, 'Turn on'),
            el('button', { type: 'button', className: 'secondary', id: 'totp-cancel' }, 'Cancel')));
        const panel = el('div', { className: 'once', id: 'totp-enrol', role: 'region', 'aria-label': 'Add an authenticator app' },
          el('p', {}, el('strong', {}, 'Scan this code with your authenticator app')),
          el('div', { className: 'qr-box' }, qrSVG(e.otpauth_uri, 'QR code for your authenticator app')),
          el('p', {}, 'Cannot scan it? Enter this key in the app instead: ', el('code', { id: 'totp-secret', className: 'mono' }, e.secret)),
          el('p', { className: 'small muted' }, 'Then enter the code the app shows to check it works. Until then, it does not ask for anything at sign-in.'),
          form);
        g.onSubmit(form, async (f) => {
          // (retried: a wrong code's 401 is an answer, not an expired token to refresh and retry.)
          await api('POST', '/v1/mfa/totp/' + enc(e.id) + '/confirm', { code: f.code.value.trim() }, { retried: true });
          panel.remove();
          g.say('Authenticator app added: two-step sign-in is on.');
          await load();
          if (factors.length === 1) offerRecovery();
        }, (err, f) => {
          if (err.status === 400 || err.status === 401 || err.code === 'invalid_grant') { err.message = 'That code is not right. Check the app\'s clock and enter the newest code.'; return f.code; }
          return null;
        });
        panel.querySelector('#totp-cancel').addEventListener('click', () => panel.remove());
        slot.replaceChildren(panel);
        form.code.focus();
      }

      // A passkey: a name first, then the browser's own dialog.
      async function addPasskey() {
        const form = el('form', { id: 'passkey-form', method: 'post', action: '/', noValidate: true },
          el('div', { className: 'field' },
            el('label', { for: 'passkey-name' }, 'Name for this passkey'),
            el('p', { className: 'hint', id: 'passkey-name-hint' }, 'Where it lives, e.g. "Work laptop" or "Phone". Left empty, it is named after its authenticator where known.'),
            el('input', { id: 'passkey-name', name: 'name', type: 'text', maxLength: 100, autocomplete: 'off', 'aria-describedby': 'passkey-name-hint passkey-name-error' }),
            el('p', { className: 'field-error', id: 'passkey-name-error', hidden: true })),
          el('div', { className: 'actions' }, el('button', { type: 'submit', className: 'primary' }, 'Create passkey'),
            el('button', { type: 'button', className: 'secondary', id: 'passkey-cancel' }, 'Cancel')));
        const panel = el('div', { className: 'once', id: 'passkey-add', role: 'region', 'aria-label': 'Add a passkey' },
          el('p', {}, el('strong', {}, 'Add a passkey')),
          el('p', { className: 'small muted' }, 'Your device asks for your fingerprint, face, PIN or security key. The passkey then signs you in on its own, with no password.'),
          form);
        g.onSubmit(form, async (f) => {
          const o = await api('POST', '/v1/webauthn/registration/options', {});
          let cred;
          try {
            g.webauthn.abortConditional();
            cred = await navigator.credentials.create({ publicKey: g.webauthn.creationOptions(o.publicKey) });
          } catch (err) {
            throw new g.APIError(0, 'webauthn', g.webauthn.passkeyWords(err));
          }
          const added = await api('POST', '/v1/webauthn/registration', { flow_id: o.flow_id, name: f.name.value.trim(), credential: g.webauthn.credentialJSON(cred) }, { retried: true });
          panel.remove();
          g.say('Passkey "' + (added && added.name ? added.name : 'passkey') + '" added.');
          await load();
          if (factors.length === 1) offerRecovery();
        }, (err, f) => (err.code === 'webauthn' || err.status === 400 || err.status === 401 ? f.name : null));
        panel.querySelector('#passkey-cancel').addEventListener('click', () => panel.remove());
        slot.replaceChildren(panel);
        form.name.focus();
      }

      function offerRecovery() {
        const go = el('button', { type: 'button', className: 'primary', id: 'offer-recovery-go' }, 'Make recovery codes');
        const note = el('div', { className: 'notice', id: 'offer-recovery' },
          el('p', {}, 'Make recovery codes now: they get you in if you lose your phone or passkey.'), go);
        go.addEventListener('click', () => g.busy(go, recoveryCodes));
        slot.replaceChildren(note);
      }

      // Recovery codes: shown once, with Copy, Download and the warning.
      async function recoveryCodes() {
        const ok = await g.confirm({ title: 'Make recovery codes?', body: 'You get 10 new codes, shown once. Any recovery codes you made before stop working at once.', action: 'Make codes', danger: false });
        if (!ok) return;
        let r;
        try {
          r = await api('POST', '/v1/mfa/recovery-codes', {});
        } catch (e) { g.report(e); return; }
        const codes = (r && r.codes) || [];
        const text = codes.join('\n');
        const list = el('ol', { className: 'codes', id: 'recovery-codes' }, codes.map((c) => el('li', {}, el('code', {}, c))));
        const copy = el('button', { type: 'button', className: 'secondary', id: 'recovery-copy' }, 'Copy');
        const dl = el('button', { type: 'button', className: 'secondary', id: 'recovery-download' }, 'Download');
        const done = el('button', { type: 'button', id: 'recovery-done' }, 'Done');
        const box = el('div', { className: 'once', id: 'recovery-box', role: 'region', 'aria-label': 'Your recovery codes' },
          el('p', {}, el('strong', {}, 'Your recovery codes')), list,
          el('p', { className: 'warn' }, 'Save them now, somewhere other than this device: they will not be shown again. Each works once, in place of your authenticator app or passkey; making new ones voids these.'),
          el('div', { className: 'actions' }, copy, dl, done));
        copy.addEventListener('click', () => {
          if (navigator.clipboard) navigator.clipboard.writeText(text).then(() => g.say('Copied.'), () => g.say('Copying failed: select the codes and copy them.', true));
        });
        dl.addEventListener('click', () => {
          const me = g.me() || {};
          const blob = new Blob(['gatehouse recovery codes' + (me.email ? ' for ' + me.email : '') + '\n' +
            'Each code works once. Made ' + new Date().toISOString() + '.\n\n' + text + '\n'], { type: 'text/plain' });
          const url = URL.createObjectURL(blob);
          const a = el('a', { href: url, download: 'gatehouse-recovery-codes.txt' });
          document.body.append(a);
          a.click();
          a.remove();
          setTimeout(() => URL.revokeObjectURL(url), 1000);
        });
        done.addEventListener('click', () => { list.replaceChildren(); box.remove(); });
        slot.replaceChildren(box);
        await load();
        copy.focus();
      }

      box.replaceChildren(g.section('Two-step sign-in', 'A second factor after your password: an authenticator app, or a passkey (which also signs you in on its own). Recovery codes get you in when you lose them.',
        state, slot, list, actions));
      await load();
    },
  });

  // ---- a workspace's Settings: require two factors (owners) --------------------------
  g.registerWorkspaceTab({
    id: 'settings', label: 'Settings', order: 50,
    lead: 'How people of this workspace must sign in.',
    async render(view, ws) {
      const [full, mem] = await Promise.all([
        api('GET', '/v1/workspaces/' + enc(ws.id)),
        api('GET', '/v1/workspaces/' + enc(ws.id) + '/members'),
      ]);
      const me = g.me() || {};
      const mine = ((mem && mem.members) || []).find((m) => m.user_id === me.id);
      const owner = mine && mine.role === 'owner';
      let on = !!(full && full.require_mfa);
      const box = el('input', { type: 'checkbox', id: 'require-mfa', name: 'require_mfa', checked: on, disabled: !owner, 'aria-describedby': 'require-mfa-hint' });
      const said = el('p', { id: 'require-mfa-state' });
      const words = () => {
        said.replaceChildren(el('strong', {}, 'Two-step sign-in is ' + (on ? 'required' : 'not required')),
          on ? ': people reach this workspace only from a sign-in with two factors (or a passkey).'
            : ': a password or an emailed link alone reaches this workspace.');
      };
      words();
      box.addEventListener('change', async () => {
        const want = box.checked;
        if (want) {
          const ok = await g.confirm({ title: 'Require two-step sign-in in ' + ws.name + '?',
            body: 'Everyone, you included, then reaches this workspace only after signing in with a second factor or a passkey; sessions signed in with a password alone are refused here until they sign in again. Personal access tokens and apps keep working.',
            action: 'Require it', danger: false });
          if (!ok) { box.checked = on; return; }
        }
        try {
          const r = await api('PATCH', '/v1/workspaces/' + enc(ws.id), { require_mfa: want });
          on = !!(r && r.require_mfa);
          g.say('Two-step sign-in is ' + (on ? 'now required' : 'no longer required') + ' in ' + ws.name + '.');
        } catch (e) { g.report(e); }
        box.checked = on;
        words();
      });
      view.append(g.section('Two-step sign-in', null, said,
        el('label', { className: 'check' }, box, el('span', {}, 'Require two-step sign-in for everyone in this workspace')),
        el('p', { className: 'hint', id: 'require-mfa-hint' }, owner
          ? 'Turn on your own second factor first (Security), and sign in with it: once this is on, a session without it cannot reach the workspace, not even to turn this off.'
          : 'Only owners change this.')));
    },
  });
})();
