# cdp — build, test and tooling. `make help` lists the targets.
SHELL := /bin/bash

# The ABI for `make env` and single-ABI targets: lua5.4 (default) or luajit.
LUA ?= lua5.4
ABIS := 5.4 luajit

TOP := $(abspath .)
SRCS := $(sort $(wildcard src/*.c))
HDRS := $(wildcard src/*.h)

CC ?= cc
WARN := -std=c99 -Wall -Wextra -Wshadow -Werror
OPT ?= -O2 -g
CPPFLAGS_ALL := -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE
# The module never links liblua: the host process (lua5.4, luajit, nginx) provides it.
LIBS := $(shell pkg-config --libs libcurl libcrypto 2>/dev/null) -lpthread
LUA_INC_5.4 := $(shell pkg-config --cflags lua5.4 2>/dev/null)
LUA_INC_luajit := $(shell pkg-config --cflags luajit 2>/dev/null)
SAN ?=

# Debian packages the project needs (see DESIGN.md: luajit2, not luajit).
DEPS := build-essential pkg-config lua5.4 liblua5.4-dev luajit2 libluajit2-5.1-dev \
        libcurl4-openssl-dev libssl-dev lua-cjson lua-busted lua-argparse lua-check \
        nginx libnginx-mod-http-lua iso-codes openssl curl luarocks \
        lua-filesystem libjpeg-turbo-progs valgrind clang libclang-rt-14-dev cppcheck \
        lua-socket

.PHONY: all build help env deps test test-5.4 test-luajit lint clean demo

all: build

build: $(foreach a,$(ABIS),build/$(a)/cdp/core.so) bytecode

# The Lua modules precompiled for each interpreter, which bin/cdp-onboard
# loads in place of a source whose text they were compiled from
# (lua/cdp/cli/bytecode.lua, which hashes with the C core). Each run
# compiles only what changed.
bytecode: $(foreach a,$(ABIS),build/$(a)/cdp/core.so)
	@set -e; for abi in $(ABIS); do \
	  mkdir -p $(TOP)/build/$$abi/bytecode; \
	  LUA_PATH="$(TOP)/lua/?.lua;$(TOP)/lua/?/init.lua;;" LUA_CPATH="$(TOP)/build/$$abi/?.so;;" \
	    $$(if [ $$abi = luajit ]; then echo luajit; else echo lua5.4; fi) \
	    -e "require('cdp.cli.bytecode').compile('$(TOP)/lua', '$(TOP)/build/$$abi/bytecode')"; \
	done
.PHONY: bytecode

define abi_rules
build/$(1)/obj/%.o: src/%.c $(HDRS) Makefile
	@mkdir -p $$(@D)
	$$(CC) $$(WARN) $$(OPT) $$(SAN) -fPIC $$(CPPFLAGS_ALL) $$(LUA_INC_$(1)) -c $$< -o $$@

build/$(1)/cdp/core.so: $$(patsubst src/%.c,build/$(1)/obj/%.o,$$(SRCS))
	@mkdir -p $$(@D)
	$$(CC) $$(SAN) -shared -o $$@ $$^ $$(LIBS)
endef
$(foreach a,$(ABIS),$(eval $(call abi_rules,$(a))))

abi_of = $(if $(findstring jit,$(1)),luajit,5.4)
lua_bin = $(if $(findstring jit,$(1)),luajit,lua5.4)

# `eval "$(make -s env)"`: lets `lua5.4 script.lua` (or, with LUA=luajit, luajit) find the SDK.
env:
	@echo 'export LUA_PATH="$(TOP)/lua/?.lua;$(TOP)/lua/?/init.lua;;"'
	@echo 'export LUA_CPATH="$(TOP)/build/$(call abi_of,$(LUA))/?.so;;"'
	@echo 'export PATH="$(TOP)/bin:$$PATH"'
	@echo 'export CDP_LUA="$(call lua_bin,$(LUA))"'

deps:
	@missing=$$(for p in $(DEPS); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing:" $$missing; \
	  apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $$missing; \
	else echo "all Debian packages present"; fi

BUSTED_RUN = env LUA_PATH="$(TOP)/lua/?.lua;$(TOP)/lua/?/init.lua;$(TOP)/spec/?.lua;;" \
	LUA_CPATH="$(TOP)/build/$(1)/?.so;;" CDP_LUA=$(2) PATH="$(TOP)/bin:$$PATH" \
	$(2) /usr/bin/busted --helper=spec/helpers/init.lua $(BUSTED_ARGS) \
	$(if $(SPEC),$(SPEC),--exclude-pattern=openresty_ spec)

test: test-5.4 test-luajit

test-5.4: build
	$(call BUSTED_RUN,5.4,lua5.4)

test-luajit: build
	$(call BUSTED_RUN,luajit,luajit)

lint:
	luacheck -q --no-color lua bin/cdp-onboard spec bench examples

demo: build
	@./examples/demo.sh

clean:
	rm -rf build

help:
	@echo "make            build cdp/core.so for Lua 5.4 and LuaJIT (build/5.4, build/luajit)"
	@echo "make deps       install the Debian packages the project needs"
	@echo "make test       every spec: Lua 5.4, LuaJIT, the C tests, OpenResty (SPEC=file for one)"
	@echo "make test-c     the C-level tests of the core (SAN=... for sanitizers)"
	@echo "make test-openresty   the specs that run a real nginx with the LuaJIT build"
	@echo "make lint       luacheck"
	@echo "make demo       start the sandbox and onboard the example records"
	@echo "make -s env [LUA=luajit]   export lines to use the SDK from this checkout"

# Rewrite the rockspec's module lists from the tree (rockspecs cannot glob).
rockspec:
	lua5.4 rockspec/sync.lua
.PHONY: rockspec

# C-level tests of the core (no Lua): spec/c/*.c, each linked with the core's
# Lua-free sources. SAN="-fsanitize=address,undefined" builds
# them (and the modules) with sanitizers; objects go to build/<abi>/obj.
C_TEST_SRCS := src/b64.c src/body.c src/doctype.c src/csv.c src/digest.c src/http.c src/jsonflat.c src/secret.c src/token.c
C_TEST_DIR := build/c$(if $(SAN),-san)
C_TESTS := $(patsubst spec/c/%.c,$(C_TEST_DIR)/%,$(wildcard spec/c/*.c))

$(C_TEST_DIR)/%: spec/c/%.c $(C_TEST_SRCS) $(HDRS) Makefile
	@mkdir -p $(@D)
	$(CC) $(WARN) $(OPT) $(SAN) $(CPPFLAGS_ALL) -o $@ $< $(C_TEST_SRCS) $(LIBS)

test-c: $(C_TESTS)
	@set -e; for t in $(C_TESTS); do $$t; done
.PHONY: test-c
test: test-c

# OpenResty specs (spec/openresty_*_spec.lua): each starts a real nginx with
# its Lua module, which loads the LuaJIT build; busted drives them under
# LuaJIT. With SPEC=..., they run only when SPEC names one of them.
test-openresty: SPEC = $(wildcard spec/openresty_*_spec.lua)
test-openresty: build/luajit/cdp/core.so
	$(if $(filter spec/openresty_%,$(SPEC)),$(call BUSTED_RUN,luajit,luajit),@echo "test-openresty: no OpenResty spec in SPEC")
.PHONY: test-openresty
test: test-openresty

# Further targets by concern (hardening, benchmarks): mk/*.mk.
include $(sort $(wildcard mk/*.mk))
