/* causalgen on a Cortex-M: generates text from a model kept in flash, with
 * the generation state in a static buffer, using only the C API
 * (causalgen.h). Output is byte for byte what
 *   causalgen generate --model M --prompt P --seed S --tokens N
 * prints for the same model file (same sampler, same PCG32, same kernels).
 *
 * The command line (semihosting; QEMU: -semihosting-config ...,arg=fw.elf,arg=...)
 * may override the defaults of fw_config.h:
 *   --prompt-hex HEX       the prompt's UTF-8 bytes in hex ("-" = empty prompt)
 *   --seed N  --tokens N  --top-k N
 *   --temperature-bits X  --top-p-bits X   an IEEE f32 bit pattern in hex
 *   --digest               also print an FNV-1a 64 digest of the bits of the
 *                          logits each character is sampled from (tests/firmware
 *                          compares it with x86)
 *   --calibrate            time a loop of a known instruction count instead
 *   --heap-probe           call malloc once: must stop with status 99 (no_heap.c)
 * Statistics (sizes, stack high-water mark, SysTick ticks) go to stderr. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "causalgen/causalgen.h"
#include "fw_config.h"
#include "semihost.h"
#include FW_MODEL_HEADER /* cg_model_data[], cg_model_data_len, cg_model_data_STATE_BYTES */

uint32_t fw_stack_unused(void);
uint32_t fw_stack_size(void);

/* --- memory: all static, sized at compile time --------------------------- */
static uint64_t g_model_mem[(FW_MODEL_MEM_BYTES + 7) / 8];
static uint8_t g_state_mem[cg_model_data_STATE_BYTES] __attribute__((aligned(16)));
static char g_cmdline[1024];
static char g_prompt[256];
static char g_out[256];
static size_t g_out_len;

/* --- SysTick: 24-bit down counter on the processor clock, wraps counted --- */
#define SYST_CSR (*(volatile uint32_t*)0xE000E010)
#define SYST_RVR (*(volatile uint32_t*)0xE000E014)
#define SYST_CVR (*(volatile uint32_t*)0xE000E018)
static volatile uint32_t g_wraps;
void SysTick_Handler(void) { g_wraps = g_wraps + 1; }
static void ticks_start(void) {
  SYST_RVR = 0xFFFFFF;
  SYST_CVR = 0;
  SYST_CSR = 7; /* processor clock, interrupt on wrap, enable */
}
static uint64_t ticks_now(void) {
  uint32_t w, v;
  do {
    w = g_wraps;
    v = SYST_CVR;
  } while (w != g_wraps);
  return ((uint64_t)w << 24) + (0xFFFFFFu - v);
}

/* --- output --------------------------------------------------------------- */
static void out_flush(void) {
  semi_write(1, g_out, g_out_len);
  g_out_len = 0;
}
static void out_bytes(const char* s, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    if (g_out_len == sizeof g_out) out_flush();
    g_out[g_out_len++] = s[i];
  }
}
static void err_line(const char* a, const char* b) {
  semi_puts(2, a);
  semi_puts(2, b);
  semi_puts(2, "\n");
}
static void stat(const char* name, uint64_t v) {
  semi_puts(2, "fw: ");
  semi_puts(2, name);
  semi_puts(2, " ");
  semi_put_u64(2, v);
  semi_puts(2, "\n");
}

/* --- command line ----------------------------------------------------------- */
static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
static int parse_u64(const char* s, int base, uint64_t* out) {
  uint64_t v = 0;
  if (base == 16 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) s += 2;
  if (!*s) return -1;
  for (; *s; ++s) {
    const int d = base == 16 ? hexval(*s) : (*s >= '0' && *s <= '9' ? *s - '0' : -1);
    if (d < 0) return -1;
    v = v * (uint64_t)base + (uint64_t)d;
  }
  *out = v;
  return 0;
}
static float f32_from_bits(uint32_t b) {
  float f;
  memcpy(&f, &b, sizeof f);
  return f;
}

struct options {
  const char* prompt;
  size_t prompt_len;
  uint64_t seed;
  uint32_t tokens;
  cg_sampler sampler;
  int calibrate;
  int digest;
  int heap_probe;
};

static int parse_args(struct options* o) {
  if (semi_cmdline(g_cmdline, sizeof g_cmdline) != 0) return 0; /* no command line: defaults */
  char* argv[32];
  int argc = 0;
  for (char* p = g_cmdline; *p && argc < 32;) {
    while (*p == ' ') *p++ = 0;
    if (!*p) break;
    argv[argc++] = p;
    while (*p && *p != ' ') ++p;
  }
  for (int i = 1; i < argc; ++i) { /* argv[0] is the program */
    const char* a = argv[i];
    const char* v = i + 1 < argc ? argv[i + 1] : 0;
    uint64_t n = 0;
    if (strcmp(a, "--calibrate") == 0) {
      o->calibrate = 1;
      continue;
    }
    if (strcmp(a, "--digest") == 0) {
      o->digest = 1;
      continue;
    }
    if (strcmp(a, "--heap-probe") == 0) {
      o->heap_probe = 1;
      continue;
    }
    if (!v) return err_line("firmware: missing value for ", a), -1;
    ++i;
    if (strcmp(a, "--prompt-hex") == 0) {
      size_t len = 0;
      if (strcmp(v, "-") != 0) {
        const size_t digits = strlen(v);
        if (digits % 2 || digits / 2 > sizeof g_prompt) return err_line("firmware: bad --prompt-hex ", v), -1;
        for (size_t k = 0; k < digits; k += 2) {
          const int hi = hexval(v[k]), lo = hexval(v[k + 1]);
          if (hi < 0 || lo < 0) return err_line("firmware: bad --prompt-hex ", v), -1;
          g_prompt[len++] = (char)(hi * 16 + lo);
        }
      }
      o->prompt = g_prompt;
      o->prompt_len = len;
    } else if (strcmp(a, "--seed") == 0 && parse_u64(v, 10, &n) == 0) {
      o->seed = n;
    } else if (strcmp(a, "--tokens") == 0 && parse_u64(v, 10, &n) == 0 && n <= 100000000u) {
      o->tokens = (uint32_t)n;
    } else if (strcmp(a, "--top-k") == 0 && parse_u64(v, 10, &n) == 0 && n <= 0xFFFFFFFFu) {
      o->sampler.top_k = (uint32_t)n;
    } else if (strcmp(a, "--temperature-bits") == 0 && parse_u64(v, 16, &n) == 0 && n <= 0xFFFFFFFFu) {
      o->sampler.temperature = f32_from_bits((uint32_t)n);
    } else if (strcmp(a, "--top-p-bits") == 0 && parse_u64(v, 16, &n) == 0 && n <= 0xFFFFFFFFu) {
      o->sampler.top_p = f32_from_bits((uint32_t)n);
    } else {
      semi_puts(2, "firmware: bad option ");
      return err_line(a, v), -1;
    }
  }
  return 0;
}

static uint64_t fnv1a(uint64_t h, const void* p, size_t n) {
  const uint8_t* b = (const uint8_t*)p;
  for (size_t i = 0; i < n; ++i) h = (h ^ b[i]) * 0x100000001b3ull;
  return h;
}

/* 2 instructions per iteration (subs, bne): ticks per instruction under
 * QEMU -icount shift=0 (1 ns per instruction) follow from the tick count. */
static void calibrate(void) {
  const uint32_t iters = 10000000u;
  const uint64_t t0 = ticks_now();
  uint32_t n = iters;
  __asm__ volatile("1: subs %0, %0, #1\n\tbne 1b" : "+r"(n) : : "cc");
  const uint64_t t1 = ticks_now();
  stat("calibrate_instructions", 2ull * iters);
  stat("calibrate_ticks", t1 - t0);
}

/* The model from flash and the state in its static buffer; 0 or an exit status. */
static int load_model_and_state(const struct options* o, const cg_model** m, cg_state** s) {
  cg_error err;
  if (cg_model_bytes() > sizeof g_model_mem) {
    stat("model descriptor bytes needed", cg_model_bytes());
    err_line("firmware: rebuild with a larger -DFW_MODEL_MEM_BYTES", "");
    return 3;
  }
  *m = cg_model_load(g_model_mem, sizeof g_model_mem, cg_model_data, (size_t)cg_model_data_len, &err);
  if (!*m) return err_line("firmware: model: ", err.message), 1;
  if (cg_sampler_check(&o->sampler, &err) != CG_OK) return err_line("causalgen: error: ", err.message), 1;
  if (cg_state_bytes(*m) > sizeof g_state_mem) {
    stat("state bytes needed", cg_state_bytes(*m));
    err_line("firmware: the state buffer is too small for this model", "");
    return 3;
  }
  *s = cg_state_init(*m, g_state_mem, sizeof g_state_mem, o->seed, &err);
  if (!*s) return err_line("firmware: state: ", err.message), 1;
  return 0;
}

/* What one run measured, printed after the text. */
struct run_stats {
  uint64_t t_prompt, t_gen, t_end, digest;
  uint32_t prompt_chars, generated;
};

/* The C API's generation loop, as the native CLI runs it: feed the prompt,
 * print it, then print each character the generator returns. The digest
 * covers the logits each character is sampled from: the prompt's, then those
 * after feeding each generated character but the last. */
static int generate_and_print(const struct options* o, const cg_model* m, cg_state* s,
                              struct run_stats* r) {
  cg_error err;
  cg_generator g;
  r->t_prompt = ticks_now();
  if (cg_generate_begin(&g, s, &o->sampler, o->prompt, o->prompt_len, o->tokens, &err) != CG_OK)
    return err_line("causalgen: error: prompt: ", err.message), 1;
  out_bytes(o->prompt, o->prompt_len);
  const size_t logits_bytes = cg_vocab_size(m) * sizeof(float);
  r->digest = 0xcbf29ce484222325ull;
  r->t_gen = ticks_now();
  for (;;) {
    const int32_t cp = cg_generate_next(&g, &err);
    if (cp == CG_GENERATE_END) break;
    if (cp == CG_GENERATE_ERROR) return out_flush(), err_line("causalgen: error: ", err.message), 1;
    if (o->digest) r->digest = fnv1a(r->digest, cg_logits(s), logits_bytes);
    char utf8[4];
    out_bytes(utf8, cg_utf8_encode((uint32_t)cp, utf8));
  }
  r->t_end = ticks_now();
  r->prompt_chars = g.prompt_chars;
  r->generated = g.generated;
  out_bytes("\n", 1);
  out_flush();
  return 0;
}

static void print_stats(const struct options* o, const cg_model* m, const struct run_stats* r) {
  stat("model_bytes", (uint64_t)cg_model_data_len);
  stat("model_descriptor_bytes", cg_model_bytes());
  stat("state_bytes", cg_state_bytes(m));
  stat("state_buffer_bytes", sizeof g_state_mem);
  stat("stack_used_bytes", fw_stack_size() - fw_stack_unused());
  stat("stack_size_bytes", fw_stack_size());
  stat("prompt_chars_fed", r->prompt_chars);
  stat("prompt_ticks", r->t_gen - r->t_prompt);
  stat("generated_chars", r->generated);
  stat("generate_ticks", r->t_end - r->t_gen);
  if (o->digest) {
    semi_puts(2, "fw: logits_digest ");
    semi_put_hex64(2, r->digest);
    semi_puts(2, "\n");
  }
}

int main(void) {
  semi_init();
  ticks_start();
  struct options o = {FW_PROMPT, sizeof(FW_PROMPT) - 1, FW_SEED, FW_TOKENS,
                      {FW_TEMPERATURE, FW_TOP_K, FW_TOP_P}, 0, 0, 0};
  if (parse_args(&o) != 0) return 2;
  if (o.calibrate) {
    calibrate();
    return 0;
  }
  if (o.heap_probe) {
    void* volatile p = malloc(16); /* no_heap.c stops the firmware here */
    return p ? 0 : 1;
  }
  const cg_model* m = 0;
  cg_state* s = 0;
  struct run_stats r;
  int rc = load_model_and_state(&o, &m, &s);
  if (rc == 0) rc = generate_and_print(&o, m, s, &r);
  if (rc == 0) print_stats(&o, m, &r);
  return rc;
}
