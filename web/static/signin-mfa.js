// Second factors and passkeys at sign-in (docs/mfa.md):
//
// - the second-factor step: when POST /v1/auth/token or the magic link
//   answers 403 mfa_required, a dialog asks for an authenticator-app or
//   recovery code (autocomplete="one-time-code"), or a passkey, and posts
//   POST /v1/auth/mfa/verify; the sign-in then goes on as if the first
//   answer had been the token response;
// - "Sign in with a passkey" in #signin-extra (POST /v1/auth/passkey/options,
//   navigator.credentials.get, POST /v1/auth/passkey), and the browser's
//   passkey autofill on the email field (WebAuthn conditional mediation,
//   autocomplete="username webauthn") where the browser offers it;
// - re-authentication: a 403 reauthentication_required asks for the
//   password, a code or a passkey (POST /v1/auth/reauthenticate) and retries;
// - a workspace that requires two factors (403 mfa_required on its paths)
//   says so on the page, with a link to Security.
//
// It also gives the Security page (page-factors.js) g.webauthn: the
// base64url conversion between the server's JSON options and the browser's
// credential API (W3C Web Authentication Level 3, section 5.1.8–5.1.10).
'use strict';

(() => {
  const g = window.gatehouse;
  const { el, api } = g;
  const $ = (id) => document.getElementById(id);

  // ---- WebAuthn JSON <-> ArrayBuffer ------------------------------------------
  function b64uToBuf(s) {
    const b = atob(String(s).replace(/-/g, '+').replace(/_/g, '/') + '==='.slice((String(s).length + 3) % 4));
    const out = new Uint8Array(b.length);
    for (let i = 0; i < b.length; i++) out[i] = b.charCodeAt(i);
    return out.buffer;
  }
  function bufToB64u(buf) {
    const a = new Uint8Array(buf);
    let s = '';
    for (let i = 0; i < a.length; i++) s += String.fromCharCode(a[i]);
    return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  }
  const withIDs = (list) => (list || []).map((c) => Object.assign({}, c, { id: b64uToBuf(c.id) }));

  // creationOptions / requestOptions turn the server's JSON options into the
  // browser's (PublicKeyCredential.parse…FromJSON where it exists).
  function creationOptions(pk) {
    if (window.PublicKeyCredential && PublicKeyCredential.parseCreationOptionsFromJSON) {
      try { return PublicKeyCredential.parseCreationOptionsFromJSON(pk); } catch (_) { /* convert below */ }
    }
    return Object.assign({}, pk, {
      challenge: b64uToBuf(pk.challenge),
      user: Object.assign({}, pk.user, { id: b64uToBuf(pk.user.id) }),
      excludeCredentials: withIDs(pk.excludeCredentials),
    });
  }
  function requestOptions(pk) {
    if (window.PublicKeyCredential && PublicKeyCredential.parseRequestOptionsFromJSON) {
      try { return PublicKeyCredential.parseRequestOptionsFromJSON(pk); } catch (_) { /* convert below */ }
    }
    const o = Object.assign({}, pk, { challenge: b64uToBuf(pk.challenge) });
    if (pk.allowCredentials) o.allowCredentials = withIDs(pk.allowCredentials);
    return o;
  }

  // credentialJSON is PublicKeyCredential.toJSON(), or the same by hand.
  function credentialJSON(c) {
    if (typeof c.toJSON === 'function') {
      try { return c.toJSON(); } catch (_) { /* by hand below */ }
    }
    const r = c.response;
    const out = {
      id: c.id, rawId: bufToB64u(c.rawId), type: c.type,
      authenticatorAttachment: c.authenticatorAttachment || undefined,
      clientExtensionResults: c.getClientExtensionResults ? c.getClientExtensionResults() : {},
      response: { clientDataJSON: bufToB64u(r.clientDataJSON) },
    };
    if (r.attestationObject) {
      out.response.attestationObject = bufToB64u(r.attestationObject);
      if (r.getTransports) out.response.transports = r.getTransports();
    } else {
      out.response.authenticatorData = bufToB64u(r.authenticatorData);
      out.response.signature = bufToB64u(r.signature);
      if (r.userHandle) out.response.userHandle = bufToB64u(r.userHandle);
    }
    return out;
  }

  const supported = () => !!(window.PublicKeyCredential && navigator.credentials);

  // Only one credential request runs at a time: a pending conditional one
  // (passkey autofill) is aborted before any other.
  let conditional = null;
  function abortConditional() {
    if (conditional) { conditional.abort(); conditional = null; }
  }

  // assert asks the browser for a passkey for {flow_id, publicKey} options.
  async function assert(o, extra) {
    abortConditional();
    const c = await navigator.credentials.get(Object.assign({ publicKey: requestOptions(o.publicKey) }, extra || {}));
    return credentialJSON(c);
  }

  // passkeyWords turns a browser's refusal into words.
  function passkeyWords(e) {
    if (e && e.name === 'NotAllowedError') return 'The passkey request was cancelled or timed out. Try again.';
    if (e && e.name === 'InvalidStateError') return 'This passkey is already on your account.';
    if (e && e.name === 'SecurityError') return 'Passkeys do not work on this address (it must be the service\'s own https address, or localhost).';
    return (e && e.message) || String(e);
  }

  g.webauthn = { creationOptions, requestOptions, credentialJSON, supported, assert, abortConditional, passkeyWords, b64uToBuf, bufToB64u };

  // ---- a small dialog with a form ------------------------------------------------
  // factorDialog asks for a second factor (or, with password, the password)
  // and calls submit(body) until it succeeds or the person cancels; it
  // resolves with submit's answer, or rejects with a cancellation.
  function factorDialog(opts) {
    return new Promise((resolve, reject) => {
      const id = opts.id;
      const err = el('p', { className: 'field-error', id: id + '-code-error', hidden: true });
      const pwErr = el('p', { className: 'field-error', id: id + '-password-error', hidden: true });
      const fields = [];
      if (opts.password) {
        // The account's address for password managers (not shown).
        fields.push(el('input', { type: 'text', name: 'username', autocomplete: 'username', value: (g.me() || {}).email || '', hidden: true, tabIndex: -1, 'aria-hidden': 'true' }));
        fields.push(el('div', { className: 'field' },
          el('label', { for: id + '-password' }, 'Password'),
          el('input', { id: id + '-password', name: 'password', type: 'password', autocomplete: 'current-password', maxLength: 1024, 'aria-describedby': id + '-password-error' }),
          pwErr));
      }
      if (opts.code) {
        fields.push(el('div', { className: 'field' },
          el('label', { for: id + '-code' }, opts.password ? 'Or a code from your authenticator app' : 'Code from your authenticator app, or a recovery code'),
          el('p', { className: 'hint', id: id + '-code-hint' }, '6 digits, or a recovery code like abcd-efgh-jkmn.'),
          el('input', { id: id + '-code', name: 'code', type: 'text', autocomplete: 'one-time-code', inputMode: 'text',
            spellcheck: false, maxLength: 32, required: !opts.password, 'aria-describedby': id + '-code-hint ' + id + '-code-error' }),
          err));
      }
      const ok = el('button', { type: 'submit', className: 'primary' }, opts.action || 'Continue');
      const cancel = el('button', { type: 'button', className: 'secondary' }, 'Cancel');
      const pk = opts.passkey && supported() ? el('button', { type: 'button', className: 'secondary', id: id + '-passkey' }, 'Use a passkey') : null;
      const form = el('form', { method: 'post', action: '/', noValidate: true, id: id + '-form' },
        el('h2', { id: id + '-title' }, opts.title),
        el('p', {}, opts.body),
        ...fields,
        el('div', { className: 'actions' }, ok, pk, cancel));
      const d = el('dialog', { 'aria-labelledby': id + '-title', id }, form);
      let done = false;
      const finish = (v) => { done = true; d.close(); resolve(v); };
      const showError = (e, input) => {
        const f = input || form.querySelector('input:not([hidden])');
        if (f) { g.fieldError(f, e.message || String(e)); f.focus(); } else g.say(e.message || String(e), true);
      };
      form.addEventListener('submit', async (ev) => {
        ev.preventDefault();
        g.clearErrors(form);
        const body = {};
        const pw = form.elements.password, code = form.elements.code;
        if (pw && pw.value) body.password = pw.value;
        else if (code && code.value.trim()) body.code = code.value.trim();
        if (!body.password && !body.code) {
          showError(new Error(opts.password ? 'Enter your password (or a code).' : 'Enter the code.'), pw || code);
          return;
        }
        await g.busy(ok, async () => {
          try {
            finish(await opts.submit(body));
          } catch (e) {
            if (pw) pw.value = '';
            if (e.code === 'invalid_grant' || e.status === 401) e.message = body.password ? 'That password is not right.' : 'That code is not right, or was already used.';
            showError(e, body.password ? pw : code);
          }
        });
      });
      if (pk) {
        pk.addEventListener('click', async () => {
          await g.busy(pk, async () => {
            try {
              finish(await opts.passkey());
            } catch (e) {
              showError(new Error(e instanceof g.APIError ? (e.code === 'invalid_grant' ? 'That passkey was not accepted.' : e.message) : passkeyWords(e)));
            }
          });
        });
      }
      cancel.addEventListener('click', () => d.close());
      d.addEventListener('close', () => {
        d.remove();
        if (!done) reject(new g.APIError(0, 'cancelled', opts.cancelled || 'Cancelled.'));
      });
      document.body.append(d);
      d.showModal();
      (form.querySelector('input:not([hidden])') || ok).focus();
    });
  }

  // ---- the second-factor step at sign-in ----------------------------------------
  g.onAPIError(async (r) => {
    if (r.status !== 403 || !r.data || r.data.error !== 'mfa_required' || !r.data.mfa_token) return undefined;
    if (r.path !== '/v1/auth/token' && r.path !== '/v1/auth/magic-link/verify') return undefined;
    const token = r.data.mfa_token;
    const types = (r.data.factors || []).map((f) => f.type);
    const hasTOTP = types.includes('totp'), hasPasskey = types.includes('passkey');
    return factorDialog({
      id: 'mfa-step',
      title: 'Two-step sign-in',
      body: hasTOTP
        ? 'Your password was right. Now enter the 6-digit code from your authenticator app' + (hasPasskey ? ', or use your passkey.' : '.') + ' Lost it? Use one of your recovery codes.'
        : 'Your password was right. Now use your passkey, or one of your recovery codes.',
      code: true,
      action: 'Verify',
      cancelled: 'Sign-in cancelled: the second step was not done.',
      submit: (body) => api('POST', '/v1/auth/mfa/verify', Object.assign({ mfa_token: token }, body), { noAuth: true }),
      passkey: hasPasskey ? async () => {
        const o = await api('POST', '/v1/auth/mfa/webauthn/options', { mfa_token: token }, { noAuth: true });
        const credential = await assert(o);
        return api('POST', '/v1/auth/mfa/verify', { mfa_token: token, flow_id: o.flow_id, credential }, { noAuth: true });
      } : null,
    });
  });

  // ---- re-authentication before a sensitive change --------------------------------
  g.onAPIError(async (r) => {
    if (r.status !== 403 || !r.data || r.data.error !== 'reauthentication_required' || (r.opts && r.opts.reauthed)) return undefined;
    const tok = await factorDialog({
      id: 'reauth',
      title: 'Confirm it is you',
      body: 'This change needs a recent sign-in. Enter your password, or a code from your authenticator app, to go on.',
      password: true,
      code: true,
      action: 'Confirm',
      cancelled: 'Not changed: confirm it is you to go on.',
      // (retried: a wrong password's 401 is an answer, not an expired token to refresh.)
      submit: (body) => api('POST', '/v1/auth/reauthenticate', body, { reauthed: true, retried: true }),
      passkey: async () => {
        const o = await api('POST', '/v1/auth/reauthenticate/webauthn/options', {}, { reauthed: true });
        const credential = await assert(o);
        return api('POST', '/v1/auth/reauthenticate', { flow_id: o.flow_id, credential }, { reauthed: true, retried: true });
      },
    });
    g.accept(tok);
    return api(r.method, r.path, r.body, Object.assign({}, r.opts, { reauthed: true }));
  });

  // ---- a workspace that requires two factors ----------------------------------------
  g.onAPIError((r) => {
    if (r.status !== 403 || !r.data || r.data.error !== 'mfa_required' || !r.path.startsWith('/v1/workspaces/')) return undefined;
    const view = $('view');
    if (view && !$('mfa-needed')) {
      const note = el('div', { className: 'notice error', id: 'mfa-needed', role: 'alert' },
        el('strong', {}, 'This workspace requires two-step sign-in. '),
        'Your current sign-in used one factor only. Add an authenticator app or a passkey under ',
        el('a', { href: '#/security' }, 'Security'),
        ', then sign out and sign in again with it.');
      const head = view.querySelector('.page-head');
      if (head) head.after(note); else view.prepend(note);
    }
    return undefined;
  });

  // ---- "Sign in with a passkey" and passkey autofill ------------------------------------
  async function passkeySignIn(mediation) {
    const o = await api('POST', '/v1/auth/passkey/options', {}, { noAuth: true });
    let credential;
    if (mediation) {
      abortConditional();
      const ctl = new AbortController();
      conditional = ctl;
      const c = await navigator.credentials.get({ publicKey: requestOptions(o.publicKey), mediation: 'conditional', signal: ctl.signal });
      if (conditional === ctl) conditional = null;
      credential = credentialJSON(c);
    } else {
      credential = await assert(o);
    }
    const tok = await api('POST', '/v1/auth/passkey', { flow_id: o.flow_id, credential }, { noAuth: true });
    g.accept(tok);
    g.say('');
    await g.showSignedIn();
  }

  function wireSignIn() {
    const slot = $('signin-extra');
    if (!slot || !supported()) return;
    const err = el('p', { className: 'field-error', id: 'passkey-error', hidden: true, role: 'alert' });
    const btn = el('button', { type: 'button', id: 'passkey-signin', className: 'secondary wide', 'aria-describedby': 'passkey-error' }, 'Sign in with a passkey');
    btn.addEventListener('click', async () => {
      err.hidden = true;
      await g.busy(btn, async () => {
        try {
          await passkeySignIn(false);
        } catch (e) {
          err.textContent = e instanceof g.APIError ? (e.code === 'invalid_grant' ? 'That passkey was not accepted. Use your password, or another passkey.' : e.message) : passkeyWords(e);
          err.hidden = false;
        }
      });
    });
    slot.append(btn, err);

    // Passkey autofill: the email field offers the person's passkeys where
    // the browser supports conditional mediation, while the card shows.
    const email = $('signin-email');
    email.setAttribute('autocomplete', 'username webauthn');
    const card = $('signed-out');
    let running = false;
    async function startConditional() {
      if (running || card.hidden) return;
      let ok = false;
      try { ok = PublicKeyCredential.isConditionalMediationAvailable && await PublicKeyCredential.isConditionalMediationAvailable(); } catch (_) { ok = false; }
      if (!ok || card.hidden) return;
      running = true;
      try {
        await passkeySignIn(true);
      } catch (e) {
        if (e && e.name !== 'AbortError' && !(e instanceof DOMException && e.name === 'NotAllowedError')) {
          err.textContent = e instanceof g.APIError ? 'That passkey was not accepted.' : passkeyWords(e);
          err.hidden = false;
        }
      } finally {
        running = false;
      }
    }
    new MutationObserver(() => {
      if (card.hidden) abortConditional();
      else startConditional();
    }).observe(card, { attributes: true, attributeFilter: ['hidden'] });
    // The core may have shown the card already (no session to refresh).
    startConditional();
  }

  document.addEventListener('DOMContentLoaded', wireSignIn);
})();
