// The pages emailed links open: /verify-email, /reset-password,
// /confirm-email, /invitation and /magic-link. Each shows what the link does
// and a button; the token is posted only when the button is pressed (mail
// scanners open links, and some run their scripts), never on load.
'use strict';

(() => {
  const g = window.gatehouse;
  const { el, api } = g;

  // explain turns a refused token into words.
  function explain(e, what) {
    if (e.status === 401 || e.status === 410 || (e.status === 400 && /token/i.test(e.message)) || e.code === 'invalid_grant') {
      return 'This ' + what + ' link has expired or was already used. Ask for a new one.';
    }
    if (g.missing(e)) return 'This gatehouse does not handle ' + what + ' links yet.';
    return e.message;
  }

  // page renders a link page: a sentence, optional fields, one button.
  function page(ctx, opts) {
    const form = el('form', { id: 'link-form', method: 'post', action: '/', noValidate: true },
      opts.fields || [],
      el('button', { type: 'submit', className: 'primary wide', id: 'link-go' }, opts.button));
    const err = el('p', { className: 'notice error', id: 'link-error', role: 'alert', hidden: true });
    ctx.body.replaceChildren(el('p', {}, opts.text), err, form);
    g.onSubmit(form, async () => {
      err.hidden = true;
      try {
        await opts.go(form);
      } catch (e) {
        if (e instanceof g.APIError && (e.status !== 400 || /token/i.test(e.message))) {
          err.textContent = explain(e, opts.what);
          err.hidden = false;
          ctx.setTitle(opts.failed);
          return;
        }
        throw e;
      }
    }, (e, f) => (opts.fieldFor ? opts.fieldFor(e, f) : null));
  }

  // done replaces the page with a message and a way on.
  function done(ctx, title, text, href, label) {
    ctx.setTitle(title);
    ctx.body.replaceChildren(el('p', { id: 'link-done', role: 'status' }, text),
      el('p', {}, el('a', { className: 'button primary', href }, label)));
  }

  // signedInAfter signs the person in with the token response and opens the portal.
  async function signedInAfter(tok) {
    g.accept(tok);
    history.replaceState(null, '', '/');
    location.reload();
  }

  g.registerLinkPage('/magic-link', {
    title: 'Sign in with your link',
    render(ctx) {
      page(ctx, {
        what: 'sign-in', failed: 'This sign-in link has expired or was already used.',
        text: 'Press the button to finish signing in on this device. The link works once.',
        button: 'Sign in',
        go: async () => {
          const tok = await api('POST', '/v1/auth/magic-link/verify', { token: ctx.token }, { noAuth: true });
          await signedInAfter(tok);
        },
      });
    },
  });

  g.registerLinkPage('/verify-email', {
    title: 'Confirm your address',
    render(ctx) {
      page(ctx, {
        what: 'confirmation', failed: 'This confirmation link has expired or was already used.',
        text: 'Press the button to confirm that this address is yours. You will be signed in.',
        button: 'Confirm my address',
        go: async () => {
          const tok = await api('POST', '/v1/auth/verify-email', { token: ctx.token }, { noAuth: true });
          if (tok && tok.access_token) await signedInAfter(tok);
          else done(ctx, 'Address confirmed', 'Your address is confirmed. You can sign in now.', '/', 'Sign in');
        },
      });
    },
  });

  g.registerLinkPage('/reset-password', {
    title: 'Choose a new password',
    render(ctx) {
      page(ctx, {
        what: 'reset', failed: 'This reset link has expired or was already used.',
        text: 'Choose a new password. Every session of your account will end, and you will sign in again.',
        fields: [
          el('input', { type: 'text', name: 'username', autocomplete: 'username', hidden: true, value: '' }),
          el('div', { className: 'field' },
            el('label', { for: 'reset-password' }, 'New password'),
            el('p', { className: 'hint', id: 'reset-password-hint' }, 'At least 15 characters.'),
            el('input', { id: 'reset-password', name: 'password', type: 'password', autocomplete: 'new-password', required: true,
              minLength: 15, maxLength: 1024, 'aria-describedby': 'reset-password-hint reset-password-error' }),
            el('p', { className: 'field-error', id: 'reset-password-error', hidden: true })),
        ],
        button: 'Set new password',
        fieldFor: (e, f) => (e.status === 400 && !/token/i.test(e.message) ? f.password : null),
        go: async (f) => {
          try {
            await api('POST', '/v1/auth/password-reset/confirm', { token: ctx.token, password: f.password.value }, { noAuth: true });
          } finally {
            f.password.value = '';
          }
          done(ctx, 'Password changed', 'Your password is changed and every session has ended. Sign in with the new password.', '/', 'Sign in');
        },
      });
    },
  });

  g.registerLinkPage('/confirm-email', {
    title: 'Confirm your new address',
    render(ctx) {
      page(ctx, {
        what: 'confirmation', failed: 'This confirmation link has expired or was already used.',
        text: 'Press the button to make this address the one your account uses for signing in and for mail.',
        button: 'Confirm new address',
        go: async () => {
          await api('POST', '/v1/auth/confirm-email', { token: ctx.token }, { noAuth: true });
          done(ctx, 'Address changed', 'Your account now uses this address.', '/', 'Go to gatehouse');
        },
      });
    },
  });

  g.registerLinkPage('/invitation', {
    title: 'Join a workspace',
    render(ctx) {
      const me = g.me();
      if (!g.sessionID() || !me) {
        // Sign in first, on this page: the token stays in memory only.
        const f = el('form', { id: 'invite-signin', method: 'post', action: '/', noValidate: true },
          el('div', { className: 'field' }, el('label', { for: 'invite-email' }, 'Email'),
            el('input', { id: 'invite-email', name: 'email', type: 'email', autocomplete: 'username', required: true, maxLength: 254 }),
            el('p', { className: 'field-error', id: 'invite-email-error', hidden: true })),
          el('div', { className: 'field' }, el('label', { for: 'invite-password' }, 'Password'),
            el('input', { id: 'invite-password', name: 'password', type: 'password', autocomplete: 'current-password', required: true, maxLength: 1024 }),
            el('p', { className: 'field-error', id: 'invite-password-error', hidden: true })),
          el('button', { type: 'submit', className: 'primary wide' }, 'Sign in'));
        ctx.body.replaceChildren(el('p', {}, 'You were invited to a workspace. Sign in with the invited address to accept; no account yet? ',
          el('a', { href: '/#/signup' }, 'Create one'), ' with that address, then open the link again.'), f);
        g.onSubmit(f, async () => {
          try {
            g.accept(await api('POST', '/v1/auth/token', { email: f.email.value, password: f.password.value }, { noAuth: true }));
          } finally {
            f.password.value = '';
          }
          await g.showSignedIn();
        }, (e, form) => (e.code === 'invalid_grant' ? (e.message = 'Wrong email or password.', form.password) : null));
        return;
      }
      page(ctx, {
        what: 'invitation', failed: 'This invitation cannot be accepted.',
        text: 'You are signed in as ' + me.email + '. Press the button to join the workspace you were invited to.',
        button: 'Accept invitation',
        go: async () => {
          let r;
          try {
            r = await api('POST', '/v1/invitations/accept', { token: ctx.token });
          } catch (e) {
            if (e.status === 403 || e.status === 409) e.message = 'This invitation is for another address: sign in as the invited address.';
            throw e;
          }
          const ws = r && (r.workspace_id || (r.workspace && r.workspace.id));
          done(ctx, 'You joined the workspace', 'You are now a member' + (r && r.role ? ' (' + r.role + ')' : '') + '.',
            ws ? '/#/workspaces/' + encodeURIComponent(ws) + '/members' : '/#/workspaces', 'Open the workspace');
        },
      });
    },
  });
})();
