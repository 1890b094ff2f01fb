/* SPDX-License-Identifier: MIT */
/* What the two reference interposers of make bench-sandbox share (a
 * PTRACE_SYSCALL one, ptrace-box.c, and a seccomp user-notification one,
 * seccomp-box.c): the path policy of dune-sandbox (policy.c, paths.c) on
 * the path arguments of a traced process's system calls, read from outside
 * it. They exist to be measured against dune-sandbox, enforcing the same
 * path rules; they are not sandboxes to rely on (a thread of the traced
 * process can change a path between the check and the call). */
#ifndef INTERPOSE_H
#define INTERPOSE_H

#include <stdbool.h>
#include <stdint.h>

/* The system calls with a path argument that the interposers check. */
bool interpose_is_path_call(long nr);
/* The numbers of those calls (for a seccomp filter); returns how many. */
unsigned interpose_path_calls(const long **nrs);
/* The policy on call nr of process pid with arguments args: 0 or
 * -EACCES (or -EFAULT when a path cannot be read). */
long interpose_check(int pid, long nr, const uint64_t args[6]);
/* Loads the policy file (policy.c); on error prints file:line and exits 126. */
void interpose_load_policy(const char *file, const char *tool);

#endif
