/* cdp.core: the Lua bindings of the C core. Each concern lives in its own
 * file (digest.c, ...); this file only checks arguments and converts results. */
#include <errno.h>
#include <string.h>

#include "compat.h"
#include "csv.h"
#include "digest.h"
#include "doctype.h"
#include "lbatch.h"
#include "lclient.h"
#include "ljson.h"
#include "ngxshare.h"
#include "regfile.h"
#include "sys.h"

#define CDP_CORE_VERSION "0.1.0"

/* core.sha256(data) -> hex */
static int l_sha256(lua_State *L)
{
    size_t len;
    const char *data = luaL_checklstring(L, 1, &len);
    char hex[CDP_SHA256_HEX_LEN + 1];
    if (cdp_sha256_hex(data, len, hex) != 0)
        return luaL_error(L, "sha256 failed");
    lua_pushstring(L, hex);
    return 1;
}

/* core.sha256_file(path) -> hex, size | nil, message */
static int l_sha256_file(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    char hex[CDP_SHA256_HEX_LEN + 1];
    long long size = 0;
    if (cdp_sha256_file_hex(path, hex, &size) != 0) {
        lua_pushnil(L);
        lua_pushfstring(L, "%s: %s", path, strerror(errno));
        return 2;
    }
    lua_pushstring(L, hex);
    lua_pushnumber(L, (lua_Number)size);
    return 2;
}

/* core.file_head(path, n) -> the first n (at most 64) bytes | nil, message:
 * a document file, refused unless it is a regular file (a FIFO would block
 * io.open until a writer came). */
static int l_file_head(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    lua_Integer n = luaL_checkinteger(L, 2);
    luaL_argcheck(L, n >= 0 && n <= 64, 2, "0 to 64 bytes");
    struct stat st;
    char buf[64];
    int fd = cdp_open_regular(path, &st);
    ssize_t got = fd < 0 ? -1 : read(fd, buf, (size_t)n);
    int saved = errno;
    if (fd >= 0)
        close(fd);
    if (got < 0) {
        lua_pushnil(L);
        lua_pushfstring(L, "%s: %s", path, strerror(saved));
        return 2;
    }
    lua_pushlstring(L, buf, (size_t)got);
    return 1;
}

/* core.sniff(head) -> the content type whose signature the string starts
 * with ("image/jpeg", "image/png", "application/pdf") | nil */
static int l_sniff(lua_State *L)
{
    size_t len;
    const char *head = luaL_checklstring(L, 1, &len);
    const cdp_doctype *found = cdp_doctype_sniff((const unsigned char *)head, len);
    if (found == NULL)
        lua_pushnil(L);
    else
        lua_pushstring(L, found->type);
    return 1;
}

/* A field of core.csv_split: stored under its column's name (names[number],
 * the table at index 2), or under its number past the names. */
static int csv_store(void *ctx, size_t number, const char *text, size_t len)
{
    lua_State *L = ctx;
    lua_rawgeti(L, 2, (lua_Integer)number);
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        lua_pushinteger(L, (lua_Integer)number);
    }
    lua_pushlstring(L, text, len);
    lua_rawset(L, 3);
    return 0;
}

/* core.csv_split(line, names, fields) -> fields, count, utf8_ok
 *   | false (a quoted field runs on past the line: the caller reads on)
 *   | nil, "stray quote" | "after quote", field number
 * One CSV line's fields into `fields` (see csv.h); utf8_ok tells whether
 * the whole line is valid UTF-8. `names` is the header, a plain list of
 * texts: both tables are read and written raw (no metamethods). */
static int l_csv_split(lua_State *L)
{
    size_t len;
    const char *line = luaL_checklstring(L, 1, &len);
    luaL_checktype(L, 2, LUA_TTABLE);
    luaL_checktype(L, 3, LUA_TTABLE);
    lua_settop(L, 3);
    char small[1024];
    /* unquoted fields are not copied: scratch is for quoted ones alone */
    char *scratch = len <= sizeof small ? small : lua_newuserdata(L, len);
    size_t field = 0;
    long n = cdp_csv_split(line, len, scratch, csv_store, L, &field);
    if (n == CDP_CSV_OPEN_QUOTE) {
        lua_pushboolean(L, 0);
        return 1;
    }
    if (n < 0) {
        lua_pushnil(L);
        lua_pushstring(L, n == CDP_CSV_STRAY_QUOTE ? "stray quote" : "after quote");
        lua_pushinteger(L, (lua_Integer)field);
        return 3;
    }
    lua_pushvalue(L, 3);
    lua_pushinteger(L, (lua_Integer)n);
    lua_pushboolean(L, cdp_utf8_valid(line, len));
    return 3;
}

/* core.utf8_valid(s) -> whether s is valid UTF-8 (as Lua 5.4's utf8.len) */
static int l_utf8_valid(lua_State *L)
{
    size_t len;
    const char *s = luaL_checklstring(L, 1, &len);
    lua_pushboolean(L, cdp_utf8_valid(s, len));
    return 1;
}

/* core.new_table(narray, nhash) -> an empty table with room for narray
 * list items and nhash keys. Filled one key at a time, a table rehashes at
 * each power of two; Lua 5.4 has no table.new. */
static int l_new_table(lua_State *L)
{
    lua_Integer narray = luaL_checkinteger(L, 1), nhash = luaL_checkinteger(L, 2);
    luaL_argcheck(L, narray >= 0 && narray <= 1 << 16, 1, "from 0 to 65536 expected");
    luaL_argcheck(L, nhash >= 0 && nhash <= 1 << 16, 2, "from 0 to 65536 expected");
    lua_createtable(L, (int)narray, (int)nhash);
    return 1;
}

static const luaL_Reg core_functions[] = {
    {"csv_split", l_csv_split},
    {"new_table", l_new_table},
    {"file_head", l_file_head},
    {"sniff", l_sniff},
    {"sha256", l_sha256},
    {"sha256_file", l_sha256_file},
    {"utf8_valid", l_utf8_valid},
    {NULL, NULL},
};

int luaopen_cdp_core(lua_State *L);
int luaopen_cdp_core(lua_State *L)
{
    luaL_newlib(L, core_functions);
    cdp_sys_register(L);
    cdp_lclient_register(L);
    cdp_lbatch_register(L);
    cdp_ljson_register(L);
    cdp_ngxshare_register(L);
    lua_pushliteral(L, CDP_CORE_VERSION);
    lua_setfield(L, -2, "version");
    return 1;
}
