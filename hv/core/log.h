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

/* Copies up to size bytes starting at position *pos (moved forward to the
 * oldest byte still held if the ring overwrote it); returns bytes copied. */
u64 log_read(struct log_ring *log, u64 *pos, char *dst, u64 size);

/* Raw serial output (used by the panic path, lock-free). */
void serial_write(u16 port, const char *s, size_t n);

#endif
