-- 0008 sign-in factors (docs/sessions.md): a session records every factor
-- its sign-in used (amr: RFC 8176 values, space-separated) and when the
-- person last proved one (auth_time, unix microseconds). Sessions from
-- before this migration get the amr of their method and their creation
-- time. See the PostgreSQL migration of the same number for the purge
-- policies SQLite does not need.

alter table sessions add column amr text not null default '';
alter table sessions add column auth_time integer not null default 0;
update sessions set amr = case method when 'password' then 'pwd' else 'email' end, auth_time = created_at;

create index oauth_grants_ended on oauth_grants (expires_at);
