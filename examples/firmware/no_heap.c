/* No heap at run time, enforced: every allocator entry point of newlib and
 * of the C library interface (malloc, calloc, realloc, free, their reentrant
 * _r forms used inside newlib, memalign, and _sbrk, which would grow a heap)
 * is defined here to report the call on stderr and stop the firmware with
 * exit status 99. Defining them also keeps newlib's allocator out of the
 * image: `arm-none-eabi-nm fw.elf` shows no __malloc_av_/__malloc_free_list/
 * _sbrk_r (tests/firmware/run_qemu_tests.sh checks this). free(NULL) is a
 * no-op by definition and is allowed. */
#include <stddef.h>
#include <stdint.h>

#include "semihost.h"

struct _reent;

__attribute__((noreturn)) static void heap_denied(const char* fn) {
  semi_init();
  semi_puts(2, "FATAL: heap allocation attempted (");
  semi_puts(2, fn);
  semi_puts(2, ") -- this firmware must not allocate at run time\n");
  semi_exit(99);
}

void* malloc(size_t n) { (void)n; heap_denied("malloc"); }
void* calloc(size_t n, size_t m) { (void)n, (void)m; heap_denied("calloc"); }
void* realloc(void* p, size_t n) { (void)p, (void)n; heap_denied("realloc"); }
void free(void* p) {
  if (p) heap_denied("free");
}
void* memalign(size_t a, size_t n) { (void)a, (void)n; heap_denied("memalign"); }
void* aligned_alloc(size_t a, size_t n) { (void)a, (void)n; heap_denied("aligned_alloc"); }
int posix_memalign(void** p, size_t a, size_t n) { (void)p, (void)a, (void)n; heap_denied("posix_memalign"); }

void* _malloc_r(struct _reent* r, size_t n) { (void)r, (void)n; heap_denied("_malloc_r"); }
void* _calloc_r(struct _reent* r, size_t n, size_t m) { (void)r, (void)n, (void)m; heap_denied("_calloc_r"); }
void* _realloc_r(struct _reent* r, void* p, size_t n) { (void)r, (void)p, (void)n; heap_denied("_realloc_r"); }
void _free_r(struct _reent* r, void* p) {
  (void)r;
  if (p) heap_denied("_free_r");
}
void* _memalign_r(struct _reent* r, size_t a, size_t n) { (void)r, (void)a, (void)n; heap_denied("_memalign_r"); }

void* _sbrk(ptrdiff_t incr) { (void)incr; heap_denied("_sbrk"); }
