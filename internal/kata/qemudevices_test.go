package kata

import (
	"reflect"
	"strings"
	"testing"

	"github.com/guestforge/guestforge/internal/arch"
)

func TestQEMUDevices(t *testing.T) {
	x86 := arch.MustParse("x86_64")
	virtioConsoleStdio := []string{
		"-device", "virtio-serial-pci,id=serial0",
		"-device", "virtconsole,chardev=charconsole0,id=console0",
		"-chardev", "stdio,id=charconsole0",
	}
	tests := []struct {
		name string
		cfg  LaunchConfig
		dev  QEMUDeviceConfig
		want QEMUArgs
	}{
		{
			name: "x86_64 initrd, console on stdio",
			cfg:  LaunchConfig{Arch: x86},
			dev:  QEMUDeviceConfig{MemoryMiB: 2048},
			want: QEMUArgs{MachineType: "q35", Memory: "2048M", Devices: virtioConsoleStdio},
		},
		{
			name: "x86_64 nvdimm image, console on Kata's socket",
			cfg:  LaunchConfig{Arch: x86, Image: true},
			dev: QEMUDeviceConfig{Image: "/dist/rootfs.img", ImageSize: 256 << 20, ConsoleSocket: "/run/vc/console.sock",
				MemoryMiB: 2048, MaxMemoryMiB: 4096},
			want: QEMUArgs{
				MachineType: "q35", MachineOptions: []string{"nvdimm=on"}, Memory: "2048M,slots=10,maxmem=4096M",
				Devices: []string{
					"-device", "virtio-serial-pci,id=serial0",
					"-device", "virtconsole,chardev=charconsole0,id=console0",
					"-chardev", "socket,id=charconsole0,path=/run/vc/console.sock,server=on,wait=off",
					"-device", "nvdimm,id=nv0,memdev=mem0,unarmed=on",
					"-object", "memory-backend-file,id=mem0,mem-path=/dist/rootfs.img,size=268435456,readonly=on",
				},
			},
		},
		{
			name: "x86_64 virtio-blk image, legacy serial",
			cfg:  LaunchConfig{Arch: x86, Image: true, DisableImageNvdimm: true, LegacySerial: true},
			dev:  QEMUDeviceConfig{Image: "/dist/rootfs.img", ImageSize: 1, MemoryMiB: 1024},
			want: QEMUArgs{
				MachineType: "q35", Memory: "1024M",
				Devices: []string{
					"-serial", "chardev:charconsole0",
					"-chardev", "stdio,id=charconsole0",
					"-device", "virtio-blk-pci,drive=image-guestforge,config-wce=off,share-rw=on,serial=image-guestforge",
					"-drive", "id=image-guestforge,file=/dist/rootfs.img,aio=threads,format=raw,if=none,readonly=on",
				},
			},
		},
		{
			name: "aarch64 nvdimm image: gic-version=host and accel=kvm dropped",
			cfg:  LaunchConfig{Arch: arch.MustParse("aarch64"), Image: true},
			dev:  QEMUDeviceConfig{Image: "/i.img", ImageSize: 3<<20 + 1, MemoryMiB: 512, MaxMemoryMiB: 516, MemorySlots: 2},
			want: QEMUArgs{
				MachineType: "virt", MachineOptions: []string{"usb=off", "nvdimm=on"}, Memory: "512M,slots=2,maxmem=516M",
				Devices: append(append([]string(nil), virtioConsoleStdio...),
					"-device", "nvdimm,id=nv0,memdev=mem0,unarmed=on",
					"-object", "memory-backend-file,id=mem0,mem-path=/i.img,size=3145729,readonly=on"),
			},
		},
		{
			name: "s390x image: CCW devices, legacy serial ignored",
			cfg:  LaunchConfig{Arch: arch.MustParse("s390x"), Image: true, LegacySerial: true},
			dev:  QEMUDeviceConfig{Image: "/i.img", MemoryMiB: 1024},
			want: QEMUArgs{
				MachineType: "s390-ccw-virtio", Memory: "1024M",
				Devices: []string{
					"-device", "virtio-serial-ccw,id=serial0",
					"-device", "virtconsole,chardev=charconsole0,id=console0",
					"-chardev", "stdio,id=charconsole0",
					"-device", "virtio-blk-ccw,drive=image-guestforge,config-wce=off,share-rw=on,serial=image-guestforge",
					"-drive", "id=image-guestforge,file=/i.img,aio=threads,format=raw,if=none,readonly=on",
				},
			},
		},
		{
			name: "x86_64 confidential measured image goes to virtio-blk",
			cfg:  LaunchConfig{Arch: x86, Image: true, ConfidentialGuest: true, Verity: ptr(testVerity())},
			dev:  QEMUDeviceConfig{Image: "/i.img", MemoryMiB: 2048},
			want: QEMUArgs{
				MachineType: "q35", Memory: "2048M",
				Devices: append(append([]string(nil), virtioConsoleStdio...),
					"-device", "virtio-blk-pci,drive=image-guestforge,config-wce=off,share-rw=on,serial=image-guestforge",
					"-drive", "id=image-guestforge,file=/i.img,aio=threads,format=raw,if=none,readonly=on"),
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := QEMUDevices(tt.cfg, tt.dev)
			if err != nil {
				t.Fatalf("QEMUDevices: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("QEMUDevices:\n got %#v\nwant %#v", got, tt.want)
			}
		})
	}
}

func TestQEMUDevicesErrors(t *testing.T) {
	x86 := arch.MustParse("x86_64")
	img := LaunchConfig{Arch: x86, Image: true}
	tests := []struct {
		name string
		cfg  LaunchConfig
		dev  QEMUDeviceConfig
		want string
	}{
		{"no memory", img, QEMUDeviceConfig{Image: "/i"}, "kata: QEMUDeviceConfig.MemoryMiB is 0: pass default_memory (Kata ships 2048)"},
		{"no image path", img, QEMUDeviceConfig{MemoryMiB: 1}, "kata: QEMUDeviceConfig.Image is empty but LaunchConfig.Image is set: pass the disk image's path"},
		{"comma in path", img, QEMUDeviceConfig{Image: "/a,b.img", MemoryMiB: 1},
			`kata: image path "/a,b.img" contains a comma, which QEMU reads as an option separator: move the image to a path without one`},
		{"nvdimm without size", img, QEMUDeviceConfig{Image: "/i", MemoryMiB: 1, MaxMemoryMiB: 10},
			"kata: QEMUDeviceConfig.ImageSize is 0: pass the size in bytes of /i (the NVDIMM maps the whole file)"},
		{"maxmem too small", img, QEMUDeviceConfig{Image: "/i", ImageSize: 1<<20 + 1, MemoryMiB: 100, MaxMemoryMiB: 101},
			"kata: QEMUDeviceConfig.MaxMemoryMiB is 101 but the NVDIMM image needs at least MemoryMiB + 2 = 102: raise MaxMemoryMiB (Kata uses the host's RAM)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := QEMUDevices(tt.cfg, tt.dev)
			if err == nil || err.Error() != tt.want {
				t.Fatalf("QEMUDevices = %+v, %v; want error %q", got, err, tt.want)
			}
		})
	}
	// The console arguments never mention KVM-only options.
	got, err := QEMUDevices(LaunchConfig{Arch: arch.MustParse("ppc64le")}, QEMUDeviceConfig{MemoryMiB: 1})
	if err != nil {
		t.Fatal(err)
	}
	if opts := strings.Join(got.MachineOptions, ","); opts != "usb=off,cap-ail-mode-3=off" {
		t.Fatalf("ppc64le machine options %q, want usb=off,cap-ail-mode-3=off", opts)
	}
}
