/* SPDX-License-Identifier: MIT */
/*
 * The connection agent of e2bctl run (agent.c): a per-user background
 * process, like ssh's ControlPersist, that keeps libe2b clients and their
 * connections warm so that a run costs one round trip on the wire.
 */
#ifndef E2BCTL_AGENT_H
#define E2BCTL_AGENT_H

#include "cmd.h"

/**
 * Run this e2bctl command line (run, or another command agent_serves())
 * through the connection agent for the configuration of @p ctx, starting
 * one when none is running.
 *
 * The agent's worker runs the same command code with our stdin, stdout,
 * stderr and working directory (passed over its unix socket), so output,
 * messages and exit code are those of a direct run; Ctrl-C and SIGTERM
 * are relayed to it.
 *
 * @param[out] out_handled 0 when the caller must run the command itself
 *             (agent off, unreachable, just started, refused before the
 *             command began); then nothing was printed but debug lines
 * @return the exit code when *@p out_handled
 */
int agent_run(int *out_handled, struct cmd_ctx *ctx);

/** @return 1 if the agent runs command @p cmd (run, start, ps, signal) */
int agent_serves(const char *cmd);

#endif
