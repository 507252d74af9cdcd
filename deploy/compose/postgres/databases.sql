-- One database per service (the names the services default to); run once, on the
-- first start of an empty data volume.
CREATE DATABASE crewline_dispatcher;
CREATE DATABASE crewline_matcher;
CREATE DATABASE crewline_ledger;
CREATE DATABASE crewline_quality;
