// The Account page: profile and address, password, email change, deletion.
'use strict';

(() => {
  const g = window.gatehouse;
  const { el, api, section } = g;

  function field(id, label, attrs, hint) {
    return el('div', { className: 'field' },
      el('label', { for: id }, label),
      hint ? el('p', { className: 'hint', id: id + '-hint' }, hint) : null,
      el('input', Object.assign({ id, 'aria-describedby': (hint ? id + '-hint ' : '') + id + '-error' }, attrs)),
      el('p', { className: 'field-error', id: id + '-error', hidden: true }));
  }

  // notYet words the answer of a server without the route, and the
  // request for a recent sign-in.
  function notYet(e, route) {
    if (g.missing(e)) e.message = 'This gatehouse does not offer this yet (' + route + ').';
    if (e.code === 'reauthentication_required') e.message = 'For your safety this needs a recent sign-in: sign out, sign in again, and try once more.';
    return e;
  }

  g.registerPage({
    id: 'account',
    label: 'Account',
    order: 10,
    async render(view) {
      const me = g.me() || await api('GET', '/v1/me');
      const profile = section('Profile', 'Who you are to gatehouse and to the applications you allow.',
        el('dl', { className: 'kv' },
          el('dt', {}, 'Email'), el('dd', { id: 'account-email' }, me.email),
          el('dt', {}, 'Status'), el('dd', {}, me.status === 'active' ? el('span', { className: 'badge ok' }, 'active') : el('span', { className: 'badge warn' }, me.status)),
          el('dt', {}, 'Member since'), el('dd', {}, g.ago(me.created_at)),
          me.admin ? el('dt', {}, 'Role') : null, me.admin ? el('dd', {}, 'Instance administrator') : null));

      const pw = el('form', { id: 'password-form', method: 'post', action: '/', noValidate: true },
        el('input', { type: 'text', name: 'username', autocomplete: 'username', value: me.email, hidden: true }),
        field('password-current', 'Current password', { name: 'current', type: 'password', autocomplete: 'current-password', required: true, maxLength: 1024 }),
        field('password-new', 'New password', { name: 'next', type: 'password', autocomplete: 'new-password', required: true, minLength: 15, maxLength: 1024 },
          'At least 15 characters. Your other sessions will end.'),
        el('button', { type: 'submit', className: 'primary' }, 'Change password'));
      g.onSubmit(pw, async (f) => {
        try {
          await api('POST', '/v1/me/password', { current_password: f.current.value, new_password: f.next.value });
        } catch (e) {
          throw notYet(e, 'POST /v1/me/password');
        } finally {
          f.current.value = '';
          f.next.value = '';
        }
        g.say('Password changed. Your other sessions have ended.');
      }, (e, f) => (e.code === 'invalid_grant' || e.status === 401 ? (e.message = 'The current password is wrong.', f.current)
        : e.status === 400 ? f.next : null));

      const em = el('form', { id: 'email-form', method: 'post', action: '/', noValidate: true },
        field('email-new', 'New email address', { name: 'email', type: 'email', autocomplete: 'email', required: true, maxLength: 254 },
          'We mail a link to the new address; it takes effect when you open it. The old address gets a notice.'),
        el('button', { type: 'submit', className: 'primary' }, 'Send confirmation link'));
      g.onSubmit(em, async (f) => {
        try {
          await api('POST', '/v1/me/email', { email: f.email.value });
        } catch (e) {
          throw notYet(e, 'POST /v1/me/email');
        }
        g.say('Check ' + f.email.value + ' for a confirmation link.');
        f.reset();
      }, (e, f) => (e.status === 400 || e.status === 409 ? f.email : null));

      const del = el('button', { type: 'button', className: 'danger', id: 'delete-account' }, 'Delete my account');
      del.addEventListener('click', async () => {
        const ok = await g.confirm({
          title: 'Delete ' + me.email + '?',
          body: 'Your sessions, access tokens and workspace memberships end now and cannot be restored. Audit events keep your account id, never your address.',
          action: 'Delete my account', typed: me.email,
        });
        if (!ok) return;
        await g.busy(del, async () => {
          try {
            await api('DELETE', '/v1/me');
          } catch (e) {
            if (e.status === 409) e.message = 'You are the last owner of a workspace with other members: make someone else an owner first.';
            g.report(notYet(e, 'DELETE /v1/me'));
            return;
          }
          await g.signOut();
          g.say('Your account is deleted.');
        });
      });

      view.replaceChildren(g.pageHead('Account', 'Your profile, your password and your address.'),
        profile,
        section('Password', 'Change the password you sign in with.', pw),
        section('Email address', 'Change the address you sign in with and get mail at.', em),
        el('section', { className: 'section danger-zone', 'aria-labelledby': 'sec-delete' },
          el('h2', { id: 'sec-delete' }, 'Delete account'),
          el('p', { className: 'lead' }, 'Deleting your account cannot be undone. If you own a workspace with other members, hand it over first.'),
          del));
    },
  });
})();
