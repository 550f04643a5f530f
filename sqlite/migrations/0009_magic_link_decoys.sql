-- 0009 Magic-link decoys: user_id may be null for a row that is used from
-- the start (see the PostgreSQL migration of the same number). SQLite cannot
-- change a column's constraints, so the table is rebuilt.

create table magic_links_new (
	hash       blob primary key check (length(hash) = 32),
	user_id    text references users (id) on delete cascade,
	created_at integer not null,
	expires_at integer not null,
	used_at    integer,
	check (user_id is not null or used_at is not null)
) strict;

insert into magic_links_new (hash, user_id, created_at, expires_at, used_at)
	select hash, user_id, created_at, expires_at, used_at from magic_links;
drop table magic_links;
alter table magic_links_new rename to magic_links;
create index magic_links_expires on magic_links (expires_at);
