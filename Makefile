# SPDX-License-Identifier: GPL-2.0
#
# rust_pf_demo: out-of-tree Rust kernel module (see Kbuild) plus the project's entry points.
#
#   make                 build rust_pf_demo.ko against KDIR (default: the cached test kernel,
#                        built on first use by scripts/build-kernel.sh)
#   make KDIR=/path      build against any Rust-enabled kernel tree instead
#   make demo            boot the VM and show socket() loading and using the module
#   make check           run the whole test suite in the VM
#   make lint            rustfmt --check and clippy on the module
#   make clean

ROOT := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
KMAKE_ARGS := $(shell bash -c '. $(ROOT)/scripts/lib.sh && rpd_make_args')
ifeq ($(origin KDIR), undefined)
KDIR := $(shell bash -c '. $(ROOT)/scripts/lib.sh && echo $$(rpd_kernel_entry)/linux')
KDIR_DEP := kernel
endif

.PHONY: all modules kernel demo check lint fmt clean

all: modules

kernel:
	@$(ROOT)/scripts/build-kernel.sh >/dev/null

modules: $(KDIR_DEP)
	$(MAKE) -C $(KDIR) M=$(ROOT) $(KMAKE_ARGS) modules

demo:
	$(ROOT)/scripts/demo.sh

check:
	$(ROOT)/scripts/check.sh

lint: $(KDIR_DEP)
	/usr/bin/rustfmt --edition 2021 --config-path $(KDIR)/.rustfmt.toml --check \
		$(ROOT)/rust_pf_demo.rs $(ROOT)/pf/*.rs $(ROOT)/tests/kmod/*.rs
	$(MAKE) -C $(KDIR) M=$(ROOT) $(KMAKE_ARGS) CLIPPY=1 modules

fmt: $(KDIR_DEP)
	/usr/bin/rustfmt --edition 2021 --config-path $(KDIR)/.rustfmt.toml $(ROOT)/rust_pf_demo.rs $(ROOT)/pf/*.rs \
		$(ROOT)/tests/kmod/*.rs

clean:
	$(MAKE) -C $(KDIR) M=$(ROOT) $(KMAKE_ARGS) clean
	rm -rf $(ROOT)/build
