/* Minimal ARM semihosting (the debugger/emulator does the I/O): console
 * output, the command line and the exit status. QEMU implements it with
 * -semihosting-config enable=on,target=native. No libc stdio, no heap. */
#ifndef FW_SEMIHOST_H
#define FW_SEMIHOST_H
#include <stddef.h>
#include <stdint.h>

void semi_init(void);                        /* opens ":tt" for stdout and stderr */
void semi_write(int fd, const char* s, size_t n);  /* fd 1 = stdout, 2 = stderr (unbuffered) */
void semi_puts(int fd, const char* s);
void semi_put_u64(int fd, uint64_t v);
void semi_put_hex64(int fd, uint64_t v);   /* 16 lower-case hex digits */
/* The command line QEMU passes (its -semihosting-config arg=... joined by
 * spaces), NUL-terminated in buf; 0 on success. */
int semi_cmdline(char* buf, size_t size);
__attribute__((noreturn)) void semi_exit(int status);

#endif
