# SPDX-License-Identifier: GPL-2.0
#
# rust_pf_demo: out-of-tree Rust kernel module (see Kbuild) plus the project's entry points.
#
#   make                 build rust_pf_demo.ko against KDIR (default: the running kernel when
#                        it is Rust-enabled and its headers are installed, Debian's 7.x through
#                        the tree `scripts/debian-kernel.sh --host` makes; else the external-module
#                        tree of the cached test kernel, both built on first use)
#   make KDIR=/path      build against any Rust-enabled 6.12 or 7.x kernel's build tree or
#                        headers, unpatched (also RUSTC=, BINDGEN=, LLVM=1 as that kernel was built)
#   make install         build and install it for KDIR's kernel (default: the running kernel,
#                        /lib/modules/$(uname -r)/build): modules_install to extra/ and depmod,
#                        so that the first socket(18, ...) loads it; `make uninstall` undoes it
#   make demo            boot the VM and show socket() loading and using the module
#   make check           run the whole test suite in the VM
#                        (demo, check, bench: RPD_KERNEL=6.12|debian-7.2|debian-7.3 picks
#                        the VM's kernel: the self-built 6.12, or Debian's own signed image, the
#                        module built in that kernel's build root; scripts/debian-kernel.sh)
#   make check-debug     the same on the debug kernel (KASAN, UBSAN, lockdep, kmemleak)
#   make check-trace     the same on the self-built 6.12 kernel, which has ftrace and kprobe events
#                        (= make check RPD_KERNEL=6.12; it was the trace flavour's kernel)
#   make stress          the suite with the long stress and fuzzing mode (rpd.stress=full)
#   make stress-debug    the same on the debug kernel
#   make bench           benchmarks against AF_UNIX and UDP in the VM (results/): MODE=wall
#                        (wall-clock rates), MODE=icount (instructions per operation, QEMU
#                        -icount: repeats run to run), both by default; RPD_BENCH_RUNS=N icount runs;
#                        MODE=profile: instructions per kernel function (QEMU plugin)
#   make trace           the real call graph of the seed's cases (ftrace, the 6.12 kernel;
#                        RPD_KERNEL=debian-7.3: Debian's image, its LSM hooks as real calls);
#                        CASES="first loaded failing close", or CALL='CMD' [FUNCS='f ...']
#   make lint            rustfmt --check and clippy on the module
#   make clean

ROOT := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
# On a machine running a Rust-enabled kernel with its headers (Debian's 7.x with linux-headers,
# Arch, Ubuntu with linux-lib-rust), `make` builds for that kernel; elsewhere for the test kernel.
# Debian's headers ship no Rust metadata: scripts/debian-kernel.sh --host makes an
# external-module tree with it, /var/cache/rust_pf_demo/debian/<release>/build, used when there.
RUNNING_RELEASE ?= $(shell uname -r)
RUNNING_KDIR := $(firstword $(wildcard /var/cache/rust_pf_demo/debian/$(RUNNING_RELEASE)/build/.done) \
	/lib/modules/$(RUNNING_RELEASE)/build)
RUNNING_KDIR := $(patsubst %/.done,%,$(RUNNING_KDIR))
RUNNING_RUST := $(shell grep -qsx CONFIG_RUST=y /lib/modules/$(RUNNING_RELEASE)/build/.config && echo y)
ifeq ($(origin KDIR)$(filter install uninstall,$(MAKECMDGOALS))$(RUNNING_RUST),undefined)
# The project's own test kernel: Debian's toolchain (rustc-web 1.96, clang 19, our bindgen).
KDIR := $(shell bash -c '. $(ROOT)/scripts/lib.sh && echo $$(rpd_kernel_entry)/headers')
KDIR_DEP := kernel
KMAKE_ARGS := $(shell bash -c '. $(ROOT)/scripts/lib.sh && rpd_make_args')
RUSTC := /usr/bin/rustc
BINDGEN := $(shell bash -c '. $(ROOT)/scripts/lib.sh && echo $$RPD_BINDGEN')
else
# Another kernel (`make install` without KDIR: the running one): its own defaults, or RUSTC=,
# BINDGEN=, LLVM= from the command line (passed on to the kernel's make as they are).
KDIR ?= $(RUNNING_KDIR)
RUSTC ?= rustc
BINDGEN ?= bindgen
endif
PREFLIGHT = $(ROOT)/scripts/preflight.sh $(KDIR) $(RUSTC) $(BINDGEN)
# `make install`: the module directory under /lib/modules/<KDIR's release>/ (INSTALL_MOD_PATH
# prefixes it, as for the kernel's modules_install).
INSTALL_MOD_DIR ?= extra

.PHONY: all modules install uninstall kernel demo check check-debug check-trace stress stress-debug bench trace lint fmt clean

all: modules

kernel:
	@$(ROOT)/scripts/build-kernel.sh >/dev/null
	@$(ROOT)/scripts/extmod-tree.sh >/dev/null

# Built against another KDIR than last time: clean first. Kbuild rebuilds what a changed command
# line or a newer header or config file touches, but another kernel's tree can have the same
# flags and older files (the generated bindings would keep the other kernel's struct layouts).
modules: $(KDIR_DEP)
	@$(PREFLIGHT)
	@[ "$$(cat $(ROOT)/build/module.kdir 2>/dev/null)" = "$(abspath $(KDIR))" ] || \
		$(MAKE) -s -C $(KDIR) M=$(ROOT) $(KMAKE_ARGS) clean
	$(MAKE) -C $(KDIR) M=$(ROOT) $(KMAKE_ARGS) modules
	@mkdir -p $(ROOT)/build && echo $(abspath $(KDIR)) >$(ROOT)/build/module.kdir

# The kernel's modules_install (signing and compression as the kernel is configured: Debian's
# kernels compress with xz, rust_pf_demo.ko.xz; they sign only with Debian's own key, which no
# headers package has: modules_install says so and goes on, the module stays unsigned), then the
# test modules it also copied are taken out again: rust_pf_demo.ko and its protocol module
# rust_pf_demo_seqpacket.ko are installed. depmod puts their net-pf-18 and
# net-pf-18-proto-*-type-5 aliases into modules.alias: request_module() then finds them.
install: modules
	$(MAKE) -C $(KDIR) M=$(ROOT) $(KMAKE_ARGS) INSTALL_MOD_DIR=$(INSTALL_MOD_DIR) \
		INSTALL_MOD_PATH=$(INSTALL_MOD_PATH) DEPMOD=/bin/true modules_install
	rm -f $(INSTALL_MOD_PATH)/lib/modules/$(KRELEASE)/$(INSTALL_MOD_DIR)/tests/kmod/*.ko*
	rmdir -p $(INSTALL_MOD_PATH)/lib/modules/$(KRELEASE)/$(INSTALL_MOD_DIR)/tests/kmod 2>/dev/null || true
	depmod $(if $(INSTALL_MOD_PATH),-b $(INSTALL_MOD_PATH)) $(KRELEASE)

uninstall:
	rm -f $(INSTALL_MOD_PATH)/lib/modules/$(KRELEASE)/$(INSTALL_MOD_DIR)/rust_pf_demo.ko* \
		$(INSTALL_MOD_PATH)/lib/modules/$(KRELEASE)/$(INSTALL_MOD_DIR)/rust_pf_demo_seqpacket.ko*
	depmod $(if $(INSTALL_MOD_PATH),-b $(INSTALL_MOD_PATH)) $(KRELEASE)

demo:
	$(ROOT)/scripts/demo.sh

check:
	$(ROOT)/scripts/check.sh

check-debug:
	RPD_FLAVOUR=debug $(ROOT)/scripts/check.sh

check-trace:
	RPD_KERNEL=6.12 $(ROOT)/scripts/check.sh

stress:
	RPD_STRESS=full $(ROOT)/scripts/check.sh

stress-debug:
	RPD_STRESS=full RPD_FLAVOUR=debug $(ROOT)/scripts/check.sh

# The benchmarks and the trace stay on the self-built 6.12 kernel (the benchmarks on its bench
# flavour, without tracing) unless RPD_KERNEL says otherwise.
bench:
	RPD_KERNEL=$${RPD_KERNEL:-6.12} $(ROOT)/scripts/bench.sh

# CASES, CALL and FUNCS reach scripts/trace.sh through the environment.
trace:
	RPD_KERNEL=$${RPD_KERNEL:-6.12} $(ROOT)/scripts/trace.sh

# pf/bindings_generated.rs is bindgen's output (its own line breaks; the Kbuild rule renames the
# shim's functions after it formatted them): not ours to format.
KERNEL_RS = $(ROOT)/rust_pf_demo.rs $(ROOT)/rust_pf_demo_seqpacket.rs \
	$(filter-out %/bindings_generated.rs,$(wildcard $(ROOT)/pf/*.rs)) $(ROOT)/uapi/*.rs \
	$(ROOT)/proto/*.rs $(ROOT)/tests/kmod/*.rs $(ROOT)/tests/compile_fail/*.rs
# Debian's cargo-web, rustfmt and clippy, not rustup's shadows in PATH.
TESTS_CARGO = cd $(ROOT)/tests/pfdemo && PATH=/usr/bin:$$PATH RUSTC=/usr/bin/rustc /usr/bin/cargo
TESTS_CARGO_ARGS = --target x86_64-unknown-linux-gnu --target-dir $(ROOT)/build/cargo

# rustfmt with the kernel's .rustfmt.toml (there is no rustfmtcheck for M= builds), clippy
# through the kernel build (Debian's 1.96 clippy-driver, the kernel's lint set, warnings are
# errors), rustdoc of the module (-Dwarnings), and the same for the userspace test crate.
# RPD_KERNEL=debian-7.2 or debian-7.3: the kernel-dependent part against the 7.x kernel crate,
# in that kernel's build root (scripts/lint-debian.sh); rustfmt with its tree's .rustfmt.toml.
ifneq ($(filter debian-%,$(RPD_KERNEL)),)
lint:
	RPD_KERNEL=$(RPD_KERNEL) $(ROOT)/scripts/lint-debian.sh
	/usr/bin/rustfmt --edition 2021 --config-path $(shell RPD_KERNEL=$(RPD_KERNEL) bash -c \
		'. $(ROOT)/scripts/lib.sh && e=$$(rpd_debian_entry) && echo $$e/root$$(rpd_debian_kdir $$e)')/.rustfmt.toml \
		--check $(KERNEL_RS)
else
lint: $(KDIR_DEP)
	@$(PREFLIGHT)
	/usr/bin/rustfmt --edition 2021 --config-path $(KDIR)/.rustfmt.toml --check $(KERNEL_RS)
	$(MAKE) -C $(KDIR) M=$(ROOT) $(KMAKE_ARGS) CLIPPY=1 KRUSTFLAGS=-Dwarnings modules
	$(MAKE) -C $(KDIR) M=$(ROOT) $(KMAKE_ARGS) KRUSTFLAGS=-Dwarnings modules
	$(ROOT)/scripts/rustdoc.sh $(KDIR)
	$(ROOT)/tests/compile_fail/run.sh $(KDIR)
endif
	$(TESTS_CARGO) fmt --check
	$(TESTS_CARGO) clippy --quiet --locked $(TESTS_CARGO_ARGS) -- -D warnings

fmt: $(KDIR_DEP)
	/usr/bin/rustfmt --edition 2021 --config-path $(KDIR)/.rustfmt.toml $(KERNEL_RS)
	$(TESTS_CARGO) fmt

KRELEASE = $(shell cat $(KDIR)/include/config/kernel.release 2>/dev/null)

clean:
	$(MAKE) -C $(KDIR) M=$(ROOT) $(KMAKE_ARGS) clean
	rm -rf $(ROOT)/build
