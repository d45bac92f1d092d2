/* A QEMU TCG plugin that counts executed guest instructions, in total and
 * per instruction address, for the firmware's instruction counts and
 * profiles (QEMU 7.2, plugin API version 1). Debian ships no plugin header, so
 * the few declarations it needs are written out below.
 *
 *   cc -O2 -shared -fPIC -o libinsn.so tests/firmware/insn_plugin.c
 *   qemu-system-arm ... -plugin ./libinsn.so,arg=out=profile.txt
 *
 * Writes "total N" and then "ADDRESS COUNT" lines (hex address, executions)
 * for every address below 16 MiB that ran. */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef uint64_t qemu_plugin_id_t;
struct qemu_plugin_tb;
struct qemu_plugin_insn;
typedef struct qemu_info_t qemu_info_t;
enum qemu_plugin_op { QEMU_PLUGIN_INLINE_ADD_U64 = 0 };
typedef void (*qemu_plugin_vcpu_tb_trans_cb_t)(qemu_plugin_id_t id, struct qemu_plugin_tb* tb);
typedef void (*qemu_plugin_udata_cb_t)(qemu_plugin_id_t id, void* userdata);

void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id, qemu_plugin_vcpu_tb_trans_cb_t cb);
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb* tb);
struct qemu_plugin_insn* qemu_plugin_tb_get_insn(const struct qemu_plugin_tb* tb, size_t idx);
uint64_t qemu_plugin_insn_vaddr(const struct qemu_plugin_insn* insn);
void qemu_plugin_register_vcpu_insn_exec_inline(struct qemu_plugin_insn* insn, enum qemu_plugin_op op,
                                                void* ptr, uint64_t imm);
void qemu_plugin_register_atexit_cb(qemu_plugin_id_t id, qemu_plugin_udata_cb_t cb, void* userdata);

__attribute__((visibility("default"))) int qemu_plugin_version = 1;

#define SPAN (16u << 20) /* addresses counted individually (halfword granularity) */
static uint64_t* counts;
static uint64_t other;
static char out_path[512] = "insn_profile.txt";

static void on_tb(qemu_plugin_id_t id, struct qemu_plugin_tb* tb) {
  (void)id;
  const size_t n = qemu_plugin_tb_n_insns(tb);
  for (size_t i = 0; i < n; ++i) {
    struct qemu_plugin_insn* insn = qemu_plugin_tb_get_insn(tb, i);
    const uint64_t pc = qemu_plugin_insn_vaddr(insn);
    uint64_t* slot = pc < SPAN ? &counts[pc / 2] : &other;
    qemu_plugin_register_vcpu_insn_exec_inline(insn, QEMU_PLUGIN_INLINE_ADD_U64, slot, 1);
  }
}

static void on_exit_cb(qemu_plugin_id_t id, void* userdata) {
  (void)id, (void)userdata;
  uint64_t total = other;
  for (uint32_t i = 0; i < SPAN / 2; ++i) total += counts[i];
  FILE* f = fopen(out_path, "w");
  if (!f) return;
  fprintf(f, "total %" PRIu64 "\n", total);
  for (uint32_t i = 0; i < SPAN / 2; ++i)
    if (counts[i]) fprintf(f, "%08x %" PRIu64 "\n", i * 2, counts[i]);
  if (other) fprintf(f, "other %" PRIu64 "\n", other);
  fclose(f);
}

__attribute__((visibility("default"))) int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t* info,
                                                               int argc, char** argv) {
  (void)info;
  for (int i = 0; i < argc; ++i)
    if (strncmp(argv[i], "out=", 4) == 0) snprintf(out_path, sizeof out_path, "%s", argv[i] + 4);
  counts = calloc(SPAN / 2, sizeof *counts);
  if (!counts) return -1;
  qemu_plugin_register_vcpu_tb_trans_cb(id, on_tb);
  qemu_plugin_register_atexit_cb(id, on_exit_cb, NULL);
  return 0;
}
