-- totals.sql: groups whose GMV summed over all the pipeline's windows differs from the final state's.
--
-- Run after compare.sql, on its table pipe_windows. psql variables: totals
-- (a per-group view of audit.sql), key (the JSON key of the group). Prints
-- key as JSON, final-state GMV, pipeline GMV for each group that differs.
SELECT coalesce(f.key, p.key), coalesce(f.gmv, 0), coalesce(p.gmv, 0)
FROM (
	SELECT coalesce(to_jsonb(key), 'null') AS key, gmv FROM :totals
) f
FULL JOIN (
	SELECT coalesce(doc->:'key', 'null') AS key, sum((doc->>'gmv')::numeric) AS gmv
	FROM pipe_windows GROUP BY 1
) p ON p.key = f.key
WHERE coalesce(f.gmv, 0) <> coalesce(p.gmv, 0)
ORDER BY 1;
