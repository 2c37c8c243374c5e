-- Where lead time goes: when a deployed commit reached the deployed line (its merge commit's time,
-- or its own), and, beside each change's first deployment, its author and merge times, in the
-- index the metrics read.
ALTER TABLE change_facts ADD COLUMN merged_time INTEGER;
ALTER TABLE change_deployments ADD COLUMN author_time INTEGER;
ALTER TABLE change_deployments ADD COLUMN merged_time INTEGER;
UPDATE change_deployments SET author_time = (SELECT f.author_time FROM change_facts f
  WHERE f.system = change_deployments.system AND f.change_id = change_deployments.change_id)
  WHERE EXISTS (SELECT 1 FROM change_facts f WHERE f.system = change_deployments.system
    AND f.change_id = change_deployments.change_id AND f.author_time IS NOT NULL);
DROP INDEX change_deployments_by_time;
CREATE INDEX change_deployments_by_time ON change_deployments (system, environment, first_deployed, change_time,
  pushed, author_time, merged_time);
