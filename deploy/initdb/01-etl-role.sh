#!/bin/sh
# Runs once, when the Postgres container initialises its data directory (docker-entrypoint-initdb.d):
# creates the non-superuser role the ETL connects as, and the warehouse database it owns.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
  -v etl_role="${ETL_DB_USER:-etl}" -v etl_password="${ETL_DB_PASSWORD:?set ETL_DB_PASSWORD}" -v etl_database="${ETL_DB_NAME:-warehouse}" \
  -f /docker-entrypoint-initdb.d/etl-role.sql.in
