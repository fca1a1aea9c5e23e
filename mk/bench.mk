# `make bench`: every benchmark in one table of ratios, each against a
# baseline measured in the same run (bench/run.lua; bench/README.md).
# Not part of `make test`. BENCH_ROWS=1,2 for some rows; BENCH_ABIS=5.4 for one ABI.
BENCH_DIR := build/bench
BENCH_CFLAGS := $(WARN) -O2 -g $(CPPFLAGS_ALL)

$(BENCH_DIR)/b64_bench: bench/b64_bench.c src/b64.c src/b64.h
	@mkdir -p $(@D)
	$(CC) $(BENCH_CFLAGS) -Isrc -o $@ bench/b64_bench.c src/b64.c $(shell pkg-config --libs libcrypto)

$(BENCH_DIR)/lookup_limit: bench/lookup_limit.c
	@mkdir -p $(@D)
	$(CC) $(BENCH_CFLAGS) -o $@ $< $(shell pkg-config --libs libcurl)

bench: build $(BENCH_DIR)/b64_bench $(BENCH_DIR)/lookup_limit
	@env LUA_PATH="$(TOP)/lua/?.lua;$(TOP)/lua/?/init.lua;;" LUA_CPATH="$(TOP)/build/5.4/?.so;;" \
	  PATH="$(TOP)/bin:$$PATH" CDP_LUA=lua5.4 BENCH_BUILD=$(BENCH_DIR) lua5.4 bench/run.lua
.PHONY: bench

# Instructions (callgrind) of row 4's client against curl's, and of the
# stages of its Lua pipeline (bench/instructions.lua): steadier than times.
bench-instructions: build
	@env LUA_PATH="$(TOP)/lua/?.lua;$(TOP)/lua/?/init.lua;;" LUA_CPATH="$(TOP)/build/5.4/?.so;;" \
	  PATH="$(TOP)/bin:$$PATH" CDP_LUA=lua5.4 lua5.4 bench/instructions.lua
.PHONY: bench-instructions
