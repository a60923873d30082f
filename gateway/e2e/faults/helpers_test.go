package faults

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/liftlabs/lift/gateway/gatewaytest"
)

// reply is one HTTP exchange as a load generator sees it: the status (0
// for a transport error), the google.rpc.Status code of an error body, and
// how long it took.
type reply struct {
	status, code int
	took         time.Duration
}

// send makes one request without failing the test (it may run in a load
// goroutine). headers are "Key", "Value" pairs.
func send(gw *gatewaytest.Env, method, path, token string, body string, headers ...string) reply {
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, gw.URL+path, r)
	if err != nil {
		return reply{}
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	start := time.Now()
	resp, err := gw.Client.Do(req)
	if err != nil {
		return reply{took: time.Since(start)}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	out := reply{status: resp.StatusCode, took: time.Since(start)}
	if resp.StatusCode >= 400 {
		var st struct {
			Code int `json:"code"`
		}
		_ = json.Unmarshal(b, &st)
		out.code = st.Code
	}
	return out
}

// tally counts the replies of one kind of request in one phase.
type tally struct {
	mu       sync.Mutex
	statuses map[int]int
	codes    map[int]int
	maxFail  time.Duration
}

func (t *tally) add(r reply) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.statuses == nil {
		t.statuses, t.codes = map[int]int{}, map[int]int{}
	}
	t.statuses[r.status]++
	if r.status != http.StatusOK {
		t.codes[r.code]++
		t.maxFail = max(t.maxFail, r.took)
	}
}

func (t *tally) count(status int) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.statuses[status]
}

func (t *tally) total() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for _, c := range t.statuses {
		n += c
	}
	return n
}

func (t *tally) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	b, _ := json.Marshal(map[string]any{"statuses": t.statuses, "error_codes": t.codes, "slowest_failure": t.maxFail.String()})
	return string(b)
}

// waitFor polls cond until it holds, failing the test after limit.
func waitFor(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(limit); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", limit, what)
		}
	}
}

// load runs f in workers goroutines until stop is called; stop waits for
// them.
func load(workers int, f func(worker int)) (stop func()) {
	var done atomic.Bool
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !done.Load() {
				f(w)
			}
		}()
	}
	return func() { done.Store(true); wg.Wait() }
}

// latencyProxy forwards TCP connections to target, holding every chunk
// sent toward the target for the current latency (each chunk for that
// long after it arrived, not one after the other): a slow network or a
// slow backend, as the gateway sees it.
type latencyProxy struct {
	lis     net.Listener
	target  string
	latency atomic.Int64
	wg      sync.WaitGroup
	mu      sync.Mutex
	conns   []net.Conn
}

func startLatencyProxy(t *testing.T, target string) *latencyProxy {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &latencyProxy{lis: lis, target: target}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.close)
	return p
}

func (p *latencyProxy) Addr() string { return p.lis.Addr().String() }

func (p *latencyProxy) SetLatency(d time.Duration) { p.latency.Store(int64(d)) }

func (p *latencyProxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.lis.Accept()
		if err != nil {
			return
		}
		u, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, c, u)
		p.mu.Unlock()
		p.wg.Add(2)
		go func() { defer p.wg.Done(); p.delayed(u, c) }()
		go func() { defer p.wg.Done(); _, _ = io.Copy(c, u); c.Close() }()
	}
}

type chunk struct {
	b  []byte
	at time.Time
}

// delayed copies src to dst, each chunk latency after it was read.
func (p *latencyProxy) delayed(dst, src net.Conn) {
	q := make(chan chunk, 1024)
	go func() {
		defer close(q)
		r := bufio.NewReader(src)
		for {
			b := make([]byte, 32<<10)
			n, err := r.Read(b)
			if n > 0 {
				q <- chunk{b[:n], time.Now()}
			}
			if err != nil {
				return
			}
		}
	}()
	for c := range q {
		time.Sleep(time.Until(c.at.Add(time.Duration(p.latency.Load()))))
		if _, err := dst.Write(c.b); err != nil {
			break
		}
	}
	dst.Close()
	for range q { // let the reader finish
	}
}

func (p *latencyProxy) close() {
	p.lis.Close()
	p.mu.Lock()
	for _, c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}
