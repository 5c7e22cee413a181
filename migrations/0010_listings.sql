-- A listing is closed once: completed (rows it did not read are marked deleted) or abandoned (its
-- plan was replaced). Until now a finished listing's row and keys were deleted, so a second run of
-- the same stream still holding the listing id (two processes on one stream, sharing its saved
-- state) re-created it empty and, on completing it, marked every row it had not read itself as
-- deleted. A closed listing now stays (its keys go) until the 30-day cleanup: it takes no more
-- keys and marks nothing again.
alter table etl.listings add column closed_at timestamptz;

comment on table etl.listings is 'Complete listings (deletion detection, README "Deletions"): a listing that finishes marks stored rows it did not see as deleted; a closed one is kept, without keys, until the 30-day cleanup.';
comment on column etl.listings.closed_at is 'When the listing was completed or abandoned (NULL while it is in progress): a closed listing takes no more keys and marks nothing again, whoever still holds its id.';
