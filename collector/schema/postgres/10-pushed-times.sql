-- Whether a change's copied time is a push time.
ALTER TABLE change_deployments ADD COLUMN pushed INTEGER NOT NULL DEFAULT 0;
UPDATE change_deployments c SET pushed = 1 FROM change_facts f
  WHERE f.system = c.system AND f.change_id = c.change_id AND f.push_time IS NOT NULL;
