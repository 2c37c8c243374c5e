-- The systems seen, so that metrics can read system by system.
CREATE TABLE systems (name TEXT PRIMARY KEY) WITHOUT ROWID;
INSERT INTO systems (name) SELECT DISTINCT system FROM events;
