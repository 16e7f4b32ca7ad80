/*
 * Fuzz targets: each defines LLVMFuzzerTestOneInput.  Built with libFuzzer
 * by `make fuzz` (clang), and always with replay.c, a standalone driver
 * that runs the corpus in `make check`.
 */
#ifndef XTRK_FUZZ_H
#define XTRK_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A private scratch folder for targets that need files, made once and removed at exit. */
const char *fuzz_scratch(void);

#endif
