-- Whether a deployment's head commit is among its own changes (so only the others, rollbacks and
-- redeploys, need their head's first deployment looked up), and an index holding what the DORA
-- model reads of every deployment.
ALTER TABLE events ADD COLUMN head_shipped INTEGER NOT NULL DEFAULT 0;
UPDATE events SET head_shipped = EXISTS (SELECT 1 FROM deployment_changes l
  WHERE l.deployment = events.id AND l.change_id = events.head_commit)
  WHERE type = 'deployment' AND head_commit IS NOT NULL;
CREATE INDEX deployments_dora ON events (system, environment, time_created, head_commit, status, fixes,
  change_count, reverts, head_shipped, identifier) WHERE type = 'deployment';
