-- 0002 keys: access-token signing keys (docs/keys.md).
--
-- Signing keys are instance-wide: no workspace_id, no row-level security.
-- A key's status follows from its times (gatehouse.SigningKey.Status):
-- next before activates_at, active until retires_at, retired while its
-- tokens can still be valid, then removed (the row is deleted); revoked_at
-- set means revoked, whatever the times say.
--
-- private_key is the PKCS #8 key sealed by package kms (AES-256-GCM under a
-- key-encryption key, the kid bound as additional data); it is emptied when
-- the key is revoked.

create table signing_keys (
	kid          text primary key check (kid ~ '^[A-Za-z0-9_-]{1,64}$'),
	alg          text not null check (alg in ('RS256', 'ES256', 'EdDSA')),
	public_jwk   text not null,
	private_key  bytea not null,
	created_at   bigint not null,
	activates_at bigint not null,
	retires_at   bigint,
	revoked_at   bigint
);

-- One row: the key-set version, bumped by every change. Rotation locks this
-- row (FOR UPDATE), so two instances never rotate at once; a running server
-- polls the version to notice changes made by another instance or the CLI.
create table signing_key_state (
	id      integer primary key check (id = 1),
	version bigint not null
);

insert into signing_key_state (id, version) values (1, 0);
