package attacks

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/liftlabs/lift/gateway/gatewaytest"
	"github.com/liftlabs/lift/gateway/internal/httpmw"
)

// rssBytes is this process's resident set (the gateway runs in it).
func rssBytes(t *testing.T) int64 {
	t.Helper()
	f, err := os.Open("/proc/self/status")
	if err != nil {
		t.Skip("no /proc/self/status")
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	t.Fatal("no VmRSS")
	return 0
}

// unsized hides a reader's length, so the client sends it chunked.
type unsized struct{ io.Reader }

// TestLargeBatches_413AndBoundedMemory (break 4). A 10 MB event batch is
// 413 (results could never accept it: one limit, 4,000,000 bytes, at the
// edge), and 100 of them at once — declared or chunked — grow the
// process's resident memory by less than 100 MB: a declared one is refused
// before reading, chunked ones are cut off at the limit and read only as
// many at a time as the body memory budget holds.
func TestLargeBatches_413AndBoundedMemory(t *testing.T) {
	s, _ := startStack(t, gatewaytest.WithSDKMaxBodyBytes(4_000_000), gatewaytest.WithBodyMemory(httpmw.DefaultBodyMemory))
	url := s.GW.URL + "/v1/events?sdk_key=" + s.SDKKey(t, "production")
	payload := bytes.Repeat([]byte(" "), 10<<20)
	// The key is in use (an SDK fetched its datafile), so the gateway knows
	// it and the uploads are not unknown credentials.
	if r := s.GW.Do(t, "GET", "/datafiles/"+s.SDKKey(t, "production")+".json", "", nil); r.Status != http.StatusOK {
		t.Fatalf("datafile: %d %s", r.Status, r.Body)
	}
	if r := s.GW.Do(t, "POST", "/v1/events?sdk_key="+s.SDKKey(t, "production"), "", payload); r.Status != http.StatusRequestEntityTooLarge {
		t.Fatalf("10 MB batch: %d %s", r.Status, r.Body)
	}

	// This process holds four services' heaps (tens of MB live); at the
	// default GOGC the garbage between two collections can grow as large as
	// all of them and would be counted as the gateway's growth. A lower
	// GOGC for the measurement keeps it to what is really held.
	defer debug.SetGCPercent(debug.SetGCPercent(20))
	client := attackerClient()
	for _, chunked := range []bool{false, true} {
		base := rssBytes(t)
		var peak atomic.Int64
		stop := make(chan struct{})
		sampled := make(chan struct{})
		go func() {
			defer close(sampled)
			for {
				if v := rssBytes(t); v > peak.Load() {
					peak.Store(v)
				}
				select {
				case <-stop:
					return
				case <-time.After(5 * time.Millisecond):
				}
			}
		}()
		start := time.Now()
		var (
			mu       sync.Mutex
			statuses = map[int]int{}
			wg       sync.WaitGroup
		)
		for range 100 {
			wg.Go(func() {
				var body io.Reader = bytes.NewReader(payload)
				if chunked {
					body = unsized{body}
				}
				req, _ := http.NewRequest("POST", url, body)
				st := 0
				if resp, err := client.Do(req); err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					_ = resp.Body.Close()
					st = resp.StatusCode
				}
				mu.Lock()
				statuses[st]++
				mu.Unlock()
			})
		}
		wg.Wait()
		close(stop)
		<-sampled
		growth := peak.Load() - base
		t.Logf("100 concurrent 10 MB batches (chunked %v): statuses %v in %s; RSS %d MB → peak %d MB (growth %d MB)",
			chunked, statuses, ms(time.Since(start)), base>>20, peak.Load()>>20, growth>>20)
		if statuses[http.StatusRequestEntityTooLarge]+statuses[0] != 100 || statuses[http.StatusRequestEntityTooLarge] < 90 {
			// 0: the client saw the connection closed while still sending
			// the rest of a body the gateway had already refused.
			t.Errorf("statuses %v, want 413", statuses)
		}
		if growth >= 100<<20 {
			t.Errorf("RSS grew by %d MB, want < 100 MB", growth>>20)
		}
	}
}
