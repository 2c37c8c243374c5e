-- What the metrics read, kept up to date on ingestion: per change its commit and push times and
-- its first deployment.
CREATE TABLE change_facts (
  system         TEXT NOT NULL,
  change_id      TEXT NOT NULL,
  commit_time    BIGINT,
  push_time      BIGINT,
  first_deployed BIGINT,
  PRIMARY KEY (system, change_id)
);
INSERT INTO change_facts (system, change_id, commit_time, push_time)
  SELECT system, identifier, time_created, time_pushed FROM events WHERE type = 'change';
INSERT INTO change_facts (system, change_id, first_deployed)
  SELECT d.system, l.change_id, MIN(d.time_created) FROM deployment_changes l JOIN events d ON d.id = l.deployment
  GROUP BY d.system, l.change_id
  ON CONFLICT (system, change_id) DO UPDATE SET first_deployed = excluded.first_deployed;
CREATE INDEX change_facts_by_system ON change_facts (system, first_deployed, push_time, commit_time)
  WHERE first_deployed IS NOT NULL;
