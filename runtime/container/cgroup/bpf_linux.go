package cgroup

import (
	"errors"
	"fmt"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"
)

// attachDeviceProgram loads program as a BPF_PROG_TYPE_CGROUP_DEVICE program
// and attaches it to the cgroup directory dir, replacing any device program
// attached there before (a second Create).
//
// BPF_PROG_ATTACH, not a bpf_link: the attachment then lives as long as the
// cgroup, whatever happens to the daemon that made it, and the loaded
// program with it; a link would detach when its fd closes.
// BPF_F_ALLOW_MULTI lets a parent's program (systemd's) keep running too;
// a device must pass all of them.
func attachDeviceProgram(dir string, program asm.Instructions) error {
	fd, err := unix.Open(dir, unix.O_DIRECTORY|unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("opening %s: %w", dir, err)
	}
	defer unix.Close(fd)

	prog, err := ebpf.NewProgram(&ebpf.ProgramSpec{
		Name:         "berth_devices",
		Type:         ebpf.CGroupDevice,
		Instructions: program,
		License:      "Apache-2.0",
	})
	if err != nil {
		return fmt.Errorf("loading the device program: %w", err)
	}
	defer prog.Close()

	var old []ebpf.ProgramID
	if q, err := link.QueryPrograms(link.QueryOptions{Target: fd, Attach: ebpf.AttachCGroupDevice}); err == nil {
		for _, p := range q.Programs {
			old = append(old, p.ID)
		}
	}
	if err := link.RawAttachProgram(link.RawAttachProgramOptions{
		Target:  fd,
		Program: prog,
		Attach:  ebpf.AttachCGroupDevice,
		Flags:   unix.BPF_F_ALLOW_MULTI,
	}); err != nil {
		return fmt.Errorf("attaching the device program to %s: %w", dir, err)
	}
	var errs []error
	for _, id := range old {
		p, err := ebpf.NewProgramFromID(id)
		if err != nil {
			errs = append(errs, fmt.Errorf("previous device program %d: %w", id, err))
			continue
		}
		err = link.RawDetachProgram(link.RawDetachProgramOptions{Target: fd, Program: p, Attach: ebpf.AttachCGroupDevice})
		p.Close()
		if err != nil {
			errs = append(errs, fmt.Errorf("detaching previous device program %d: %w", id, err))
		}
	}
	return errors.Join(errs...)
}
