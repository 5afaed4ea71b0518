/* SPDX-License-Identifier: MIT */
/* The control directory MOUNTPOINT/.e2bfs (placeholder). */
#include <errno.h>

#include "e2bfs.h"

int ctl_is(fuse_ino_t ino) { return ino >= CTL_INO_BASE; }
void ctl_init(struct fs *fs) { (void)fs; }
void ctl_lookup(fuse_req_t req, fuse_ino_t parent, const char *name) { fuse_reply_err(req, ENOENT); }
void ctl_getattr(fuse_req_t req, fuse_ino_t ino) { fuse_reply_err(req, ENOENT); }
void ctl_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi, int plus) { fuse_reply_err(req, ENOENT); }
void ctl_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) { fuse_reply_err(req, ENOENT); }
void ctl_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) { fuse_reply_err(req, 0); }
void ctl_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) { fuse_reply_err(req, ENOENT); }
void ctl_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi) { fuse_reply_err(req, EIO); }
void ctl_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off, struct fuse_file_info *fi) { fuse_reply_err(req, EIO); }
void ctl_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) { fuse_reply_err(req, 0); }
void ctl_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set, struct fuse_file_info *fi) { fuse_reply_err(req, EPERM); }
void ctl_shutdown(struct fs *fs) { (void)fs; }
