# Hardening (issue #7): fuzzing, the busted suite under ASan+UBSan and under
# valgrind, cppcheck. Included by the Makefile; see README "Hardening".

.PHONY: fuzz fuzz-build fuzz-replay fuzz-merge test-asan test-asan-5.4 test-asan-luajit test-valgrind cppcheck

# --- fuzzing ---------------------------------------------------------------
# libFuzzer targets (clang): spec/c/fuzz_*.c. Each runs FUZZ_SECONDS on a
# work corpus in build/fuzz/corpus/<target>, seeded from the regression inputs
# in spec/fuzz/<target>; a crash leaves its input in build/fuzz/artifacts/
# (copy it to spec/fuzz/<target>/ once fixed: `make test-c` replays those).
FUZZ_SECONDS ?= 60
FUZZ_CC ?= clang
FUZZ_FLAGS := -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -DCDP_LIBFUZZER
FUZZ_TARGETS := $(patsubst spec/c/%.c,%,$(wildcard spec/c/fuzz_*.c))
FUZZ_SRCS := src/b64.c src/body.c src/csv.c src/jsonflat.c
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

# Keep what the work corpora found that adds coverage as regression inputs
# (libFuzzer's -merge=1 into spec/fuzz/<target>); review, then commit them.
fuzz-merge: fuzz-build
	@set -e; for t in $(FUZZ_TARGETS); do \
	  mkdir -p build/fuzz/corpus/$$t spec/fuzz/$$t; \
	  build/fuzz/$$t -merge=1 spec/fuzz/$$t build/fuzz/corpus/$$t 2>&1 | grep -a 'MERGE-OUTER: [0-9]* new files' || true; \
	done

# The plain (make test-c) builds of the fuzz targets also depend on these.
$(patsubst spec/c/%.c,$(C_TEST_DIR)/%,$(wildcard spec/c/fuzz_*.c)): spec/c/fuzz_main.h src/wirecheck.h

# --- the busted suite under ASan + UBSan -----------------------------------
# The module is built with the sanitizers into build/asan-<abi>/cdp/core.so;
# the interpreters are not, so libasan and libubsan (gcc's, matching $(CC))
# are preloaded by a wrapper, build/asan-<abi>/bin/<lua>, which is also the
# specs' CDP_LUA (CLI children started with `env -i` get it too). The wrapper
# preloads spec/asan/unpreload.c last, which takes LD_PRELOAD out of the
# environment again: nginx, curl, openssl and sh started by the specs run
# without the runtime (curl deadlocks under it). Reports of every process go
# to build/asan-<abi>/log/, which must stay empty. Leak detection is on under
# Lua 5.4 (known leaks of the interpreter and libraries: spec/asan/lsan.supp)
# and off under LuaJIT: LuaJIT keeps its objects in its own mmap'd heap,
# which LeakSanitizer does not scan, so whatever only a Lua object holds (a
# client's curl handle in a process that exits without closing its state, as
# the CLI does) would be reported as leaked. Lua 5.4's heap is malloc'd and
# scanned; the C is the same under both ABIs, and valgrind checks it too.
# The CLI launcher prefers the checkout's build/<abi>/ module, so CLI
# children run the normal build (with the runtime preloaded).
ASAN_CFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
ASAN_OPT := -O1 -g
ASAN_RT := $(shell $(CC) -print-file-name=libasan.so)
UBSAN_RT := $(shell $(CC) -print-file-name=libubsan.so)

build/asan-unpreload.so: spec/asan/unpreload.c mk/hardening.mk
	@mkdir -p $(@D)
	$(CC) $(WARN) -O2 -fPIC -shared $(CPPFLAGS_ALL) -o $@ $<

define asan_rules
build/asan-$(1)/obj/%.o: src/%.c $$(HDRS) Makefile mk/hardening.mk
	@mkdir -p $$(@D)
	$$(CC) $$(WARN) $$(ASAN_OPT) $$(ASAN_CFLAGS) -fPIC $$(CPPFLAGS_ALL) $$(LUA_INC_$(1)) -c $$< -o $$@

build/asan-$(1)/cdp/core.so: $$(patsubst src/%.c,build/asan-$(1)/obj/%.o,$$(SRCS))
	@mkdir -p $$(@D)
	$$(CC) $$(ASAN_CFLAGS) -shared -o $$@ $$^ $$(LIBS)

build/asan-$(1)/bin/$(2): mk/hardening.mk
	@mkdir -p $$(@D)
	@{ echo '#!/bin/sh'; \
	  echo '# $(2) with the sanitizer runtime preloaded (made by mk/hardening.mk)'; \
	  echo 'LD_PRELOAD="$(ASAN_RT) $(UBSAN_RT) $(TOP)/build/asan-unpreload.so"'; \
	  echo 'ASAN_OPTIONS="detect_leaks=$(3):log_path=$(TOP)/build/asan-$(1)/log/asan:log_exe_name=1"'; \
	  echo 'LSAN_OPTIONS="suppressions=$(TOP)/spec/asan/lsan.supp:print_suppressions=0"'; \
	  echo 'UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$(TOP)/build/asan-$(1)/log/ubsan:log_exe_name=1"'; \
	  echo 'export LD_PRELOAD ASAN_OPTIONS LSAN_OPTIONS UBSAN_OPTIONS'; \
	  echo 'exec /usr/bin/$(2) "$$$$@"'; } > $$@
	@chmod +x $$@

test-asan-$(1): build/asan-$(1)/cdp/core.so build/asan-$(1)/bin/$(2) build/asan-unpreload.so build
	@rm -rf build/asan-$(1)/log && mkdir -p build/asan-$(1)/log
	@start=$$$$(date +%s); rc=0; \
	$$(call BUSTED_RUN,asan-$(1),$(TOP)/build/asan-$(1)/bin/$(2)) || rc=$$$$?; \
	if [ -n "$$$$(ls -A build/asan-$(1)/log)" ]; then \
	  for f in build/asan-$(1)/log/*; do echo "== $$$$f"; cat "$$$$f"; done; \
	  echo "test-asan-$(1): sanitizer reports above (build/asan-$(1)/log)"; exit 1; \
	fi; \
	echo "test-asan-$(1): 0 sanitizer reports, busted exit $$$$rc, $$$$(( $$$$(date +%s) - start )) s"; \
	exit $$$$rc
endef
$(eval $(call asan_rules,5.4,lua5.4,1))
$(eval $(call asan_rules,luajit,luajit,0))

test-asan: test-asan-5.4 test-asan-luajit

# --- the Lua 5.4 suite under valgrind memcheck ------------------------------
# lua5.4 runs busted under valgrind with the normal build; children (nginx,
# the CLI) are not traced. One-time globals of lua5.4/libcurl/OpenSSL that
# valgrind would call definite leaks: spec/valgrind.supp.
VALGRIND := valgrind --tool=memcheck --leak-check=full --errors-for-leak-kinds=definite \
	--show-leak-kinds=definite --error-exitcode=99 --num-callers=30 \
	--child-silent-after-fork=yes \
	--suppressions=$(TOP)/spec/valgrind.supp --log-file=$(TOP)/build/valgrind/busted.log
test-valgrind: build
	@rm -rf build/valgrind && mkdir -p build/valgrind
	@start=$$(date +%s); rc=0; \
	env LUA_PATH="$(TOP)/lua/?.lua;$(TOP)/lua/?/init.lua;$(TOP)/spec/?.lua;;" \
	  LUA_CPATH="$(TOP)/build/5.4/?.so;;" CDP_LUA=lua5.4 PATH="$(TOP)/bin:$$PATH" \
	  $(VALGRIND) lua5.4 /usr/bin/busted --helper=spec/helpers/init.lua $(BUSTED_ARGS) \
	  $(if $(SPEC),$(SPEC),--exclude-pattern=openresty_ spec) || rc=$$?; \
	log=build/valgrind/busted.log; \
	grep -E 'ERROR SUMMARY|definitely lost|All heap blocks were freed' $$log; \
	echo "test-valgrind: $$(( $$(date +%s) - start )) s, busted exit $$rc (log: $$log)"; \
	if ! grep -q 'ERROR SUMMARY: 0 errors' $$log; then \
	  tail -n 80 $$log; echo "test-valgrind: valgrind reported errors (above)"; exit 1; fi; \
	exit $$rc

# --- cppcheck ----------------------------------------------------------------
# Findings fail; each one kept is suppressed inline with its reason.
CPPCHECK := cppcheck -j $(shell nproc) --enable=warning,performance,portability --error-exitcode=1 --inline-suppr \
	--std=c99 -q -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -I src
cppcheck:
	$(CPPCHECK) src spec/c
	@echo "cppcheck: clean"
