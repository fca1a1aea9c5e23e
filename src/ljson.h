/* The onboarding body's JSON writer (core.json_parts): see ljson.c. */
#ifndef CDP_LJSON_H
#define CDP_LJSON_H

#include "compat.h"

/* Adds json_parts to the table on top. */
void cdp_ljson_register(lua_State *L);

#endif
