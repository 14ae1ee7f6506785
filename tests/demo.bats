#!/usr/bin/env bats
# demo.bats: `make demo` (tests/helpers/demo) lands every dataset in the lake it is given,
# a relative path included, and what it lands reads back as the records it reported.

load helpers/common

setup() {
	common_setup
	[ -x "$EC_BIN/ec-s3put" ] || {
		echo "the ec tools are not built: $EC_BIN (run make)"
		return 1
	}
}

teardown() {
	common_teardown
}

@test "demo: every dataset lands in a lake given by a relative path, objects match their lines" {
	cd "$T"
	EC_BIN=$EC_BIN "$BATS_TEST_DIRNAME/helpers/demo" lake >"$T/out" 2>"$T/err" || {
		cat "$T/err"
		return 1
	}
	local name objects records lines
	for name in changes gmv_by_category_minute gmv_by_city_hour orders_by_city_hour daily_sales_jakarta; do
		objects=$(find "$T/lake/$name" -name 'part-*.ndjson.gz' | wc -l)
		[ "$objects" -ge 1 ] || { echo "no objects for $name"; return 1; }
		[ "$objects" = "$(wc -l <"$T/lake/.$name.objects")" ]
		records=$(grep -o '"records":[0-9]*' "$T/lake/.$name.objects" | awk -F: '{ n += $2 } END { print n }')
		lines=$(find "$T/lake/$name" -name 'part-*.ndjson.gz' -exec zcat {} + | wc -l)
		[ "$records" = "$lines" ] || { echo "$name: $records records reported, $lines read back"; return 1; }
		[ -n "$(ls "$T/lake/$name/_manifests")" ]
	done
	# Every change event ec-gen wrote is in the raw dataset, and nothing landed outside the lake.
	[ "$(find "$T/lake/changes" -name '*.gz' -exec zcat {} + | wc -l)" = \
		"$("$EC_BIN/ec-gen" --orders 40000 --order-rate 0.4 --seed 42 | wc -l)" ]
	[ "$(find "$T" -mindepth 1 -maxdepth 1 ! -name lake ! -name out ! -name err | wc -l)" = 0 ]
	grep -q 'top 3 categories' "$T/out"
}
