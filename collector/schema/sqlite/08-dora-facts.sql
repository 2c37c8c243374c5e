-- The DORA model's facts: a deployment's status and the deployment it fixes (extensions), the
-- commits it reverts (a JSON array), and how many changes it shipped.
ALTER TABLE events ADD COLUMN status TEXT;
ALTER TABLE events ADD COLUMN fixes TEXT;
ALTER TABLE events ADD COLUMN reverts TEXT;
ALTER TABLE events ADD COLUMN change_count INTEGER NOT NULL DEFAULT 0;
UPDATE events SET change_count = (SELECT COUNT(*) FROM deployment_changes WHERE deployment = events.id)
  WHERE type = 'deployment';
