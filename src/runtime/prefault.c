/* runtime: fault in ahead of need what an idle pooled shim (and its
 * pre-cloned init) will touch on the start path. */
#include <link.h>
#include <malloc.h>
#include <poll.h>
#include <sys/mman.h>

#include "runtime/internal.h"

/* The stack the start path uses (noinline: a frame of its own). */
__attribute__((noinline)) static void prefault_stack(void)
{
    volatile char area[128 << 10];
    for (size_t i = 0; i < sizeof(area); i += 4096)
        area[i] = 0;
}

/* Freed heap stays ours (no trim, no mmap): what the start path mallocs
 * again is not faulted in twice. The heap itself is not touched ahead: a
 * write loop over a block freed right after is dead code to the compiler
 * (release builds never ran it), and really populating the 2 MiB asked for
 * put that much into every shim's memory. */
static void keep_heap(void)
{
    mallopt(M_TRIM_THRESHOLD, 8 << 20);
    mallopt(M_MMAP_THRESHOLD, 4 << 20);
}

/* Page-table entries for every loaded object's segments (the binary,
 * libc, libcjson, libseccomp): a fork does not copy them for file
 * mappings, so each process would fault each code page in on first use. */
static int populate_object(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    (void)data;
    long page = sysconf(_SC_PAGESIZE);
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_R))
            continue;
        uintptr_t start = (info->dlpi_addr + ph->p_vaddr) & ~(uintptr_t)(page - 1);
        uintptr_t end = info->dlpi_addr + ph->p_vaddr + ph->p_memsz;
        /* best effort: EINVAL before Linux 5.14 */
        madvise((void *)start, end - start, MADV_POPULATE_READ);
    }
    return 0;
}

static void prefault_all(void)
{
    prefault_stack();
    keep_heap();
    dl_iterate_phdr(populate_object, NULL);
}

void rt_prefault_when_idle(int fd)
{
    /* A first touch costs the host as much as the guest (EPT faults, which
     * also slow down the other vCPU's faults): in a burst of starts the
     * prefault would compete with them, so it waits for a quiet moment. */
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int n;
    do
        n = poll(&p, 1, RT_PREFAULT_IDLE_MS);
    while (n < 0 && errno == EINTR);
    if (n == 0)
        prefault_all();
}
