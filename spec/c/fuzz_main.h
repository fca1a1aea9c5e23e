/* The driver of a fuzz target built without libFuzzer (make test-c): it
 * replays the target's regression inputs (spec/fuzz/<name>/, or the files and
 * directories given as arguments) and then `random_runs` deterministic random
 * inputs through LLVMFuzzerTestOneInput. With -DCDP_LIBFUZZER this header
 * gives nothing: libFuzzer brings main(). Include it after the target. */
#ifndef CDP_FUZZ_MAIN_H
#define CDP_FUZZ_MAIN_H

#ifndef CDP_LIBFUZZER
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Run one file; returns 1 when it ran, 0 when it could not be read. */
static int fuzz_replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return 0;
    size_t cap = 4096, len = 0;
    uint8_t *buf = malloc(cap);
    size_t r;
    while (buf != NULL && (r = fread(buf + len, 1, cap - len, f)) > 0) {
        len += r;
        if (len == cap) {
            uint8_t *grown = realloc(buf, cap * 2);
            if (grown == NULL) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = grown;
            cap *= 2;
        }
    }
    fclose(f);
    if (buf == NULL)
        return 0;
    /* An exact-size copy, so that a sanitizer sees reads past the input. */
    uint8_t *exact = malloc(len ? len : 1);
    if (exact == NULL) {
        free(buf);
        return 0;
    }
    memcpy(exact, buf, len);
    free(buf);
    LLVMFuzzerTestOneInput(exact, len);
    free(exact);
    return 1;
}

static int fuzz_name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Replay every regular file of `dir` (sorted, so that runs are repeatable);
 * returns how many ran, -1 when a file could not be read. A missing
 * directory replays nothing. */
static long fuzz_replay_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return 0;
    char **names = NULL;
    size_t n = 0, cap = 0;
    long ran = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 64;
            char **grown = realloc(names, ncap * sizeof *grown);
            if (grown == NULL) {
                ran = -1;
                break;
            }
            names = grown;
            cap = ncap;
        }
        size_t sz = strlen(dir) + strlen(e->d_name) + 2;
        names[n] = malloc(sz);
        if (names[n] == NULL) {
            ran = -1;
            break;
        }
        snprintf(names[n], sz, "%s/%s", dir, e->d_name);
        n++;
    }
    closedir(d);
    if (names != NULL)
        qsort(names, n, sizeof *names, fuzz_name_cmp);
    for (size_t i = 0; i < n; i++) {
        struct stat st;
        if (ran >= 0 && stat(names[i], &st) == 0 && S_ISREG(st.st_mode))
            ran = fuzz_replay_file(names[i]) ? ran + 1 : -1;
        free(names[i]);
    }
    free(names);
    return ran;
}

/* Replay the arguments (files or directories), or spec/fuzz/<name> and
 * `random_runs` inputs of up to `max_len` bytes from a fixed seed. */
static int fuzz_main(int argc, char **argv, const char *name, long random_runs, size_t max_len)
{
    long replayed = 0;
    if (argc > 1) {
        for (int i = 1; i < argc; i++) {
            struct stat st;
            long r = stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode)
                         ? fuzz_replay_dir(argv[i])
                         : (fuzz_replay_file(argv[i]) ? 1 : -1);
            if (r < 0) {
                fprintf(stderr, "%s: cannot read %s\n", name, argv[i]);
                return 1;
            }
            replayed += r;
        }
        printf("%s: ok, %ld inputs replayed\n", name, replayed);
        return 0;
    }
    char dir[256];
    snprintf(dir, sizeof dir, "spec/fuzz/%s", name);
    replayed = fuzz_replay_dir(dir);
    if (replayed < 0) {
        fprintf(stderr, "%s: cannot read the inputs of %s\n", name, dir);
        return 1;
    }
    uint8_t *buf = malloc(max_len ? max_len : 1);
    if (buf == NULL)
        return 1;
    uint32_t seed = 0x2545f491u;
    for (long iter = 0; iter < random_runs; iter++) {
        seed = seed * 1103515245u + 12345u;
        size_t len = (size_t)((seed >> 8) % (max_len + 1));
        for (size_t i = 0; i < len; i++) {
            seed = seed * 1103515245u + 12345u;
            buf[i] = (uint8_t)(seed >> 16);
        }
        /* An exact-size copy, as libFuzzer hands them. */
        uint8_t *exact = malloc(len ? len : 1);
        if (exact == NULL) {
            free(buf);
            return 1;
        }
        memcpy(exact, buf, len);
        LLVMFuzzerTestOneInput(exact, len);
        free(exact);
    }
    free(buf);
    printf("%s: ok, %ld regression inputs (%s), %ld random inputs\n", name, replayed, dir, random_runs);
    return 0;
}
#endif

#endif
