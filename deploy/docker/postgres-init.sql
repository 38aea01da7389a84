-- One database per TAC service (DESIGN §4: each service owns its data; they share nothing but
-- events). Run once by the postgres image's entrypoint, as POSTGRES_USER (tac), when the data
-- volume is first initialised; each service's `migrate` command then creates its tables.
-- The database names are those in deploy/compose.yaml's TAC_<SERVICE>_DATABASE_URL.

CREATE DATABASE referrals OWNER tac;
CREATE DATABASE consent OWNER tac;
CREATE DATABASE timeline OWNER tac;
CREATE DATABASE notifications OWNER tac;
