/* Opening a document file: regular files only. Header-only (no rockspec or
 * test-build entry), shared by the streamed body, the digest and core.file_head. */
#ifndef CDP_REGFILE_H
#define CDP_REGFILE_H

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

/* Open `path` for reading; returns the descriptor with `st` filled, or -1
 * with errno set (EISDIR for a directory, EINVAL for anything else that is
 * not a regular file). O_NONBLOCK: opening a FIFO would otherwise wait for a
 * writer; reads of a regular file do not heed the flag. */
static inline int cdp_open_regular(const char *path, struct stat *st)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return -1;
    int saved = 0;
    if (fstat(fd, st) != 0)
        saved = errno;
    else if (S_ISDIR(st->st_mode))
        saved = EISDIR;
    else if (!S_ISREG(st->st_mode))
        saved = EINVAL;
    if (saved != 0) {
        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

#endif
