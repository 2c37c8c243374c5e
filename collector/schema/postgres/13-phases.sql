-- Where lead time goes: when a deployed commit reached the deployed line (its merge commit's time,
-- or its own), and, beside each change's first deployment, its author and merge times, in the
-- index the metrics read.
ALTER TABLE change_facts ADD COLUMN merged_time BIGINT;
ALTER TABLE change_deployments ADD COLUMN author_time BIGINT;
ALTER TABLE change_deployments ADD COLUMN merged_time BIGINT;
UPDATE change_deployments d SET author_time = f.author_time FROM change_facts f
  WHERE f.system = d.system AND f.change_id = d.change_id AND f.author_time IS NOT NULL;
DROP INDEX change_deployments_by_time;
CREATE INDEX change_deployments_by_time ON change_deployments (system, environment, first_deployed, change_time)
  INCLUDE (pushed, author_time, merged_time);
