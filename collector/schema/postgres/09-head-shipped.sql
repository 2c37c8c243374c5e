-- Whether a deployment's head commit is among its own changes, and an index holding what the DORA
-- model reads of every deployment.
ALTER TABLE events ADD COLUMN head_shipped INTEGER NOT NULL DEFAULT 0;
UPDATE events e SET head_shipped = 1 FROM deployment_changes l
  WHERE e.type = 'deployment' AND l.deployment = e.id AND l.change_id = e.head_commit;
CREATE INDEX deployments_dora ON events (system, environment, time_created)
  INCLUDE (id, head_commit, status, fixes, change_count, reverts, head_shipped, identifier) WHERE type = 'deployment';
