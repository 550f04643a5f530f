-- 0002 keys: access-token signing keys (docs/keys.md). Instance-wide.
-- See the PostgreSQL migration of the same number for the model.

create table signing_keys (
	kid          text primary key check (length(kid) between 1 and 64),
	alg          text not null check (alg in ('RS256', 'ES256', 'EdDSA')),
	public_jwk   text not null,
	private_key  blob not null,
	created_at   integer not null,
	activates_at integer not null,
	retires_at   integer,
	revoked_at   integer
) strict;

create table signing_key_state (
	id      integer primary key check (id = 1),
	version integer not null
) strict;

insert into signing_key_state (id, version) values (1, 0);
