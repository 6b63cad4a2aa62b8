# Bezoar: one non-recursive Makefile. Objects live under build/ (or build/san/ when
# SANITIZER is set), dependencies come from -MMD -MP, output is quiet unless V=1.
#
#   make            build build/bezoar
#   make run        install missing Debian packages, build, open the demo dataset
#   make test       unit tests under ASan+UBSan, fuzz corpus replay, end-to-end tests
#                   (TEST=prefix runs only the unit tests and e2e scripts with that prefix)
#   make BUILD=dir  build somewhere else (each developer or helper its own)
#   make bench      benchmark programs (print figures, never pass/fail)
#   make fuzz       libFuzzer harnesses (clang) under build/fuzz/
#   make assets     regenerate the shipped demo files in assets/
#   make demo-model retrain the shipped demo model (assets/demo-model.gguf)

CC       ?= cc
PKGS     := ncursesw libuv libcjson openblas libpcre2-8 libutf8proc zlib libcurl
BUILD    ?= build
B        := $(BUILD)
ifneq ($(SANITIZER),)
B        := $(BUILD)/san
SANFLAGS := -fsanitize=$(SANITIZER) -fno-omit-frame-pointer -fno-sanitize-recover=undefined
endif

OPT      ?= -O2 -march=x86-64-v2 -mtune=native
WARN     := -Wall -Wextra -Wshadow -Wformat=2 -Wno-unused-parameter
ifneq ($(findstring clang,$(CC)),clang)
WARN     += -Wno-format-truncation
endif
ifeq ($(CI),true)
WARN     += -Werror
endif
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lhttp_parser -lm
CFLAGS_ALL  = -std=c11 -D_GNU_SOURCE -DNCURSES_WIDECHAR=1 -g $(OPT) $(WARN) $(SANFLAGS) -I. $(PKG_CFLAGS) -MMD -MP $(CFLAGS)
LDFLAGS_ALL = $(SANFLAGS) $(LDFLAGS)

ifeq ($(V),1)
Q :=
else
Q := @
endif

LIB_SRC   := $(sort $(wildcard core/*.c dataset/*.c judge/*.c))
TUI_SRC   := $(sort $(filter-out tui/main.c,$(wildcard tui/*.c)))
TEST_SRC  := $(sort $(wildcard tests/*/test_*.c))
BENCH_SRC := $(sort $(wildcard tests/bench/bench_*.c))
TOOL_SRC  := $(sort $(wildcard tests/tools/*.c))
FUZZ_SRC  := $(sort $(wildcard tests/fuzz/fuzz_*.c))

LIB_OBJ   := $(LIB_SRC:%.c=$(B)/%.o)
TUI_OBJ   := $(TUI_SRC:%.c=$(B)/%.o)
TEST_OBJ  := $(TEST_SRC:%.c=$(B)/%.o) $(B)/tests/harness.o
LIBBZ     := $(B)/libbezoar.a
BIN       := $(B)/bezoar
UNIT      := $(B)/tests/unit
BENCHES   := $(BENCH_SRC:tests/bench/%.c=$(B)/bench/%)
TOOLS     := $(TOOL_SRC:tests/tools/%.c=$(B)/tools/%)
REPLAYS   := $(FUZZ_SRC:tests/fuzz/%.c=$(B)/fuzz-replay/%)

.PHONY: all run test unit e2e bench fuzz assets demo-model clean deps tools
all: $(BIN) $(TOOLS)

$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CFLAGS_ALL) -c $< -o $@

$(LIBBZ): $(LIB_OBJ)
	@$(if $(Q),echo "  AR      $@")
	$(Q)rm -f $@ && ar rcs $@ $^

$(BIN): $(B)/tui/main.o $(TUI_OBJ) $(LIBBZ)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(LDFLAGS_ALL) -o $@ $^ $(PKG_LIBS)

# The test list and the verb list are generated from the sources, so that adding a
# TEST(name) or a BZ_CMD(...) line is all it takes to register one.
$(B)/gen/tests.h: $(TEST_SRC) Makefile
	@mkdir -p $(dir $@)
	$(Q)grep -ho '^TEST([A-Za-z0-9_]*)' $(TEST_SRC) /dev/null | sed 's/^TEST(\(.*\))/X(\1)/' > $@.tmp; \
	  cmp -s $@.tmp $@ && rm -f $@.tmp || mv $@.tmp $@
$(B)/gen/cmds.h: $(wildcard tui/cmd-*.c) Makefile
	@mkdir -p $(dir $@)
	$(Q)grep -h '^BZ_CMD(.*);' $(wildcard tui/cmd-*.c) /dev/null | sed 's/;[[:space:]]*$$//' > $@.tmp; \
	  cmp -s $@.tmp $@ && rm -f $@.tmp || mv $@.tmp $@
$(B)/tests/harness.o: $(B)/gen/tests.h
$(B)/tests/harness.o: CFLAGS += -I$(B)/gen
$(B)/tui/cmd.o: $(B)/gen/cmds.h
$(B)/tui/cmd.o: CFLAGS += -I$(B)/gen

# The refusal lists and the default filter rules (assets/filters/) are compiled into
# dataset/rules.c, so the files stay the one copy of them.
FILTER_LISTS := $(sort $(wildcard assets/filters/refusals-*.txt))
$(B)/gen/filters.h: $(FILTER_LISTS) assets/filters/rules.json Makefile
	@mkdir -p $(dir $@)
	$(Q){ for f in $(FILTER_LISTS); do n=$$(basename $$f .txt | sed 's/^refusals-//'); \
	    echo "static const char *const ds__refusals_$$n[] = {"; \
	    sed -e '/^#/d' -e 's/[[:space:]]*$$//' -e '/^$$/d' -e 's/\\/\\\\/g' -e 's/"/\\"/g' \
	        -e 's/.*/    "&",/' $$f; echo "    NULL};"; done; \
	  echo "static const struct { const char *name; const char *const *list; } ds__refusal_lists[] = {"; \
	  for f in $(FILTER_LISTS); do n=$$(basename $$f .txt | sed 's/^refusals-//'); \
	    echo "    {\"$$n\", ds__refusals_$$n},"; done; echo "};"; \
	  echo "static const char ds__rules_json[] ="; \
	  sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/.*/    "&\\n"/' assets/filters/rules.json; echo ";"; \
	} > $@.tmp && mv $@.tmp $@
$(B)/dataset/rules.o: $(B)/gen/filters.h
$(B)/dataset/rules.o: CFLAGS += -I$(B)/gen

$(UNIT): $(TEST_OBJ) $(TUI_OBJ) $(LIBBZ)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(LDFLAGS_ALL) -o $@ $^ $(PKG_LIBS)

$(B)/bench/%: $(B)/tests/bench/%.o $(TUI_OBJ) $(LIBBZ)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS_ALL) -o $@ $^ $(PKG_LIBS)
$(B)/tools/%: $(B)/tests/tools/%.o $(LIBBZ)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS_ALL) -o $@ $^ $(PKG_LIBS)
$(B)/fuzz-replay/%: $(B)/tests/fuzz/%.o $(B)/tests/fuzz/replay.o $(LIBBZ)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS_ALL) -o $@ $^ $(PKG_LIBS)

deps:
	$(Q)bash .ci/deps

run: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)$(BIN)

# Unit tests and fuzz replays run in a sanitizer build; end-to-end tests drive the
# normal build in a real terminal. The last line is the overall count.
test:
	$(Q)$(MAKE) --no-print-directory all
	$(Q)$(MAKE) --no-print-directory SANITIZER=address,undefined unit-bin
	$(Q)bash tests/run.sh $(B) $(B)/san $(TEST)

unit-bin: $(UNIT) $(REPLAYS) $(BIN)

bench: all $(BENCHES)
	$(Q)for b in $(BENCHES); do echo "== $$b"; $$b || exit 1; done

fuzz:
	$(Q)$(MAKE) --no-print-directory CC=clang BUILD=build/fuzz OPT="-O1" \
	  SANFLAGS="-fsanitize=fuzzer-no-link,address,undefined" fuzz-bins
FUZZ_BINS := $(FUZZ_SRC:tests/fuzz/%.c=build/fuzz/bin/%)
fuzz-bins: $(FUZZ_BINS)
build/fuzz/bin/%: build/fuzz/tests/fuzz/%.o $(LIBBZ)
	@mkdir -p $(dir $@)
	$(Q)clang -fsanitize=fuzzer,address,undefined -o $@ $^ $(PKG_LIBS)
	@echo "  FUZZ    $@ (run: $@ tests/fuzz/corpus/$*)"

assets: all
	$(Q)bash assets/make-assets.sh $(B)

# The demo model: a tiny Llama trained by the project (bezoar train --full) on the
# corpus it generates; minutes on two cores.
demo-model: all
	$(Q)bash assets/make-demo-model.sh $(B)

clean:
	rm -rf build

-include $(shell find build -name '*.d' 2>/dev/null)
