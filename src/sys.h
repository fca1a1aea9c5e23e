/* Process-level helpers for the CLI: durable writes, terminals, Ctrl-C,
 * the heap's policy. */
#ifndef CDP_SYS_H
#define CDP_SYS_H

#include "compat.h"

#include <stdio.h>

/* Adds fsync, isatty, trap_interrupt, interrupted, file_stamp and
 * keep_freed_memory to the table on top. */
void cdp_sys_register(lua_State *L);

/* The FILE* of the Lua file at `idx` (either ABI); raises when it is not an
 * open file. */
FILE *cdp_sys_check_file(lua_State *L, int idx);

/* Nonzero once SIGINT arrived after trap_interrupt: long loops in C stop
 * starting new work when they see it. */
int cdp_sys_interrupted(void);

#endif
