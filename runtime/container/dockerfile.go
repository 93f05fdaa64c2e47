package container

import (
	"encoding/json"
	"fmt"
	"maps"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// applyChanges applies docker commit's --change instructions to cfg: lines
// of a Dockerfile (a line may hold several, and a trailing backslash joins
// lines), each one of CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, USER, WORKDIR,
// VOLUME, ONBUILD, HEALTHCHECK (what dockerd accepts) or STOPSIGNAL.
// Values are expanded and unquoted as a build would ($VAR, ${VAR:-x},
// quotes, backslashes) against the environment so far; CMD and ENTRYPOINT
// take the JSON (exec) form or the shell form. As in a build, ENTRYPOINT
// drops the CMD unless a CMD came before it. The first bad instruction is
// an ErrInvalid error with dockerd's words; cfg is then partly changed.
func applyChanges(cfg *v1.Config, changes []string) error {
	lines := dockerfileLines(strings.Join(changes, "\n"))
	cmdSet := false
	for _, line := range lines {
		keyword, rest := line, ""
		if i := strings.IndexFunc(line, unicode.IsSpace); i >= 0 {
			keyword, rest = line[:i], strings.TrimSpace(line[i:])
		}
		kw := strings.ToLower(keyword)
		switch kw {
		case "cmd":
			cfg.Cmd = commandLine(rest, cfg.Shell)
			cmdSet = cmdSet || len(cfg.Cmd) > 0
		case "entrypoint":
			cfg.Entrypoint = commandLine(rest, cfg.Shell)
			if !cmdSet {
				cfg.Cmd = nil
			}
		case "env":
			pairs, err := nameValues("ENV", rest, cfg.Env)
			if err != nil {
				return err
			}
			for _, kv := range pairs {
				cfg.Env = replaceOrAppendEnv(cfg.Env, []string{kv[0] + "=" + kv[1]})
			}
		case "label":
			pairs, err := nameValues("LABEL", rest, cfg.Env)
			if err != nil {
				return err
			}
			if cfg.Labels == nil {
				cfg.Labels = map[string]string{}
			}
			for _, kv := range pairs {
				cfg.Labels[kv[0]] = kv[1]
			}
		case "expose":
			if err := expose(cfg, rest); err != nil {
				return err
			}
		case "user":
			words, err := shellWords(rest, cfg.Env)
			if err != nil {
				return err
			}
			if len(words) != 1 {
				return invalidf("USER requires exactly one argument")
			}
			cfg.User = words[0]
		case "workdir":
			dir, err := shellWord(rest, cfg.Env)
			if err != nil {
				return err
			}
			if dir == "" {
				return invalidf("WORKDIR requires exactly one argument")
			}
			if !path.IsAbs(dir) {
				dir = path.Join("/", cfg.WorkingDir, dir)
			}
			cfg.WorkingDir = path.Clean(dir)
		case "volume":
			if err := volume(cfg, rest); err != nil {
				return err
			}
		case "stopsignal":
			words, err := shellWords(rest, cfg.Env)
			if err != nil {
				return err
			}
			if len(words) != 1 {
				return invalidf("STOPSIGNAL requires exactly one argument")
			}
			if _, err := parseSignal(words[0]); err != nil {
				return err
			}
			cfg.StopSignal = words[0]
		case "onbuild":
			trigger, _, _ := strings.Cut(rest, " ")
			switch strings.ToUpper(trigger) {
			case "":
				return invalidf("ONBUILD requires at least one argument")
			case "ONBUILD":
				return invalidf("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed")
			case "FROM", "MAINTAINER":
				return invalidf("%s isn't allowed as an ONBUILD trigger", strings.ToUpper(trigger))
			}
			cfg.OnBuild = append(cfg.OnBuild, rest)
		case "healthcheck":
			hc, err := healthcheck(rest)
			if err != nil {
				return err
			}
			cfg.Healthcheck = hc
		default:
			return invalidf("%s is not a valid change command", kw)
		}
	}
	return nil
}

// dockerfileLines splits text into instructions: a backslash ending a line
// continues it, and blank lines and comments are skipped.
func dockerfileLines(text string) []string {
	var out []string
	var cur strings.Builder
	for _, raw := range strings.Split(text, "\n") {
		line := strings.TrimRightFunc(raw, unicode.IsSpace)
		trimmed := strings.TrimSpace(line)
		if cur.Len() == 0 && (trimmed == "" || strings.HasPrefix(trimmed, "#")) {
			continue
		}
		if strings.HasSuffix(line, `\`) {
			cur.WriteString(strings.TrimSuffix(line, `\`))
			continue
		}
		cur.WriteString(line)
		if s := strings.TrimSpace(cur.String()); s != "" {
			out = append(out, s)
		}
		cur.Reset()
	}
	if s := strings.TrimSpace(cur.String()); s != "" {
		out = append(out, s)
	}
	return out
}

// commandLine is CMD's and ENTRYPOINT's argument: a JSON array of strings
// (exec form), else a command for the shell (cfg's, /bin/sh -c by default).
// Nothing is nil.
func commandLine(rest string, shell []string) []string {
	if rest == "" {
		return nil
	}
	if strings.HasPrefix(rest, "[") {
		var argv []string
		if err := json.Unmarshal([]byte(rest), &argv); err == nil {
			return argv
		}
	}
	if len(shell) == 0 {
		shell = []string{"/bin/sh", "-c"}
	}
	return append(slices.Clone(shell), rest)
}

// nameValues parses ENV's and LABEL's arguments: name=value pairs, or the
// old form "name value with spaces".
func nameValues(instr, rest string, env []string) ([][2]string, error) {
	words, err := rawWords(rest)
	if err != nil {
		return nil, err
	}
	if len(words) == 0 {
		return nil, invalidf("%s requires at least one argument", instr)
	}
	if !strings.Contains(words[0], "=") {
		// The old form: the first word names, the rest of the line is the value.
		if len(words) < 2 {
			return nil, invalidf("%s must have two arguments", instr)
		}
		name, err := shellWord(words[0], env)
		if err != nil {
			return nil, err
		}
		value, err := shellWord(strings.TrimSpace(strings.TrimPrefix(rest, words[0])), env)
		if err != nil {
			return nil, err
		}
		return [][2]string{{name, value}}, nil
	}
	var out [][2]string
	for _, w := range words {
		if !strings.Contains(w, "=") {
			return nil, invalidf("Syntax error - can't find = in %q. Must be of the form: name=value", w)
		}
		word, err := shellWord(w, env)
		if err != nil {
			return nil, err
		}
		name, value, _ := strings.Cut(word, "=")
		if name == "" {
			return nil, invalidf("%s names must not be empty", instr)
		}
		out = append(out, [2]string{name, value})
	}
	return out, nil
}

// expose adds EXPOSE's ports: PORT, PORT/PROTO or FIRST-LAST/PROTO.
func expose(cfg *v1.Config, rest string) error {
	words, err := shellWords(rest, cfg.Env)
	if err != nil {
		return err
	}
	if len(words) == 0 {
		return invalidf("EXPOSE requires at least one argument")
	}
	if cfg.ExposedPorts == nil {
		cfg.ExposedPorts = map[string]struct{}{}
	}
	for _, w := range words {
		port, proto, ok := strings.Cut(w, "/")
		proto = strings.ToLower(proto)
		if !ok || proto == "" {
			proto = "tcp"
		}
		if proto != "tcp" && proto != "udp" && proto != "sctp" {
			return invalidf("Invalid proto: %s", proto)
		}
		first, last, isRange := strings.Cut(port, "-")
		lo, err1 := strconv.ParseUint(first, 10, 16)
		hi := lo
		var err2 error
		if isRange {
			hi, err2 = strconv.ParseUint(last, 10, 16)
		}
		if err1 != nil || err2 != nil || hi < lo {
			return invalidf("Invalid containerPort: %s", port)
		}
		for p := lo; p <= hi; p++ {
			cfg.ExposedPorts[fmt.Sprintf("%d/%s", p, proto)] = struct{}{}
		}
	}
	return nil
}

// volume adds VOLUME's paths: a JSON array, or words.
func volume(cfg *v1.Config, rest string) error {
	var paths []string
	if !strings.HasPrefix(rest, "[") || json.Unmarshal([]byte(rest), &paths) != nil {
		var err error
		if paths, err = shellWords(rest, cfg.Env); err != nil {
			return err
		}
	}
	if len(paths) == 0 {
		return invalidf("VOLUME requires at least one argument")
	}
	if cfg.Volumes == nil {
		cfg.Volumes = map[string]struct{}{}
	}
	for _, p := range paths {
		if p = strings.TrimSpace(p); p == "" {
			return invalidf("VOLUME specified can not be an empty string")
		}
		cfg.Volumes[p] = struct{}{}
	}
	return nil
}

// healthcheck parses HEALTHCHECK NONE, or HEALTHCHECK [--interval=D]
// [--timeout=D] [--start-period=D] [--retries=N] CMD command.
func healthcheck(rest string) (*v1.HealthConfig, error) {
	hc := &v1.HealthConfig{}
	for strings.HasPrefix(rest, "--") {
		flag, after, _ := strings.Cut(rest, " ")
		rest = strings.TrimSpace(after)
		name, value, ok := strings.Cut(strings.TrimPrefix(flag, "--"), "=")
		if !ok {
			return nil, invalidf("HEALTHCHECK flag --%s needs a value (--%s=VALUE)", name, name)
		}
		switch name {
		case "interval", "timeout", "start-period":
			d, err := time.ParseDuration(value)
			if err != nil || d < 0 || d > 0 && d < time.Millisecond {
				return nil, invalidf("HEALTHCHECK --%s: %q is not a duration of 1ms or more", name, value)
			}
			switch name {
			case "interval":
				hc.Interval = d
			case "timeout":
				hc.Timeout = d
			case "start-period":
				hc.StartPeriod = d
			}
		case "retries":
			n, err := strconv.Atoi(value)
			if err != nil || n < 0 {
				return nil, invalidf("HEALTHCHECK --retries: %q is not a number of 0 or more", value)
			}
			hc.Retries = n
		default:
			return nil, invalidf("Unknown flag: %s", name)
		}
	}
	typ, args, _ := strings.Cut(rest, " ")
	args = strings.TrimSpace(args)
	switch strings.ToUpper(typ) {
	case "NONE":
		if args != "" || hc.Interval != 0 || hc.Timeout != 0 || hc.StartPeriod != 0 || hc.Retries != 0 {
			return nil, invalidf("HEALTHCHECK NONE takes no arguments")
		}
		return &v1.HealthConfig{Test: []string{"NONE"}}, nil
	case "CMD":
		if args == "" {
			return nil, invalidf("Missing command after HEALTHCHECK CMD")
		}
		var argv []string
		if strings.HasPrefix(args, "[") && json.Unmarshal([]byte(args), &argv) == nil {
			hc.Test = append([]string{"CMD"}, argv...)
		} else {
			hc.Test = []string{"CMD-SHELL", args}
		}
		return hc, nil
	case "":
		return nil, invalidf("HEALTHCHECK requires at least one argument")
	}
	return nil, invalidf("Unknown type %q in HEALTHCHECK (try CMD)", typ)
}

// rawWords splits s at unquoted blanks, keeping quotes and backslashes for
// shellWord.
func rawWords(s string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	var quote rune
	escaped := false
	for _, r := range s {
		switch {
		case escaped:
			escaped = false
		case r == '\\' && quote != '\'':
			escaped = true
		case quote != 0:
			if r == quote {
				quote = 0
			}
		case r == '\'' || r == '"':
			quote = r
		case unicode.IsSpace(r):
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
			continue
		}
		cur.WriteRune(r)
		inWord = true
	}
	if quote != 0 {
		return nil, unterminated(quote)
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}

func unterminated(quote rune) error {
	if quote == '\'' {
		return invalidf("unexpected end of statement while looking for matching single-quote")
	}
	return invalidf("unexpected end of statement while looking for matching double-quote")
}

// shellWord unquotes and expands s as one word, blanks kept.
func shellWord(s string, env []string) (string, error) {
	words, err := lex(s, env, false)
	if err != nil || len(words) == 0 {
		return "", err
	}
	return words[0], nil
}

// shellWords unquotes and expands s and splits it at unquoted blanks.
func shellWords(s string, env []string) ([]string, error) {
	return lex(s, env, true)
}

// lex is the little of the shell a Dockerfile's words get: 'single'
// quotes, "double" quotes (where \ escapes " \ and $), backslash escapes,
// and $NAME, ${NAME}, ${NAME:-word}, ${NAME-word}, ${NAME:+word},
// ${NAME+word} from env (KEY=VALUE, the last one counts).
func lex(s string, env []string, split bool) ([]string, error) {
	lookup := func(name string) (string, bool) {
		for i := len(env) - 1; i >= 0; i-- {
			if k, v, ok := strings.Cut(env[i], "="); ok && k == name {
				return v, true
			}
		}
		return "", false
	}
	var words []string
	var cur strings.Builder
	inWord := false
	rs := []rune(s)
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		switch {
		case split && unicode.IsSpace(r):
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
			continue
		case r == '\\':
			if i+1 < len(rs) {
				i++
				cur.WriteRune(rs[i])
			}
		case r == '\'':
			end := slices.Index(rs[i+1:], '\'')
			if end < 0 {
				return nil, unterminated('\'')
			}
			cur.WriteString(string(rs[i+1 : i+1+end]))
			i += end + 1
		case r == '"':
			j := i + 1
			for ; j < len(rs) && rs[j] != '"'; j++ {
				switch {
				case rs[j] == '\\' && j+1 < len(rs) && strings.ContainsRune(`"\$`, rs[j+1]):
					j++
					cur.WriteRune(rs[j])
				case rs[j] == '$':
					n, err := expand(rs[j:], lookup, &cur)
					if err != nil {
						return nil, err
					}
					j += n - 1
				default:
					cur.WriteRune(rs[j])
				}
			}
			if j >= len(rs) {
				return nil, unterminated('"')
			}
			i = j
		case r == '$':
			n, err := expand(rs[i:], lookup, &cur)
			if err != nil {
				return nil, err
			}
			i += n - 1
		default:
			cur.WriteRune(r)
		}
		inWord = true
	}
	if inWord || !split {
		words = append(words, cur.String())
	}
	return words, nil
}

// expand writes the value of the variable reference at the start of rs
// ("$" first) to out and returns how many runes it took. A "$" that starts
// no reference is itself.
func expand(rs []rune, lookup func(string) (string, bool), out *strings.Builder) (int, error) {
	isName := func(r rune) bool { return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) }
	if len(rs) > 1 && rs[1] == '{' {
		end := slices.Index(rs, '}')
		if end < 0 {
			return 0, invalidf("missing '}' in %q", string(rs))
		}
		body := string(rs[2:end])
		name, word, op := body, "", ""
		for _, o := range []string{":-", ":+", "-", "+"} {
			if i := strings.Index(body, o); i > 0 {
				name, word, op = body[:i], body[i+len(o):], o
				break
			}
		}
		if name == "" || strings.IndexFunc(name, func(r rune) bool { return !isName(r) }) >= 0 {
			return 0, invalidf("bad substitution: ${%s}", body)
		}
		v, set := lookup(name)
		switch op {
		case ":-":
			if v == "" {
				v = word
			}
		case "-":
			if !set {
				v = word
			}
		case ":+":
			if v != "" {
				v = word
			}
		case "+":
			if set {
				v = word
			}
		}
		out.WriteString(v)
		return end + 1, nil
	}
	n := 1
	for n < len(rs) && isName(rs[n]) {
		n++
	}
	if n == 1 {
		out.WriteRune('$')
		return 1, nil
	}
	v, _ := lookup(string(rs[1:n]))
	out.WriteString(v)
	return n, nil
}

// mergeCommitConfig fills what the new image's config leaves unset from
// the container's, as dockerd's commit merges them.
func mergeCommitConfig(cfg *v1.Config, ctr v1.Config) {
	if cfg.User == "" {
		cfg.User = ctr.User
	}
	if len(cfg.ExposedPorts) == 0 {
		cfg.ExposedPorts = maps.Clone(ctr.ExposedPorts)
	} else {
		for p := range ctr.ExposedPorts {
			cfg.ExposedPorts[p] = struct{}{}
		}
	}
	if len(cfg.Env) == 0 {
		cfg.Env = slices.Clone(ctr.Env)
	} else {
		for _, kv := range ctr.Env {
			k, _, _ := strings.Cut(kv, "=")
			if !slices.ContainsFunc(cfg.Env, func(e string) bool { ek, _, _ := strings.Cut(e, "="); return ek == k }) {
				cfg.Env = append(cfg.Env, kv)
			}
		}
	}
	if cfg.Labels == nil {
		cfg.Labels = map[string]string{}
	}
	for k, v := range ctr.Labels {
		if _, ok := cfg.Labels[k]; !ok {
			cfg.Labels[k] = v
		}
	}
	if len(cfg.Entrypoint) == 0 {
		if len(cfg.Cmd) == 0 {
			cfg.Cmd = slices.Clone(ctr.Cmd)
		}
		if cfg.Entrypoint == nil {
			cfg.Entrypoint = slices.Clone(ctr.Entrypoint)
		}
	}
	if ctr.Healthcheck != nil {
		if cfg.Healthcheck == nil {
			h := *ctr.Healthcheck
			cfg.Healthcheck = &h
		} else {
			h := cfg.Healthcheck
			if len(h.Test) == 0 {
				h.Test = ctr.Healthcheck.Test
			}
			if h.Interval == 0 {
				h.Interval = ctr.Healthcheck.Interval
			}
			if h.Timeout == 0 {
				h.Timeout = ctr.Healthcheck.Timeout
			}
			if h.StartPeriod == 0 {
				h.StartPeriod = ctr.Healthcheck.StartPeriod
			}
			if h.Retries == 0 {
				h.Retries = ctr.Healthcheck.Retries
			}
		}
	}
	if cfg.WorkingDir == "" {
		cfg.WorkingDir = ctr.WorkingDir
	}
	if len(cfg.Volumes) == 0 {
		cfg.Volumes = maps.Clone(ctr.Volumes)
	} else {
		for v := range ctr.Volumes {
			cfg.Volumes[v] = struct{}{}
		}
	}
	if cfg.StopSignal == "" {
		cfg.StopSignal = ctr.StopSignal
	}
}
