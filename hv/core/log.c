/* Serial + ring-buffer log (see log.h). The ring is pure logic; serial output
 * polls the 16550 line-status register. */
#include "core/log.h"

#include <stdio.h>
#include <string.h>

#ifndef HV_HOST_TEST
#include "arch/x86/arch.h"
#define UART_THR 0
#define UART_LSR 5
#define UART_LSR_THRE 0x20

void serial_write(u16 port, const char *s, size_t n)
{
	if (!port)
		return;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\n')
			serial_write(port, "\r", 1);
		/* Bounded wait: a missing UART must not hang the hypervisor. */
		for (unsigned spin = 0; spin < 100000 && !(inb(port + UART_LSR) & UART_LSR_THRE); spin++)
			cpu_relax();
		outb(port + UART_THR, (u8)s[i]);
	}
}
#endif

void log_init(struct log_ring *log, char *buf, u16 serial_port, enum log_level level)
{
	memset(log, 0, sizeof(*log));
	log->buf = buf;
	log->serial_port = serial_port;
	log->level = level;
}

static void ring_append(struct log_ring *log, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		log->buf[(log->head + i) % LOG_RING_SIZE] = s[i];
	log->head += n;
}

void log_vprintf(struct log_ring *log, enum log_level level, const char *fmt, va_list ap)
{
	char line[256];
	if (level > log->level)
		return;
	int n = snprintf(line, sizeof(line), "[dunehv] ");
	int m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	if (m < 0)
		m = 0;
	size_t len = (size_t)n + MIN((size_t)m, sizeof(line) - (size_t)n - 2);
	line[len++] = '\n';
	/* In a panic the holder may be a CPU that was just stopped: after a
	 * bounded wait the line goes out without the lock rather than never. */
	bool locked = true;
	if (__atomic_load_n(&log->panicking, __ATOMIC_RELAXED)) {
		unsigned spin = 0;
		while (__atomic_exchange_n(&log->lock.locked, 1, __ATOMIC_ACQUIRE) && spin++ < 10000000)
			;
		locked = spin <= 10000000;
	} else {
		spin_lock(&log->lock);
	}
	if (log->buf)
		ring_append(log, line, len);
	serial_write(log->serial_port, line, len);
	if (locked)
		spin_unlock(&log->lock);
}

void log_printf(struct log_ring *log, enum log_level level, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_vprintf(log, level, fmt, ap);
	va_end(ap);
}

bool log_limit_pass(struct log_limit *limit, u64 now, u32 *held_back)
{
	spin_lock(&limit->lock);
	if (!limit->started || (s64)(now - limit->window_start) >= (s64)LOG_LIMIT_WINDOW_TSC) {
		limit->started = true;
		limit->window_start = now;
		limit->passed = 0;
	}
	bool pass = limit->passed < LOG_LIMIT_BURST;
	if (pass) {
		limit->passed++;
		*held_back = limit->held_back;
		limit->held_back = 0;
	} else {
		limit->held_back++;
	}
	spin_unlock(&limit->lock);
	return pass;
}

void log_limited(struct log_ring *log, struct log_limit *limit, u64 now, enum log_level level, const char *fmt, ...)
{
	u32 held_back;
	if (!log_limit_pass(limit, now, &held_back))
		return;
	if (held_back)
		log_printf(log, level, "(%u lines like the next were held back by the rate limit)", held_back);
	va_list ap;
	va_start(ap, fmt);
	log_vprintf(log, level, fmt, ap);
	va_end(ap);
}

u64 log_read(struct log_ring *log, u64 *pos, char *dst, u64 size)
{
	spin_lock(&log->lock);
	u64 oldest = log->head > LOG_RING_SIZE ? log->head - LOG_RING_SIZE : 0;
	if (*pos < oldest)
		*pos = oldest;
	if (*pos > log->head)
		*pos = log->head;
	u64 n = MIN(size, log->head - *pos);
	for (u64 i = 0; i < n; i++)
		dst[i] = log->buf[(*pos + i) % LOG_RING_SIZE];
	spin_unlock(&log->lock);
	return n;
}
