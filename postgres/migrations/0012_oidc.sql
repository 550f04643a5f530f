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
