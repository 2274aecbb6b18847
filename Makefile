# SPDX-License-Identifier: GPL-2.0
#
# rust_pf_demo: out-of-tree Rust kernel module (see Kbuild) plus the project's entry points.
#
#   make                 build rust_pf_demo.ko against KDIR (default: the cached test kernel,
#                        built on first use by scripts/build-kernel.sh)
#   make KDIR=/path      build against any Rust-enabled kernel tree instead
#   make demo            boot the VM and show socket() loading and using the module
#   make check           run the whole test suite in the VM
#   make check-debug     the same on the debug kernel (KASAN, UBSAN, lockdep, kmemleak)
#   make stress          the suite with the long stress and fuzzing mode (rpd.stress=full)
#   make stress-debug    the same on the debug kernel
#   make bench           benchmarks against AF_UNIX and UDP in the VM (results/)
#   make lint            rustfmt --check and clippy on the module
#   make clean

ROOT := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
KMAKE_ARGS := $(shell bash -c '. $(ROOT)/scripts/lib.sh && rpd_make_args')
ifeq ($(origin KDIR), undefined)
KDIR := $(shell bash -c '. $(ROOT)/scripts/lib.sh && echo $$(rpd_kernel_entry)/linux')
KDIR_DEP := kernel
endif

.PHONY: all modules kernel demo check check-debug stress stress-debug bench lint fmt clean

all: modules

kernel:
	@$(ROOT)/scripts/build-kernel.sh >/dev/null

modules: $(KDIR_DEP)
	@test -x /usr/bin/rustc || { echo "rust_pf_demo: missing /usr/bin/rustc (Debian's rustc-web, which has rust-src): run scripts/setup.sh" >&2; exit 1; }
	@test -f $(KDIR)/Makefile || { echo "rust_pf_demo: KDIR=$(KDIR) is not a kernel tree: run scripts/build-kernel.sh, or pass KDIR=<Rust-enabled kernel tree>" >&2; exit 1; }
	$(MAKE) -C $(KDIR) M=$(ROOT) $(KMAKE_ARGS) modules

demo:
	$(ROOT)/scripts/demo.sh

check:
	$(ROOT)/scripts/check.sh

check-debug:
	RPD_FLAVOUR=debug $(ROOT)/scripts/check.sh

stress:
	RPD_STRESS=full $(ROOT)/scripts/check.sh

stress-debug:
	RPD_STRESS=full RPD_FLAVOUR=debug $(ROOT)/scripts/check.sh

bench:
	$(ROOT)/scripts/bench.sh

KERNEL_RS = $(ROOT)/rust_pf_demo.rs $(ROOT)/pf/*.rs $(ROOT)/uapi/*.rs $(ROOT)/tests/kmod/*.rs
TESTS_CARGO = cd $(ROOT)/tests/pfdemo && cargo
TESTS_CARGO_ARGS = --target x86_64-unknown-linux-gnu --target-dir $(ROOT)/build/cargo

# rustfmt with the kernel's .rustfmt.toml (there is no rustfmtcheck for M= builds), clippy
# through the kernel build (Debian's 1.96 clippy-driver, the kernel's lint set, warnings are
# errors), rustdoc of the module (-Dwarnings), and the same for the userspace test crate.
lint: $(KDIR_DEP)
	/usr/bin/rustfmt --edition 2021 --config-path $(KDIR)/.rustfmt.toml --check $(KERNEL_RS)
	$(MAKE) -C $(KDIR) M=$(ROOT) $(KMAKE_ARGS) CLIPPY=1 KRUSTFLAGS=-Dwarnings modules
	$(MAKE) -C $(KDIR) M=$(ROOT) $(KMAKE_ARGS) KRUSTFLAGS=-Dwarnings modules
	$(ROOT)/scripts/rustdoc.sh $(KDIR)
	$(TESTS_CARGO) fmt --check
	$(TESTS_CARGO) clippy --quiet --locked $(TESTS_CARGO_ARGS) -- -D warnings

fmt: $(KDIR_DEP)
	/usr/bin/rustfmt --edition 2021 --config-path $(KDIR)/.rustfmt.toml $(KERNEL_RS)
	$(TESTS_CARGO) fmt

clean:
	$(MAKE) -C $(KDIR) M=$(ROOT) $(KMAKE_ARGS) clean
	rm -rf $(ROOT)/build
