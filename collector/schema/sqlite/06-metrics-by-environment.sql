-- Metrics by environment. Incidents have one (production when they name none); the environments
-- each system has; per change its first deployment to each environment, with the change's time
-- (push, else commit) copied in, so lead times read one index.
UPDATE events SET environment = 'production' WHERE type = 'incident' AND environment = '';
CREATE TABLE environments (
  system      TEXT NOT NULL,
  environment TEXT NOT NULL,
  PRIMARY KEY (system, environment)
) WITHOUT ROWID;
INSERT INTO environments (system, environment)
  SELECT DISTINCT system, environment FROM events WHERE type IN ('deployment', 'incident');
CREATE TABLE change_deployments (
  system         TEXT NOT NULL,
  change_id      TEXT NOT NULL,
  environment    TEXT NOT NULL,
  first_deployed INTEGER NOT NULL,
  change_time    INTEGER,
  PRIMARY KEY (system, change_id, environment)
) WITHOUT ROWID;
INSERT INTO change_deployments (system, change_id, environment, first_deployed, change_time)
  SELECT d.system, l.change_id, d.environment, MIN(d.time_created), MIN(COALESCE(f.push_time, f.commit_time))
  FROM deployment_changes l JOIN events d ON d.id = l.deployment
  LEFT JOIN change_facts f ON f.system = d.system AND f.change_id = l.change_id
  WHERE d.time_created IS NOT NULL GROUP BY d.system, l.change_id, d.environment;
CREATE INDEX change_deployments_by_time ON change_deployments (system, environment, first_deployed, change_time);
DROP INDEX IF EXISTS change_facts_by_system;
ALTER TABLE change_facts DROP COLUMN first_deployed;
DROP INDEX IF EXISTS events_by_time;
CREATE INDEX events_by_environment ON events (type, system, environment, time_created);
