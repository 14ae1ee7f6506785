-- compare.sql: windows where a pipeline's GMV differs from the database's, as exact numerics.
--
-- Standard input: the pipeline's NDJSON output. psql variables: oracle (a
-- per-window view of audit.sql), key (the JSON key of the group: city,
-- category). Loads the output as jsonb, whose numbers are exact numerics
-- (12.5 = 12.50), and prints one line per window whose sums differ (a window
-- missing on one side counts as 0): window_start, key as JSON, database GMV,
-- pipeline GMV. No line: equal. The output stays in the table pipe_windows.
SET client_min_messages = warning;
DROP TABLE IF EXISTS pipe_windows;
CREATE TABLE pipe_windows (doc jsonb NOT NULL);
-- CSV with quote and delimiter bytes that JSON text never holds: each line is one value, verbatim.
\copy pipe_windows FROM pstdin WITH (FORMAT csv, QUOTE E'\x01', DELIMITER E'\x02')
-- Keys as jsonb so that a null key (an unmatched join) is a key like any other.
SELECT to_char(coalesce(o.window_start, p.window_start) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
	coalesce(o.key, p.key), coalesce(o.gmv, 0), coalesce(p.gmv, 0)
FROM (
	SELECT window_start, coalesce(to_jsonb(key), 'null') AS key, gmv FROM :oracle
) o
FULL JOIN (
	SELECT (doc->>'window_start')::timestamptz AS window_start,
		coalesce(doc->:'key', 'null') AS key, (doc->>'gmv')::numeric AS gmv
	FROM pipe_windows
) p ON p.window_start = o.window_start AND p.key = o.key
WHERE coalesce(o.gmv, 0) <> coalesce(p.gmv, 0)
ORDER BY 1, 2;
