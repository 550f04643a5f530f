-- 0012 OpenID Connect: the nonce of an authorization code and a client's
-- OpenID Connect registration (see the PostgreSQL migration of the same
-- number).
alter table oauth_codes add column nonce text not null default '' check (length(nonce) <= 512);
alter table oauth_clients add column id_token_alg text not null default '';
alter table oauth_clients add column post_logout_redirect_uris text not null default '';
alter table oauth_clients add column backchannel_logout_uri text not null default '';

-- Back-channel logout and a generic outbox (see the PostgreSQL migration
-- of the same number).
create table outbox (
	id         text primary key,
	kind       text not null check (kind <> '' and length(kind) <= 64),
	payload    text not null,
	attempts   integer not null default 0,
	next_at    integer not null,
	created_at integer not null,
	last_error text not null default ''
) strict;
create index outbox_due on outbox (next_at);
