/* SPDX-License-Identifier: MIT */
/*
 * Private to server/isolate/: the zygote and the sandbox inits it creates
 * (nsinit.c).  They speak the messages of nsmsg.h.
 */
#ifndef E2BD_NSINIT_H
#define E2BD_NSINIT_H

#include <sys/types.h>

/*
 * Fork the zygote.  Must be called while the process is single-threaded.
 * Returns the zygote's pid and stores e2bd's end of the channel in *sock.
 */
pid_t nsinit_zygote_spawn(int *sock, char *err, size_t errlen);

/* The command line wrapper envd uses, minus nice/ionice (see nsinit.c). */
#define NSINIT_SH_WRAPPER \
	"{ echo 100 > /proc/$$/oom_score_adj; } 2>/dev/null; exec \"$@\""

/* Write @v to /proc/self/oom_score_adj; 0 or -1 (errno set). */
int nsinit_write_oom_score(const char *v);

#endif
