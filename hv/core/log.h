/* Hypervisor log: each line goes to the serial port (COM1) and into a ring
 * buffer that Linux reads with the DUNEHV_HC_LOG_READ hypercall. */
#ifndef HV_LOG_H
#define HV_LOG_H

#include <stdarg.h>

#include "core/config.h"
#include "core/spinlock.h"

#define LOG_RING_SIZE (64u << 10)

struct log_ring {
	struct spinlock lock;
	char *buf;          /* LOG_RING_SIZE bytes */
	u64 head;           /* total bytes ever written; next byte goes to buf[head % size] */
	u16 serial_port;    /* 0 = none */
	enum log_level level;
	u32 panicking;      /* set by the panic path: the lock is taken with a bounded wait */
};

void log_init(struct log_ring *log, char *buf, u16 serial_port, enum log_level level);

/* Appends one formatted line (prefix "[dunehv] ") if level passes the filter. */
__attribute__((format(printf, 3, 4))) void log_printf(struct log_ring *log, enum log_level level, const char *fmt, ...);
void log_vprintf(struct log_ring *log, enum log_level level, const char *fmt, va_list ap);

/* A rate limit for lines that a guest can cause at will (a Dune process
 * whose VM entry fails, in an open/enter/close loop): at most
 * LOG_LIMIT_BURST lines per window of LOG_LIMIT_WINDOW_TSC TSC ticks, as
 * Linux's printk_ratelimit; the lines held back are counted, and the next
 * line that passes says how many. Without it such a loop would fill the
 * ring and keep a CPU writing to the UART with interrupts off. */
#define LOG_LIMIT_BURST 10
#define LOG_LIMIT_WINDOW_TSC (1ull << 32) /* 1 to 2 s on current CPUs; in Bochs, emulated instructions */

struct log_limit {
	struct spinlock lock;
	bool started;
	u64 window_start; /* TSC */
	u32 passed;       /* lines in this window */
	u32 held_back;    /* lines held back since the last that passed */
};

/* Whether a line at TSC now may go out; if so, *held_back is how many were
 * held back before it. A TSC behind the window's start (another CPU's)
 * counts as inside the window. */
bool log_limit_pass(struct log_limit *limit, u64 now, u32 *held_back);

/* log_printf through limit, now = the TSC. */
__attribute__((format(printf, 5, 6))) void log_limited(struct log_ring *log, struct log_limit *limit, u64 now,
							 enum log_level level, const char *fmt, ...);

/* Copies up to size bytes starting at position *pos (moved forward to the
 * oldest byte still held if the ring overwrote it); returns bytes copied. */
u64 log_read(struct log_ring *log, u64 *pos, char *dst, u64 size);

/* Raw serial output (used by the panic path, lock-free). */
void serial_write(u16 port, const char *s, size_t n);

#endif
