-- 0012 OpenID Connect (docs/oidc.md).
--
-- An authorization code carries the request's nonce to the id_token (OpenID
-- Connect Core 3.1.2.1). A client may register the algorithm of its
-- id_tokens (id_token_signed_response_alg, OpenID Connect Dynamic Client
-- Registration 2; '' is the server's default), the URIs RP-initiated logout
-- may return to (matched exactly), and a back-channel logout URI.
alter table oauth_codes add column nonce text not null default '' check (length(nonce) <= 512);
alter table oauth_clients add column id_token_alg text not null default '';
alter table oauth_clients add column post_logout_redirect_uris text not null default '';
alter table oauth_clients add column backchannel_logout_uri text not null default '';

-- Back-channel logout (OpenID Connect Back-Channel Logout 1.0) and a
-- generic outbox. When a session ends, the transaction that ends it finds
-- the OAuth grants approved from that session whose client registered a
-- back-channel logout URI, and writes one outbox row per (client, session)
-- in the same transaction, so a crash loses none; a worker delivers them
-- with retries. The outbox is instance-wide (no workspace, like
-- signing_keys); kind names what a row is, payload is JSON.
create table outbox (
	id         uuid primary key,
	kind       text not null check (kind <> '' and length(kind) <= 64),
	payload    text not null,
	attempts   integer not null default 0,
	next_at    bigint not null,
	created_at bigint not null,
	last_error text not null default ''
);
create index outbox_due on outbox (next_at);

-- oauth_grants and oauth_clients are workspace-scoped with forced
-- row-level security, but a session is not in a workspace. As 0008 does
-- for the purge, a transaction-local setting, app.ended_at (unix
-- microseconds), opens SELECT only: of grants approved from a session that
-- was revoked at exactly that instant (the transaction's own revocation),
-- and of clients that registered a back-channel logout URI. A live
-- session's grants never become visible through it, and nothing can be
-- written.
create policy oauth_grants_backchannel on oauth_grants for select using (
	session_id in (select id from sessions
		where revoked_at = nullif(current_setting('app.ended_at', true), '')::bigint)
);
create policy oauth_clients_backchannel on oauth_clients for select using (
	backchannel_logout_uri <> '' and nullif(current_setting('app.ended_at', true), '') is not null
);
