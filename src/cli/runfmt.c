/* Value lookup and cell formatting for run listings. */
#include "config.h"
#include <stdlib.h>
#include <string.h>

#include "runfmt.h"
#include "xtrk/json.h"

json_t *runfmt_lookup(json_t *v, const char *path)
{
	while (v && *path) {
		const char *dot;
		char key[512];
		json_t *whole;
		if (json_is_object(v) && (whole = json_object_get(v, path)))
			return whole; /* keys may themselves contain dots (flattened metrics) */
		dot = strchr(path, '.');
		snprintf(key, sizeof(key), "%.*s", dot ? (int)(dot - path) : (int)strlen(path), path);
		if (json_is_object(v)) {
			v = json_object_get(v, key);
		} else if (json_is_array(v)) {
			char *end;
			long i = strtol(key, &end, 10);
			v = *end || i < 0 ? NULL : json_array_get(v, (size_t)i);
		} else {
			return NULL;
		}
		path = dot ? dot + 1 : "";
	}
	return v;
}

void runfmt_cell(xtrk_buf *out, json_t *v)
{
	char *s;
	if (!v || json_is_null(v))
		return;
	if (json_is_string(v)) {
		xtrk_buf_puts(out, json_string_value(v));
		return;
	}
	if (json_is_real(v)) {
		xtrk_buf_put_double(out, json_real_value(v));
		return;
	}
	if ((s = xtrk_json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_SORT_KEYS))) {
		xtrk_buf_puts(out, s);
		free(s);
	}
}

void runfmt_csv_field(xtrk_buf *out, const char *s)
{
	if (!strpbrk(s, ",\"\n\r")) {
		xtrk_buf_puts(out, s);
		return;
	}
	xtrk_buf_putc(out, '"');
	for (; *s; s++) {
		if (*s == '"')
			xtrk_buf_putc(out, '"');
		xtrk_buf_putc(out, *s);
	}
	xtrk_buf_putc(out, '"');
}
