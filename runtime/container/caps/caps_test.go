package caps

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/berthhq/berth/testvm"
)

// TestImports keeps caps a leaf: the runtime calls it in the container's
// last process, so it imports no other Berth package.
func TestImports(t *testing.T) {
	testvm.CheckImports(t, ".")
}

func TestMask(t *testing.T) {
	tests := []struct {
		name  string
		names []string
		want  uint64
		err   error
	}{
		{"default", Default, 0xa80425fb, nil},
		{"none", nil, 0, nil},
		{"spellings", []string{"sys_admin", "CAP_net_ADMIN", "Cap_Bpf"}, 1<<21 | 1<<12 | 1<<39, nil},
		{"last", []string{"CHECKPOINT_RESTORE"}, 1 << 40, nil},
		{"unknown", []string{"CAP_CHOWN", "CAP_FLY"}, 0, ErrUnknown},
		{"all is no name", []string{"ALL"}, 0, ErrUnknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Mask(tt.names)
			if !errors.Is(err, tt.err) {
				t.Fatalf("Mask(%q) error = %v, want %v", tt.names, err, tt.err)
			}
			if got != tt.want {
				t.Errorf("Mask(%q) = %#x, want %#x", tt.names, got, tt.want)
			}
		})
	}
}

func TestResolve(t *testing.T) {
	const (
		all   = 1<<41 - 1
		here  = 0x1fffeffffff // a host whose root lacks CAP_SYS_RESOURCE
		noRaw = all &^ (1 << 13)
	)
	mask := func(names ...string) uint64 {
		m, err := Mask(names)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	def := mask(Default...)
	tests := []struct {
		name       string
		add, drop  []string
		privileged bool
		host       uint64
		want       uint64
		err        error
		errHas     []string
	}{
		{name: "default", host: all, want: 0xa80425fb},
		{name: "drop all", drop: []string{"ALL"}, host: all, want: 0},
		{name: "drop all, add one", add: []string{"net_admin"}, drop: []string{"all"}, host: all, want: mask("CAP_NET_ADMIN")},
		{name: "add all", add: []string{"ALL"}, host: here, want: here},
		{name: "add all, drop one", add: []string{"ALL"}, drop: []string{"MKNOD"}, host: here, want: here &^ mask("MKNOD")},
		{name: "add", add: []string{"sys_admin", "CAP_SYS_PTRACE"}, host: all, want: def | mask("SYS_ADMIN", "SYS_PTRACE")},
		{name: "drop", drop: []string{"chown", "CAP_kill"}, host: all, want: def &^ mask("CHOWN", "KILL")},
		{name: "add wins over drop", add: []string{"KILL"}, drop: []string{"KILL"}, host: all, want: def},
		{name: "privileged", privileged: true, host: here, want: here},
		{name: "privileged ignores drop", privileged: true, drop: []string{"SYS_ADMIN"}, host: all, want: all},
		{name: "default bounded by host", host: noRaw, want: def &^ mask("NET_RAW")},
		{name: "unknown", add: []string{"FLY"}, drop: []string{"CAP_SWIM", "CHOWN"}, host: all, err: ErrUnknown, errHas: []string{`"FLY"`, `"CAP_SWIM"`}},
		{name: "unknown even privileged", add: []string{"FLY"}, privileged: true, host: all, err: ErrUnknown},
		{name: "not granted", add: []string{"SYS_RESOURCE"}, host: here, err: ErrNotGranted, errHas: []string{"CAP_SYS_RESOURCE"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := resolve(tt.add, tt.drop, tt.privileged, tt.host)
			if !errors.Is(err, tt.err) {
				t.Fatalf("error = %v, want %v", err, tt.err)
			}
			for _, s := range tt.errHas {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not name %s", err, s)
				}
			}
			if err != nil {
				return
			}
			if m := mask(got...); m != tt.want {
				t.Errorf("got %#x %q, want %#x %q", m, got, tt.want, namesOf(tt.want))
			}
			if !slices.IsSortedFunc(got, func(a, b string) int { return number(a) - number(b) }) {
				t.Errorf("%q is not in capability order", got)
			}
		})
	}
}

// TestResolveLeavesDefault: callers get their own slice; Default stays
// Docker's list.
func TestResolveLeavesDefault(t *testing.T) {
	before := slices.Clone(Default)
	got, err := resolve(nil, nil, false, 1<<41-1)
	if err != nil {
		t.Fatal(err)
	}
	got[0] = "CAP_SYS_ADMIN"
	if !slices.Equal(Default, before) {
		t.Errorf("Default changed to %q", Default)
	}
}
