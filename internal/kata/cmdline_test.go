package kata

import (
	"testing"

	"github.com/guestforge/guestforge/internal/arch"
)

// x86Params is qemu_amd64.go's kernelParams, the head of every x86_64 line.
const x86Params = "tsc=reliable no_timer_check rcupdate.rcu_expedited=1 i8042.direct=1 i8042.dumbkbd=1 i8042.nopnp=1 i8042.noaux=1 noreplace-smp reboot=k cryptomgr.notests net.ifnames=0 pci=lastbus=0"

const systemdTail = "systemd.unit=kata-containers.target systemd.mask=systemd-networkd.service systemd.mask=systemd-networkd.socket"

func TestKernelCmdline(t *testing.T) {
	x86 := arch.MustParse("x86_64")
	v := testVerity()
	dm := func(data, hash string) string {
		return `dm-mod.create="dm-verity,,,ro,0 1048576 verity 1 ` + data + ` ` + hash + ` 4096 4096 131072 0 sha256 ` + testRootHash + ` ` + testSalt + `"`
	}
	tests := []struct {
		name string
		cfg  LaunchConfig
		want string
	}{
		{
			name: "x86_64 initrd",
			cfg:  LaunchConfig{Arch: x86, MaxVCPUs: 2},
			want: x86Params + " console=hvc0 console=hvc1 quiet panic=1 nr_cpus=2 selinux=0 scsi_mod.scan=none",
		},
		{
			name: "x86_64 image virtio-blk",
			cfg:  LaunchConfig{Arch: x86, Image: true, DisableImageNvdimm: true, MaxVCPUs: 2},
			want: x86Params + " root=/dev/vda1 rootflags=data=ordered,errors=remount-ro ro rootfstype=ext4 console=hvc0 console=hvc1 quiet systemd.show_status=false panic=1 nr_cpus=2 selinux=0 " + systemdTail + " scsi_mod.scan=none",
		},
		{
			name: "x86_64 image nvdimm with DAX (Kata's default)",
			cfg:  LaunchConfig{Arch: x86, Image: true, MaxVCPUs: 8},
			want: x86Params + " root=/dev/pmem0p1 rootflags=dax,data=ordered,errors=remount-ro ro rootfstype=ext4 console=hvc0 console=hvc1 quiet systemd.show_status=false panic=1 nr_cpus=8 selinux=0 " + systemdTail + " scsi_mod.scan=none",
		},
		{
			name: "x86_64 measured image, confidential guest (virtio-blk forced, no nr_cpus)",
			cfg:  LaunchConfig{Arch: x86, Image: true, Verity: &v, ConfidentialGuest: true},
			want: x86Params + " " + dm("/dev/vda1", "/dev/vda2") + " root=/dev/dm-0 rootflags=data=ordered,errors=remount-ro ro rootfstype=ext4 console=hvc0 console=hvc1 quiet systemd.show_status=false panic=1 selinux=0 " + systemdTail + " scsi_mod.scan=none",
		},
		{
			name: "x86_64 measured image on nvdimm, not confidential",
			cfg:  LaunchConfig{Arch: x86, Image: true, Verity: &v, MaxVCPUs: 1},
			want: x86Params + " " + dm("/dev/pmem0p1", "/dev/pmem0p2") + " root=/dev/dm-0 rootflags=data=ordered,errors=remount-ro ro rootfstype=ext4 console=hvc0 console=hvc1 quiet systemd.show_status=false panic=1 nr_cpus=1 selinux=0 " + systemdTail + " scsi_mod.scan=none",
		},
		{
			name: "aarch64 image (nvdimm, no DAX on arm)",
			cfg:  LaunchConfig{Arch: arch.MustParse("aarch64"), Image: true, MaxVCPUs: 4},
			want: "iommu.passthrough=0 root=/dev/pmem0p1 rootflags=data=ordered,errors=remount-ro ro rootfstype=ext4 console=hvc0 console=hvc1 quiet systemd.show_status=false panic=1 nr_cpus=4 selinux=0 " + systemdTail + " scsi_mod.scan=none",
		},
		{
			name: "x86_64 erofs image, legacy serial, debug, agent options, virtio-blk driver, user params last",
			cfg: LaunchConfig{
				Arch: x86, Image: true, RootfsType: "erofs", DisableImageNvdimm: true, LegacySerial: true, Debug: true,
				MaxVCPUs: 2, GuestSELinux: true, BlockDeviceDriver: "virtio-blk",
				AgentDebug: true, AgentTrace: true, AgentDebugConsole: true,
				KernelParams: `  agent.log=info quiet  foo="a b" `,
			},
			want: x86Params + " root=/dev/vda1 rootflags=ro rootfstype=erofs console=ttyS0 debug systemd.show_status=true systemd.log_level=debug panic=1 nr_cpus=2 selinux=1 " + systemdTail +
				` agent.log=debug agent.trace=true agent.debug_console agent.debug_console_vport=1026 agent.log=info quiet foo="a b"`,
		},
		{
			name: "s390x image: always virtio-blk, no console parameter, no legacy serial",
			cfg:  LaunchConfig{Arch: arch.MustParse("s390x"), Image: true, LegacySerial: true, MaxVCPUs: 2},
			want: "root=/dev/vda1 rootflags=data=ordered,errors=remount-ro ro rootfstype=ext4 quiet systemd.show_status=false panic=1 nr_cpus=2 selinux=0 " + systemdTail + " scsi_mod.scan=none",
		},
		{
			name: "ppc64le image ignores disable_image_nvdimm",
			cfg:  LaunchConfig{Arch: arch.MustParse("ppc64le"), Image: true, DisableImageNvdimm: true, MaxVCPUs: 2},
			want: "rcupdate.rcu_expedited=1 reboot=k cryptomgr.notests net.ifnames=0 root=/dev/pmem0p1 rootflags=data=ordered,errors=remount-ro ro rootfstype=ext4 console=hvc0 console=hvc1 quiet systemd.show_status=false panic=1 nr_cpus=2 selinux=0 " + systemdTail + " scsi_mod.scan=none",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := KernelCmdline(tt.cfg)
			if err != nil {
				t.Fatalf("KernelCmdline: %v", err)
			}
			if got != tt.want {
				t.Fatalf("KernelCmdline:\n got %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestKernelCmdlineErrors(t *testing.T) {
	x86 := arch.MustParse("x86_64")
	v := testVerity()
	tests := []struct {
		name string
		cfg  LaunchConfig
		want string
	}{
		{"no arch", LaunchConfig{MaxVCPUs: 1},
			`kata: LaunchConfig.Arch "" is not set or not an architecture Kata's QEMU runtime supports: use arch.Parse`},
		{"no max vcpus", LaunchConfig{Arch: x86},
			"kata: LaunchConfig.MaxVCPUs is 0: Kata prints nr_cpus=<default_maxvcpus>, and resolves 0 to the host's CPU count; pass that number"},
		{"verity on initrd", LaunchConfig{Arch: x86, MaxVCPUs: 1, Verity: &v},
			"kata: LaunchConfig.Verity is set for an initrd guest: Kata only reads kernel_verity_params for an image; set Image or drop Verity"},
		{"bad rootfs type", LaunchConfig{Arch: x86, MaxVCPUs: 1, Image: true, RootfsType: "ext3"},
			`kata: rootfs_type "ext3" is not one Kata's runtime mounts: use ext4, xfs or erofs`},
		{"keyless user param", LaunchConfig{Arch: x86, MaxVCPUs: 1, KernelParams: "quiet =1"},
			`kata: kernel_params "quiet =1" holds "1", a parameter with no name before '=': remove it`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := KernelCmdline(tt.cfg)
			if err == nil || err.Error() != tt.want {
				t.Fatalf("KernelCmdline = %q, %v; want error %q", got, err, tt.want)
			}
		})
	}
}
