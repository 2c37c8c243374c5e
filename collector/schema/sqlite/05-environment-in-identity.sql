-- A deployment's identity includes its environment (staging and production of one pipeline are two
-- deployments); deployments that named none are production's, other events have none (''). SQLite
-- cannot change a table's UNIQUE constraint: both tables are rebuilt (deployment_changes too, so
-- its foreign key follows), rows and ids kept.
CREATE TABLE events_v5 (
  id            INTEGER PRIMARY KEY,
  type          TEXT NOT NULL CHECK (type IN ('change', 'deployment', 'incident')),
  system        TEXT NOT NULL,
  environment   TEXT NOT NULL DEFAULT '',
  identifier    TEXT NOT NULL,
  source        TEXT NOT NULL,
  time_created  INTEGER,
  time_pushed   INTEGER,
  time_resolved INTEGER,
  teams         TEXT NOT NULL DEFAULT '[]',
  received_at   INTEGER NOT NULL,
  head_commit   TEXT,
  UNIQUE (type, system, environment, identifier)
);
INSERT INTO events_v5 (id, type, system, environment, identifier, source, time_created, time_pushed, time_resolved,
                       teams, received_at, head_commit)
  SELECT id, type, system, CASE WHEN type = 'deployment' THEN COALESCE(environment, 'production') ELSE '' END,
         identifier, source, time_created, time_pushed, time_resolved, teams, received_at, head_commit FROM events;
CREATE TABLE deployment_changes_v5 (
  deployment INTEGER NOT NULL REFERENCES events_v5 (id),
  position   INTEGER NOT NULL,
  change_id  TEXT NOT NULL,
  PRIMARY KEY (deployment, position)
);
INSERT INTO deployment_changes_v5 (deployment, position, change_id)
  SELECT deployment, position, change_id FROM deployment_changes;
DROP TABLE deployment_changes;
DROP TABLE events;
ALTER TABLE events_v5 RENAME TO events;
ALTER TABLE deployment_changes_v5 RENAME TO deployment_changes;
CREATE INDEX deployment_changes_by_change ON deployment_changes (change_id);
CREATE INDEX events_by_time ON events (type, system, time_created);
CREATE INDEX deployments_latest ON events (system, environment, time_created) WHERE head_commit IS NOT NULL;
