package deploy_test

import (
	"bufio"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

// stage is one FROM section of the Dockerfile.
type stage struct {
	name   string
	base   string // an image reference or the name of an earlier stage
	instrs []*parser.Node
}

type dockerfile struct {
	stages []*stage
	byName map[string]*stage
}

func loadDockerfile(t *testing.T) *dockerfile {
	t.Helper()
	f, err := os.Open("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	res, err := parser.Parse(f)
	if err != nil {
		t.Fatalf("parsing Dockerfile: %v", err)
	}
	for _, w := range res.Warnings {
		t.Errorf("Dockerfile: %s", w.Short)
	}
	d := &dockerfile{byName: map[string]*stage{}}
	for _, n := range res.AST.Children {
		n.Value = strings.ToLower(n.Value) // the instruction, as written
		if n.Value == "from" {
			args := words(n)
			s := &stage{base: args[0]}
			if len(args) == 3 && strings.EqualFold(args[1], "as") {
				s.name = args[2]
				d.byName[s.name] = s
			}
			d.stages = append(d.stages, s)
			continue
		}
		if len(d.stages) == 0 {
			continue // ARG before the first FROM
		}
		cur := d.stages[len(d.stages)-1]
		cur.instrs = append(cur.instrs, n)
	}
	return d
}

// words returns an instruction's arguments.
func words(n *parser.Node) []string {
	var out []string
	for a := n.Next; a != nil; a = a.Next {
		out = append(out, a.Value)
	}
	return out
}

// chain returns the stage and the stages it builds on, nearest first.
func (d *dockerfile) chain(name string) []*stage {
	var out []*stage
	for s := d.byName[name]; s != nil; s = d.byName[s.base] {
		out = append(out, s)
	}
	return out
}

// externalBase is the image a stage ultimately starts from.
func (d *dockerfile) externalBase(name string) string {
	c := d.chain(name)
	return c[len(c)-1].base
}

// last returns the arguments of the instruction cmd that takes effect in a
// stage: its own last one, else the one inherited from its base stage.
func (d *dockerfile) last(name, cmd string) *parser.Node {
	for _, s := range d.chain(name) {
		for i := len(s.instrs) - 1; i >= 0; i-- {
			if s.instrs[i].Value == cmd {
				return s.instrs[i]
			}
		}
	}
	return nil
}

// files maps each destination a stage copies from another stage to
// "stage:source".
func (d *dockerfile) files(name string) map[string]string {
	out := map[string]string{}
	for _, s := range d.chain(name) {
		for _, n := range s.instrs {
			from := ""
			for _, f := range n.Flags {
				if v, ok := strings.CutPrefix(f, "--from="); ok {
					from = v
				}
			}
			if n.Value != "copy" || from == "" {
				continue
			}
			args := words(n)
			dst := args[len(args)-1]
			for _, src := range args[:len(args)-1] {
				if strings.HasSuffix(dst, "/") {
					out[dst+path.Base(src)] = from + ":" + src
				} else {
					out[dst] = from + ":" + src
				}
			}
		}
	}
	return out
}

func (d *dockerfile) exposed(name string) []int {
	var out []int
	for _, s := range d.chain(name) {
		for _, n := range s.instrs {
			if n.Value != "expose" {
				continue
			}
			for _, w := range words(n) {
				p, _ := strconv.Atoi(strings.TrimSuffix(w, "/tcp"))
				out = append(out, p)
			}
		}
	}
	return out
}

// distrolessNonroot is the runtime base. Distroless publishes no version
// tags, only digests; the Debian release is fixed by the image name and the
// tag moves only with security updates, which is what we want. Pin the digest
// (…:nonroot@sha256:…) where builds must be reproducible.
const distrolessNonroot = "gcr.io/distroless/static-debian12:nonroot"

// pinned reports whether an image reference names a fixed version: a digest,
// or a tag that starts with a major.minor version.
func pinned(ref string) bool {
	if ref == distrolessNonroot || strings.Contains(ref, "@sha256:") {
		return true
	}
	i := strings.LastIndex(ref, ":")
	if i < 0 || strings.Contains(ref[i:], "/") {
		return false
	}
	return versionTag.MatchString(ref[i+1:])
}

// versionTag is a tag carrying at least major.minor: "15" alone moves.
var versionTag = regexp.MustCompile(`^v?[0-9]+\.[0-9]+`)

func TestDockerfile_OneBuildStageCompilesEveryBinary(t *testing.T) {
	d := loadDockerfile(t)
	var builders []*stage
	for _, s := range d.stages {
		if strings.HasPrefix(s.base, "golang:") {
			builders = append(builders, s)
		}
	}
	if len(builders) != 1 || builders[0].name != "build" {
		t.Fatalf("want exactly one golang stage named build, got %d", len(builders))
	}
	b := builders[0]
	static := false
	var build string
	for _, n := range b.instrs {
		switch n.Value {
		case "env":
			w := words(n)
			for i := 0; i+1 < len(w); i += 3 {
				if w[i] == "CGO_ENABLED" && w[i+1] == "0" {
					static = true
				}
			}
		case "run":
			if cmd := strings.Join(words(n), " "); strings.Contains(cmd, "go build") {
				build = cmd
			}
		}
	}
	if !static {
		t.Error("build stage does not set ENV CGO_ENABLED=0: binaries would not be static")
	}
	if !strings.Contains(build, "-o /out/ ") {
		t.Errorf("go build does not write into /out/: %q", build)
	}
	pkgs := []string{modulePrefix + healthcheckDir}
	for _, b := range binaries {
		pkgs = append(pkgs, b.pkg())
	}
	fields := strings.Fields(build)
	for _, p := range pkgs {
		if !slices.Contains(fields, p) {
			t.Errorf("go build does not build %s", p)
		}
	}
}

func TestDockerfile_BaseImagesPinned(t *testing.T) {
	d := loadDockerfile(t)
	for _, s := range d.stages {
		if d.byName[s.base] != nil {
			continue
		}
		if !pinned(s.base) {
			t.Errorf("stage %q: base image %q is not pinned to a version", s.name, s.base)
		}
	}
}

// TestDockerfile_Targets checks each binary's image: distroless, a numeric
// non-root user (Kubernetes can only verify runAsNonRoot for numeric users),
// the binary as exec-form entrypoint, the health probe beside it and the
// ports it listens on.
func TestDockerfile_Targets(t *testing.T) {
	d := loadDockerfile(t)
	for _, b := range binaries {
		t.Run(b.name, func(t *testing.T) {
			if d.byName[b.name] == nil {
				t.Fatalf("no stage named %s", b.name)
			}
			if base := d.externalBase(b.name); !strings.HasPrefix(base, distrolessNonroot) {
				t.Errorf("runs on %s, want %s", base, distrolessNonroot)
			}
			user := d.last(b.name, "user")
			if user == nil {
				t.Fatal("no USER: the image would run as root")
			}
			uid, err := strconv.Atoi(strings.Split(words(user)[0], ":")[0])
			if err != nil || uid == 0 {
				t.Errorf("USER %s: want a numeric non-root uid", words(user)[0])
			}
			if uid != nonRootUID {
				t.Errorf("USER uid %d, the k8s manifests expect %d", uid, nonRootUID)
			}
			bin := "/usr/local/bin/" + b.name
			ep := d.last(b.name, "entrypoint")
			if ep == nil || !ep.Attributes["json"] || !slices.Equal(words(ep), []string{bin}) {
				t.Errorf("want ENTRYPOINT [%q] in exec form (signals must reach the binary)", bin)
			}
			files := d.files(b.name)
			if got, want := files[bin], "build:/out/"+filepath.Base(b.dir); got != want {
				t.Errorf("%s comes from %q, want %q", bin, got, want)
			}
			if got, want := files[healthcheckPath], "build:/out/"+filepath.Base(healthcheckDir); got != want {
				t.Errorf("%s comes from %q, want %q", healthcheckPath, got, want)
			}
			for _, p := range b.listenPorts() {
				if !slices.Contains(d.exposed(b.name), p) {
					t.Errorf("port %d not exposed", p)
				}
			}
		})
	}
}

// TestDockerignore_KeepsTheWorkspace checks the build context still holds
// go.work and every module it uses.
func TestDockerignore_KeepsTheWorkspace(t *testing.T) {
	root := repoRoot(t)
	need := []string{"go.work"}
	f, err := os.Open(filepath.Join(root, "go.work"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimPrefix(strings.TrimSpace(sc.Text()), "use ")
		if strings.HasPrefix(line, "./") {
			need = append(need, path.Clean(line))
		}
	}
	ignore, err := os.ReadFile(filepath.Join(root, ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	for _, pat := range strings.Split(string(ignore), "\n") {
		pat = strings.TrimSpace(pat)
		if pat == "" || strings.HasPrefix(pat, "#") || strings.HasPrefix(pat, "!") {
			continue
		}
		for _, p := range need {
			for q := p; q != "."; q = path.Dir(q) {
				if ok, _ := path.Match(pat, q); ok {
					t.Errorf(".dockerignore pattern %q drops %s, which the build needs", pat, p)
				}
			}
		}
	}
	if len(need) < 2 {
		t.Fatal("go.work lists no modules")
	}
}
