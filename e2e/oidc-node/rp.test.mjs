// A relying party built on panva's openid-client (a certified OpenID Connect
// library) signs a person in with a real gatehouse binary: discovery, the
// code flow with PKCE and a nonce, id_token validation, userinfo, refresh and
// RP-initiated logout. e2e/oidc_node_test.go starts gatehouse, registers the
// client and runs this with GATEHOUSE_ISSUER, GATEHOUSE_CLIENT_ID,
// GATEHOUSE_EMAIL, GATEHOUSE_PASSWORD and GATEHOUSE_CALLBACK, GATEHOUSE_BYE.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import dns from 'node:dns';
import * as client from 'openid-client';

dns.setDefaultResultOrder('ipv4first'); // gatehouse listens on 127.0.0.1

const env = (k) => {
  const v = process.env[k];
  if (!v) throw new Error(`${k} is not set`);
  return v;
};

// browser is a minimal cookie-keeping browser that follows no redirects.
function browser(origin) {
  const jar = new Map();
  return async (url, init = {}) => {
    const headers = new Headers(init.headers || {});
    if (jar.size) headers.set('cookie', [...jar].map(([k, v]) => `${k}=${v}`).join('; '));
    if (init.method && init.method !== 'GET') {
      headers.set('origin', origin);
      headers.set('sec-fetch-site', 'same-origin');
    }
    const res = await fetch(url, { ...init, headers, redirect: 'manual' });
    for (const c of res.headers.getSetCookie()) {
      const [pair, ...attrs] = c.split(';');
      const i = pair.indexOf('=');
      const name = pair.slice(0, i).trim();
      if (attrs.some((a) => /^\s*max-age=(0|-)/i.test(a))) jar.delete(name);
      else jar.set(name, pair.slice(i + 1).trim());
    }
    return res;
  };
}

test('openid-client signs in, refreshes and logs out with gatehouse', async () => {
  const issuer = new URL(env('GATEHOUSE_ISSUER'));
  const clientId = env('GATEHOUSE_CLIENT_ID');
  const callback = env('GATEHOUSE_CALLBACK');
  const bye = env('GATEHOUSE_BYE');
  // Plain HTTP only because the test server is on loopback.
  const config = await client.discovery(issuer, clientId, { id_token_signed_response_alg: 'RS256' }, client.None(), {
    execute: [client.allowInsecureRequests],
  });
  const meta = config.serverMetadata();
  assert.equal(meta.issuer, issuer.href.replace(/\/$/, ''));
  assert.ok(meta.id_token_signing_alg_values_supported.includes('RS256'));
  assert.equal(meta.backchannel_logout_supported, true);

  const go = browser(issuer.origin);
  // Sign in at the portal as a browser does.
  let res = await go(new URL('/v1/auth/token', issuer), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: env('GATEHOUSE_EMAIL'), password: env('GATEHOUSE_PASSWORD') }),
  });
  assert.equal(res.status, 200, await res.text());

  const verifier = client.randomPKCECodeVerifier();
  const nonce = client.randomNonce();
  const state = client.randomState();
  const authURL = client.buildAuthorizationUrl(config, {
    redirect_uri: callback,
    scope: 'openid email',
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    nonce,
    state,
  });
  res = await go(authURL);
  const page = await res.text();
  assert.equal(res.status, 200, page);
  const form = new URLSearchParams();
  for (const m of page.matchAll(/<input type="hidden" name="([a-z_]+)" value="([^"]*)">/g)) {
    form.set(m[1], m[2].replaceAll('&amp;', '&').replaceAll('&#43;', '+').replaceAll('&#34;', '"').replaceAll('&#39;', "'"));
  }
  form.set('decision', 'approve');
  res = await go(new URL('/v1/oauth/authorize', issuer), {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: form,
  });
  assert.equal(res.status, 303);
  const back = new URL(res.headers.get('location'));
  assert.equal(back.origin + back.pathname, callback);

  // The library checks state, iss (RFC 9207), PKCE, the id_token's
  // signature, iss, aud, exp, iat and nonce.
  const tokens = await client.authorizationCodeGrant(config, back, {
    pkceCodeVerifier: verifier,
    expectedNonce: nonce,
    expectedState: state,
    idTokenExpected: true,
  });
  const claims = tokens.claims();
  assert.equal(claims.aud, clientId);
  assert.equal(claims.nonce, nonce);
  assert.equal(claims.email, env('GATEHOUSE_EMAIL'));
  assert.ok(claims.sid && claims.auth_time && claims.at_hash && Array.isArray(claims.amr));

  const info = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
  assert.equal(info.sub, claims.sub);
  assert.equal(info.email, env('GATEHOUSE_EMAIL'));

  const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token);
  assert.equal(refreshed.claims().sub, claims.sub);
  assert.notEqual(refreshed.refresh_token, tokens.refresh_token);

  // RP-initiated logout with the id_token as the hint.
  const end = client.buildEndSessionUrl(config, { id_token_hint: tokens.id_token, post_logout_redirect_uri: bye, state: 'bye-state' });
  res = await go(end);
  assert.equal(res.status, 303);
  assert.equal(res.headers.get('location'), `${bye}?state=bye-state`);
  await assert.rejects(client.refreshTokenGrant(config, refreshed.refresh_token), (err) => {
    assert.equal(err.error, 'invalid_grant');
    return true;
  });
});
