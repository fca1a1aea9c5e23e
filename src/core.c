/* cdp.core: the Lua bindings of the C core. Each concern lives in its own
 * file (digest.c, ...); this file only checks arguments and converts results. */
#include <errno.h>
#include <string.h>

#include "compat.h"
#include "digest.h"
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

static const luaL_Reg core_functions[] = {
    {"file_head", l_file_head},
    {"sha256", l_sha256},
    {"sha256_file", l_sha256_file},
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
