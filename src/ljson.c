/* core.json_parts(value, spec, null, on_document, number [, document_mt]) -> parts
 * core.json_line(t) -> text | nil (see l_json_line)
 *
 * The onboarding body as cdp.json writes it (lua/cdp/json.lua is the
 * reference: keys in schema order, explicit nulls, texts escaped the same
 * way), in C because `submit` writes one body per record and the Lua writer
 * cost it about a tenth of its CPU.
 *
 * `spec` is a cdp.schema node; `null` the JSON null; `on_document(doc,
 * flat)` returns the text before a document, the part standing for its
 * bytes (or nil) and the text after it (or nil); `number(n)` writes a
 * number that is not a whole one (cdp.json's json.number, for its exact
 * digits and errors); `document_mt`, cdp.document's metatable: its
 * documents of a type the CDP takes, and those opened only when sent, are
 * written here, as on_document would. The result is a list of strings and
 * document parts, adjacent strings joined. */
#include "ljson.h"
#include "doctype.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>


/* The schema's key and type names, made Lua strings once (upvalues of
 * json_parts): a look-up by one of them skips lua_getfield's interning of
 * its C string, the larger part of a look-up's cost. K_PLANS: see
 * push_plan. */
enum {
    K_TYPE = 1, K_FIELDS, K_NAME, K_ITEMS, K_FLAT_DOCUMENT, K_DOCUMENT, K_ARRAY, K_OBJECT,
    K_OPENED_WHEN_SENT, K_CONTENT_TYPE, K_PLANS, K_COUNT
};
static const char *const key_names[] = {
    NULL, "type", "fields", "name", "items", "flat_document", "document", "array", "object",
    "opened_when_sent", "content_type",
};
#define KEY(k) lua_upvalueindex(k)
#define MAX_DEPTH 32 /* the schema nests 3 deep; more is a misuse */

/* The text being written: first in a buffer on the C stack, then, if it
 * outgrows it, in a userdata held in stack slot `slot` (garbage once the
 * call returns, or raises: nothing to free, no finalizer). */
typedef struct {
    char *data;
    size_t len, cap;
    int slot;
} text_buf;

#define FIRST_TEXT 4096 /* a customer's body between documents: about 1 KiB */

typedef struct {
    lua_State *L;
    text_buf *text;
    int null, on_document, number, document_mt, parts; /* stack indexes (document_mt: 0 if none) */
    int nparts;
    int depth;
} writer;

static void reserve(writer *w, size_t more)
{
    text_buf *t = w->text;
    if (t->cap - t->len >= more)
        return;
    if (more > SIZE_MAX / 4 - t->len)
        luaL_error(w->L, "cdp.json: text too long");
    size_t cap = t->cap;
    while (cap - t->len < more)
        cap *= 2;
    char *grown = lua_newuserdata(w->L, cap); /* raises when out of memory */
    memcpy(grown, t->data, t->len);
    lua_replace(w->L, t->slot);
    t->data = grown;
    t->cap = cap;
}

static void put(writer *w, const char *s, size_t n)
{
    reserve(w, n);
    memcpy(w->text->data + w->text->len, s, n);
    w->text->len += n;
}

#define PUT_LITERAL(w, s) put((w), "" s, sizeof(s) - 1)

/* The text so far becomes one part (none when empty). */
static void flush(writer *w)
{
    if (w->text->len == 0)
        return;
    lua_pushlstring(w->L, w->text->data, w->text->len);
    lua_rawseti(w->L, w->parts, ++w->nparts);
    w->text->len = 0;
}

static int plain_byte(unsigned char c)
{
    return c >= 0x20 && c < 0x7f && c != '"' && c != '\\';
}

/* Strict UTF-8, as cdp.records.valid_utf8: no overlongs, no surrogates,
 * nothing above U+10FFFF. */
static int valid_utf8(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned char c = s[i];
        size_t len;
        unsigned long cp, min;
        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xC2 && c <= 0xDF)
            len = 2, min = 0x80, cp = c & 0x1F;
        else if (c >= 0xE0 && c <= 0xEF)
            len = 3, min = 0x800, cp = c & 0x0F;
        else if (c >= 0xF0 && c <= 0xF4)
            len = 4, min = 0x10000, cp = c & 0x07;
        else
            return 0;
        if (n - i < len)
            return 0;
        for (size_t k = 1; k < len; k++) {
            unsigned char b = s[i + k];
            if (b < 0x80 || b > 0xBF)
                return 0;
            cp = (cp << 6) | (b & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return 0;
        i += len;
    }
    return 1;
}

/* A JSON string literal: `"`, `\` and control characters (DEL too)
 * escaped, everything else as it is. 0, with nothing written, for text
 * that is not valid UTF-8. */
static int try_put_string(writer *w, const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t plain = 0;
    while (plain < n && plain_byte(s[plain]))
        plain++;
    if (plain < n && !valid_utf8(s + plain, n - plain))
        return 0;
    if (n > (SIZE_MAX / 4 - 2) / 6)
        luaL_error(w->L, "cdp.json: text too long");
    reserve(w, n * 6 + 2); /* \u00XX at worst */
    char *out = w->text->data + w->text->len;
    *out++ = '"';
    memcpy(out, s, plain);
    out += plain;
    for (size_t i = plain; i < n; i++) {
        unsigned char c = s[i];
        if (c != '"' && c != '\\' && c >= 0x20 && c != 0x7f) {
            *out++ = (char)c;
            continue;
        }
        *out++ = '\\';
        switch (c) {
        case '"': *out++ = '"'; break;
        case '\\': *out++ = '\\'; break;
        case '\b': *out++ = 'b'; break;
        case '\f': *out++ = 'f'; break;
        case '\n': *out++ = 'n'; break;
        case '\r': *out++ = 'r'; break;
        case '\t': *out++ = 't'; break;
        default:
            out += sprintf(out, "u%04x", c);
        }
    }
    *out++ = '"';
    w->text->len = (size_t)(out - w->text->data);
    return 1;
}

/* Invalid UTF-8 is a misuse here: the validator refuses it at its field. */
static void put_string(writer *w, const char *s, size_t n)
{
    if (!try_put_string(w, s, n))
        luaL_error(w->L, "cdp.json: text is not valid UTF-8");
}

/* A whole number as its exact digits; 0, with nothing written, for any
 * other. */
static int try_put_whole(writer *w, int idx)
{
    lua_State *L = w->L;
    char digits[64];
    int n = -1;
#if LUA_VERSION_NUM >= 503
    if (lua_isinteger(L, idx))
        n = snprintf(digits, sizeof digits, LUA_INTEGER_FMT, (LUAI_UACINT)lua_tointeger(L, idx));
    else
#endif
    {
        double d = (double)lua_tonumber(L, idx);
        if (isfinite(d) && d == floor(d) && fabs(d) < 1e21)
            n = snprintf(digits, sizeof digits, "%.0f", d);
    }
    if (n <= 0 || (size_t)n >= sizeof digits)
        return 0;
    put(w, digits, (size_t)n);
    return 1;
}

/* The text a Lua callback returned at `idx`. */
static void put_returned(writer *w, int idx, const char *callback)
{
    size_t len;
    const char *s = lua_tolstring(w->L, idx, &len);
    if (s == NULL)
        luaL_error(w->L, "cdp.json: %s returned no text", callback);
    put(w, s, len);
}

/* Whole numbers as their exact digits; any other through cdp.json's
 * json.number (its shortest exact form, and its error for NaN and inf). */
static void put_number(writer *w, int idx)
{
    lua_State *L = w->L;
    if (try_put_whole(w, idx))
        return;
    lua_pushvalue(L, w->number);
    lua_pushvalue(L, idx);
    lua_call(L, 1, 1);
    put_returned(w, -1, "the number writer");
    lua_pop(L, 1);
}

/* A cdp.document (a table whose metatable is `document_mt`) of a type the
 * CDP takes, or opened only when sent (the C core writes its type after the
 * base64 when it opens the file, on every send: never here): its pieces as
 * on_document would give them, without a call into Lua for each document.
 * Returns 0 for any other value, left to on_document. */
static int put_known_document(writer *w, int idx, int flat)
{
    lua_State *L = w->L;
    if (w->document_mt == 0 || lua_type(L, idx) != LUA_TTABLE || !lua_getmetatable(L, idx))
        return 0;
    int ours = lua_rawequal(L, -1, w->document_mt);
    lua_pop(L, 1);
    if (!ours)
        return 0;
    lua_pushvalue(L, KEY(K_OPENED_WHEN_SENT));
    lua_rawget(L, idx);
    int typed_when_sent = lua_toboolean(L, -1);
    lua_pushvalue(L, KEY(K_CONTENT_TYPE));
    lua_rawget(L, idx);
    const cdp_doctype *typed = NULL;
    if (!typed_when_sent && lua_type(L, -1) == LUA_TSTRING)
        typed = cdp_doctype_named(lua_tostring(L, -1));
    lua_pop(L, 2);
    if (!typed_when_sent && typed == NULL)
        return 0;
    if (flat)
        PUT_LITERAL(w, "\"base64_data\":\"");
    else
        PUT_LITERAL(w, "{\"base64_data\":\"");
    flush(w);
    lua_pushvalue(L, idx);
    lua_rawseti(L, w->parts, ++w->nparts);
    if (typed != NULL)
        put(w, typed->member, typed->member_len);
    if (!flat)
        PUT_LITERAL(w, "}");
    return 1;
}

/* on_document(doc, flat) -> before, part|nil, after|nil */
static void put_document(writer *w, int idx, int flat)
{
    lua_State *L = w->L;
    if (put_known_document(w, idx, flat))
        return;
    lua_pushvalue(L, w->on_document);
    lua_pushvalue(L, idx);
    lua_pushboolean(L, flat);
    lua_call(L, 2, 3);
    put_returned(w, -3, "a document's writer");
    if (!lua_isnil(L, -2)) {
        flush(w);
        lua_pushvalue(L, -2);
        lua_rawseti(L, w->parts, ++w->nparts);
    }
    if (!lua_isnil(L, -1))
        put_returned(w, -1, "a document's writer");
    lua_pop(L, 3);
}

/* Pushes spec[key] (a schema node: a plain table). */
static void spec_get(lua_State *L, int spec, int key)
{
    lua_pushvalue(L, KEY(key));
    lua_rawget(L, spec);
}

/* How a value is written by its spec: FIELD_OTHER (texts, numbers,
 * booleans), or as a document, a list or an object; FIELD_FLAT is an
 * object's flat document (its members written into the object). */
enum { FIELD_OTHER = 1, FIELD_DOCUMENT, FIELD_ARRAY, FIELD_OBJECT, FIELD_FLAT };

static int kind_of_spec(lua_State *L, int spec)
{
    if (spec == 0)
        return FIELD_OTHER;
    spec_get(L, spec, K_TYPE);
    int kind = lua_rawequal(L, -1, KEY(K_DOCUMENT)) ? FIELD_DOCUMENT
             : lua_rawequal(L, -1, KEY(K_ARRAY))    ? FIELD_ARRAY
             : lua_rawequal(L, -1, KEY(K_OBJECT))   ? FIELD_OBJECT
                                                    : FIELD_OTHER;
    lua_pop(L, 1);
    return kind;
}

/* An object spec's plan, made on its first write and kept (a weak table in
 * an upvalue, keyed by the spec): plan[i] is field i's name, plan[n + i]
 * its key as JSON (`"name":`), plan[2n + i] its spec, and plan[0] the
 * fields' kinds, one byte each. Writing a member is then a few look-ups. */
static int push_plan(writer *w, int spec)
{
    lua_State *L = w->L;
    lua_pushvalue(L, spec);
    lua_rawget(L, KEY(K_PLANS));
    if (!lua_isnil(L, -1))
        return lua_gettop(L);
    lua_pop(L, 1);
    spec_get(L, spec, K_FIELDS);
    int fields = lua_gettop(L);
    if (!lua_istable(L, fields))
        luaL_error(L, "cdp.json: a schema object without fields");
    int n = (int)lua_rawlen(L, fields);
    spec_get(L, spec, K_FLAT_DOCUMENT);
    int flat = lua_gettop(L);
    lua_createtable(L, 3 * n, 1);
    int plan = lua_gettop(L);
    char kinds[256];
    if (n > (int)sizeof kinds)
        luaL_error(L, "cdp.json: an object of more than %d fields", (int)sizeof kinds);
    for (int i = 1; i <= n; i++) {
        lua_rawgeti(L, fields, i);
        int field = lua_gettop(L);
        if (!lua_istable(L, field))
            luaL_error(L, "cdp.json: a schema field that is not a table");
        spec_get(L, field, K_NAME);
        size_t len;
        /* A text only: lua_tolstring would turn a number into a text in place. */
        const char *name = lua_type(L, -1) == LUA_TSTRING ? lua_tolstring(L, -1, &len) : NULL;
        if (name == NULL)
            luaL_error(L, "cdp.json: a schema field without a text name");
        kinds[i - 1] = (char)(lua_rawequal(L, -1, flat) ? FIELD_FLAT : kind_of_spec(L, field));
        /* The key, written at the end of the text and taken back off it. */
        size_t at = w->text->len;
        put_string(w, name, len);
        PUT_LITERAL(w, ":");
        lua_pushlstring(L, w->text->data + at, w->text->len - at);
        w->text->len = at;
        lua_rawseti(L, plan, n + i);
        lua_rawseti(L, plan, i);           /* the name */
        lua_rawseti(L, plan, 2 * n + i);   /* the field's spec */
    }
    lua_pushlstring(L, kinds, (size_t)n);
    lua_rawseti(L, plan, 0);
    lua_pushvalue(L, spec);
    lua_pushvalue(L, plan);
    lua_rawset(L, KEY(K_PLANS));
    lua_replace(L, fields);
    lua_settop(L, fields);
    return fields;
}

static void write_value(writer *w, int value, int kind, int spec);

/* Pushes the spec of a plan's field i (of n). */
static int push_field_spec(lua_State *L, int plan, int n, int i)
{
    lua_rawgeti(L, plan, 2 * n + i);
    return lua_gettop(L);
}

/* Members in schema order, absent ones left out; the object's flat
 * document goes out as members of its own. */
static void write_object(writer *w, int value, int spec)
{
    lua_State *L = w->L;
    int plan = push_plan(w, spec);
    lua_rawgeti(L, plan, 0);
    size_t n;
    const char *kinds = lua_tolstring(L, -1, &n); /* kept on the stack */
    PUT_LITERAL(w, "{");
    int first = 1;
    for (int i = 1; i <= (int)n; i++) {
        lua_rawgeti(L, plan, i);
        lua_gettable(L, value); /* value[name], as the Lua writer: __index counts */
        int member = lua_gettop(L);
        if (!lua_isnil(L, member)) {
            if (!first)
                PUT_LITERAL(w, ",");
            first = 0;
            int kind = kinds[i - 1];
            if (kind == FIELD_FLAT) {
                put_document(w, member, 1);
            } else {
                size_t len;
                lua_rawgeti(L, plan, (int)n + i);
                const char *key = lua_tolstring(L, -1, &len);
                put(w, key, len);
                lua_pop(L, 1);
                int field = kind == FIELD_ARRAY || kind == FIELD_OBJECT
                            ? push_field_spec(L, plan, (int)n, i) : 0;
                write_value(w, member, kind, field);
            }
        }
        lua_settop(L, member - 1);
    }
    PUT_LITERAL(w, "}");
    lua_settop(L, plan - 1);
}

static void write_array(writer *w, int list, int spec)
{
    lua_State *L = w->L;
    spec_get(L, spec, K_ITEMS);
    int items = lua_istable(L, -1) ? lua_gettop(L) : 0;
    int kind = kind_of_spec(L, items);
    PUT_LITERAL(w, "[");
    /* As the Lua writer's `for i = 1, #list do … list[i]`: metamethods count. */
#if LUA_VERSION_NUM >= 502
    lua_Integer count = luaL_len(L, list);
#else
    lua_Integer count = (lua_Integer)lua_objlen(L, list);
#endif
    for (lua_Integer i = 1; i <= count; i++) {
        if (i > 1)
            PUT_LITERAL(w, ",");
        lua_pushinteger(L, i);
        lua_gettable(L, list);
        write_value(w, lua_gettop(L), kind, items);
        lua_pop(L, 1);
    }
    PUT_LITERAL(w, "]");
    lua_pop(L, 1);
}

/* `value` by its spec's kind; `spec` (0: none) is needed for a list or an
 * object only. */
static void write_value(writer *w, int value, int kind, int spec)
{
    lua_State *L = w->L;
    if (++w->depth > MAX_DEPTH)
        luaL_error(L, "cdp.json: nested too deep");
    luaL_checkstack(L, 12, "cdp.json: nested too deep");
    if (lua_rawequal(L, value, w->null)) {
        PUT_LITERAL(w, "null");
    } else if (kind == FIELD_DOCUMENT) {
        put_document(w, value, 0);
    } else {
        size_t len;
        const char *s;
        switch (lua_type(L, value)) {
        case LUA_TSTRING:
            s = lua_tolstring(L, value, &len);
            put_string(w, s, len);
            break;
        case LUA_TNUMBER:
            put_number(w, value);
            break;
        case LUA_TBOOLEAN:
            if (lua_toboolean(L, value))
                PUT_LITERAL(w, "true");
            else
                PUT_LITERAL(w, "false");
            break;
        case LUA_TTABLE:
            if (kind == FIELD_ARRAY)
                write_array(w, value, spec);
            else if (kind == FIELD_OBJECT)
                write_object(w, value, spec);
            else
                luaL_error(L, "cdp.json: a table where the schema has no object or array");
            break;
        default:
            luaL_error(L, "cdp.json: cannot write a %s", luaL_typename(L, value));
        }
    }
    w->depth--;
}

/* core.json_line(t) -> text | nil
 * A flat table (text keys; texts, whole numbers and booleans) as one JSON
 * object, members in `next` order; nil for anything else (a nested table,
 * a fraction, invalid UTF-8), which the caller writes another way. For the
 * journal's lines: lua-cjson formats every number through printf("%.14g"),
 * most of a line's cost. */
static int l_json_line(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 1);
    lua_pushnil(L); /* where the text goes if it outgrows `initial` */
    char initial[FIRST_TEXT];
    text_buf text = { initial, 0, sizeof initial, lua_gettop(L) };
    writer w = { L, &text, 0, 0, 0, 0, 0, 0, 0 };
    PUT_LITERAL(&w, "{");
    int first = 1, ok = 1;
    lua_pushnil(L);
    while (ok && lua_next(L, 1) != 0) {
        size_t len;
        const char *key = lua_type(L, -2) == LUA_TSTRING ? lua_tolstring(L, -2, &len) : NULL;
        if (!first)
            PUT_LITERAL(&w, ",");
        first = 0;
        ok = key != NULL && try_put_string(&w, key, len);
        if (ok) {
            PUT_LITERAL(&w, ":");
            switch (lua_type(L, -1)) {
            case LUA_TSTRING: {
                const char *s = lua_tolstring(L, -1, &len);
                ok = try_put_string(&w, s, len);
                break;
            }
            case LUA_TNUMBER:
                ok = try_put_whole(&w, lua_gettop(L));
                break;
            case LUA_TBOOLEAN:
                if (lua_toboolean(L, -1))
                    PUT_LITERAL(&w, "true");
                else
                    PUT_LITERAL(&w, "false");
                break;
            default:
                ok = 0;
            }
        }
        lua_pop(L, 1);
    }
    if (ok) {
        PUT_LITERAL(&w, "}");
        lua_pushlstring(L, text.data, text.len);
    } else {
        lua_pushnil(L);
    }
    return 1;
}

static int l_json_parts(lua_State *L)
{
    luaL_checktype(L, 2, LUA_TTABLE);
    luaL_checkany(L, 3);
    luaL_checktype(L, 4, LUA_TFUNCTION);
    luaL_checktype(L, 5, LUA_TFUNCTION);
    if (!lua_isnoneornil(L, 6))
        luaL_checktype(L, 6, LUA_TTABLE);
    int document_mt = lua_istable(L, 6) ? 6 : 0;
    lua_settop(L, 6);
    lua_pushnil(L); /* where the text goes if it outgrows `initial` */
    char initial[FIRST_TEXT];
    text_buf text = { initial, 0, sizeof initial, lua_gettop(L) };
    lua_newtable(L);
    writer w = { L, &text, 3, 4, 5, document_mt, lua_gettop(L), 0, 0 };
    write_value(&w, 1, kind_of_spec(L, 2), 2);
    flush(&w);
    return 1;
}

void cdp_ljson_register(lua_State *L)
{
    for (int k = 1; k < K_PLANS; k++)
        lua_pushstring(L, key_names[k]);
    lua_newtable(L); /* the plans, by spec: weak keys */
    lua_createtable(L, 0, 1);
    lua_pushliteral(L, "k");
    lua_setfield(L, -2, "__mode");
    lua_setmetatable(L, -2);
    lua_pushcclosure(L, l_json_parts, K_COUNT - 1);
    lua_setfield(L, -2, "json_parts");
    lua_pushcfunction(L, l_json_line);
    lua_setfield(L, -2, "json_line");
}
