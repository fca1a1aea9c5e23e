/* cdp_body_add_file_b64 refuses what is not a regular file, without blocking
 * (a FIFO with no writer used to hang the open) and with the right reason;
 * the body stays usable after a refusal. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../src/body.h"

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "body_files_test: FAIL: %s\n", what);
        exit(1);
    }
}

int main(void)
{
    char dir[] = "/tmp/cdp-body-files.XXXXXX";
    check(mkdtemp(dir) != NULL, "mkdtemp");
    char fifo[64], file[64], err[256];
    snprintf(fifo, sizeof fifo, "%s/fifo", dir);
    snprintf(file, sizeof file, "%s/doc", dir);
    check(mkfifo(fifo, 0600) == 0, "mkfifo");
    FILE *f = fopen(file, "wb");
    check(f != NULL, "open doc");
    size_t wrote = fwrite("abcd", 1, 4, f);
    check(fclose(f) == 0 && wrote == 4, "write doc");

    cdp_body *b = cdp_body_new();
    check(b != NULL, "cdp_body_new");
    alarm(10); /* a blocking open fails the test instead of hanging it */
    errno = 0;
    check(cdp_body_add_file_b64(b, fifo, err, sizeof err) == -1 && errno == EINVAL, "FIFO refused");
    check(strstr(err, "cannot read") != NULL, "FIFO reason");
    check(cdp_body_add_file_b64(b, dir, err, sizeof err) == -1 && errno == EISDIR, "directory refused");
    check(strstr(err, "Is a directory") != NULL, "directory reason");
    check(cdp_body_add_file_b64(b, "/dev/null", err, sizeof err) == -1 && errno == EINVAL, "device refused");
    check(cdp_body_add_file_b64(b, "/nonexistent/x", err, sizeof err) == -1 && errno == ENOENT, "missing refused");
    alarm(0);
    check(cdp_body_length(b) == 0, "nothing added");
    check(cdp_body_add_file_b64(b, file, err, sizeof err) == 0, "regular file added");
    char out[16];
    check(cdp_body_length(b) == 8 && cdp_body_read(b, out, sizeof out) == 8 && memcmp(out, "YWJjZA==", 8) == 0,
          "regular file read");
    cdp_body_free(b);
    unlink(fifo);
    unlink(file);
    rmdir(dir);
    printf("body_files_test: ok\n");
    return 0;
}
