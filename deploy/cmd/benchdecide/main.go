// Command benchdecide is `make bench-decide`: a load benchmark of
// Optimizely Agent–style decide (POST /v1/decide). It starts `make run`'s
// stack (out/liftrun, with its defaults) in a state directory of its own,
// creates a 1-flag and a 5-flag project through the API (each flag decided
// by a running 50/50 experiment), and runs wrk rounds against Lift, against
// a bare Go net/http handler returning a fixed decide answer (the box's
// ceiling), and against an optional other server (-other, e.g. Optimizely
// Agent configured to fetch Lift's datafiles, so the same SDK keys work),
// alternating them round by round. It prints successful decides/s, p50,
// p99, CPU per decide summed over Lift's processes, and the share of
// impressions results stored.
package main

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/liftlabs/lift/deploy/internal/apiclient"
)

//go:embed decide.lua
var decideLua []byte

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "benchdecide:", err)
		os.Exit(1)
	}
}

type options struct {
	bin, other           string
	duration             time.Duration
	rounds, conns, thrds int
}

func run() error {
	var o options
	flag.StringVar(&o.bin, "bin", "out", "directory of the built binaries (make build)")
	flag.StringVar(&o.other, "other", "", "base URL of another decide server to alternate rounds with (optional)")
	flag.DurationVar(&o.duration, "duration", 10*time.Second, "length of one wrk round")
	flag.IntVar(&o.rounds, "rounds", 3, "rounds per target and setup")
	flag.IntVar(&o.conns, "connections", 50, "wrk connections")
	flag.IntVar(&o.thrds, "threads", 2, "wrk threads")
	flag.Parse()

	wrk, err := findWrk()
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "benchdecide-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	script := filepath.Join(dir, "decide.lua")
	if err := os.WriteFile(script, decideLua, 0o644); err != nil {
		return err
	}
	ctx := context.Background()
	stack, err := startStack(ctx, o.bin, dir)
	if err != nil {
		return err
	}
	defer stack.stop()
	fmt.Printf("Lift (make run's defaults) at %s; log in %s\n", stack.url, stack.log)

	api := apiclient.New(stack.url, stack.token)
	var setups []*setup
	for _, n := range []int{1, 5} {
		s, err := createSetup(ctx, api, n)
		if err != nil {
			return fmt.Errorf("creating the %d-flag setup: %w", n, err)
		}
		setups = append(setups, s)
	}
	for _, s := range setups {
		if err := s.measure(ctx, o, wrk, script, stack); err != nil {
			return err
		}
	}
	fmt.Println()
	for _, s := range setups {
		if err := s.countImpressions(ctx, api); err != nil {
			return err
		}
	}
	fmt.Println()
	printSummary(setups, o.other != "")
	return nil
}

// findWrk finds wrk, installing the Debian package when running as root.
func findWrk() (string, error) {
	if p, err := exec.LookPath("wrk"); err == nil {
		return p, nil
	}
	if os.Geteuid() != 0 {
		return "", errors.New("wrk is not installed: run `sudo apt-get install wrk` (Debian/Ubuntu package wrk) and try again")
	}
	fmt.Println("installing wrk (apt-get install wrk)")
	for _, args := range [][]string{{"update", "-qq"}, {"install", "-y", "-qq", "wrk"}} {
		cmd := exec.Command("apt-get", args...)
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		if err := cmd.Run(); err != nil {
			return "", fmt.Errorf("apt-get %s: %w", args[0], err)
		}
	}
	return exec.LookPath("wrk")
}

// stack is a running out/liftrun.
type stack struct {
	cmd        *exec.Cmd
	url, token string
	log        string
}

// startStack runs liftrun with its defaults, except for a state directory
// of its own (LIFT_RUN_PORT_OFFSET and LIFT_RUN_DB_PREFIX pass through).
func startStack(ctx context.Context, bin, dir string) (*stack, error) {
	offset, _ := strconv.Atoi(os.Getenv("LIFT_RUN_PORT_OFFSET"))
	s := &stack{url: fmt.Sprintf("http://127.0.0.1:%d", 8080+offset), log: filepath.Join(dir, "liftrun.log")}
	if c, err := net.DialTimeout("tcp", strings.TrimPrefix(s.url, "http://"), time.Second); err == nil {
		c.Close()
		return nil, fmt.Errorf("%s is already in use: stop the Lift running there, or set LIFT_RUN_PORT_OFFSET", s.url)
	}
	logFile, err := os.Create(s.log)
	if err != nil {
		return nil, err
	}
	state := filepath.Join(dir, "state")
	s.cmd = exec.Command(filepath.Join(bin, "liftrun"))
	s.cmd.Env = append(os.Environ(), "LIFT_RUN_STATE="+state, "LIFT_RUN_BIN="+bin)
	s.cmd.Stdout, s.cmd.Stderr = logFile, logFile
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s/liftrun (run make build first): %w", bin, err)
	}
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		var st struct {
			Token string `json:"token"`
		}
		if b, err := os.ReadFile(filepath.Join(state, "demo.json")); err == nil && json.Unmarshal(b, &st) == nil && st.Token != "" {
			s.token = st.Token
			return s, nil
		}
		if s.cmd.ProcessState != nil {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	s.stop()
	return nil, fmt.Errorf("liftrun did not come up in 90 s; see %s", s.log)
}

func (s *stack) stop() {
	_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGINT)
	done := make(chan struct{})
	go func() { _ = s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
	}
}

// cpu is the CPU time used so far by liftrun and every process under it.
func (s *stack) cpu() time.Duration {
	pids := []int{s.cmd.Process.Pid}
	entries, _ := os.ReadDir("/proc")
	parent := map[int]int{}
	ticks := map[int]int64{}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// Fields after the command name (which may hold spaces): state,
		// ppid, ... utime (14th field overall), stime (15th).
		f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
		if len(f) < 13 {
			continue
		}
		parent[pid], _ = strconv.Atoi(f[1])
		ut, _ := strconv.ParseInt(f[11], 10, 64)
		st, _ := strconv.ParseInt(f[12], 10, 64)
		ticks[pid] = ut + st
	}
	var total int64
	for len(pids) > 0 {
		p := pids[0]
		pids = pids[1:]
		total += ticks[p]
		for c, pp := range parent {
			if pp == p {
				pids = append(pids, c)
			}
		}
	}
	const clockTicks = 100 // USER_HZ on Linux
	return time.Duration(total) * time.Second / clockTicks
}

// setup is one project whose flags are each decided by a running 50/50
// experiment.
type setup struct {
	flags       int
	sdkKey      string
	experiments []string
	ceiling     []byte // Lift's answer for one user, served by the bare handler
	results     map[string][]round
	decided     int64 // successful Lift decides, each one impression per flag
	stored      []float64
}

type round struct {
	Requests   int64 `json:"requests"`
	DurationUS int64 `json:"duration_us"`
	BadStatus  int64 `json:"bad_status"`
	SocketErrs int64 `json:"socket_errors"`
	P50US      int64 `json:"p50_us"`
	P99US      int64 `json:"p99_us"`
	cpu        time.Duration
}

func (r round) okPerSec() float64 {
	return float64(r.Requests-r.BadStatus) / (float64(r.DurationUS) / 1e6)
}

func createSetup(ctx context.Context, api *apiclient.Client, flags int) (*setup, error) {
	s := &setup{flags: flags, results: map[string][]round{}}
	var p struct {
		Project struct {
			ID string `json:"id"`
		} `json:"project"`
	}
	name := fmt.Sprintf("bench %d flags %d", flags, time.Now().UnixNano())
	if _, err := api.Do(ctx, "POST", "/v1/projects", map[string]any{"name": name}, &p); err != nil {
		return nil, err
	}
	var envs struct {
		Environments []struct {
			Key    string `json:"key"`
			SDKKey string `json:"sdkKey"`
		} `json:"environments"`
	}
	if _, err := api.Do(ctx, "GET", "/v1/projects/"+p.Project.ID+"/environments", nil, &envs); err != nil {
		return nil, err
	}
	for _, e := range envs.Environments {
		if e.Key == "production" {
			s.sdkKey = e.SDKKey
		}
	}
	for i := range flags {
		key := fmt.Sprintf("flag_%d", i)
		var f struct {
			Flag struct {
				ID string `json:"id"`
			} `json:"flag"`
		}
		if _, err := api.Do(ctx, "POST", "/v1/projects/"+p.Project.ID+"/flags", map[string]any{"key": key, "name": key}, &f); err != nil {
			return nil, err
		}
		var e struct {
			Experiment struct {
				ID string `json:"id"`
			} `json:"experiment"`
		}
		if _, err := api.Do(ctx, "POST", "/v1/projects/"+p.Project.ID+"/experiments", map[string]any{
			"key": key + "_test", "name": key + " test", "flagId": f.Flag.ID, "environmentKeys": []string{"production"},
			"variations": []map[string]any{
				{"key": "control", "weight": 5000, "baseline": true, "featureEnabled": true},
				{"key": "treatment", "weight": 5000, "featureEnabled": true},
			},
		}, &e); err != nil {
			return nil, err
		}
		if _, err := api.Do(ctx, "POST", "/v1/experiments/"+e.Experiment.ID+":start", map[string]any{}, nil); err != nil {
			return nil, err
		}
		s.experiments = append(s.experiments, e.Experiment.ID)
	}
	// One decide loads the key's engine; its answer is the ceiling's.
	req, _ := http.NewRequestWithContext(ctx, "POST", api.BaseURL+"/v1/decide", strings.NewReader(`{"userId":"warmup","decideOptions":["DISABLE_DECISION_EVENT"]}`))
	req.Header.Set("X-Optimizely-SDK-Key", s.sdkKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("warm-up decide: %d %s", resp.StatusCode, buf.String())
	}
	s.ceiling = buf.Bytes()
	return s, nil
}

// measure alternates rounds: Lift, the other server, the bare handler.
func (s *setup) measure(ctx context.Context, o options, wrk, script string, st *stack) error {
	ceiling, stopCeiling, err := serveCeiling(s.ceiling)
	if err != nil {
		return err
	}
	defer stopCeiling()
	// lift-noimp is Lift deciding with DISABLE_DECISION_EVENT: the edge's
	// own cost, without recording impressions on the event path.
	targets := []struct{ name, url string }{{"lift", st.url}, {"lift-noimp", st.url}}
	if o.other != "" {
		targets = append(targets, struct{ name, url string }{"other", strings.TrimRight(o.other, "/")})
	}
	targets = append(targets, struct{ name, url string }{"ceiling", ceiling})
	fmt.Printf("\n%d flag(s), SDK key %s: wrk -t%d -c%d -d%s, %d rounds\n", s.flags, s.sdkKey, o.thrds, o.conns, o.duration, o.rounds)
	for r := range o.rounds {
		for _, t := range targets {
			before, selfBefore := st.cpu(), selfCPU()
			options := "[]"
			if t.name == "lift-noimp" {
				options = `["DISABLE_DECISION_EVENT"]`
			}
			res, err := runWrk(ctx, wrk, script, t.url, s.sdkKey, fmt.Sprintf("%s-%d-%d-%d", t.name, s.flags, r, time.Now().UnixNano()), options, o)
			if err != nil {
				return fmt.Errorf("%s round %d: %w", t.name, r, err)
			}
			res.cpu = st.cpu() - before
			if t.name == "ceiling" { // the bare handler runs in this process
				res.cpu = selfCPU() - selfBefore
			}
			s.results[t.name] = append(s.results[t.name], res)
			line := fmt.Sprintf("  round %d %-8s %8.0f ok/s  p50 %6.2f ms  p99 %6.2f ms  non-2xx %d  socket errors %d",
				r+1, t.name, res.okPerSec(), float64(res.P50US)/1000, float64(res.P99US)/1000, res.BadStatus, res.SocketErrs)
			if t.name == "lift" {
				s.decided += res.Requests - res.BadStatus
			}
			if t.name != "other" {
				line += fmt.Sprintf("  CPU %.1f µs/decide", cpuPerDecide(res))
			}
			fmt.Println(line)
		}
	}
	return nil
}

// selfCPU is this process's CPU time (the bare handler's, during its
// rounds).
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func cpuPerDecide(r round) float64 {
	ok := r.Requests - r.BadStatus
	if ok <= 0 {
		return 0
	}
	return float64(r.cpu.Microseconds()) / float64(ok)
}

func runWrk(ctx context.Context, wrk, script, url, sdkKey, prefix, decideOptions string, o options) (round, error) {
	cmd := exec.CommandContext(ctx, wrk, "-t", strconv.Itoa(o.thrds), "-c", strconv.Itoa(o.conns),
		"-d", fmt.Sprintf("%ds", int(o.duration.Seconds())), "--latency", "-s", script, url)
	cmd.Env = append(os.Environ(), "BENCH_SDK_KEY="+sdkKey, "BENCH_PREFIX="+prefix, "BENCH_OPTIONS="+decideOptions)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return round{}, fmt.Errorf("%v: %s", err, out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(line, `{"requests"`) {
			var r round
			err := json.Unmarshal([]byte(line), &r)
			return r, err
		}
	}
	return round{}, fmt.Errorf("no summary in wrk's output: %s", out)
}

// serveCeiling serves body for every request from a bare net/http server.
func serveCeiling(body []byte) (string, func(), error) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var discard [512]byte
		for {
			if _, err := r.Body.Read(discard[:]); err != nil {
				break
			}
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	})}
	go func() { _ = srv.Serve(lis) }()
	return "http://" + lis.Addr().String(), func() { _ = srv.Close() }, nil
}

// countImpressions waits until results' visitor counts stop growing and
// compares them with the successful decides (each decide of this setup
// buckets the user into every flag's experiment: one impression each).
func (s *setup) countImpressions(ctx context.Context, api *apiclient.Client) error {
	var last []int64
	stable := time.Now()
	for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(time.Second) {
		counts := make([]int64, len(s.experiments))
		for i, id := range s.experiments {
			var out struct {
				Results struct {
					Reach struct {
						Variations []struct {
							Count json.Number `json:"count"` // int64: a string in protojson
						} `json:"variations"`
					} `json:"reach"`
				} `json:"results"`
			}
			if _, err := api.Do(ctx, "GET", "/v1/experiments/"+id+"/results", nil, &out); err != nil {
				return err
			}
			for _, v := range out.Results.Reach.Variations {
				n, _ := v.Count.Int64()
				counts[i] += n
			}
		}
		if !slices.Equal(counts, last) {
			last, stable = counts, time.Now()
		}
		if time.Since(stable) > 5*time.Second || sum(counts) == s.decided*int64(len(counts)) {
			break
		}
	}
	// Decides still in flight when wrk stopped are not in its count but
	// their impressions are stored: a share can exceed 100 % a little.
	s.stored = make([]float64, len(last))
	for i, n := range last {
		s.stored[i] = float64(n) / float64(max(s.decided, 1))
	}
	fmt.Printf("%d flag(s): %d successful decides; impressions stored per experiment: %v\n", s.flags, s.decided, last)
	return nil
}

func sum(v []int64) (t int64) {
	for _, x := range v {
		t += x
	}
	return t
}

func median(v []float64) float64 {
	v = slices.Clone(v)
	slices.Sort(v)
	if len(v) == 0 {
		return 0
	}
	return v[len(v)/2]
}

func printSummary(setups []*setup, other bool) {
	fmt.Println("summary (medians over rounds)")
	for _, s := range setups {
		stat := func(name string, f func(round) float64) float64 {
			var v []float64
			for _, r := range s.results[name] {
				v = append(v, f(r))
			}
			return median(v)
		}
		ok := func(r round) float64 { return r.okPerSec() }
		p50 := func(r round) float64 { return float64(r.P50US) / 1000 }
		p99 := func(r round) float64 { return float64(r.P99US) / 1000 }
		lift, ceiling := stat("lift", ok), stat("ceiling", ok)
		noimp := stat("lift-noimp", ok)
		fmt.Printf("  %d flag(s): Lift %.0f decides/s (p50 %.2f ms, p99 %.2f ms, CPU %.1f µs/decide); without impressions %.0f/s (p50 %.2f ms, p99 %.2f ms, CPU %.1f µs/decide); bare handler %.0f/s (p50 %.2f ms, p99 %.2f ms, CPU %.1f µs/answer): Lift/ceiling %.2f, without impressions %.2f",
			s.flags, lift, stat("lift", p50), stat("lift", p99), stat("lift", cpuPerDecide),
			noimp, stat("lift-noimp", p50), stat("lift-noimp", p99), stat("lift-noimp", cpuPerDecide),
			ceiling, stat("ceiling", p50), stat("ceiling", p99), stat("ceiling", cpuPerDecide), lift/ceiling, noimp/ceiling)
		if other {
			o := stat("other", ok)
			fmt.Printf("; other %.0f/s (p50 %.2f ms, p99 %.2f ms): Lift/other %.2f", o, stat("other", p50), stat("other", p99), lift/o)
		}
		minShare := math.Inf(1)
		for _, f := range s.stored {
			minShare = min(minShare, f)
		}
		fmt.Printf("; impressions stored %.1f %%\n", 100*minShare)
	}
}
