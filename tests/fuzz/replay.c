/*
 * Standalone driver for a fuzz target: runs every file named on the command
 * line (folders are walked) through LLVMFuzzerTestOneInput, so the corpus and
 * every crash ever found are replayed by `make check` without clang.
 */
#include "config.h"
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"
#include "xtrk/buf.h"
#include "xtrk/init.h"

static size_t ran;

static int replay(const char *path)
{
	struct stat st;
	if (stat(path, &st) < 0) {
		perror(path);
		return 1;
	}
	if (S_ISDIR(st.st_mode)) {
		struct dirent **names;
		int n = scandir(path, &names, NULL, alphasort), bad = 0;
		for (int i = 0; i < n; i++) {
			char sub[4096];
			if (names[i]->d_name[0] != '.') {
				snprintf(sub, sizeof(sub), "%s/%s", path, names[i]->d_name);
				bad |= replay(sub);
			}
			free(names[i]);
		}
		free(names);
		return bad;
	}
	xtrk_buf b = XTRK_BUF_INIT;
	if (xtrk_buf_read_file(&b, path) < 0) {
		fprintf(stderr, "cannot read %s\n", path);
		return 1;
	}
	LLVMFuzzerTestOneInput((const uint8_t *)(b.ptr ? b.ptr : ""), b.size);
	xtrk_buf_dispose(&b);
	ran++;
	return 0;
}

int main(int argc, char **argv)
{
	int bad = 0;
	xtrk_init();
	for (int i = 1; i < argc; i++)
		bad |= replay(argv[i]);
	printf("replayed %zu input%s\n", ran, ran == 1 ? "" : "s");
	return bad || !ran;
}
