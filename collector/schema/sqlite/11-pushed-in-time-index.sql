-- The time index holds whether a change's time is a push time, so the lead-time explanations read
-- the index alone (its rows hold the change's id already, as the table's key).
DROP INDEX change_deployments_by_time;
CREATE INDEX change_deployments_by_time ON change_deployments (system, environment, first_deployed, change_time, pushed);
