/* SPDX-License-Identifier: MIT */
/*
 * Terminal handling for `shell`.  One loop (C4): e2b_process_poll() waits
 * for output and for our stdin together; signal handlers only set flags.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "term.h"

#define TERM_POLL_MS 250
#define TERM_CHUNK 4096

static struct termios term_saved;
static int term_is_raw;

void term_restore(void)
{
	if (term_is_raw) {
		tcsetattr(STDIN_FILENO, TCSADRAIN, &term_saved);
		term_is_raw = 0;
	}
}

int term_raw(void)
{
	static int registered;
	struct termios t;

	if (!isatty(STDIN_FILENO))
		return 0;
	if (tcgetattr(STDIN_FILENO, &term_saved) < 0)
		return -1;
	t = term_saved;
	cfmakeraw(&t);
	if (tcsetattr(STDIN_FILENO, TCSADRAIN, &t) < 0)
		return -1;
	term_is_raw = 1;
	/* Whatever way we leave, the user's terminal comes back sane. */
	if (!registered)
		atexit(term_restore);
	registered = 1;
	return 0;
}

void term_size(unsigned *cols, unsigned *rows)
{
	struct winsize ws;

	*cols = 80;
	*rows = 24;
	if ((ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0 ||
	     ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0) && ws.ws_col && ws.ws_row) {
		*cols = ws.ws_col;
		*rows = ws.ws_row;
	}
}

/* Forward pending keystrokes.  @return 1 at EOF, 0, -1 on failure. */
static int forward_keys(e2b_sandbox *sb, uint32_t pid)
{
	struct pollfd pfd = { .fd = STDIN_FILENO, .events = POLLIN };
	char buf[TERM_CHUNK];
	ssize_t n;

	if (poll(&pfd, 1, 0) <= 0)
		return 0;
	n = read(STDIN_FILENO, buf, sizeof(buf));
	if (n < 0)
		return errno == EINTR || errno == EAGAIN ? 0 : -1;
	if (n == 0) {
		/* Piped input ended: EOF for the remote line discipline. */
		e2b_pty_write(sb, pid, "\x04", 1);
		return 1;
	}
	return e2b_pty_write(sb, pid, buf, (size_t)n) < 0 ? -1 : 0;
}

int term_session(int *out_ended, e2b_sandbox *sb, e2b_process *proc)
{
	uint32_t pid = e2b_process_pid(proc);
	int code = 0, reading = 1, seen = 0;
	unsigned cols, rows;

	*out_ended = 0;
	sig_catch();
	sig_catch_winch();
	while (!*out_ended) {
		if (sig_interrupts != seen) {
			/* In raw mode only signals from outside arrive here. */
			seen = sig_interrupts;
			if (seen >= 3)
				break;
			e2b_commands_signal(NULL, sb, pid, seen == 1 ? E2B_SIGNAL_SIGTERM :
					    E2B_SIGNAL_SIGKILL);
		}
		if (sig_winch) {
			sig_winch = 0;
			term_size(&cols, &rows);
			code = e2b_pty_resize(sb, pid, cols, rows);
			if (code < 0 && code != E2B_ENOTFOUND)
				error_warn("cannot resize the terminal: %s",
					   e2b_error_last()->message);
		}
		code = e2b_process_poll(out_ended, proc, TERM_POLL_MS,
					reading ? STDIN_FILENO : -1);
		if (code < 0)
			break;
		if (reading && !*out_ended && forward_keys(sb, pid) != 0)
			reading = 0;
	}
	sig_default();
	return code < 0 ? code : 0;
}
