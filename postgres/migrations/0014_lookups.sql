-- 0014 one-statement lookups (docs/scaling.md).
--
-- A PAT is found by its hash (0004) and an OAuth client by its client_id
-- (0006) before the workspace is known: the lookup sets the
-- transaction-local app.pat_hash or app.client_id, which the select
-- policies read, and then selects. Sent from Go, that is BEGIN, set_config,
-- SELECT and COMMIT: four statements on the hottest paths there are (a PAT
-- on every API call it makes, a client on every token and introspection
-- request). Each function below takes the same two steps in one statement,
-- and then puts the setting back as it found it, so the door it opened is
-- shut before the statement ends: no later statement of the same
-- transaction, implicit or explicit, sees the row through it.
--
-- Both run with the caller's rights (SECURITY INVOKER, the default): the
-- select policies apply to their SELECT exactly as to the app's own, and
-- they let the app role do nothing it could not do with set_config already.
-- Their search_path is the one they were created with, so a caller's own
-- search_path cannot point them at other tables. `gatehouse migrate
-- --app-role` grants the app role EXECUTE on them explicitly (default
-- privileges that revoke EXECUTE from PUBLIC must not break sign-in).

create function gatehouse_pat_lookup(p_hash text) returns setof pats
language plpgsql volatile set search_path from current as $$
declare
	prev text := current_setting('app.pat_hash', true);
begin
	perform set_config('app.pat_hash', p_hash, true);
	return query select * from pats where token_hash = p_hash;
	perform set_config('app.pat_hash', coalesce(prev, ''), true);
end
$$;

create function gatehouse_client_lookup(p_client_id text) returns setof oauth_clients
language plpgsql volatile set search_path from current as $$
declare
	prev text := current_setting('app.client_id', true);
begin
	perform set_config('app.client_id', p_client_id, true);
	return query select * from oauth_clients where client_id = p_client_id;
	perform set_config('app.client_id', coalesce(prev, ''), true);
end
$$;
