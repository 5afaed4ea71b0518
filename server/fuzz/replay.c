/* SPDX-License-Identifier: MIT */
/*
 * Run a fuzz target over corpus files (or every file of corpus
 * directories) without libFuzzer, so gcc builds and CI replay the corpus
 * as a plain test.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	size_t len = 0, cap = 0, n;

	if (!f) {
		fprintf(stderr, "replay: cannot open '%s'\n", path);
		return -1;
	}
	for (;;) {
		if (len == cap) {
			uint8_t *b;

			cap = cap ? cap * 2 : 4096;
			b = realloc(buf, cap);
			if (!b) {
				fclose(f);
				free(buf);
				return -1;
			}
			buf = b;
		}
		n = fread(buf + len, 1, cap - len, f);
		if (n == 0)
			break;
		len += n;
	}
	fclose(f);
	LLVMFuzzerTestOneInput(buf, len);
	free(buf);
	return 0;
}

int main(int argc, char **argv)
{
	char path[4096];
	struct dirent *de;
	struct stat st;
	int i, count = 0;
	DIR *d;

	for (i = 1; i < argc; i++) {
		if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode)) {
			d = opendir(argv[i]);
			if (!d)
				return 1;
			while ((de = readdir(d))) {
				if (de->d_name[0] == '.')
					continue;
				snprintf(path, sizeof(path), "%s/%s", argv[i], de->d_name);
				if (run_file(path) < 0)
					return 1;
				count++;
			}
			closedir(d);
		} else {
			if (run_file(argv[i]) < 0)
				return 1;
			count++;
		}
	}
	printf("replayed %d inputs\n", count);
	return 0;
}
