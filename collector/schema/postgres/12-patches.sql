-- Squash and rebase merges: the patch-ids clients report (a pushed commit's own; a pushed branch's
-- whole diff, over each commit it covers; a deployed commit's), so a commit the forge made on the
-- default branch inherits the push and author times of the commits it came from.
CREATE TABLE patches (
  system    TEXT NOT NULL,
  patch_id  TEXT NOT NULL,
  change_id TEXT NOT NULL,
  kind      TEXT NOT NULL CHECK (kind IN ('commit', 'branch', 'deployed')),
  PRIMARY KEY (system, patch_id, kind, change_id)
);
-- The earliest author time; and, for a change whose push time came from others,
-- how ('rebase' or 'squash') and from how many commits.
ALTER TABLE change_facts ADD COLUMN author_time BIGINT;
ALTER TABLE change_facts ADD COLUMN matched TEXT;
ALTER TABLE change_facts ADD COLUMN matched_commits INTEGER NOT NULL DEFAULT 0;
