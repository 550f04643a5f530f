-- 0008 sign-in factors and purging OAuth rows (docs/sessions.md).
--
-- A session records every factor its sign-in used (amr: RFC 8176 values,
-- space-separated) and when the person last proved one (auth_time, unix
-- microseconds); access tokens carry both. Sessions from before this
-- migration get the amr of their method and their creation time.
--
-- Authorization codes and OAuth grants are workspace-scoped with forced
-- row-level security, but the purge (sqlstore.Tx.PurgeOAuth) runs for every
-- workspace at once. As 0004 and 0006 do for lookups, policies read a
-- transaction-local setting, app.purge_before: they admit DELETE (and the
-- SELECT that a DELETE's WHERE clause needs) only of rows that ended
-- (expired or revoked) before it. A live code or grant never becomes
-- visible through them, and no row can be inserted or updated.

alter table sessions add column amr text not null default '';
alter table sessions add column auth_time bigint not null default 0;
update sessions set amr = case method when 'password' then 'pwd' else 'email' end, auth_time = created_at;

create policy oauth_codes_purge on oauth_codes for delete
	using (expires_at < nullif(current_setting('app.purge_before', true), '')::bigint);
create policy oauth_codes_purge_select on oauth_codes for select
	using (expires_at < nullif(current_setting('app.purge_before', true), '')::bigint);

create policy oauth_grants_purge on oauth_grants for delete
	using (expires_at < nullif(current_setting('app.purge_before', true), '')::bigint
		or revoked_at < nullif(current_setting('app.purge_before', true), '')::bigint);
create policy oauth_grants_purge_select on oauth_grants for select
	using (expires_at < nullif(current_setting('app.purge_before', true), '')::bigint
		or revoked_at < nullif(current_setting('app.purge_before', true), '')::bigint);

create index oauth_grants_ended on oauth_grants (expires_at);
