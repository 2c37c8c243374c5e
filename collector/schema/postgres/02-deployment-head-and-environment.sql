-- Deployments remember their head commit and environment (extension).
ALTER TABLE events ADD COLUMN head_commit TEXT, ADD COLUMN environment TEXT;
CREATE INDEX deployments_latest ON events (system, environment, time_created) WHERE head_commit IS NOT NULL;
