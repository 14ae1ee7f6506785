-- types.sql: one table with every type ec-cdc types, and rows that probe their edges.
CREATE TABLE types (
	id int PRIMARY KEY, i2 smallint, i8 bigint, b boolean, r real, d double precision,
	n numeric, n2 numeric(12,2), t text, vc varchar(20), c char(3), u uuid, j json, jb jsonb,
	ba bytea, ts timestamp, tz timestamptz, dt date, tm time, iv interval,
	ai int[], at text[], an numeric[], atz timestamptz[], aa int[][], o oid, mo money
);
