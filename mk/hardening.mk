# Hardening (issue #7): fuzzing, the busted suite under ASan+UBSan and under
# valgrind, cppcheck. Included by the Makefile; see README "Hardening".

.PHONY: fuzz fuzz-build fuzz-replay test-asan test-asan-5.4 test-asan-luajit test-valgrind cppcheck

# --- fuzzing ---------------------------------------------------------------
# libFuzzer targets (clang): spec/c/fuzz_*.c. Each runs FUZZ_SECONDS on a
# work corpus in build/fuzz/corpus/<target>, seeded from the regression inputs
# in spec/fuzz/<target>; a crash leaves its input in build/fuzz/artifacts/
# (copy it to spec/fuzz/<target>/ once fixed: `make test-c` replays those).
FUZZ_SECONDS ?= 60
FUZZ_CC ?= clang
FUZZ_FLAGS := -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -DCDP_LIBFUZZER
FUZZ_TARGETS := $(patsubst spec/c/%.c,%,$(wildcard spec/c/fuzz_*.c))
FUZZ_SRCS := src/b64.c src/body.c src/jsonflat.c
FUZZ_BINS := $(addprefix build/fuzz/,$(FUZZ_TARGETS))

build/fuzz/fuzz_%: spec/c/fuzz_%.c spec/c/fuzz_main.h $(FUZZ_SRCS) $(HDRS) mk/hardening.mk
	@mkdir -p $(@D)
	$(FUZZ_CC) $(WARN) $(FUZZ_FLAGS) $(CPPFLAGS_ALL) -o $@ $< $(FUZZ_SRCS) $(LIBS)

fuzz-build: $(FUZZ_BINS)

# -timeout: one input may not take more than 10 s (a hang is a finding too).
fuzz: fuzz-build
	@set -e; for t in $(FUZZ_TARGETS); do \
	  mkdir -p build/fuzz/corpus/$$t build/fuzz/artifacts/$$t spec/fuzz/$$t; \
	  echo "fuzz: $$t for $(FUZZ_SECONDS) s"; \
	  ASAN_OPTIONS=detect_leaks=1 build/fuzz/$$t -max_total_time=$(FUZZ_SECONDS) -timeout=10 \
	    -print_final_stats=1 -artifact_prefix=build/fuzz/artifacts/$$t/ \
	    build/fuzz/corpus/$$t spec/fuzz/$$t > build/fuzz/$$t.log 2>&1 \
	    || { tail -n 60 build/fuzz/$$t.log; echo "fuzz: $$t FAILED (log: build/fuzz/$$t.log)"; exit 1; }; \
	  echo "fuzz: $$t ok: $$(grep -a 'DONE' build/fuzz/$$t.log | tr '\t' ' ')"; \
	done

# The regression inputs through the libFuzzer builds (make test-c replays them
# through the plain builds too).
fuzz-replay: fuzz-build
	@set -e; for t in $(FUZZ_TARGETS); do build/fuzz/$$t -runs=0 spec/fuzz/$$t 2>&1 | tail -n 1; done

# The plain (make test-c) builds of the fuzz targets also depend on these.
$(patsubst spec/c/%.c,$(C_TEST_DIR)/%,$(wildcard spec/c/fuzz_*.c)): spec/c/fuzz_main.h src/wirecheck.h

# --- the busted suite under ASan + UBSan -----------------------------------
# The module is built with the sanitizers into build/asan-<abi>/cdp/core.so;
# the interpreters are not, so libasan (gcc's, matching $(CC)) is preloaded.
# A wrapper (build/asan-<abi>/bin/<lua>) sets the preload and the options and
# is the spec's CDP_LUA too, so that CLI children started with `env -i` get
# them. Children inherit LD_PRELOAD (nginx, curl, openssl, sh ...): leak
# detection is on only in the interpreters (ASAN_OPTIONS include_if_exists
# build/asan-<abi>/opts/<exe name>), and reports of every process go to
# build/asan-<abi>/log/, which must stay empty. Known leaks of the
# interpreters and libraries: spec/asan/lsan.supp.
ASAN_CFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
ASAN_OPT := -O1 -g
ASAN_RT := $(shell $(CC) -print-file-name=libasan.so)
UBSAN_RT := $(shell $(CC) -print-file-name=libubsan.so)

define asan_rules
build/asan-$(1)/obj/%.o: src/%.c $$(HDRS) Makefile mk/hardening.mk
	@mkdir -p $$(@D)
	$$(CC) $$(WARN) $$(ASAN_OPT) $$(ASAN_CFLAGS) -fPIC $$(CPPFLAGS_ALL) $$(LUA_INC_$(1)) -c $$< -o $$@

build/asan-$(1)/cdp/core.so: $$(patsubst src/%.c,build/asan-$(1)/obj/%.o,$$(SRCS))
	@mkdir -p $$(@D)
	$$(CC) $$(ASAN_CFLAGS) -shared -o $$@ $$^ $$(LIBS)

build/asan-$(1)/bin/$(2): mk/hardening.mk
	@mkdir -p $$(@D) build/asan-$(1)/opts
	@printf 'detect_leaks=1\n' > build/asan-$(1)/opts/$(2)
	@{ echo '#!/bin/sh'; \
	  echo '# $(2) with the ASan runtime preloaded (made by mk/hardening.mk)'; \
	  echo 'LD_PRELOAD="$(ASAN_RT) $(UBSAN_RT)"'; \
	  echo 'ASAN_OPTIONS="detect_leaks=0:include_if_exists=$(TOP)/build/asan-$(1)/opts/%b:log_path=$(TOP)/build/asan-$(1)/log/asan:log_exe_name=1"'; \
	  echo 'LSAN_OPTIONS="suppressions=$(TOP)/spec/asan/lsan.supp:print_suppressions=0"'; \
	  echo 'UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$(TOP)/build/asan-$(1)/log/ubsan:log_exe_name=1"'; \
	  echo 'export LD_PRELOAD ASAN_OPTIONS LSAN_OPTIONS UBSAN_OPTIONS'; \
	  echo 'exec /usr/bin/$(2) "$$$$@"'; } > $$@
	@chmod +x $$@

test-asan-$(1): build/asan-$(1)/cdp/core.so build/asan-$(1)/bin/$(2) build
	@rm -rf build/asan-$(1)/log && mkdir -p build/asan-$(1)/log
	$$(call BUSTED_RUN,asan-$(1),$(TOP)/build/asan-$(1)/bin/$(2))
	@if [ -n "$$$$(ls -A build/asan-$(1)/log)" ]; then \
	  for f in build/asan-$(1)/log/*; do echo "== $$$$f"; cat "$$$$f"; done; \
	  echo "test-asan-$(1): sanitizer reports above (build/asan-$(1)/log)"; exit 1; \
	else echo "test-asan-$(1): 0 sanitizer reports"; fi
endef
$(eval $(call asan_rules,5.4,lua5.4))
$(eval $(call asan_rules,luajit,luajit))

test-asan: test-asan-5.4 test-asan-luajit

# --- the Lua 5.4 suite under valgrind memcheck ------------------------------
# lua5.4 runs busted under valgrind with the normal build; children (nginx,
# the CLI) are not traced. One-time globals of lua5.4/libcurl/OpenSSL that
# valgrind would call definite leaks: spec/valgrind.supp.
VALGRIND := valgrind --tool=memcheck --leak-check=full --errors-for-leak-kinds=definite \
	--show-leak-kinds=definite --error-exitcode=99 --num-callers=30 \
	--suppressions=$(TOP)/spec/valgrind.supp --log-file=$(TOP)/build/valgrind/busted.%p.log
test-valgrind: build
	@rm -rf build/valgrind && mkdir -p build/valgrind
	@start=$$(date +%s); rc=0; \
	env LUA_PATH="$(TOP)/lua/?.lua;$(TOP)/lua/?/init.lua;$(TOP)/spec/?.lua;;" \
	  LUA_CPATH="$(TOP)/build/5.4/?.so;;" CDP_LUA=lua5.4 PATH="$(TOP)/bin:$$PATH" \
	  $(VALGRIND) lua5.4 /usr/bin/busted --helper=spec/helpers/init.lua $(BUSTED_ARGS) \
	  $(if $(SPEC),$(SPEC),--exclude-pattern=openresty_ spec) || rc=$$?; \
	log=$$(ls build/valgrind/busted.*.log | head -n 1); \
	grep -E 'ERROR SUMMARY|definitely lost' $$log; \
	echo "test-valgrind: $$(( $$(date +%s) - start )) s, busted exit $$rc (log: $$log)"; \
	if [ $$rc -ne 0 ]; then cat $$log | tail -n 80; exit 1; fi

# --- cppcheck ----------------------------------------------------------------
# Findings fail; each one kept is suppressed inline with its reason.
CPPCHECK := cppcheck --enable=warning,performance,portability --error-exitcode=1 --inline-suppr \
	--std=c99 -q -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -I src $(LUA_INC_5.4)
cppcheck:
	$(CPPCHECK) src spec/c
	@echo "cppcheck: clean"
