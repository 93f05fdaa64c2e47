package distro

import "testing"

func TestParseKernelRelease(t *testing.T) {
	tests := []struct {
		release string
		want    KernelVersion
		wantErr bool
	}{
		{"3.10.0-1160.el7.x86_64", KernelVersion{3, 10, 0}, false},
		{"5.15.0-91-generic", KernelVersion{5, 15, 0}, false},
		{"6.1.0-18-amd64", KernelVersion{6, 1, 0}, false},
		{"4.19.0-rpi", KernelVersion{4, 19, 0}, false},
		{"4.19.97-v7+", KernelVersion{4, 19, 97}, false},
		{"5.15.133.1-microsoft-standard-WSL2", KernelVersion{5, 15, 133}, false},
		{"2.6.32-754.el6.x86_64", KernelVersion{2, 6, 32}, false},
		{"6.18.44-fc-v669", KernelVersion{6, 18, 44}, false},
		{"4.4", KernelVersion{4, 4, 0}, false},
		{"6.9-rc1", KernelVersion{6, 9, 0}, false},
		{"", KernelVersion{}, true},
		{"linux", KernelVersion{}, true},
		{"6", KernelVersion{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.release, func(t *testing.T) {
			got, err := ParseKernelRelease(tt.release)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestKernelVersionLess(t *testing.T) {
	if !(KernelVersion{2, 6, 32}).Less(MinKernel) {
		t.Error("2.6.32 should be older than the minimum")
	}
	if (KernelVersion{3, 10, 0}).Less(MinKernel) {
		t.Error("3.10.0 is the minimum, not older")
	}
	if !(KernelVersion{5, 2, 0}).AtLeast(4, 15) || (KernelVersion{4, 14, 9}).AtLeast(4, 15) {
		t.Error("AtLeast is wrong around 4.15")
	}
}
