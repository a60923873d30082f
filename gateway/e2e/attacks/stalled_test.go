package attacks

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestStalledUploads_CannotJam (break 1). 1,100 partial POSTs from one
// address are held open: 600 with invented SDK keys and 500 with the
// environment's real SDK key (SDK keys are public: they ship in web
// pages). Meanwhile a real client from another address gets 200 for an API
// call and its datafile, and /readyz stays 200. Invented keys are refused
// before their body is read (and charged to the address, so most never
// cost a lookup); real-key uploads beyond the address's 100 concurrent
// requests are refused at once; the 100 admitted ones are cut off with 408
// when the upload grace runs out, instead of holding a slot for the
// server's 60 s read timeout.
func TestStalledUploads_CannotJam(t *testing.T) {
	s, calls := startStack(t)
	key := s.SDKKey(t, "production")
	u, err := url.Parse(s.GW.URL)
	if err != nil {
		t.Fatal(err)
	}
	// The real key is in use (an SDK fetched its datafile), so the gateway
	// knows it; the count of lookups starts now.
	if r := s.GW.Do(t, "GET", "/datafiles/"+key+".json", "", nil); r.Status != http.StatusOK {
		t.Fatalf("datafile: %d %s", r.Status, r.Body)
	}
	resolvesBefore := calls.resolve.Load()
	const invented, withRealKey = 600, 500
	d := net.Dialer{LocalAddr: attackerAddr, Timeout: 5 * time.Second}
	conns := make([]net.Conn, 0, invented+withRealKey)
	t.Cleanup(func() {
		for _, c := range conns {
			_ = c.Close()
		}
	})
	opened := time.Now()
	for i := range invented + withRealKey {
		c, err := d.Dial("tcp", u.Host)
		if err != nil {
			t.Fatalf("attacker connection %d: %v", i, err)
		}
		conns = append(conns, c)
		k := key
		if i < invented {
			k = fmt.Sprintf("k%021d", i)
		}
		if _, err := fmt.Fprintf(c, "POST /v1/events?sdk_key=%s HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{", k); err != nil {
			t.Fatalf("attacker write %d: %v", i, err)
		}
	}
	t.Logf("%d stalled uploads opened in %s", len(conns), ms(time.Since(opened)))

	// The real client, while all of them are open (the grace is 2 s).
	start := time.Now()
	for _, p := range []struct{ path, token string }{
		{"/v1/projects", s.Read},
		{"/datafiles/" + key + ".json", ""},
		{"/readyz", ""},
	} {
		if r := s.GW.Do(t, "GET", p.path, p.token, nil); r.Status != http.StatusOK {
			t.Errorf("real client during the attack: GET %s: %d %s", p.path, r.Status, r.Body)
		}
	}
	t.Logf("real client's 3 requests during the attack: %s", ms(time.Since(start)))

	// Every attacker connection gets an answer well before the server's
	// read timeout: 404/429 at once, 408 after the grace.
	statuses := make([]int, len(conns))
	var wg sync.WaitGroup
	for i, c := range conns {
		wg.Go(func() {
			_ = c.SetReadDeadline(opened.Add(15 * time.Second))
			line, err := bufio.NewReader(c).ReadString('\n')
			if err != nil {
				return // statuses[i] stays 0: still held
			}
			if f := strings.Fields(line); len(f) >= 2 {
				statuses[i], _ = strconv.Atoi(f[1])
			}
		})
	}
	wg.Wait()
	count := func(from, to int) map[int]int {
		m := map[int]int{}
		for _, st := range statuses[from:to] {
			m[st]++
		}
		return m
	}
	fake, real := count(0, invented), count(invented, len(conns))
	t.Logf("invented keys: %v; real key: %v (status → count; 0 = still held after 15 s); ResolveSdkKey calls: %d; all answered in %s",
		fake, real, calls.resolve.Load()-resolvesBefore, ms(time.Since(opened)))
	if fake[404]+fake[429] != invented {
		t.Errorf("invented keys: %v, want only 404 (unknown key) and 429 (failure bucket empty)", fake)
	}
	if n, bound := calls.resolve.Load()-resolvesBefore, lookupBound(time.Since(opened)); n > bound {
		t.Errorf("%d ResolveSdkKey calls for %d invented keys, want at most %d (the failure bucket)", n, invented, bound)
	}
	if real[408] > 100 || real[408]+real[429] != withRealKey {
		t.Errorf("real key: %v, want at most 100 cut off with 408 and the rest refused with 429", real)
	}
}
