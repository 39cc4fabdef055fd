// SPDX-License-Identifier: MIT

package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"

	"github.com/pptp-go/pptp/pppconf"
)

// SetupArgs is `pptp setup`: pptp-linux's pptpsetup 0.03 with the same options and files.
type SetupArgs struct {
	Create, Delete   string // tunnel name (--create / --delete)
	Server, Domain   string
	Username         string
	Password         string
	PasswordGiven    bool
	Encrypt, Start   bool
	Help             bool
	pptpPath, pppDir string // for tests: the pty command's binary and the ppp directory
}

var setupSpecs = []getoptSpec{
	{name: "create", hasArg: true, short: 'c', compat: true},
	{name: "delete", hasArg: true, compat: true},
	{name: "help", short: 'h', compat: true},
	{name: "server", hasArg: true, short: 's', compat: true},
	{name: "domain", hasArg: true, short: 'd', compat: true},
	{name: "username", hasArg: true, short: 'u', compat: true},
	{name: "password", hasArg: true, short: 'p', compat: true},
	{name: "encrypt", short: 'e', compat: true},
	{name: "start", compat: true},
}

// isSetupCommand tells `pptp setup --create …` from a pptp-linux call to a host named
// "setup": only a pptpsetup option after the word makes it the subcommand.
func isSetupCommand(args []string) bool {
	if len(args) < 2 || args[0] != "setup" {
		return false
	}
	for _, a := range args[1:] {
		name, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !strings.HasPrefix(a, "-") || name == "" {
			continue
		}
		if s, err := getoptFind(name, setupSpecs); err == nil && (s.name == "create" || s.name == "delete" || s.name == "help") {
			return true
		}
		if len(a) == 2 && (a[1] == 'c' || a[1] == 'h') {
			return true
		}
	}
	return false
}

// ParseSetupArgs parses `pptp setup` arguments (after the word "setup").
func ParseSetupArgs(args []string) (*SetupArgs, error) {
	a := &SetupArgs{}
	ops, err := getoptLong(args, setupSpecs, func(s *getoptSpec, v string) error {
		switch s.name {
		case "create":
			a.Create = v
		case "delete":
			a.Delete = v
		case "help":
			a.Help = true
		case "server":
			a.Server = v
		case "domain":
			a.Domain = v
		case "username":
			a.Username = v
		case "password":
			a.Password, a.PasswordGiven = v, true
		case "encrypt":
			a.Encrypt = true
		case "start":
			a.Start = true
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(ops) > 0 {
		return nil, usageErr("unexpected argument %q", ops[0])
	}
	if a.Create == "" && a.Delete == "" && !a.Help {
		return nil, usageErr("too few arguments")
	}
	return a, nil
}

// SetupUsage is `pptp setup --help`.
func SetupUsage() string {
	return `pptp setup --create TUNNEL --server SERVER [--domain DOMAIN]
           --username USERNAME [--password PASSWORD]
           [--encrypt] [--start]

pptp setup --delete TUNNEL

Writes PPPDIR/peers/TUNNEL (a pppd peers file whose pty runs pptp) and appends the secret
to PPPDIR/chap-secrets, as pptp-linux's pptpsetup does; PPPDIR is /etc/ppp or $PPTP_GO_PPPDIR.
--encrypt adds require-mppe-128. --start connects: the pptp@TUNNEL unit under systemd,
else "pppd call TUNNEL updetach" when pppd is installed, else "pptp call TUNNEL".
--delete removes the peers file and every chap-secrets line naming TUNNEL as a word
(the old file is kept as chap-secrets.bkp). Without --password it asks for one.
`
}

// The pty command's binary in the peers file, as pptpsetup writes it.
const setupPPTPPath = "/usr/sbin/pptp"

var (
	tunnelName = regexp.MustCompile(`^\w+$`)
	// pptpsetup escapes a typed password's bytes outside these; we also escape a given one's
	// (pptpsetup writes it raw, so a '"' broke its record) and the backslash, which pppd
	// would otherwise read as an escape.
	secretPlain = regexp.MustCompile(`[^\x20\x21\x23-\x5b\x5d-\x7e]`)
)

func setupMain(args []string) int {
	a, err := ParseSetupArgs(args)
	if err == nil && a.Help {
		fmt.Print(SetupUsage())
		return exitOK
	}
	if err == nil {
		err = a.Run(os.Stdin, os.Stderr)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "pptp setup: %v\n", err)
		var ue *UsageError
		if errors.As(err, &ue) {
			fmt.Fprintln(os.Stderr, "Try 'pptp setup --help' for more information.")
		}
		return exitFatal
	}
	return exitOK
}

// Run creates or deletes the tunnel; a prompt for the password goes to prompt.
func (a *SetupArgs) Run(stdin io.Reader, prompt io.Writer) error {
	if a.pppDir == "" {
		a.pppDir = pppconf.PPPDir
	}
	if a.pptpPath == "" {
		a.pptpPath = setupPPTPPath
	}
	if a.Create != "" {
		if err := a.create(stdin, prompt); err != nil {
			return err
		}
		if a.Start {
			return startTunnel(a.Create)
		}
		return nil
	}
	return a.delete()
}

func (a *SetupArgs) create(stdin io.Reader, prompt io.Writer) error {
	name := a.Create
	switch {
	case !tunnelName.MatchString(name):
		return usageErr("invalid tunnel name %q (letters, digits and _ only)", name)
	case a.Server == "" || strings.ContainsAny(a.Server, " \t\r\n\"\\'"):
		return usageErr("invalid server %q", a.Server)
	case a.Username == "" || strings.ContainsAny(a.Username+a.Domain, " \t\r\n\"'#"):
		return usageErr("invalid username %q", a.Username)
	}
	password := a.Password
	if !a.PasswordGiven {
		fmt.Fprint(prompt, "Password: ")
		var err error
		if f, ok := stdin.(*os.File); ok && isTerminal(int(f.Fd())) {
			password, err = readPassword()
		} else {
			password, err = readPasswordLine(stdin)
		}
		if err != nil {
			return err
		}
	}
	password = secretPlain.ReplaceAllStringFunc(password, func(c string) string { return fmt.Sprintf("\\x%02x", c[0]) })
	user := a.Username
	if a.Domain != "" {
		user = a.Domain + `\` + user
	}

	secrets := filepath.Join(a.pppDir, "chap-secrets")
	f, err := os.OpenFile(secrets, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("cannot write to %s: %w", secrets, err)
	}
	// Secrets stay the owner's alone, whatever mode an existing file had.
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	record := fmt.Sprintf("\n# added by pptpsetup for %s\n%s %s \"%s\" *\n", name, user, name, password)
	if _, err := f.WriteString(record); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", secrets, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("%s: %w", secrets, err)
	}

	peer := fmt.Sprintf("# written by pptpsetup\npty \"%s %s --nolaunchpppd\"\nlock\nnoauth\nnobsdcomp\nnodeflate\nname %s\nremotename %s\nipparam %s\n",
		a.pptpPath, a.Server, user, name, name)
	if a.Encrypt {
		peer += "require-mppe-128\n"
	}
	peers := filepath.Join(a.pppDir, "peers")
	if err := os.MkdirAll(peers, 0o755); err != nil {
		return err
	}
	// pptpsetup's umask 0027: a new peers file is 0640; an existing one keeps its mode.
	path := filepath.Join(peers, name)
	if err := writeFileMode(path, []byte(peer), 0o640); err != nil {
		return fmt.Errorf("cannot write to %s: %w", path, err)
	}
	return nil
}

func writeFileMode(path string, data []byte, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func (a *SetupArgs) delete() error {
	name := a.Delete
	if !tunnelName.MatchString(name) {
		return usageErr("invalid tunnel name %q (letters, digits and _ only)", name)
	}
	peer := filepath.Join(a.pppDir, "peers", name)
	if err := os.Remove(peer); err != nil {
		return fmt.Errorf("cannot delete %s: %w", peer, err)
	}
	secrets := filepath.Join(a.pppDir, "chap-secrets")
	st, err := os.Stat(secrets)
	if err != nil {
		return fmt.Errorf("cannot read %s: %w", secrets, err)
	}
	data, err := os.ReadFile(secrets)
	if err != nil {
		return fmt.Errorf("cannot read %s: %w", secrets, err)
	}
	// pptpsetup drops every line with the name as a word (/\bNAME\b/), comments included.
	word := regexp.MustCompile(`\b` + name + `\b`)
	var kept strings.Builder
	for _, line := range strings.SplitAfter(string(data), "\n") {
		if !word.MatchString(line) {
			kept.WriteString(line)
		}
	}
	if err := os.Rename(secrets, secrets+".bkp"); err != nil {
		return err
	}
	if err := writeFileMode(secrets, []byte(kept.String()), st.Mode().Perm()); err != nil {
		return fmt.Errorf("cannot write %s: %w", secrets, err)
	}
	return os.Chmod(secrets, st.Mode().Perm())
}

// startTunnel connects the new tunnel the way this system runs tunnels.
func startTunnel(name string) error {
	var cmd *exec.Cmd
	if _, err := os.Stat("/run/systemd/system"); err == nil {
		cmd = exec.Command("systemctl", "start", "pptp@"+name+".service")
	} else if pppd, err := exec.LookPath("pppd"); err == nil {
		cmd = exec.Command(pppd, "call", name, "updetach")
	} else {
		self, err := os.Executable()
		if err != nil {
			return err
		}
		// No pppd: our own PPP in the foreground (SIGINT ends it); exec keeps signals simple.
		return syscall.Exec(self, []string{"pptp", "call", name}, os.Environ())
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	return cmd.Run()
}
