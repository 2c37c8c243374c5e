-- Deployments remember the CI run that made them (extension).
ALTER TABLE events ADD COLUMN run_url TEXT;
