-- Beside a change's time in change_deployments, whether it is a push time (for the explanations of
-- lead time).
ALTER TABLE change_deployments ADD COLUMN pushed INTEGER NOT NULL DEFAULT 0;
UPDATE change_deployments SET pushed = 1 WHERE EXISTS (SELECT 1 FROM change_facts f
  WHERE f.system = change_deployments.system AND f.change_id = change_deployments.change_id AND f.push_time IS NOT NULL);
