// Package vmtest boots a throwaway Linux virtual machine under QEMU and runs
// one static binary in it as root, so hacfg's tests can exercise kernel
// features the build host lacks (IPVS above all: the CI host kernel has no
// ip_vs module).
//
// Everything the VM needs comes from Debian packages through the ordinary
// apt client, never from any other download source:
//
//   - the kernel image and the modules IPVS needs (ip_vs, its schedulers and
//     their dependencies nf_conntrack, nf_defrag_ipv4/6, libcrc32c,
//     crc32c_generic, plus dummy and veth) from the package that
//     linux-image-amd64 depends on, fetched with `apt-get download` and read
//     with `dpkg-deb --fsys-tarfile`;
//   - busybox from busybox-static, fetched the same way.
//
// [Prepare] resolves the package versions with apt-cache and caches the
// extracted files under a directory keyed by those versions ($HACFG_VM_CACHE,
// else $XDG_CACHE_HOME/hacfg/vm, else ~/.cache/hacfg/vm). [Assets.Run] writes
// a small initramfs (cpio "newc", gzip) holding busybox, the modules, the
// binary and any extra files, and boots it with
//
//	qemu-system-x86_64 -accel tcg -m 1024 -nographic -no-reboot \
//	    -kernel vmlinuz -initrd initramfs.cpio.gz \
//	    -append "console=ttyS0 quiet panic=-1"
//
// Its /init mounts proc, sys and devtmpfs, loads the modules in dependency
// order with busybox insmod (a modules.dep written for them lets busybox
// modprobe, which moby/ipvs runs, succeed quietly), brings lo up (without it IPVS rejects every
// destination with EINVAL), runs the binary, prints a result marker carrying
// a per-run nonce and the exit code on the serial console, and powers off.
// Run parses the marker; a timeout kills QEMU.
//
// The only host packages needed are apt itself and qemu-system-x86
// (see [CheckHost]). KVM is not required: TCG boots the kernel in a few
// seconds.
package vmtest
