// Renders a Kata configuration-<shim>.toml shaped like the real generated ones (upstream
// src/runtime/config/configuration-*.toml.in and src/runtime-rs/config/*.toml.in): the same tables,
// keys and kind of comments, with paths under /opt/kata. Used by the sample payload generator only.

const MACHINE_TYPES = { x86_64: 'q35', aarch64: 'virt', s390x: 's390-ccw-virtio' };
const GPU_KERNEL_PARAMS = 'pci=realloc nvidia.NVreg_EnableGpuFirmware=1';
const KERNEL_PARAMS = 'cgroup_no_v1=all systemd.unified_cgroup_hierarchy=1';
const QEMU_BINARY = {
  x86_64: 'qemu-system-x86_64',
  aarch64: 'qemu-system-aarch64',
  ppc64le: 'qemu-system-ppc64',
  s390x: 'qemu-system-s390x',
};

/** Which table a shim's hypervisor lives in: runtime-rs names Cloud Hypervisor differently. */
export function hypervisorTable(shim) {
  if (shim.hypervisor === 'clh') return shim.runtime === 'rs' ? 'cloud-hypervisor' : 'clh';
  if (shim.hypervisor === 'fc') return 'firecracker';
  return shim.hypervisor;
}

/** The assets one shim's pristine configuration points at, relative to /opt/kata. */
export function shimAssets(shim, arch) {
  const confidential = shim.tee !== undefined || shim.name.includes('coco-dev');
  const assets = {
    kernel: 'share/kata-containers/vmlinux.container',
    image: 'share/kata-containers/kata-containers.img',
    initrd: undefined,
    firmware: '',
  };
  if (shim.hypervisor === 'qemu') {
    let binary = QEMU_BINARY[arch];
    if (shim.tee === 'snp') binary += '-snp-experimental';
    if (shim.tee === 'tdx') binary += '-tdx-experimental';
    assets.path = `bin/${binary}`;
    assets.kernel = 'share/kata-containers/vmlinuz.container';
  } else if (shim.hypervisor === 'clh') assets.path = 'bin/cloud-hypervisor';
  else if (shim.hypervisor === 'fc') {
    assets.path = 'bin/firecracker';
    assets.jailer = 'bin/jailer';
  } else if (shim.hypervisor === 'dragonball' || shim.hypervisor === 'remote') assets.path = undefined;
  else if (shim.hypervisor === 'openvmm') assets.path = 'bin/openvmm';
  else assets.path = 'bin/stratovirt';
  if (shim.gpu) {
    assets.kernel = 'share/kata-containers/vmlinuz-nvidia-gpu.container';
    assets.image = confidential
      ? 'share/kata-containers/kata-containers-nvidia-gpu-confidential.img'
      : 'share/kata-containers/kata-containers-nvidia-gpu.img';
  } else if (shim.name.startsWith('qemu-nvidia-cpu')) {
    assets.image = 'share/kata-containers/kata-containers-nvidia.img';
  } else if (shim.tee === 'snp') {
    assets.image = undefined;
    assets.initrd = 'share/kata-containers/kata-containers-initrd-confidential.img';
  } else if (confidential) {
    assets.image = 'share/kata-containers/kata-containers-confidential.img';
  }
  if (shim.tee === 'tdx') assets.firmware = 'share/ovmf/OVMF.inteltdx.fd';
  if (shim.tee === 'snp') assets.firmware = 'share/ovmf/AMDSEV.fd';
  return assets;
}

/** The file text of one shim's pristine configuration, with comments like upstream's. */
export function renderSampleConfig(shim, arch, prefix = '/opt/kata') {
  const a = shimAssets(shim, arch);
  const table = hypervisorTable(shim);
  const abs = (rel) => `${prefix}/${rel}`;
  const lines = [
    '# Copyright (c) 2017-2019 Intel Corporation',
    '# Copyright (c) 2021 Adobe Inc.',
    '#',
    '# SPDX-License-Identifier: Apache-2.0',
    '#',
    '',
    '# XXX: WARNING: this file is auto-generated.',
    '# XXX:',
    `# XXX: Source file: "config/${shim.configFile}.in"`,
    '# XXX: Project:',
    '# XXX:   Name: Kata Containers',
    '# XXX:   Type: kata',
    '',
    `[hypervisor.${table}]`,
  ];
  if (a.path !== undefined) lines.push(`path = "${abs(a.path)}"`);
  if (a.jailer !== undefined) lines.push(`jailer_path = "${abs(a.jailer)}"`);
  lines.push(`kernel = "${abs(a.kernel)}"`);
  if (a.image !== undefined)
    lines.push(`image = "${abs(a.image)}"`, `# initrd = "${abs('share/kata-containers/kata-containers-initrd.img')}"`);
  else lines.push(`initrd = "${abs(a.initrd)}"`);
  if (shim.hypervisor === 'qemu') lines.push(`machine_type = "${MACHINE_TYPES[arch] ?? 'pseries'}"`);
  lines.push(
    '',
    '# rootfs filesystem type:',
    '#   - ext4 (default)',
    '#   - xfs',
    '#   - erofs',
    'rootfs_type = "ext4"',
    '',
    '# Enable confidential guest support.',
    '# Toggling that setting may trigger different hardware features, ranging',
    '# from memory encryption to both memory and CPU-state encryption and integrity.',
    shim.tee === undefined ? '# confidential_guest = true' : 'confidential_guest = true',
    '',
    '# List of valid annotation names for the hypervisor',
    '# Each member of the list is a regular expression, which is the base name',
    '# of the annotation, e.g. "path" for io.katacontainers.config.hypervisor.path"',
    'enable_annotations = ["enable_iommu", "virtio_fs_extra_args", "kernel_params"]',
    '',
    '# List of valid annotations values for the hypervisor',
    '# Each member of the list is a path pattern as described by glob(3).',
    '# The default if not set is empty (all annotations rejected.)',
    `# Your distribution recommends: ["${a.path === undefined ? '' : abs(a.path)}"]`,
    `valid_hypervisor_paths = [${a.path === undefined ? '' : `"${abs(a.path)}"`}]`,
    '',
    '# Optional space-separated list of options to pass to the guest kernel.',
    '# For example, use `kernel_params = "vsyscall=emulate"` if you are having',
    '# trouble running pre-2.15 glibc.',
    '#',
    '# WARNING: - any parameter specified here will take priority over the default',
    '# parameter value of the same name used to start the virtual machine.',
    `kernel_params = "${shim.gpu ? GPU_KERNEL_PARAMS : KERNEL_PARAMS}"`,
    '',
    '# Path to the firmware.',
    '# If you want that qemu uses the default firmware leave this option empty',
    `firmware = "${a.firmware === '' ? '' : abs(a.firmware)}"`,
    '',
    '# Default number of vCPUs per SB/VM:',
    '# unspecified or 0                --> will be set to 1',
    '# < 0                             --> will be set to the actual number of physical cores',
    '# > 0 <= number of physical cores --> will be set to the specified number',
    'default_vcpus = 1',
    '',
    '# Default memory size in MiB for SB/VM.',
    '# If unspecified then it will be set 2048 MiB.',
    `default_memory = ${shim.gpu ? 8192 : 2048}`,
    '',
    '# Shared file system type:',
    '#   - virtio-fs (default)',
    '#   - virtio-9p',
    '#   - virtio-fs-nydus',
    '#   - none',
    `shared_fs = "${shim.hypervisor === 'fc' ? 'none' : 'virtio-fs'}"`,
    '',
    '# Path to vhost-user-fs daemon.',
    `virtio_fs_daemon = "${abs('libexec/virtiofsd')}"`,
    '',
    '# List of valid annotations values for the virtiofs daemon',
    `valid_virtio_fs_daemon_paths = ["${abs('libexec/virtiofsd')}"]`,
    '',
    '# This option changes the default hypervisor and kernel parameters',
    '# to enable debug output where available.',
    '#',
    '# Default false',
    '#enable_debug = true',
    '',
    '[agent.kata]',
    '# If enabled, make the agent display debug-level messages.',
    '# (default: disabled)',
    '#enable_debug = true',
    '',
    '# Enable debug console.',
    '',
    '# If enabled, user can connect guest OS running inside hypervisor',
    '# through "kata-runtime exec <sandbox-id>" command',
    '',
    '#debug_console_enabled = true',
    '',
    '# Agent dial timeout in seconds.',
    '# (default: 45)',
    `dial_timeout = ${shim.tee === undefined ? 45 : 90}`,
    '',
    '# Comma separated list of kernel modules and their parameters.',
    'kernel_modules = []',
    '',
    '[runtime]',
    '# If enabled, the runtime will log additional debug messages to the',
    '# system log',
    '# (default: disabled)',
    '#enable_debug = true',
    '',
    '# Internetworking model',
    '# Determines how the VM should be connected to the',
    '# the container network interface',
    '# Options:',
    '#',
    '#   - macvtap',
    '#     Used when the Container network interface can be bridged using',
    '#     macvtap.',
    '#',
    '#   - none',
    '#     Used when customize network. Only creates a tap device. No veth pair.',
    '#',
    '#   - tcfilter',
    '#     Uses tc filter rules to redirect traffic from the network interface',
    '#     provided by plugin to a tap interface connected to the VM.',
    '#',
    'internetworking_model = "tcfilter"',
    '',
    '# disable guest seccomp',
    '# Determines whether container seccomp profiles are passed to the virtual',
    '# machine and applied by the kata agent. If set to true, seccomp is not applied',
    '# within the guest',
    '# (default: true)',
    'disable_guest_seccomp = true',
    '',
    '# if enabled, the runtime will add all the kata processes inside one dedicated cgroup.',
    '# (default: false)',
    `sandbox_cgroup_only = ${shim.hypervisor === 'fc' ? 'false' : 'true'}`,
    '',
    '# If enabled, the runtime will attempt to determine appropriate sandbox size (memory, CPU) before booting the ' +
      'virtual machine.',
    'static_sandbox_resource_mgmt = false',
    '',
    '# Enabled experimental feature list, format: ["a", "b"].',
    '# Experimental features are features not stable enough for production,',
    '# they may break compatibility, and are prepared for a big version bump.',
    '# Supported experimental features:',
    '# (default: [])',
    'experimental = []',
    '',
  );
  return lines.join('\n');
}
