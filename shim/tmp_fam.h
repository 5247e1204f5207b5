/* Shared between tmp_interpose.c (wrappers) and tmp_family.c (registry, report). */
#ifndef RCLEAK_TMP_FAM_H
#define RCLEAK_TMP_FAM_H

/* A temporary directory (kind RC_KIND_TMPDIR, fd -1) or file (RC_KIND_TMPFILE,
 * its new fd) now exists at `path`, created by `fn`.  Preserves errno. */
void rc_tmp_acquired(unsigned kind, const char *path, int fd, unsigned fn);

#endif
