/*
 * Fuzz the params and metrics parsers (JSON, YAML, a -p KEY=VALUE) and every walk over what they
 * accept: flattening, a strict merge, an overlay and the JSON writer.  The first byte picks the input:
 * 0 a .yaml file, 1 a .json file, 2 a file of another name (JSON, else YAML), 3 a -p KEY=VALUE.
 */
#include "config.h"
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "fuzz.h"
#include "xtrk/errors.h"
#include "xtrk/json.h"
#include "xtrk/params.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[] = { "params.yaml", "params.json", "params.txt" };
	json_t *doc = NULL;
	char *text;
	int err;

	if (size < 1)
		return 0;
	if (!(text = malloc(size)))
		return 0;
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	if (data[0] % 4 == 3) {
		char *eq = strchr(text, '=');
		doc = json_object();
		if (eq) {
			*eq = '\0';
			if (xtrk_json_set_path(doc, text, xtrk_value_parse(eq + 1), "with -p") < 0) {
				json_decref(doc);
				doc = NULL;
			}
		}
		err = doc ? 0 : -1;
	} else {
		err = xtrk_doc_parse(&doc, text, size - 1, names[data[0] % 4]);
	}
	if (err == 0 && doc) {
		/* What was accepted is within the nesting limit, and every walk over it ends. */
		json_t *flat = xtrk_json_flatten(doc), *merged = json_object(), *base = json_object();
		json_t *origins = json_object(), *overridden = json_object();
		char *dump;
		if (xtrk_json_check_depth(doc, XTRK_MAX_NESTING, "fuzz") < 0)
			abort();
		xtrk_json_merge_strict(merged, doc, "fuzz");
		xtrk_json_merge_strict(merged, doc, "again"); /* every key twice: an error, never a crash */
		json_object_set_new(base, "x", json_integer(1));
		xtrk_json_overlay(base, doc, "fuzz", origins, overridden);
		dump = xtrk_json_dumps(doc, XTRK_JSON_STORE);
		if (dump) {
			json_error_t je;
			json_t *back = json_loads(dump, JSON_REJECT_DUPLICATES, &je);
			if (!back || !json_equal(back, doc))
				abort(); /* what is accepted must be stored and read back the same */
			json_decref(back);
		}
		free(dump);
		json_decref(flat);
		json_decref(merged);
		json_decref(base);
		json_decref(origins);
		json_decref(overridden);
	}
	json_decref(doc);
	free(text);
	xtrk_error_clear();
	xtrk_warning_clear();
	return 0;
}
