/* Compiled as C (not C++): proves causalgen.h is a valid C header and that the
 * C API works from C. Called from test_c_api.cpp. */
#include <stdalign.h>
#include <string.h>

#include "causalgen/causalgen.h"

static cg_model_storage g_model_mem;
static alignas(16) unsigned char g_state_mem[1 << 16];

/* Loads the model, feeds "ab", samples 50 characters greedily into out (as
 * code points). Returns 0 or the first error's code (message in msg). */
int c_api_smoke(const void* bytes, size_t n, uint32_t* out, size_t out_n, char* msg, size_t msg_n) {
  cg_error err;
  cg_model* m = cg_model_load(&g_model_mem, sizeof g_model_mem, bytes, n, &err);
  size_t i;
  cg_state* s;
  cg_sampler greedy;
  if (!m) goto fail;
  if (cg_state_bytes(m) > sizeof g_state_mem) return -1;
  s = cg_state_init(m, g_state_mem, sizeof g_state_mem, 42u, &err);
  if (!s) goto fail;
  if (cg_feed_text(s, "ab", 2, &err) != CG_OK) goto fail;
  greedy.temperature = 0.0f;
  greedy.top_k = 0;
  greedy.top_p = 1.0f;
  if (cg_sampler_check(&greedy, &err) != CG_OK) goto fail;
  for (i = 0; i < out_n; ++i) {
    out[i] = cg_sample(s, &greedy);
    if (cg_feed_char(s, out[i], &err) != CG_OK) goto fail;
  }
  return 0;
fail:
  strncpy(msg, err.message, msg_n - 1);
  msg[msg_n - 1] = 0;
  return err.code;
}
