# Makefile: build, test, benchmark, demo and install the ec tools (GNU make).
# `make demo` and `make check` install what they need, configure and build first.

VERSION = 0.1.0
BUILD ?= .build
.DEFAULT_GOAL := all
PREFIX ?= /usr/local
DESTDIR ?=

# Goals that may install Debian packages when config.mk is first made.
SETUP_GOALS = demo check check-asan check-chaos bench
config.mk:
	./configure $(if $(filter $(SETUP_GOALS),$(MAKECMDGOALS)),--install-deps)
-include config.mk

CFLAGS ?= -O2 -g
WARNINGS = -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wno-unused-parameter
SAN ?= $(ASAN_FLAGS)
ALL_CFLAGS = -std=gnu11 -pthread $(CFLAGS) $(WARNINGS) $(SAN) -Ilib -DEC_VERSION='"$(VERSION)"' $(DEP_CFLAGS) -MMD -MP
# --as-needed: each tool links only the libraries it calls (ec-gen needs no libpq).
ALL_LDFLAGS = -pthread -Wl,--as-needed $(LDFLAGS) $(SAN)
LIBS = $(DEP_LIBS) -lm

LIB_SRCS = $(wildcard lib/*.c)
LIB_OBJS = $(LIB_SRCS:%.c=$(BUILD)/%.o)
LIBEC = $(BUILD)/libec.a
TOOLS = $(patsubst cmd/%.c,%,$(wildcard cmd/ec-*.c))
BINS = $(TOOLS:%=$(BUILD)/bin/%)
UNIT_SRCS = $(wildcard tests/unit/test_*.c)
UNIT_BINS = $(UNIT_SRCS:%.c=$(BUILD)/%)
FUZZ_SRCS = $(wildcard tests/fuzz/*.c)

# Keep intermediate objects: they are the incremental build.
.SECONDARY:
.PHONY: all deps test-deps check test check-asan check-chaos bench demo fuzz fuzz-targets install uninstall clean
all: $(BINS) $(UNIT_BINS)

$(BUILD)/%.o: %.c config.mk
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(LIBEC): $(LIB_OBJS)
	@rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/bin/%: $(BUILD)/cmd/%.o $(LIBEC)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $< $(LIBEC) $(LIBS)

$(BUILD)/tests/unit/%: $(BUILD)/tests/unit/%.o $(LIBEC)
	$(CC) $(ALL_LDFLAGS) -o $@ $< $(LIBEC) $(LIBS)

# libFuzzer targets (clang): make fuzz, then
#   mkdir -p .build/corpus && .build/fuzz/NAME .build/corpus tests/fuzz/corpus/NAME
# (new inputs go to the first directory; the seeds stay as they are)
FUZZ_LIB_SRCS = $(filter-out lib/main.c,$(LIB_SRCS))
$(BUILD)/fuzz/%: tests/fuzz/%.c $(FUZZ_LIB_SRCS) config.mk
	@mkdir -p $(@D)
	clang -std=gnu11 -O1 -g -fsanitize=fuzzer,address,undefined -Ilib $(DEP_CFLAGS) -o $@ $< $(FUZZ_LIB_SRCS) $(DEP_LIBS) -lm
fuzz: deps
	@tests/helpers/install-deps fuzz
	@$(MAKE) --no-print-directory fuzz-targets
fuzz-targets: $(FUZZ_SRCS:tests/fuzz/%.c=$(BUILD)/fuzz/%)

-include $(LIB_OBJS:.o=.d) $(BINS:$(BUILD)/bin/%=$(BUILD)/cmd/%.d) $(UNIT_BINS:=.d)

# Debian packages for building (deps) and testing (test-deps); quick when present.
deps:
	@./configure --install-deps --quiet
test-deps: deps
	@tests/helpers/install-deps

# The test suite: C unit tests and bats, TAP, one summary line at the end.
check: test-deps
	@$(MAKE) --no-print-directory all
	@EC_BIN=$(CURDIR)/$(BUILD)/bin EC_BUILD=$(CURDIR)/$(BUILD) tests/run

test: all
	@EC_BIN=$(CURDIR)/$(BUILD)/bin EC_BUILD=$(CURDIR)/$(BUILD) tests/run

check-asan: test-deps
	@EC_SANITIZED=1 $(MAKE) --no-print-directory BUILD=.build-asan CFLAGS='-O1 -g' \
		SAN='-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined' test

# Kill -9 at random moments, restart, compare with an uninterrupted run (tests/chaos/).
check-chaos: test-deps
	@$(MAKE) --no-print-directory all
	@EC_BIN=$(CURDIR)/$(BUILD)/bin EC_BUILD=$(CURDIR)/$(BUILD) tests/run $(wildcard tests/chaos/*.bats)

bench: deps
	@$(MAKE) --no-print-directory all
	@EC_BIN=$(CURDIR)/$(BUILD)/bin tests/bench/run

# The demo: a synthetic shop through windowed GMV into a local data lake.
DEMO_LAKE = $(BUILD)/demo-lake
demo: deps
	@$(MAKE) --no-print-directory all
	@EC_BIN=$(CURDIR)/$(BUILD)/bin tests/helpers/demo $(DEMO_LAKE)

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/man/man7 \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions \
		$(DESTDIR)$(PREFIX)/share/zsh/site-functions \
		$(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d
	install -m 755 $(BINS) $(DESTDIR)$(PREFIX)/bin/
	install -m 644 $(wildcard man/*.1) $(DESTDIR)$(PREFIX)/share/man/man1/
	install -m 644 $(wildcard man/*.7) $(DESTDIR)$(PREFIX)/share/man/man7/
	install -m 644 $(wildcard completions/bash/*) $(DESTDIR)$(PREFIX)/share/bash-completion/completions/
	install -m 644 $(wildcard completions/zsh/_*) $(DESTDIR)$(PREFIX)/share/zsh/site-functions/
	install -m 644 $(wildcard completions/fish/*.fish) $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/

uninstall:
	rm -f $(TOOLS:%=$(DESTDIR)$(PREFIX)/bin/%) \
		$(patsubst man/%,$(DESTDIR)$(PREFIX)/share/man/man1/%,$(wildcard man/*.1)) \
		$(patsubst man/%,$(DESTDIR)$(PREFIX)/share/man/man7/%,$(wildcard man/*.7)) \
		$(patsubst completions/bash/%,$(DESTDIR)$(PREFIX)/share/bash-completion/completions/%,$(wildcard completions/bash/*)) \
		$(patsubst completions/zsh/%,$(DESTDIR)$(PREFIX)/share/zsh/site-functions/%,$(wildcard completions/zsh/_*)) \
		$(patsubst completions/fish/%,$(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/%,$(wildcard completions/fish/*.fish))

clean:
	rm -rf .build .build-asan config.mk
