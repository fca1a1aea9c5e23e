#include "sys.h"

#include <errno.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lualib.h> /* LUA_FILEHANDLE */

static volatile sig_atomic_t interrupted_flag;

static void on_interrupt(int sig)
{
    (void)sig;
    interrupted_flag = 1;
}

int cdp_sys_interrupted(void)
{
    return interrupted_flag != 0;
}

/* Lua 5.4's luaL_Stream (closed: closef is NULL) and LuaJIT's file userdata
 * (closed: the FILE* is NULL) both start with the FILE*. */
FILE *cdp_sys_check_file(lua_State *L, int idx)
{
#if LUA_VERSION_NUM >= 502
    luaL_Stream *stream = (luaL_Stream *)luaL_checkudata(L, idx, LUA_FILEHANDLE);
    if (stream->closef == NULL || stream->f == NULL)
        luaL_argerror(L, idx, "file is closed");
    return stream->f;
#else
    FILE **fp = (FILE **)luaL_checkudata(L, idx, LUA_FILEHANDLE);
    if (*fp == NULL)
        luaL_argerror(L, idx, "file is closed");
    return *fp;
#endif
}

/* core.fsync(file) -> true | nil, message: flush Lua's buffer and the OS's. */
static int l_fsync(lua_State *L)
{
    FILE *f = cdp_sys_check_file(L, 1);
    if (fflush(f) != 0 || fsync(fileno(f)) != 0) {
        lua_pushnil(L);
        lua_pushstring(L, strerror(errno));
        return 2;
    }
    lua_pushboolean(L, 1);
    return 1;
}

/* core.isatty(file) -> boolean */
static int l_isatty(lua_State *L)
{
    lua_pushboolean(L, isatty(fileno(cdp_sys_check_file(L, 1))));
    return 1;
}

/* core.trap_interrupt(): from now on Ctrl-C sets a flag instead of killing
 * the process, so a batch can settle the records in flight. */
static int l_trap_interrupt(lua_State *L)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_interrupt;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    if (sigaction(SIGINT, &sa, NULL) != 0)
        return luaL_error(L, "sigaction: %s", strerror(errno));
    return 0;
}

/* core.interrupted() -> boolean */
static int l_interrupted(lua_State *L)
{
    lua_pushboolean(L, cdp_sys_interrupted());
    return 1;
}

/* core.file_stamp(path) -> text | nil, message: the file's device, inode,
 * size, and its change and modification times to the nanosecond. Any write
 * to the file moves its change time, which no program can set back: two
 * equal stamps of one path mean the same contents (the CLI's precompiled
 * modules, cdp.cli.bytecode). */
static int l_file_stamp(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    struct stat st;
    if (stat(path, &st) != 0) {
        lua_pushnil(L);
        lua_pushstring(L, strerror(errno));
        return 2;
    }
    char stamp[160];
    snprintf(stamp, sizeof stamp, "%llu:%llu:%lld:%lld.%09ld:%lld.%09ld", (unsigned long long)st.st_dev,
             (unsigned long long)st.st_ino, (long long)st.st_size, (long long)st.st_ctim.tv_sec,
             (long)st.st_ctim.tv_nsec, (long long)st.st_mtim.tv_sec, (long)st.st_mtim.tv_nsec);
    lua_pushstring(L, stamp);
    return 1;
}

/* core.keep_freed_memory(bytes) -> boolean: asks the C library to keep up to
 * `bytes` of freed heap for reuse instead of giving it back to the system at
 * once, and to grow the heap by an eighth of that at a time. glibc's default
 * (128 KiB, adjusted as it goes) suits a process that allocates once; a
 * batch allocates and frees about 180 KiB a request (libcurl's upload
 * buffer, the body's staging), and the heap was given back and grown again
 * about 300 times for 1,000 records: a system call, page faults and a TLB
 * shootdown each time. For a program's own process (the CLI), not a library
 * inside someone else's. false where the C library has no such settings. */
static int l_keep_freed_memory(lua_State *L)
{
    lua_Integer bytes = luaL_checkinteger(L, 1);
    luaL_argcheck(L, bytes >= 1024 * 1024 && bytes <= 1024 * 1024 * 1024, 1, "between 1 MiB and 1 GiB");
#ifdef __GLIBC__
    lua_pushboolean(L, mallopt(M_TRIM_THRESHOLD, (int)bytes) == 1 && mallopt(M_TOP_PAD, (int)(bytes / 8)) == 1);
#else
    lua_pushboolean(L, 0);
#endif
    return 1;
}

static const luaL_Reg sys_functions[] = {
    {"fsync", l_fsync},
    {"isatty", l_isatty},
    {"trap_interrupt", l_trap_interrupt},
    {"interrupted", l_interrupted},
    {"file_stamp", l_file_stamp},
    {"keep_freed_memory", l_keep_freed_memory},
    {NULL, NULL},
};

void cdp_sys_register(lua_State *L)
{
    luaL_setfuncs(L, sys_functions, 0);
}
