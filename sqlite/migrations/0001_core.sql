-- 0001 core: users, workspaces, memberships, audit events.
-- Times are unix microseconds; ids are UUIDv7 text.

create table users (
	id            text primary key,
	email         text not null unique check (email <> '' and email = lower(trim(email))),
	password_hash text not null default '',
	status        text not null default 'active' check (status in ('active', 'locked', 'disabled')),
	admin         integer not null default 0 check (admin in (0, 1)),
	created_at    integer not null,
	updated_at    integer not null
) strict;

create table workspaces (
	id         text primary key,
	name       text not null check (name <> ''),
	created_at integer not null
) strict;

create table memberships (
	workspace_id text not null references workspaces (id) on delete cascade,
	user_id      text not null references users (id) on delete cascade,
	role         text not null check (role in ('owner', 'admin', 'member')),
	created_at   integer not null,
	primary key (workspace_id, user_id)
) strict;

create index memberships_user on memberships (user_id);

-- Append-only for the server (PostgreSQL enforces it with grants; SQLite has
-- no roles, so the trigger below refuses changes).
create table audit_events (
	id           text primary key,
	workspace_id text,
	time         integer not null,
	type         text not null check (type <> ''),
	outcome      text not null check (outcome in ('success', 'failure')),
	actor        text not null default '',
	target       text not null default '',
	ip           text not null default '',
	user_agent   text not null default '',
	request_id   text not null default '',
	details      text not null default '{}'
) strict;

create index audit_events_workspace on audit_events (workspace_id, id desc);
create index audit_events_type on audit_events (type, id desc);
create index audit_events_actor on audit_events (actor, id desc);

create trigger audit_events_no_update before update on audit_events
begin
	select raise(abort, 'audit_events is append-only');
end;

create trigger audit_events_no_delete before delete on audit_events
begin
	select raise(abort, 'audit_events is append-only');
end;
