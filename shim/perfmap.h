/* Names of JIT-compiled code from the perf map the runtime writes
 * (/tmp/perf-PID.map): Node.js with --perf-basic-prof, the JVM with
 * perf-map-agent, .NET, LuaJIT.  With one, the stack walker also follows
 * frame pointers through code that has no unwind information (stackwalk.c),
 * and the report names those frames: a JavaScript function with its file
 * and line, marked (js). */
#ifndef RCLEAK_PERFMAP_H
#define RCLEAK_PERFMAP_H

#include <stdbool.h>

#include "symbolize.h"

/* Whether this process has a perf map (one system call). */
bool rc_perfmap_exists(void);

/* Fill f's function (and for JavaScript, file, line and lang) from the map,
 * for an f->pc no module maps; false when the map names nothing there. */
bool rc_perfmap_frame(struct rc_frame *f);

#endif
