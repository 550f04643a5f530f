-- 0009 Magic-link decoys. A magic-link request for an address without an
-- active account inserts a row as a real request does, so that the answer
-- takes the same store work whether or not the address has an account
-- (docs/sessions.md). Such a row has no user and is used from the start:
-- it can never be consumed (consuming needs used_at is null), and it is
-- purged with the others once expired.
alter table magic_links alter column user_id drop not null;
alter table magic_links add constraint magic_links_decoy_used check (user_id is not null or used_at is not null);
