// lh_fs.h: the one file-system call Swift's Glibc module does not expose (renameat2), for atomic bundle replacement.
#ifndef LH_FS_H
#define LH_FS_H

/// Atomically exchanges the directory entries `a` and `b` (both must exist): Linux renameat2 with
/// RENAME_EXCHANGE, called through syscall(2) so it needs no particular glibc. Returns 0, or -1 with
/// errno set (EINVAL or ENOSYS when the file system or kernel cannot exchange: fall back then).
int lh_rename_exchange(const char *a, const char *b);

#endif
