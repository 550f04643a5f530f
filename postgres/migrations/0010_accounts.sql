-- 0010 accounts (docs/reference.md section 16, docs/privacy.md): address
-- verification, password reset and email change.
--
-- users.email_verified_at is when the account last proved its address (a
-- verification link, a magic link, a password reset, a confirmed change);
-- NULL: never. Accounts made before this migration are taken as verified
-- (they signed in under the rules of their time, and refusing them now would
-- lock every existing user out).
--
-- account_tokens holds the SHA-256 of every single-use mailed token of these
-- flows (purpose names which): never the token. A row without a user is a
-- decoy (used from the start, see 0009): a request for an address without an
-- account does the same store work as one with. email is the new address of
-- an email change, else ''. password is the password hash (PHC string,
-- never a password) chosen at the sign-up that a verification token answers:
-- verifying sets it, so that whoever holds the mailbox gets the password of
-- the sign-up whose link they opened, not one an earlier sign-up chose. Rows live outside any workspace: no row-level
-- security; every query names the hash.

alter table users add column email_verified_at bigint;
update users set email_verified_at = created_at;

create table account_tokens (
	hash       bytea primary key check (length(hash) = 32),
	purpose    text not null check (purpose in ('verify_email', 'password_reset', 'email_change')),
	user_id    uuid references users (id) on delete cascade,
	email      text not null default '',
	password   text not null default '',
	created_at bigint not null,
	expires_at bigint not null,
	used_at    bigint,
	check (user_id is not null or used_at is not null)
);

create index account_tokens_expires on account_tokens (expires_at);
create index account_tokens_user on account_tokens (user_id);

-- Invitations to a workspace: workspace-scoped, with row-level security
-- enabled and forced. Accepting finds an invitation by the hash of its token
-- before it knows the workspace: as pats do (0004), the policies also admit
-- the one row whose token_hash equals the transaction-local setting
-- app.invitation_hash, which only the holder of the token can set.
create table invitations (
	id           uuid primary key,
	workspace_id uuid not null references workspaces (id) on delete cascade,
	email        text not null check (email <> '' and length(email) <= 254),
	role         text not null check (role in ('owner', 'admin', 'member')),
	token_hash   text not null unique check (length(token_hash) = 64),
	invited_by   text not null default '',
	created_at   bigint not null,
	expires_at   bigint not null,
	accepted_at  bigint,
	revoked_at   bigint
);

create index invitations_workspace on invitations (workspace_id, id desc);

alter table invitations enable row level security;
alter table invitations force row level security;

create policy invitations_select on invitations for select using (
	workspace_id = nullif(current_setting('app.workspace_id', true), '')::uuid
	or token_hash = nullif(current_setting('app.invitation_hash', true), '')
);
create policy invitations_insert on invitations for insert with check (
	workspace_id = nullif(current_setting('app.workspace_id', true), '')::uuid
);
create policy invitations_update on invitations for update
	using (
		workspace_id = nullif(current_setting('app.workspace_id', true), '')::uuid
		or token_hash = nullif(current_setting('app.invitation_hash', true), '')
	)
	with check (
		workspace_id = nullif(current_setting('app.workspace_id', true), '')::uuid
		or token_hash = nullif(current_setting('app.invitation_hash', true), '')
	);
create policy invitations_delete on invitations for delete using (
	workspace_id = nullif(current_setting('app.workspace_id', true), '')::uuid
);

-- `gatehouse workspaces list` (an operator, no caller) lists every
-- workspace: an instance admin's transaction (app.audit_all = 'on', as 0001
-- uses for audit events) may read every workspace's row, nothing else.
create policy workspaces_admin_select on workspaces for select using (
	current_setting('app.audit_all', true) = 'on'
);
