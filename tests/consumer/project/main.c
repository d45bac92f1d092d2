/* Loads a model file with the C API of an installed causalgen, generates 20
 * characters greedily and prints them. Exit 0 on success. */
#include <causalgen/causalgen.h>
#include <stdio.h>
#include <stdlib.h>

static cg_model_storage model_mem;

int main(int argc, char** argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: consumer MODEL\n");
    return 2;
  }
  FILE* f = fopen(argv[1], "rb");
  if (!f) {
    perror(argv[1]);
    return 1;
  }
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  void* bytes = aligned_alloc(64, ((size_t)n + 63) / 64 * 64);
  if (!bytes || fread(bytes, 1, (size_t)n, f) != (size_t)n) return 1;
  fclose(f);

  cg_error err;
  cg_model* m = cg_model_load(&model_mem, sizeof model_mem, bytes, (size_t)n, &err);
  if (!m) {
    fprintf(stderr, "load: %s: %s\n", cg_status_string(err.code), err.message);
    return 1;
  }
  size_t sb = cg_state_bytes(m);
  void* mem = aligned_alloc(16, (sb + 15) / 16 * 16);
  cg_state* s = cg_state_init(m, mem, sb, 1, &err);
  if (!s || cg_feed_text(s, "AB", 2, &err) != CG_OK) {
    fprintf(stderr, "state: %s\n", err.message);
    return 1;
  }
  cg_sampler greedy = {0.0f, 0, 1.0f};
  printf("vocab %u, parameters %llu: ", cg_vocab_size(m), (unsigned long long)cg_parameter_count(m));
  for (int i = 0; i < 20; ++i) {
    uint32_t cp = cg_sample(s, &greedy);
    char buf[4];
    fwrite(buf, 1, cg_utf8_encode(cp, buf), stdout);
    if (cg_feed_char(s, cp, &err) != CG_OK) return 1;
  }
  printf("\nconsumer ok\n");
  free(mem);
  free(bytes);
  return 0;
}
