-- 0001 core: users, workspaces, memberships, audit events, and the
-- row-level security that keeps workspaces apart.
--
-- Times are unix microseconds (bigint); ids are UUIDv7.
--
-- Every workspace-scoped table has RLS enabled and FORCED, with policies that
-- read the transaction-local settings made by sqlstore.DB.Tx through
-- set_config(…, true). A setting that has ended reads as '' (not NULL), and
-- ''::uuid is an error, so every read goes through nullif(…, ''): no setting
-- means no rows, never an error. Unique and foreign-key checks see past RLS,
-- so workspace_id is part of every unique key of a workspace-scoped table.

create table users (
	id            uuid primary key,
	email         text not null unique check (email <> '' and length(email) <= 254 and email = lower(btrim(email))),
	password_hash text not null default '',
	status        text not null default 'active' check (status in ('active', 'locked', 'disabled')),
	admin         boolean not null default false,
	created_at    bigint not null,
	updated_at    bigint not null
);

create table workspaces (
	id         uuid primary key,
	name       text not null check (name <> ''),
	created_at bigint not null
);

create table memberships (
	workspace_id uuid not null references workspaces (id) on delete cascade,
	user_id      uuid not null references users (id) on delete cascade,
	role         text not null check (role in ('owner', 'admin', 'member')),
	created_at   bigint not null,
	primary key (workspace_id, user_id)
);

create index memberships_user on memberships (user_id);

-- Append-only for the server's role: it is granted SELECT and INSERT only.
-- app-role: audit_events select, insert
-- workspace_id is NULL for events outside any workspace (failed logins,
-- CSRF and origin rejections), which only an instance admin's transaction
-- (app.audit_all = 'on') sees.
create table audit_events (
	id           uuid primary key,
	workspace_id uuid,
	time         bigint not null,
	type         text not null check (type <> ''),
	outcome      text not null check (outcome in ('success', 'failure')),
	actor        text not null default '',
	target       text not null default '',
	ip           text not null default '',
	user_agent   text not null default '',
	request_id   text not null default '',
	details      text not null default '{}'
);

create index audit_events_workspace on audit_events (workspace_id, id desc);
create index audit_events_type on audit_events (type, id desc);
create index audit_events_actor on audit_events (actor, id desc);

-- Row-level security.

alter table workspaces enable row level security;
alter table workspaces force row level security;

create policy workspaces_select on workspaces for select using (
	id = nullif(current_setting('app.workspace_id', true), '')::uuid
	or exists (
		select 1 from memberships m
		where m.workspace_id = workspaces.id
		  and m.user_id = nullif(current_setting('app.user_id', true), '')::uuid
	)
);
create policy workspaces_insert on workspaces for insert
	with check (id = nullif(current_setting('app.workspace_id', true), '')::uuid);
create policy workspaces_update on workspaces for update
	using (id = nullif(current_setting('app.workspace_id', true), '')::uuid)
	with check (id = nullif(current_setting('app.workspace_id', true), '')::uuid);
create policy workspaces_delete on workspaces for delete
	using (id = nullif(current_setting('app.workspace_id', true), '')::uuid);

alter table memberships enable row level security;
alter table memberships force row level security;

-- A user sees their own memberships in every workspace (to list their
-- workspaces); only the scoped workspace's memberships can be written.
create policy memberships_select on memberships for select using (
	workspace_id = nullif(current_setting('app.workspace_id', true), '')::uuid
	or user_id = nullif(current_setting('app.user_id', true), '')::uuid
);
create policy memberships_insert on memberships for insert
	with check (workspace_id = nullif(current_setting('app.workspace_id', true), '')::uuid);
create policy memberships_update on memberships for update
	using (workspace_id = nullif(current_setting('app.workspace_id', true), '')::uuid)
	with check (workspace_id = nullif(current_setting('app.workspace_id', true), '')::uuid);
create policy memberships_delete on memberships for delete
	using (workspace_id = nullif(current_setting('app.workspace_id', true), '')::uuid);

alter table audit_events enable row level security;
alter table audit_events force row level security;

create policy audit_events_select on audit_events for select using (
	workspace_id = nullif(current_setting('app.workspace_id', true), '')::uuid
	or current_setting('app.audit_all', true) = 'on'
);
create policy audit_events_insert on audit_events for insert with check (
	workspace_id is null
	or workspace_id = nullif(current_setting('app.workspace_id', true), '')::uuid
);
