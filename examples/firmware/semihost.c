#include "semihost.h"

enum {
  SYS_OPEN = 0x01, SYS_WRITE = 0x05, SYS_GET_CMDLINE = 0x15, SYS_EXIT = 0x18,
  SYS_EXIT_EXTENDED = 0x20, ADP_STOPPED_APPLICATION_EXIT = 0x20026
};

static int semi_call(int op, void* arg) {
  register int r0 __asm__("r0") = op;
  register void* r1 __asm__("r1") = arg;
  __asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
  return r0;
}

static int handles[3] = {-1, -1, -1};

void semi_init(void) {
  /* ":tt" is the console: mode 4 ("w") is stdout, mode 8 ("a") stderr. */
  uint32_t out[3] = {(uint32_t)(uintptr_t)":tt", 4, 3};
  uint32_t err[3] = {(uint32_t)(uintptr_t)":tt", 8, 3};
  handles[1] = semi_call(SYS_OPEN, out);
  handles[2] = semi_call(SYS_OPEN, err);
}

void semi_write(int fd, const char* s, size_t n) {
  if (fd < 1 || fd > 2 || handles[fd] < 0 || n == 0) return;
  uint32_t args[3] = {(uint32_t)handles[fd], (uint32_t)(uintptr_t)s, (uint32_t)n};
  semi_call(SYS_WRITE, args);
}

void semi_puts(int fd, const char* s) {
  size_t n = 0;
  while (s[n]) ++n;
  semi_write(fd, s, n);
}

void semi_put_u64(int fd, uint64_t v) {
  char buf[21];
  int i = 20;
  buf[i] = 0;
  do {
    buf[--i] = (char)('0' + (int)(v % 10));
    v /= 10;
  } while (v);
  semi_puts(fd, buf + i);
}

void semi_put_hex64(int fd, uint64_t v) {
  char buf[17];
  for (int i = 15; i >= 0; --i, v >>= 4) buf[i] = "0123456789abcdef"[v & 15];
  buf[16] = 0;
  semi_puts(fd, buf);
}

int semi_cmdline(char* buf, size_t size) {
  uint32_t args[2] = {(uint32_t)(uintptr_t)buf, (uint32_t)size};
  if (size == 0) return -1;
  buf[0] = 0;
  return semi_call(SYS_GET_CMDLINE, args) == 0 ? 0 : -1;
}

void semi_exit(int status) {
  /* SYS_EXIT_EXTENDED carries the status (QEMU exits with it). */
  uint32_t args[2] = {ADP_STOPPED_APPLICATION_EXIT, (uint32_t)status};
  semi_call(SYS_EXIT_EXTENDED, args);
  semi_call(SYS_EXIT, (void*)(uintptr_t)ADP_STOPPED_APPLICATION_EXIT); /* older hosts */
  for (;;) {
  }
}
