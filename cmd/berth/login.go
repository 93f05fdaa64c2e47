package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/berthhq/berth/runtime/api"
	"github.com/berthhq/berth/runtime/atomicfile"
)

// LoginOptions are the flags of `berth login`.
type LoginOptions struct {
	Server        string
	Username      string
	Password      string
	PasswordStdin bool
	Global        *GlobalOptions
	Streams       *IOStreams
}

func newCmdLogin(streams *IOStreams, g *GlobalOptions, runF func(*LoginOptions) error) *cobra.Command {
	opts := &LoginOptions{Global: g, Streams: streams}
	cmd := &cobra.Command{
		Use:   "login [OPTIONS] [SERVER]",
		Short: "Log in to a registry",
		Long: `Log in to a registry (Docker Hub when no server is given). The engine checks
the credentials against the registry; they are then stored as docker stores
them, in Docker's config.json (DOCKER_CONFIG, or ~/.docker), or in the
credential helper it names, so docker and berth share logins.`,
		Example: `  echo "$TOKEN" | berth login -u alice --password-stdin ghcr.io
  berth login registry.lan:5000`,
		Args: maxLoginArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				opts.Server = args[0]
			}
			f := cmd.Flags()
			if opts.PasswordStdin && f.Changed("password") {
				return usageErrorf("conflicting options: cannot specify both --password and --password-stdin")
			}
			if opts.PasswordStdin && !f.Changed("username") {
				return usageErrorf("the --password-stdin option requires --username to be set")
			}
			if f.Changed("username") && opts.Username == "" {
				return usageErrorf("username is empty")
			}
			if f.Changed("password") && opts.Password == "" {
				return usageErrorf("password is empty")
			}
			if runF != nil {
				return runF(opts)
			}
			return runLogin(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&opts.Username, "username", "u", "", "username")
	f.StringVarP(&opts.Password, "password", "p", "", "password or token (prefer --password-stdin)")
	f.BoolVar(&opts.PasswordStdin, "password-stdin", false, "read the password or token from standard input")
	return cmd
}

func maxLoginArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 1 {
		return usageErrorf("%q accepts at most 1 argument (the registry)", cmd.CommandPath())
	}
	return nil
}

func runLogin(ctx context.Context, opts *LoginOptions) error {
	s := opts.Streams
	if opts.Password != "" {
		fmt.Fprintln(s.ErrOut, "WARNING! Using --password via the CLI is insecure. Use --password-stdin.")
	}
	if opts.PasswordStdin {
		b, err := io.ReadAll(s.In)
		if err != nil {
			return fmt.Errorf("reading the password from standard input: %w", err)
		}
		for _, eol := range []string{"\r\n", "\n", "\r"} {
			var ok bool
			if b, ok = bytes.CutSuffix(b, []byte(eol)); ok {
				break
			}
		}
		if strings.TrimSpace(string(b)) == "" {
			return usageErrorf("password is empty")
		}
		opts.Password = string(b)
	}
	server := loginServer(opts.Server)
	c := engineClient(opts.Global)
	defer c.Close()

	// No credentials given: try the stored ones first, as docker does.
	if opts.Username == "" && opts.Password == "" {
		if user, pass := storedCredentials(server); user != "" && pass != "" {
			fmt.Fprintf(s.ErrOut, "Authenticating with existing credentials... [Username: %s]\n", user)
			resp, err := c.Login(ctx, api.AuthConfig{Username: user, Password: pass, ServerAddress: server})
			switch {
			case err == nil:
				fmt.Fprintln(s.Out, resp.Status)
				return nil
			case errors.Is(err, api.ErrUnauthorized):
				fmt.Fprintln(s.ErrOut, "Stored credentials invalid or expired")
			default:
				return engineError(err)
			}
			opts.Username = user
		}
	}
	if opts.Username == "" || opts.Password == "" {
		if err := promptCredentials(opts, server); err != nil {
			return err
		}
	}
	resp, err := c.Login(ctx, api.AuthConfig{Username: opts.Username, Password: opts.Password, ServerAddress: server})
	if err != nil {
		return engineError(err)
	}
	path, inFile, err := storeCredentials(ctx, server, opts.Username, opts.Password, resp.IdentityToken)
	if err != nil {
		return fmt.Errorf("error saving credentials: %w", err)
	}
	if inFile {
		fmt.Fprintf(s.ErrOut, "WARNING! Your credentials are stored unencrypted in '%s'.\nConfigure a credential helper to remove this warning. See\nhttps://docs.docker.com/go/credential-store/\n\n", path)
	}
	fmt.Fprintln(s.Out, resp.Status)
	return nil
}

// promptCredentials asks for what -u and -p did not give, on a terminal.
func promptCredentials(opts *LoginOptions, server string) error {
	in, ok := opts.Streams.In.(*os.File)
	if !ok || !term.IsTerminal(int(in.Fd())) {
		return usageErrorf("cannot perform an interactive login from a non-TTY device: give -u and --password-stdin")
	}
	out := opts.Streams.Out
	if opts.Username == "" {
		fmt.Fprintf(out, "Log in to %s\nUsername: ", server)
		line, err := bufio.NewReader(in).ReadString('\n')
		if err != nil && line == "" {
			return fmt.Errorf("reading the username: %w", err)
		}
		opts.Username = strings.TrimSpace(line)
		if opts.Username == "" {
			return usageErrorf("username is empty")
		}
	}
	if opts.Password == "" {
		fmt.Fprint(out, "Password: ")
		b, err := term.ReadPassword(int(in.Fd()))
		fmt.Fprintln(out)
		if err != nil {
			return fmt.Errorf("reading the password: %w", err)
		}
		if len(b) == 0 {
			return usageErrorf("password is empty")
		}
		opts.Password = string(b)
	}
	return nil
}

// loginServer is the server address docker uses for a login: Docker Hub's
// index URL for Docker Hub, the argument as given otherwise.
func loginServer(arg string) string {
	if arg == "" || api.RegistryHost(arg) == name.DefaultRegistry {
		return api.DockerHubServer
	}
	return arg
}

// credentialKey is config.json's key for a server: Docker Hub's index URL,
// or host[:port], which docker and go-containerregistry both look up.
func credentialKey(server string) string {
	if server == api.DockerHubServer {
		return server
	}
	return hostname(server)
}

// hostname is docker's ConvertToHostname: a URL's host[:port], or what
// precedes the first slash.
func hostname(server string) string {
	if strings.Contains(server, "://") {
		if u, err := url.Parse(server); err == nil && u.Hostname() != "" {
			if u.Port() == "" {
				return u.Hostname()
			}
			return net.JoinHostPort(u.Hostname(), u.Port())
		}
	}
	h, _, _ := strings.Cut(server, "/")
	return h
}

// storedCredentials are the user's login for server, from config.json or
// its credential helper, as a pull would use them ("" when none).
func storedCredentials(server string) (user, password string) {
	reg, err := name.NewRegistry(api.RegistryHost(server))
	if err != nil {
		return "", ""
	}
	a, err := authn.DefaultKeychain.Resolve(reg)
	if err != nil || a == authn.Anonymous {
		return "", ""
	}
	cfg, err := a.Authorization()
	if err != nil {
		return "", ""
	}
	if cfg.Username == "" && cfg.Auth != "" {
		if b, err := base64.StdEncoding.DecodeString(cfg.Auth); err == nil {
			cfg.Username, cfg.Password, _ = strings.Cut(string(b), ":")
		}
	}
	return cfg.Username, cfg.Password
}

// dockerConfig is Docker's config.json, kept as raw JSON so that every
// setting berth does not touch is written back as it was.
type dockerConfig struct {
	path string
	raw  map[string]json.RawMessage
}

// dockerConfigPath is config.json under DOCKER_CONFIG, or ~/.docker.
func dockerConfigPath() (string, error) {
	if dir := os.Getenv("DOCKER_CONFIG"); dir != "" {
		return filepath.Join(dir, "config.json"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("finding Docker's config.json: %w", err)
	}
	return filepath.Join(home, ".docker", "config.json"), nil
}

func loadDockerConfig() (*dockerConfig, error) {
	path, err := dockerConfigPath()
	if err != nil {
		return nil, err
	}
	c := &dockerConfig{path: path, raw: map[string]json.RawMessage{}}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return nil, err
	}
	if len(bytes.TrimSpace(b)) > 0 {
		if err := json.Unmarshal(b, &c.raw); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}
	return c, nil
}

// auths is config.json's "auths": server → its entry's fields.
func (c *dockerConfig) auths() (map[string]map[string]json.RawMessage, error) {
	out := map[string]map[string]json.RawMessage{}
	if raw, ok := c.raw["auths"]; ok && string(raw) != "null" {
		if err := json.Unmarshal(raw, &out); err != nil {
			return nil, fmt.Errorf("%s: auths: %w", c.path, err)
		}
	}
	return out, nil
}

func (c *dockerConfig) setAuths(a map[string]map[string]json.RawMessage) error {
	b, err := json.Marshal(a)
	if err != nil {
		return err
	}
	c.raw["auths"] = b
	return nil
}

// helper is the credential helper config.json names for key: credHelpers
// by host, else credsStore; "" for the file itself.
func (c *dockerConfig) helper(key string) string {
	var helpers map[string]string
	if raw, ok := c.raw["credHelpers"]; ok {
		_ = json.Unmarshal(raw, &helpers)
	}
	if h := helpers[hostname(key)]; h != "" {
		return h
	}
	var store string
	if raw, ok := c.raw["credsStore"]; ok {
		_ = json.Unmarshal(raw, &store)
	}
	return store
}

// save writes config.json atomically, mode 0600, as docker does; a
// symlinked config.json is written through.
func (c *dockerConfig) save() error {
	b, err := json.MarshalIndent(c.raw, "", "\t")
	if err != nil {
		return err
	}
	path := c.path
	if p, err := filepath.EvalSymlinks(path); err == nil {
		path = p
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	return atomicfile.WriteFile(path, append(b, '\n'), 0o600)
}

// storeCredentials saves a login for server where docker would: in the
// credential helper config.json names, or in its auths. inFile says which.
func storeCredentials(ctx context.Context, server, user, password, identityToken string) (path string, inFile bool, err error) {
	cfg, err := loadDockerConfig()
	if err != nil {
		return "", false, err
	}
	key := credentialKey(server)
	auths, err := cfg.auths()
	if err != nil {
		return "", false, err
	}
	entry := map[string]json.RawMessage{}
	if h := cfg.helper(key); h != "" {
		secret := password
		if identityToken != "" {
			user, secret = "<token>", identityToken
		}
		if err := runCredentialHelper(ctx, h, "store", map[string]string{"ServerURL": key, "Username": user, "Secret": secret}); err != nil {
			return "", false, err
		}
	} else {
		if identityToken != "" {
			password = ""
			entry["identitytoken"], _ = json.Marshal(identityToken)
		}
		entry["auth"], _ = json.Marshal(base64.StdEncoding.EncodeToString([]byte(user + ":" + password)))
	}
	auths[key] = entry
	if err := cfg.setAuths(auths); err != nil {
		return "", false, err
	}
	return cfg.path, cfg.helper(key) == "", cfg.save()
}

// runCredentialHelper runs docker-credential-<helper> <action> with input
// on its standard input, as docker does.
func runCredentialHelper(ctx context.Context, helper, action string, input any) error {
	var stdin []byte
	switch v := input.(type) {
	case string:
		stdin = []byte(v)
	default:
		var err error
		if stdin, err = json.Marshal(v); err != nil {
			return err
		}
	}
	argv := []string{"docker-credential-" + helper, action}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Stdin = bytes.NewReader(stdin)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %w: %s", strings.Join(argv, " "), err, strings.TrimSpace(out.String()))
	}
	return nil
}
