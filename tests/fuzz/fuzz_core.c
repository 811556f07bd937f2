/*
 * libFuzzer target: the core checker `unitrace crash` runs on a core
 * file a database names (collector/crash/core.c: ut_core_check), and the
 * ELF readers the crash capture runs on a unikernel ELF given with --elf
 * (ut_core_ntfile_elf, ut_core_auxv_elf).  The input is the whole file,
 * held in a memfd and opened by its /proc/self/fd path.  The checker
 * must give an answer (0, or -1 with a message) and keep what it reports
 * within the file.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int fd = -1;
	static char path[64];
	ut_core_info_t info;
	char err[512];
	void *nt = NULL;
	size_t ntlen = 0;
	uint64_t auxv[6];

	if (fd < 0) {
		fd = memfd_create("fuzz-core", MFD_CLOEXEC);
		if (fd < 0)
			abort();
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	}
	if (ftruncate(fd, 0) || pwrite(fd, data, size, 0) != (ssize_t)size)
		abort();
	err[0] = 0;
	if (ut_core_check(path, &info, err, sizeof(err)) == 0) {
		if (info.nthreads == 0 || info.file_bytes != size)
			abort(); /* "at least one NT_PRSTATUS", "the file" */
	} else if (!err[0]) {
		abort(); /* a failure always says why */
	}
	if (ut_core_ntfile_elf(path, &nt, &ntlen) == 0)
		free(nt);
	(void)ut_core_auxv_elf(path, auxv);
	return 0;
}
