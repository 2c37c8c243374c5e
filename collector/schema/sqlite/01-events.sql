-- The first schema: every event in one table, keyed by (type, system, identifier), and the commits
-- each deployment shipped, in order.
CREATE TABLE events (
  id            INTEGER PRIMARY KEY,
  type          TEXT NOT NULL CHECK (type IN ('change', 'deployment', 'incident')),
  system        TEXT NOT NULL,
  identifier    TEXT NOT NULL,
  source        TEXT NOT NULL,
  time_created  INTEGER,
  time_pushed   INTEGER,
  time_resolved INTEGER,
  teams         TEXT NOT NULL DEFAULT '[]',
  received_at   INTEGER NOT NULL,
  UNIQUE (type, system, identifier)
);
CREATE TABLE deployment_changes (
  deployment INTEGER NOT NULL REFERENCES events (id),
  position   INTEGER NOT NULL,
  change_id  TEXT NOT NULL,
  PRIMARY KEY (deployment, position)
);
CREATE INDEX deployment_changes_by_change ON deployment_changes (change_id);
CREATE INDEX events_by_time ON events (type, system, time_created);
