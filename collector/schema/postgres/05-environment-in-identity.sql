-- A deployment's identity includes its environment (staging and production of one pipeline are two
-- deployments); deployments that named none are production's, other events have none ('').
UPDATE events SET environment = 'production' WHERE type = 'deployment' AND environment IS NULL;
UPDATE events SET environment = '' WHERE environment IS NULL;
ALTER TABLE events ALTER COLUMN environment SET DEFAULT '', ALTER COLUMN environment SET NOT NULL;
ALTER TABLE events DROP CONSTRAINT events_type_system_identifier_key;
ALTER TABLE events ADD CONSTRAINT events_identity UNIQUE (type, system, environment, identifier);
