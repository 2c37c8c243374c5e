-- The DORA model's facts: a deployment's status and the deployment it fixes, the commits it reverts
-- (a JSON array), and how many changes it shipped.
ALTER TABLE events ADD COLUMN status TEXT, ADD COLUMN fixes TEXT, ADD COLUMN reverts TEXT,
  ADD COLUMN change_count INTEGER NOT NULL DEFAULT 0;
UPDATE events e SET change_count = c.n
  FROM (SELECT deployment, COUNT(*) AS n FROM deployment_changes GROUP BY deployment) c WHERE e.id = c.deployment;
