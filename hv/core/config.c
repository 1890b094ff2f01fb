/* dunehv.cfg parser: see config.h for the format. Pure C, no allocation. */
#include "core/config.h"

#include <stdio.h>
#include <string.h>

#define LINE_MAX_BYTES 1200

static const char *const log_level_names[] = {"error", "warn", "info", "debug"};
static const char *const on_fail_names[] = {"native", "halt"};
static const char *const on_panic_names[] = {"halt", "reset", "bochs-shutdown"};

const char *config_log_level_name(enum log_level l) { return log_level_names[l]; }
const char *config_on_fail_name(enum on_fail f) { return on_fail_names[f]; }
const char *config_on_panic_name(enum on_panic p) { return on_panic_names[p]; }

void config_defaults(struct hv_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->memory_bytes = CONFIG_MEMORY_DEFAULT;
	cfg->log_level = LOG_INFO;
	cfg->on_fail = ON_FAIL_NATIVE;
	cfg->on_panic = ON_PANIC_HALT;
	cfg->serial_port = 0x3f8;
	cfg->hypervisor = true;
	cfg->mitigations = true;
}

static bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r'; }

/* Index of name in names[], or -1. */
static int lookup_name(const char *value, const char *const *names, int count)
{
	for (int i = 0; i < count; i++)
		if (strcmp(value, names[i]) == 0)
			return i;
	return -1;
}

/* Parses an unsigned number (decimal or 0x hex) with an optional K/M/G suffix. */
static bool parse_size(const char *s, u64 *out)
{
	u64 v = 0, base = 10;
	int digits = 0;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	for (;; s++, digits++) {
		u64 d;
		if (*s >= '0' && *s <= '9')
			d = (u64)(*s - '0');
		else if (base == 16 && *s >= 'a' && *s <= 'f')
			d = (u64)(*s - 'a' + 10);
		else if (base == 16 && *s >= 'A' && *s <= 'F')
			d = (u64)(*s - 'A' + 10);
		else
			break;
		if (v > (UINT64_MAX - d) / base)
			return false;
		v = v * base + d;
	}
	if (!digits)
		return false;
	u64 shift = 0;
	if (*s == 'K' || *s == 'k')
		shift = 10;
	else if (*s == 'M' || *s == 'm')
		shift = 20;
	else if (*s == 'G' || *s == 'g')
		shift = 30;
	if (shift) {
		s++;
		if (v > (UINT64_MAX >> shift))
			return false;
		v <<= shift;
	}
	if (*s)
		return false;
	*out = v;
	return true;
}

static bool copy_string(char *dst, size_t cap, const char *value)
{
	size_t n = strlen(value);
	if (n >= cap)
		return false;
	memcpy(dst, value, n + 1);
	return true;
}

enum key_id {
	KEY_KERNEL, KEY_INITRD, KEY_CMDLINE, KEY_MEMORY, KEY_LOG_LEVEL, KEY_ON_FAIL, KEY_ON_PANIC, KEY_SERIAL, KEY_HYPERVISOR,
	KEY_TEST_HOOKS, KEY_MITIGATIONS, KEY_COUNT
};
static const char *const key_names[KEY_COUNT] = {"kernel",  "initrd",   "cmdline", "memory",    "log_level",
						 "on_fail", "on_panic", "serial",  "hypervisor", "test_hooks",
						 "mitigations"};
static const char *const on_off_names[] = {"off", "on"};

static const char *set_on_off(bool *field, const char *value)
{
	int i = lookup_name(value, on_off_names, 2);
	if (i < 0)
		return "expected on or off";
	*field = i == 1;
	return NULL;
}

/* Applies one key; returns NULL or a reason (the value is quoted by the caller). */
static const char *apply_key(struct hv_config *cfg, enum key_id key, const char *value)
{
	u64 n;
	int i;
	switch (key) {
	case KEY_KERNEL:
		if (!value[0])
			return "kernel path is empty";
		return copy_string(cfg->kernel, sizeof(cfg->kernel), value) ? NULL : "path too long (at most 255 bytes)";
	case KEY_INITRD:
		return copy_string(cfg->initrd, sizeof(cfg->initrd), value) ? NULL : "path too long (at most 255 bytes)";
	case KEY_CMDLINE:
		return copy_string(cfg->cmdline, sizeof(cfg->cmdline), value) ? NULL
										  : "command line too long (at most 1023 bytes)";
	case KEY_MEMORY:
		if (!parse_size(value, &n))
			return "not a size (use e.g. 64M)";
		if (n < CONFIG_MEMORY_MIN || n > CONFIG_MEMORY_MAX)
			return "out of range 16M..4G";
		cfg->memory_bytes = ALIGN_UP(n, SIZE_2M);
		return NULL;
	case KEY_LOG_LEVEL:
		if ((i = lookup_name(value, log_level_names, 4)) < 0)
			return "expected error, warn, info or debug";
		cfg->log_level = (enum log_level)i;
		return NULL;
	case KEY_ON_FAIL:
		if ((i = lookup_name(value, on_fail_names, 2)) < 0)
			return "expected native or halt";
		cfg->on_fail = (enum on_fail)i;
		return NULL;
	case KEY_ON_PANIC:
		if ((i = lookup_name(value, on_panic_names, 3)) < 0)
			return "expected halt, reset or bochs-shutdown";
		cfg->on_panic = (enum on_panic)i;
		return NULL;
	case KEY_SERIAL:
		if (strcmp(value, "none") == 0) {
			cfg->serial_port = 0;
			return NULL;
		}
		if (!parse_size(value, &n) || n == 0 || n > 0xfff8)
			return "expected an I/O port like 0x3f8, or none";
		cfg->serial_port = (u16)n;
		return NULL;
	case KEY_HYPERVISOR:
		return set_on_off(&cfg->hypervisor, value);
	case KEY_TEST_HOOKS:
		return set_on_off(&cfg->test_hooks, value);
	case KEY_MITIGATIONS:
		return set_on_off(&cfg->mitigations, value);
	case KEY_COUNT:
		break;
	}
	return "internal error";
}

/* Levenshtein distance of two short strings (keys), capped at 9. */
static int edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	int row[32];
	if (la > 30 || lb > 30)
		return 9;
	for (size_t j = 0; j <= lb; j++)
		row[j] = (int)j;
	for (size_t i = 1; i <= la; i++) {
		int diag = row[0];
		row[0] = (int)i;
		for (size_t j = 1; j <= lb; j++) {
			int up = row[j], best = diag + (a[i - 1] != b[j - 1]);
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			diag = up;
			row[j] = best;
		}
	}
	return row[lb] > 9 ? 9 : row[lb];
}

/* The valid key an unknown one was probably meant to be (at most two
 * edits away, or a prefix of at least three letters), or NULL. */
static const char *nearest_key(const char *key)
{
	const char *best = NULL;
	int best_d = 3;
	size_t len = strlen(key);
	for (int i = 0; i < KEY_COUNT; i++) {
		int d = edit_distance(key, key_names[i]);
		if (len >= 3 && strncmp(key_names[i], key, len) == 0 && d > 2)
			d = 2;
		if (d < best_d) {
			best_d = d;
			best = key_names[i];
		}
	}
	return best;
}

/* Every error, one line each ("line N: what: detail"), joined by newlines;
 * what does not fit ends with a count. */
struct errors {
	char *buf;
	size_t cap, used;
	unsigned count, dropped;
};

static void add_error(struct errors *e, unsigned line, const char *what, const char *detail)
{
	e->count++;
	if (!e->buf || !e->cap)
		return;
	char one[CONFIG_ERROR_LINE];
	int n = line ? snprintf(one, sizeof(one), "line %u: %s%s%s", line, what, detail ? ": " : "", detail ? detail : "")
		     : snprintf(one, sizeof(one), "%s", what);
	size_t len = n < 0 ? 0 : (size_t)n >= sizeof(one) ? sizeof(one) - 1 : (size_t)n;
	size_t need = len + (e->used ? 1 : 0);
	/* keep room for the count line when more may follow */
	if (e->dropped || e->used + need + 24 > e->cap) {
		if (!e->used) { /* the first error always shows, cut to fit */
			snprintf(e->buf, e->cap, "%s", one);
			e->used = strlen(e->buf);
			return;
		}
		e->dropped++;
		snprintf(e->buf + e->used, e->cap - e->used, "\n(and %u more)", e->dropped);
		return;
	}
	if (e->used)
		e->buf[e->used++] = '\n';
	memcpy(e->buf + e->used, one, len + 1);
	e->used += len;
}

/* The value: quotes removed, a trailing comment (a '#' after blank space,
 * outside quotes) dropped. NULL and *why on a bad quote. */
static char *take_value(char *value, const char **why)
{
	size_t vlen = strlen(value);
	if (vlen && value[0] == '"') {
		char *close = strchr(value + 1, '"');
		if (!close) {
			*why = "unterminated quote";
			return NULL;
		}
		char *rest = close + 1;
		while (is_space(*rest))
			rest++;
		if (*rest && *rest != '#') {
			*why = "text after the closing quote (a comment starts with #)";
			return NULL;
		}
		*close = '\0';
		return value + 1;
	}
	for (char *c = value; *c; c++)
		if (*c == '#' && (c == value || is_space(c[-1]))) {
			*c = '\0';
			break;
		}
	char *e = value + strlen(value);
	while (e > value && is_space(e[-1]))
		*--e = '\0';
	return value;
}

int config_parse(const char *text, size_t len, struct hv_config *cfg, char *err, size_t errlen)
{
	bool seen[KEY_COUNT] = {false};
	unsigned line_no = 0;
	size_t pos = 0;
	char line[LINE_MAX_BYTES + 1];
	char detail[CONFIG_ERROR_LINE];
	struct errors errors = {err, errlen, 0, 0, 0};

	config_defaults(cfg);
	if (err && errlen)
		err[0] = '\0';
	if (len >= 3 && (unsigned char)text[0] == 0xef && (unsigned char)text[1] == 0xbb && (unsigned char)text[2] == 0xbf)
		pos = 3; /* a UTF-8 byte-order mark, as some editors write */

	while (pos < len) {
		size_t start = pos, n;
		while (pos < len && text[pos] != '\n')
			pos++;
		n = pos - start;
		pos++; /* skip '\n' */
		line_no++;
		if (n > LINE_MAX_BYTES) {
			add_error(&errors, line_no, "line too long (at most 1200 bytes)", NULL);
			continue;
		}
		memcpy(line, text + start, n);
		line[n] = '\0';
		if (memchr(text + start, '\0', n)) {
			add_error(&errors, line_no, "NUL byte in file (not a text file?)", NULL);
			continue;
		}
		/* trim */
		char *s = line, *e = line + n;
		while (is_space(*s))
			s++;
		while (e > s && is_space(e[-1]))
			*--e = '\0';
		if (!*s || *s == '#')
			continue;
		char *eq = strchr(s, '=');
		if (!eq) {
			add_error(&errors, line_no, "expected 'key = value'", s);
			continue;
		}
		char *key_end = eq;
		while (key_end > s && is_space(key_end[-1]))
			key_end--;
		*key_end = '\0';
		char *value = eq + 1;
		while (is_space(*value))
			value++;
		int key = lookup_name(s, key_names, KEY_COUNT);
		if (key < 0) {
			const char *near = nearest_key(s);
			snprintf(detail, sizeof(detail), "%.40s%s%s%s", s, near ? " (did you mean " : "", near ? near : "",
				 near ? "?)" : "");
			add_error(&errors, line_no, "unknown key", detail);
			continue;
		}
		const char *why = NULL;
		value = take_value(value, &why);
		if (!value) {
			snprintf(detail, sizeof(detail), "%.40s: %.80s", s, why);
			add_error(&errors, line_no, "bad value of", detail);
			continue;
		}
		if (seen[key]) {
			add_error(&errors, line_no, "key given twice", s);
			continue;
		}
		seen[key] = true;
		why = apply_key(cfg, (enum key_id)key, value);
		if (why) {
			snprintf(detail, sizeof(detail), "%.24s = \"%.24s%s\": %.60s", s, value, strlen(value) > 24 ? "..." : "",
				 why);
			add_error(&errors, line_no, "bad value", detail);
		}
	}
	if (!cfg->kernel[0] && !seen[KEY_KERNEL])
		add_error(&errors, 0, "missing required key: kernel", NULL);
	return errors.count ? -1 : 0;
}
