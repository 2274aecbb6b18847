// SPDX-License-Identifier: GPL-2.0
/*
 * rpdprof: a QEMU TCG plugin for make bench MODE=profile (scripts/bench.sh). It counts the
 * guest instructions executed per translation block, by the block's start address, between two
 * marks that the guest program executes (`xchg bx, bx`, 66 87 db, at a user-space address:
 * tests/pfdemo/src/bench.rs `mark`), and writes each window's counts to the file named by its
 * out= argument:
 *   window N
 *   ADDRESS-HEX COUNT
 *   ...
 * The host (scripts/bench-profile.py) attributes each address to its function (System.map, the
 * modules' /proc/kallsyms lines the guest prints). Counting happens outside the guest: the
 * guest executes exactly what it executes without the plugin (its -icount figures stay).
 *
 * The plugin API of QEMU 7.2 (QEMU_PLUGIN_VERSION 1), declared here: Debian ships no
 * qemu-plugin.h. The functions and types below are those of include/qemu/qemu-plugin.h of that
 * version, which is a stable C ABI.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef uint64_t qemu_plugin_id_t;
typedef struct qemu_info_t qemu_info_t;
struct qemu_plugin_tb;
struct qemu_plugin_insn;
enum qemu_plugin_cb_flags { QEMU_PLUGIN_CB_NO_REGS, QEMU_PLUGIN_CB_R_REGS, QEMU_PLUGIN_CB_RW_REGS };
typedef void (*qemu_plugin_vcpu_tb_trans_cb_t)(qemu_plugin_id_t id, struct qemu_plugin_tb *tb);
typedef void (*qemu_plugin_vcpu_udata_cb_t)(unsigned int vcpu_index, void *userdata);
typedef void (*qemu_plugin_udata_cb_t)(qemu_plugin_id_t id, void *userdata);

void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id, qemu_plugin_vcpu_tb_trans_cb_t cb);
void qemu_plugin_register_vcpu_tb_exec_cb(struct qemu_plugin_tb *tb, qemu_plugin_vcpu_udata_cb_t cb,
					  enum qemu_plugin_cb_flags flags, void *userdata);
void qemu_plugin_register_vcpu_insn_exec_cb(struct qemu_plugin_insn *insn, qemu_plugin_vcpu_udata_cb_t cb,
					    enum qemu_plugin_cb_flags flags, void *userdata);
void qemu_plugin_register_atexit_cb(qemu_plugin_id_t id, qemu_plugin_udata_cb_t cb, void *userdata);
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
uint64_t qemu_plugin_tb_vaddr(const struct qemu_plugin_tb *tb);
struct qemu_plugin_insn *qemu_plugin_tb_get_insn(const struct qemu_plugin_tb *tb, size_t idx);
const void *qemu_plugin_insn_data(const struct qemu_plugin_insn *insn);
size_t qemu_plugin_insn_size(const struct qemu_plugin_insn *insn);
uint64_t qemu_plugin_insn_vaddr(const struct qemu_plugin_insn *insn);

__attribute__((visibility("default"))) int qemu_plugin_version = 1;

/* One translated block: where it starts, how many instructions, what it ran in this window. */
struct block {
	uint64_t pc;
	uint64_t n;
	uint64_t count;
};

static struct block **blocks;
static size_t nblocks, cap;
static int on;
static unsigned window;
static FILE *out;

static void exec_block(unsigned int vcpu, void *udata)
{
	struct block *b = udata;

	(void)vcpu;
	if (on)
		b->count += b->n;
}

/* Sums by start address (a block translated again has a second record) and writes. */
static int by_pc(const void *a, const void *b)
{
	uint64_t x = (*(struct block *const *)a)->pc, y = (*(struct block *const *)b)->pc;

	return x < y ? -1 : x > y;
}

static void flush(void)
{
	size_t i = 0;

	qsort(blocks, nblocks, sizeof(*blocks), by_pc);
	fprintf(out, "window %u\n", window);
	while (i < nblocks) {
		uint64_t pc = blocks[i]->pc, sum = 0;

		for (; i < nblocks && blocks[i]->pc == pc; i++) {
			sum += blocks[i]->count;
			blocks[i]->count = 0;
		}
		if (sum)
			fprintf(out, "%llx %llu\n", (unsigned long long)pc, (unsigned long long)sum);
	}
	fflush(out);
}

static void mark(unsigned int vcpu, void *udata)
{
	(void)vcpu;
	(void)udata;
	if (on) {
		on = 0;
		flush();
		window++;
	} else {
		on = 1;
	}
}

static void trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
	size_t n = qemu_plugin_tb_n_insns(tb), i;
	struct block *b = calloc(1, sizeof(*b));

	(void)id;
	if (!b)
		abort();
	b->pc = qemu_plugin_tb_vaddr(tb);
	b->n = n;
	if (nblocks == cap) {
		cap = cap ? 2 * cap : 65536;
		blocks = realloc(blocks, cap * sizeof(*blocks));
		if (!blocks)
			abort();
	}
	blocks[nblocks++] = b;
	qemu_plugin_register_vcpu_tb_exec_cb(tb, exec_block, QEMU_PLUGIN_CB_NO_REGS, b);
	for (i = 0; i < n; i++) {
		struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
		static const unsigned char magic[3] = { 0x66, 0x87, 0xdb };

		if (qemu_plugin_insn_size(insn) == 3 && qemu_plugin_insn_vaddr(insn) < 0x800000000000ULL &&
		    !memcmp(qemu_plugin_insn_data(insn), magic, 3))
			qemu_plugin_register_vcpu_insn_exec_cb(insn, mark, QEMU_PLUGIN_CB_NO_REGS, NULL);
	}
}

static void at_exit(qemu_plugin_id_t id, void *udata)
{
	(void)id;
	(void)udata;
	if (out)
		fclose(out);
}

__attribute__((visibility("default"))) int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info,
							       int argc, char **argv)
{
	int i;

	(void)info;
	for (i = 0; i < argc; i++)
		if (!strncmp(argv[i], "out=", 4))
			out = fopen(argv[i] + 4, "w");
	if (!out) {
		fprintf(stderr, "rpdprof: give out=FILE\n");
		return -1;
	}
	qemu_plugin_register_vcpu_tb_trans_cb(id, trans);
	qemu_plugin_register_atexit_cb(id, at_exit, NULL);
	return 0;
}
