-- types-rows.sql: rows that probe the edges of every type in types.sql.
INSERT INTO types VALUES
	(1, -32768, 9223372036854775807, true, 1.5, 0.1, 12345678901234567890.123456789012, 12.50,
	 E'tab\there "q" \\ é 日本', 'v', 'ab', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
	 E'{ "a" : [1, 2],\n "b": "x y" }', '{"k": {"z": null, "a": 1.10}}', '\x00ff10',
	 '2026-11-22 13:59:31.004911', '2026-11-22 13:59:31.004911+00', '2026-11-22', '13:59:31.5',
	 '1 day 02:03:04', '{1,2,NULL}', '{a,"b c","d\"e",NULL,"NULL"}', '{1.10,-2}',
	 '{"2026-11-22 13:59:31+00"}', '{{1,2},{3,4}}', 42, 12.34),
	(2, NULL, NULL, false, 'NaN', '-Infinity', 'NaN', -0.01, '', NULL, NULL, NULL, 'null', '[]',
	 '\x', 'infinity', '-infinity', '0044-03-15 BC', NULL, NULL, '{}', '{}', NULL, NULL, NULL, NULL, NULL);
