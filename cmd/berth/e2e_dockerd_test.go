//go:build e2e

package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/berthhq/berth/testvm"
)

// dockerdData is what testvm/dockerd/record.sh recorded from a real dockerd
// (Debian's docker.io 20.10, API 1.41) on the shared fixtures.
var dockerdData = filepath.Join("..", "..", "testvm", "dockerd", "testdata")

// Values not compared as they are, by JSON path ([] stands for any
// index); the keys around them still are. Nothing else is exempt: image
// IDs, layer DiffIDs and the chain IDs prune reports, sizes and creation
// times are compared, as Berth computes them from the same content as
// dockerd. CLI output is normalised instead (see normalizeCLI), and lists
// of images compared as sets.
var dockerdExempt = []struct {
	path *regexp.Regexp
	// same compares the values instead; nil skips them.
	same   func(want, got any) bool
	reason string
}{
	{
		regexp.MustCompile(`^(\[\])?\.GraphDriver\.Data\.[A-Za-z]+$`), nil,
		"each engine's layer directories are under its own data root and named after its own cache ids; the keys (LowerDir, UpperDir, MergedDir, WorkDir) are what tools read",
	},
	{
		regexp.MustCompile(`^(\[\])?\.Metadata\.LastTagTime$`),
		func(want, got any) bool { return (want == zeroTime) == (got == zeroTime) },
		"when an image was last tagged is a time of the run: only whether it is set (not after a load) is compared",
	},
}

const zeroTime = "0001-01-01T00:00:00Z"

// dockerdAllowed are the differences from dockerd's answers that Berth
// keeps, each with Berth's exact answer (JSON for a field, the normalised
// text for a CLI's output) and why. Keys are "<answer> <path>": the answer
// is api/FILE, or CLIENT:cli/FILE for the docker or berth CLI, whose path
// is stdout, stderr or exit.
var dockerdAllowed = map[string]struct{ berth, reason string }{
	"api/error_inspect_missing .message": {`"No such image: nope:1"`,
		"dockerd 20.10 doubles the message (\"no such image: nope:1: No such image: nope:1\"); Docker 23 and later, and Berth, say it once"},
	"api/error_filter_unknown .message": {`"invalid filter 'colour'"`,
		"Docker 23 lowercased \"Invalid filter\"; Berth answers as API 1.43's dockerd"},
	"api/error_filter_dangling .message": {`"invalid filter 'dangling=[maybe]'"`,
		"Docker 23 lowercased \"Invalid filter\"; Berth answers as API 1.43's dockerd"},
	"berth:cli/error_rmi_missing stderr": {"berth: Error response from daemon: No such image: mybox:v1",
		"berth names itself at the start of every error it prints; the rest is the docker CLI's line"},
}

// difference is one way Berth's answer differs from dockerd's: key as in
// dockerdAllowed, got Berth's answer there.
type difference struct{ key, msg, got string }

// step is one line of testdata/index.tsv: a request record.sh made, in order.
type step struct {
	kind, file string
	code       int // HTTP status or exit code
	method     string
	path       string   // api: the path after /v1.41
	args       []string // cli: docker's arguments
}

func readSteps(t *testing.T) []step {
	t.Helper()
	f, err := os.Open(filepath.Join(dockerdData, "index.tsv"))
	if err != nil {
		t.Fatalf("the recordings of testvm/dockerd/record.sh: %v", err)
	}
	defer f.Close()
	var steps []step
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Split(sc.Text(), "\t")
		if len(fields) < 4 {
			t.Fatalf("index.tsv: short line %q", sc.Text())
		}
		code, err := strconv.Atoi(fields[2])
		if err != nil {
			t.Fatalf("index.tsv: %q: %v", sc.Text(), err)
		}
		s := step{kind: fields[0], file: fields[1], code: code}
		switch s.kind {
		case "api":
			if len(fields) != 5 {
				t.Fatalf("index.tsv: an api line has 5 fields: %q", sc.Text())
			}
			s.method, s.path = fields[3], fields[4]
		case "cli":
			for _, a := range fields[3:] {
				s.args = append(s.args, strings.ReplaceAll(a, "$IMAGES", testvm.ImagesDir()))
			}
		default:
			t.Fatalf("index.tsv: unknown kind %q", s.kind)
		}
		steps = append(steps, s)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return steps
}

// TestImagesMatchDockerdEndToEnd replays, against a real berth daemon, the
// requests record.sh made of a real dockerd, and compares the answers field
// by field: once with the docker CLI, once with berth's, each on its own
// daemon so both see the state dockerd saw.
func TestImagesMatchDockerdEndToEnd(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("berth daemon needs root; CI runs as root")
	}
	if _, err := os.Stat(dockerCLI); err != nil {
		t.Fatalf("the docker CLI is not at %s: %v", dockerCLI, err)
	}
	steps := readSteps(t)
	used := map[string]bool{}
	for _, client := range []string{"docker", "berth"} {
		t.Run(client, func(t *testing.T) {
			e := startRealEngine(t)
			for _, s := range steps {
				var diffs []difference
				switch s.kind {
				case "api":
					// Compared once; the berth run makes the requests for
					// the state they leave.
					d := e.replayAPI(t, s)
					if client == "docker" {
						diffs = d
					}
				case "cli":
					diffs = e.replayCLI(t, client, s)
				}
				for _, d := range diffs {
					if a, ok := dockerdAllowed[d.key]; ok && a.berth == d.got {
						used[d.key] = true
						t.Logf("allowed difference: %s: %s", d.key, a.reason)
						continue
					}
					t.Errorf("%s: %s", d.key, d.msg)
				}
			}
			if client == "docker" {
				checkRoundTrip(t, e)
			}
		})
	}
	for key := range dockerdAllowed {
		if !used[key] && !t.Failed() {
			t.Errorf("allow-list entry %q matched no difference: remove it", key)
		}
	}
}

// api makes one request of the engine's API over its socket.
func (e *engine) api(t *testing.T, method, path string) (int, []byte) {
	t.Helper()
	c := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", e.sock)
	}}}
	defer c.CloseIdleConnections()
	req, err := http.NewRequest(method, "http://berth"+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	return resp.StatusCode, body
}

// replayAPI makes the request at dockerd's API version and returns the
// differences.
func (e *engine) replayAPI(t *testing.T, s step) []difference {
	t.Helper()
	key := "api/" + s.file
	want, err := os.ReadFile(filepath.Join(dockerdData, "api", s.file+".json"))
	if err != nil {
		t.Fatal(err)
	}
	code, got := e.api(t, s.method, "/v1.41"+s.path)
	switch {
	case code != s.code:
		return []difference{{key + " status", fmt.Sprintf("%s %s: dockerd %d %s, Berth %d %s", s.method, s.path, s.code, want, code, got), strconv.Itoa(code)}}
	case len(want) == 0 || len(got) == 0:
		if len(want) != len(got) {
			return []difference{{key + " body", fmt.Sprintf("dockerd %q, Berth %q", want, got), string(got)}}
		}
		return nil
	}
	diffs := diffJSONText(key, want, got, strings.Contains(s.file, "images_json"))
	if html := regexp.MustCompile(`\\u00(3c|3e|26)`); html.Match(got) != html.Match(want) {
		diffs = append(diffs, difference{key + " escaping", fmt.Sprintf("dockerd writes <, > and & as they are: dockerd %s, Berth %s", want, got), string(got)})
	}
	return diffs
}

// diffJSONText compares two JSON documents; lists of images (sortByID) are
// compared as sets, since dockerd's order is that of a Go map.
func diffJSONText(key string, want, got []byte, sortByID bool) []difference {
	var w, g any
	if err := json.Unmarshal(want, &w); err != nil {
		return []difference{{key, fmt.Sprintf("dockerd's answer is not JSON: %v", err), ""}}
	}
	if err := json.Unmarshal(got, &g); err != nil {
		return []difference{{key, fmt.Sprintf("Berth's answer is not JSON: %v: %s", err, got), string(got)}}
	}
	if sortByID {
		sortImages(w)
		sortImages(g)
	}
	var diffs []difference
	diffJSON(key, "", w, g, &diffs)
	return diffs
}

func sortImages(v any) {
	list, _ := v.([]any)
	id := func(i int) string {
		m, _ := list[i].(map[string]any)
		s, _ := m["Id"].(string)
		return s
	}
	sort.SliceStable(list, func(i, j int) bool { return id(i) < id(j) })
}

// diffJSON appends a difference for each field dockerd sent that Berth
// lacks or answers differently, and each field Berth adds.
func diffJSON(key, path string, want, got any, diffs *[]difference) {
	norm := regexp.MustCompile(`\[\d+\]`).ReplaceAllString(path, "[]")
	add := func(path, msg string, got any) {
		*diffs = append(*diffs, difference{key + " " + path, msg, jsonString(got)})
	}
	for _, ex := range dockerdExempt {
		if ex.path.MatchString(norm) {
			if ex.same != nil && !ex.same(want, got) {
				add(norm, fmt.Sprintf("dockerd %s, Berth %s (%s)", jsonString(want), jsonString(got), ex.reason), got)
			}
			return
		}
	}
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			add(norm, "dockerd sends an object, Berth "+jsonString(got), got)
			return
		}
		keys := make([]string, 0, len(w)+len(g))
		for k := range w {
			keys = append(keys, k)
		}
		for k := range g {
			if _, ok := w[k]; !ok {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		for _, k := range keys {
			wv, inW := w[k]
			gv, inG := g[k]
			switch {
			case !inG:
				add(norm+"."+k, "missing in Berth (dockerd sends "+jsonString(wv)+")", nil)
			case !inW:
				add(norm+"."+k, "extra in Berth: "+jsonString(gv), gv)
			default:
				diffJSON(key, path+"."+k, wv, gv, diffs)
			}
		}
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			add(norm, fmt.Sprintf("dockerd %s, Berth %s", jsonString(want), jsonString(got)), got)
			return
		}
		for i := range w {
			diffJSON(key, fmt.Sprintf("%s[%d]", path, i), w[i], g[i], diffs)
		}
	default:
		if !reflect.DeepEqual(want, got) {
			add(norm, fmt.Sprintf("dockerd %s, Berth %s", jsonString(want), jsonString(got)), got)
		}
	}
}

func readFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func jsonString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// replayCLI runs the command with client (the docker CLI or berth) and
// compares its output with the docker CLI's against dockerd.
func (e *engine) replayCLI(t *testing.T, client string, s step) []difference {
	t.Helper()
	run := e.docker
	if client == "berth" {
		run = e.berth
	}
	key := client + ":cli/" + s.file
	stdout, stderr, err := run(t, s.args...)
	code := 0
	if err != nil {
		code = -1
		if ee, ok := err.(interface{ ExitCode() int }); ok {
			code = ee.ExitCode()
		}
	}
	var diffs []difference
	if code != s.code {
		diffs = append(diffs, difference{key + " exit", fmt.Sprintf("%s: dockerd's CLI %d, %s %d: %s", strings.Join(s.args, " "), s.code, client, code, stderr), strconv.Itoa(code)})
	}
	want, err := os.ReadFile(filepath.Join(dockerdData, "cli", s.file+".txt"))
	if err != nil {
		t.Fatal(err)
	}
	if len(s.args) > 1 && s.args[0] == "image" && s.args[1] == "inspect" && !slices.Contains(s.args, "--format") {
		return append(diffs, diffJSONText(key, want, []byte(stdout), false)...)
	}
	sortLines := s.args[0] == "images"
	if w, g := normalizeCLI(string(want), sortLines), normalizeCLI(stdout, sortLines); w != g {
		diffs = append(diffs, difference{key + " stdout", fmt.Sprintf("dockerd's:\n%s\n%s's:\n%s", w, client, g), g})
	}
	wantErr, err := os.ReadFile(filepath.Join(dockerdData, "cli", s.file+".stderr"))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	if w, g := normalizeCLI(string(wantErr), false), normalizeCLI(stderr, false); w != g {
		diffs = append(diffs, difference{key + " stderr", fmt.Sprintf("dockerd's:\n%s\n%s's:\n%s", w, client, g), g})
	}
	return diffs
}

var (
	agoRE   = regexp.MustCompile(`\b(\d+ (second|minute|hour|day|week|month|year)s?|About an? (minute|hour)|Less than a second) ago\b`)
	timeRE  = regexp.MustCompile(`\b\d{4}-\d\d-\d\d([ T])\d\d:\d\d:\d\d(\.\d+)?`)
	spaceRE = regexp.MustCompile(`[ \t]+`)
)

// normalizeCLI makes CLI output comparable: "3 weeks ago" becomes "<ago>",
// a time's digits go but not its layout ("<date> <time> +0000 UTC" is
// time.Time's, "<date>T<time>Z" RFC 3339), runs of blanks become one
// space, trailing blanks go; with sortLines the lines after a table's
// header are sorted, as the order of images of the same age is dockerd's
// map order.
func normalizeCLI(s string, sortLines bool) string {
	var lines []string
	for _, l := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
		l = agoRE.ReplaceAllString(l, "<ago>")
		l = timeRE.ReplaceAllString(l, "<date>${1}<time>")
		lines = append(lines, strings.TrimRight(spaceRE.ReplaceAllString(l, " "), " "))
	}
	if sortLines {
		from := 0
		if len(lines) > 0 && strings.HasPrefix(lines[0], "REPOSITORY ") {
			from = 1
		}
		sort.Strings(lines[from:])
	}
	return strings.Join(lines, "\n")
}

// checkRoundTrip: the images Berth holds have the IDs and layers that
// dockerd gave them when it loaded Berth's `save` of them
// (testdata/roundtrip, recorded by record.sh --roundtrip).
func checkRoundTrip(t *testing.T, e *engine) {
	t.Helper()
	read := func(name string) map[string]string {
		b, err := os.ReadFile(filepath.Join(dockerdData, "roundtrip", name))
		if err != nil {
			t.Fatalf("the round trip of record.sh --roundtrip: %v", err)
		}
		m := map[string]string{}
		for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			ref, v, _ := strings.Cut(l, " ")
			m[ref] = v
		}
		return m
	}
	// The archive dockerd loaded is the one Berth saves today.
	var names []string
	for l := range strings.Lines(string(readFile(t, filepath.Join(dockerdData, "roundtrip", "docker-load.txt")))) {
		if n, ok := strings.CutPrefix(strings.TrimSpace(l), "Loaded image: "); ok {
			names = append(names, n)
		}
	}
	archive := filepath.Join(t.TempDir(), "save.tar")
	must(t, e.berth, append([]string{"save", "-o", archive}, names...)...)
	sum := sha256.Sum256(readFile(t, archive))
	if got, want := hex.EncodeToString(sum[:]), strings.TrimSpace(string(readFile(t, filepath.Join(dockerdData, "roundtrip", "archive.sha256")))); got != want {
		t.Errorf("berth save %s is not the archive dockerd loaded (sha256 %s, not %s): run testvm/dockerd/record.sh --roundtrip on it to show what dockerd makes of it", strings.Join(names, " "), got, want)
	}
	ids, layers := read("ids.txt"), read("layers.txt")
	if len(ids) == 0 {
		t.Fatal("roundtrip/ids.txt names no image")
	}
	for ref, id := range ids {
		code, body := e.api(t, "GET", "/v1.41/images/"+ref+"/json")
		var in struct {
			ID     string `json:"Id"`
			RootFS struct{ Layers []string }
		}
		if err := json.Unmarshal(body, &in); code != http.StatusOK || err != nil {
			t.Errorf("inspect %s: %d %v %s", ref, code, err, body)
			continue
		}
		if in.ID != id {
			t.Errorf("%s: Berth's ID %s, dockerd loaded Berth's archive as %s", ref, in.ID, id)
		}
		if got := jsonString(in.RootFS.Layers); got != layers[ref] {
			t.Errorf("%s: Berth's layers %s, dockerd's after loading Berth's archive %s", ref, got, layers[ref])
		}
	}
}
