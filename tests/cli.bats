#!/usr/bin/env bats
# cli.bats: the command-line conventions every tool in $EC_BIN keeps (DESIGN.md §5),
# and its options documented in the man page and the three shell completions.

load helpers/common

ROOT="$BATS_TEST_DIRNAME/.."

setup() {
	common_setup
	TOOLS=()
	local t
	for t in "$EC_BIN"/ec-*; do
		[ -x "$t" ] && [ -f "$t" ] && TOOLS+=("${t##*/}")
	done
	[ "${#TOOLS[@]}" -gt 0 ] || {
		echo "no tools in $EC_BIN (run make)"
		return 1
	}
}

teardown() {
	common_teardown
}

# Options of TOOL as "LONG SHORT" lines (SHORT empty for long-only options).
options_of() {
	local line long short
	"$EC_BIN/$1" --help-options | while IFS= read -r line; do
		long=$(sed -E 's/^--([a-z0-9-]+).*/\1/' <<<"$line")
		short=$(sed -nE 's/.* -([A-Za-z0-9])$/\1/p' <<<"$line")
		echo "$long $short"
	done
}

# The man page as plain text: roff's \- and font changes removed.
man_text() {
	sed -e 's/\\-/-/g' -e 's/\\f[BIRP]//g' -e 's/\\f(..//g' -e 's/\\(em/-/g' "$1"
}

# Is the option word W (like --time or -t) in the text on stdin as a whole word?
has_word() {
	grep -qE -- "(^|[^A-Za-z0-9-])$1(\$|[^A-Za-z0-9-])"
}

# Is fish's `complete ... -l NAME` (or -s X for a short option) in FILE?
fish_has() {
	local kind=$1 name=$2 file=$3
	if [ "$kind" = long ]; then
		grep -qE -- "(-l|--long-option|--long)[ =]['\"]?$name['\"]?(\$|[^A-Za-z0-9-])" "$file"
	else
		grep -qE -- "(-s|--short-option|--short)[ =]['\"]?$name['\"]?(\$|[^A-Za-z0-9-])" "$file"
	fi
}

@test "cli: --help and -h print usage on stdout and exit 0" {
	local t bad=()
	for t in "${TOOLS[@]}"; do
		for h in --help -h; do
			st=0
			"$EC_BIN/$t" $h >"$T/out" 2>"$T/err" || st=$?
			if [ "$st" != 0 ]; then
				bad+=("$t $h: exit $st")
			elif ! head -n 1 "$T/out" | grep -q "^usage: $t "; then
				bad+=("$t $h: stdout does not start with 'usage: $t ': $(head -c 80 "$T/out")")
			elif [ -s "$T/err" ]; then
				bad+=("$t $h: wrote to stderr: $(head -c 80 "$T/err")")
			fi
		done
	done
	printf '%s\n' "${bad[@]}"
	[ "${#bad[@]}" -eq 0 ]
}

@test "cli: --version and -V print 'TOOL VERSION' and exit 0" {
	local t bad=()
	for t in "${TOOLS[@]}"; do
		for v in --version -V; do
			st=0
			out=$("$EC_BIN/$t" $v 2>"$T/err") || st=$?
			if [ "$st" != 0 ]; then
				bad+=("$t $v: exit $st")
			elif ! [[ $out =~ ^$t\ [0-9]+\.[0-9]+\.[0-9]+ ]] || [ "$(printf '%s\n' "$out" | wc -l)" != 1 ]; then
				bad+=("$t $v: printed '$out'")
			fi
		done
	done
	printf '%s\n' "${bad[@]}"
	[ "${#bad[@]}" -eq 0 ]
}

@test "cli: an unknown option exits 64 with 'Try ... --help' on stderr and nothing on stdout" {
	local t bad=()
	for t in "${TOOLS[@]}"; do
		for o in --no-such-option -Z; do
			st=0
			"$EC_BIN/$t" $o </dev/null >"$T/out" 2>"$T/err" || st=$?
			if [ "$st" != 64 ]; then
				bad+=("$t $o: exit $st, expected 64")
			elif ! grep -qF "Try '$t --help'" "$T/err"; then
				bad+=("$t $o: stderr lacks \"Try '$t --help'\": $(head -c 120 "$T/err")")
			elif [ -s "$T/out" ]; then
				bad+=("$t $o: wrote to stdout")
			fi
		done
	done
	printf '%s\n' "${bad[@]}"
	[ "${#bad[@]}" -eq 0 ]
}

@test "cli: --help-options lists options as '--name[=ARG] [-x]', --help and --version among them" {
	local t bad=()
	for t in "${TOOLS[@]}"; do
		"$EC_BIN/$t" --help-options >"$T/opts" 2>"$T/err" || bad+=("$t: --help-options failed")
		if grep -vqE '^--[a-z0-9-]+(=[^ ].*)?( -[A-Za-z0-9])?$' "$T/opts"; then
			bad+=("$t: malformed lines: $(grep -vE '^--[a-z0-9-]+(=[^ ].*)?( -[A-Za-z0-9])?$' "$T/opts" | head -n 3 | tr '\n' '|')")
		fi
		grep -qx -- '--help -h' "$T/opts" || bad+=("$t: no '--help -h' line")
		grep -qx -- '--version -V' "$T/opts" || bad+=("$t: no '--version -V' line")
		grep -q -- '--help-options' "$T/opts" && bad+=("$t: lists the hidden --help-options")
		# Every listed option is accepted in --help's text too.
		"$EC_BIN/$t" --help >"$T/help"
		while read -r long short; do
			has_word "--$long" <"$T/help" || bad+=("$t: --$long is not in --help")
		done < <(options_of "$t")
	done
	printf '%s\n' "${bad[@]}"
	[ "${#bad[@]}" -eq 0 ]
}

@test "cli: every option is in man/TOOL.1" {
	local t bad=()
	for t in "${TOOLS[@]}"; do
		local man=$ROOT/man/$t.1
		if [ ! -f "$man" ]; then
			bad+=("$t: $man is missing")
			continue
		fi
		man_text "$man" >"$T/man.txt"
		while read -r long short; do
			has_word "--$long" <"$T/man.txt" || bad+=("$t: --$long is not in man/$t.1")
			[ -z "$short" ] || has_word "-$short" <"$T/man.txt" || bad+=("$t: -$short is not in man/$t.1")
		done < <(options_of "$t")
	done
	printf '%s\n' "${bad[@]}"
	[ "${#bad[@]}" -eq 0 ]
}

@test "cli: every man page has SYNOPSIS, OPTIONS and EXIT STATUS sections" {
	local t bad=()
	for t in "${TOOLS[@]}"; do
		local man=$ROOT/man/$t.1
		[ -f "$man" ] || { bad+=("$t: $man is missing"); continue; }
		for s in SYNOPSIS OPTIONS 'EXIT STATUS'; do
			grep -qE "^\.SH \"?$s\"?" "$man" || bad+=("$t: man/$t.1 has no $s section")
		done
		# sysexits: usage and data errors at least.
		man_text "$man" | grep -qw 64 || bad+=("$t: man/$t.1 EXIT STATUS does not mention 64")
	done
	printf '%s\n' "${bad[@]}"
	[ "${#bad[@]}" -eq 0 ]
}

@test "cli: every option is in completions/bash/TOOL" {
	local t bad=()
	for t in "${TOOLS[@]}"; do
		local f=$ROOT/completions/bash/$t
		[ -f "$f" ] || { bad+=("$t: $f is missing"); continue; }
		bash -n "$f" 2>"$T/err" || bad+=("$t: $f has a syntax error: $(head -n 2 "$T/err")")
		while read -r long short; do
			has_word "--$long" <"$f" || bad+=("$t: --$long is not in completions/bash/$t")
			[ -z "$short" ] || has_word "-$short" <"$f" || bad+=("$t: -$short is not in completions/bash/$t")
		done < <(options_of "$t")
	done
	printf '%s\n' "${bad[@]}"
	[ "${#bad[@]}" -eq 0 ]
}

@test "cli: every option is in completions/zsh/_TOOL" {
	local t bad=()
	for t in "${TOOLS[@]}"; do
		local f=$ROOT/completions/zsh/_$t
		[ -f "$f" ] || { bad+=("$t: $f is missing"); continue; }
		head -n 1 "$f" | grep -qE "^#compdef .*\\b$t\\b" || bad+=("$t: $f does not start with '#compdef $t'")
		while read -r long short; do
			has_word "--$long" <"$f" || bad+=("$t: --$long is not in completions/zsh/_$t")
			[ -z "$short" ] || has_word "-$short" <"$f" || bad+=("$t: -$short is not in completions/zsh/_$t")
		done < <(options_of "$t")
	done
	printf '%s\n' "${bad[@]}"
	[ "${#bad[@]}" -eq 0 ]
}

@test "cli: every option is in completions/fish/TOOL.fish" {
	local t bad=()
	for t in "${TOOLS[@]}"; do
		local f=$ROOT/completions/fish/$t.fish
		[ -f "$f" ] || { bad+=("$t: $f is missing"); continue; }
		while read -r long short; do
			fish_has long "$long" "$f" || bad+=("$t: -l $long is not in completions/fish/$t.fish")
			[ -z "$short" ] || fish_has short "$short" "$f" || bad+=("$t: -s $short is not in completions/fish/$t.fish")
		done < <(options_of "$t")
	done
	printf '%s\n' "${bad[@]}"
	[ "${#bad[@]}" -eq 0 ]
}
