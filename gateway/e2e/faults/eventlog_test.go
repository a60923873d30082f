package faults

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/liftlabs/lift/gateway/internal/stacktest"
	"github.com/liftlabs/lift/pkg/pgtest"
	"github.com/liftlabs/lift/services/results/resultstest"
	"google.golang.org/grpc/codes"
)

// eventLoad posts SDK batches of perBatch visitors (2 events each) from
// two clients until stopped, keeping what each reply was.
type eventLoad struct {
	mu       sync.Mutex
	acked    []string // batch prefixes answered 204
	statuses map[string]int
	sent     int
	stop     func()
}

const perBatch = 10

func startEventLoad(t *testing.T, s *stacktest.Stack, e stacktest.Experiment, pause time.Duration) *eventLoad {
	l := &eventLoad{statuses: map[string]int{}}
	path := "/v1/events?sdk_key=" + s.SDKKey(t, "production")
	l.stop = load(2, func(w int) {
		l.mu.Lock()
		prefix := fmt.Sprintf("w%d-b%d-", w, l.sent)
		l.sent++
		l.mu.Unlock()
		r := send(s.GW, "POST", path, "", string(s.SDKBatch(t, e, prefix, perBatch)))
		l.mu.Lock()
		l.statuses[fmt.Sprintf("%d/%s", r.status, codes.Code(r.code))]++
		if r.status == http.StatusNoContent {
			l.acked = append(l.acked, prefix)
		}
		l.mu.Unlock()
		time.Sleep(pause)
	})
	return l
}

func (l *eventLoad) count(key string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	if key == "acked" {
		return len(l.acked)
	}
	return l.statuses[key]
}

// ackedEvents is every event of the acknowledged batches.
func (l *eventLoad) ackedEvents() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var uuids []string
	for _, p := range l.acked {
		for i := range perBatch {
			uuids = append(uuids, fmt.Sprintf("imp-%s%d", p, i), fmt.Sprintf("conv-%s%d", p, i))
		}
	}
	return uuids
}

// storedOf counts how many of uuids the results database holds.
func storedOf(t *testing.T, pool *pgxpool.Pool, uuids []string) int {
	var n int
	if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM events WHERE uuid = ANY($1)`, uuids).Scan(&n); err != nil {
		return -1 // the database may be restarting
	}
	return n
}

// outage is how long the results database is down under load.
const outage = 60 * time.Second

// With the event log, the results database down for a minute under steady
// SDK load is invisible to clients: every batch is answered 204 (the log
// has it), and once Postgres is back the backlog drains and every
// acknowledged event is stored exactly once.
func TestFault_PostgresDownAMinuteClientsSeeNoErrorAndLoseNothing(t *testing.T) {
	db := pgtest.NewCluster(t)
	s := stacktest.Start(t, stacktest.Options{Results: resultstest.Options{DatabaseURL: db.URL, EventLog: true}})
	e := s.CreateExperiment(t, "purchase")
	s.Must(t, "POST", "/v1/experiments/"+e.ID+":start", s.Admin, "{}", http.StatusOK, nil)
	l := startEventLoad(t, s, e, 40*time.Millisecond)
	defer l.stop()
	waitFor(t, 60*time.Second, "batches acknowledged before the outage", func() bool { return l.count("acked") >= 20 })
	db.Stop(t)
	before := l.count("acked")
	time.Sleep(outage)
	during := l.count("acked") - before
	db.Start(t)
	back := time.Now()
	l.stop()

	uuids := l.ackedEvents()
	pool, err := pgxpool.New(context.Background(), db.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	var total int
	waitFor(t, 120*time.Second, "the backlog stored", func() bool {
		time.Sleep(50 * time.Millisecond)
		return pool.QueryRow(context.Background(), `SELECT count(*) FROM events`).Scan(&total) == nil && total >= len(uuids)
	})
	drain := time.Since(back)
	if got := storedOf(t, pool, uuids); got != len(uuids) {
		t.Errorf("%d of the %d acknowledged events are stored", got, len(uuids))
	}
	t.Logf("batches sent %d, replies %v; %d batches (%d events) acknowledged during the %s outage", l.sent, l.statuses, during, during*perBatch*2, outage)
	t.Logf("backlog drained %s after Postgres returned: %.0f events/s", drain.Round(time.Millisecond), float64(during*perBatch*2)/drain.Seconds())
	for k, n := range l.statuses {
		if k != "204/OK" {
			t.Errorf("%d replies %s: a database outage must not reach the clients", n, k)
		}
	}
	if during == 0 {
		t.Error("nothing was acknowledged during the outage")
	}
	if total != len(uuids) {
		t.Errorf("events table holds %d rows, %d were acknowledged (no loss, no duplicates)", total, len(uuids))
	}
}

// natsProcess runs the machine's nats-server as a child process with
// JetStream in dir, on port (0: a free one), so the test can SIGKILL it.
type natsProcess struct {
	bin, dir string
	port     int
	cmd      *exec.Cmd
}

func startNATSProcess(t *testing.T) *natsProcess {
	t.Helper()
	bin, err := exec.LookPath("nats-server")
	if err != nil {
		if _, serr := os.Stat("/usr/sbin/nats-server"); serr != nil {
			t.Fatal("nats-server is not installed (apt-get install nats-server; .ci/run does it)")
		}
		bin = "/usr/sbin/nats-server"
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := lis.Addr().(*net.TCPAddr).Port
	lis.Close()
	p := &natsProcess{bin: bin, dir: t.TempDir(), port: port}
	p.start(t)
	t.Cleanup(func() { _ = p.cmd.Process.Kill(); _ = p.cmd.Wait() })
	return p
}

func (p *natsProcess) url() string { return "nats://127.0.0.1:" + strconv.Itoa(p.port) }

func (p *natsProcess) start(t *testing.T) {
	t.Helper()
	p.cmd = exec.Command(p.bin, "-a", "127.0.0.1", "-p", strconv.Itoa(p.port), "-js", "-sd", p.dir)
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "nats-server accepting connections", func() bool {
		c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(p.port))
		if err == nil {
			c.Close()
		}
		return err == nil
	})
}

// kill sends SIGKILL: no flush, no goodbye to the clients.
func (p *natsProcess) kill(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = p.cmd.Wait()
}

// The NATS server SIGKILLed and restarted under load: clients get 503
// (retry) while it is down, never a 204 for a batch the log does not have,
// and every acknowledged event is stored.
func TestFault_NATSKilledLosesNoAcknowledgedEvent(t *testing.T) {
	n := startNATSProcess(t)
	s := stacktest.Start(t, stacktest.Options{Results: resultstest.Options{NATSURL: n.url()}})
	e := s.CreateExperiment(t, "purchase")
	s.Must(t, "POST", "/v1/experiments/"+e.ID+":start", s.Admin, "{}", http.StatusOK, nil)
	l := startEventLoad(t, s, e, 5*time.Millisecond)
	defer l.stop()
	waitFor(t, 60*time.Second, "batches acknowledged before the kill", func() bool { return l.count("acked") >= 20 })
	n.kill(t)
	refused := l.count("503/Unavailable")
	waitFor(t, 60*time.Second, "clients told to retry while NATS is down", func() bool { return l.count("503/Unavailable") >= refused+5 })
	n.start(t)
	after := l.count("acked")
	waitFor(t, 60*time.Second, "batches acknowledged after the restart", func() bool { return l.count("acked") >= after+20 })
	l.stop()

	uuids := l.ackedEvents()
	waitFor(t, 60*time.Second, "every acknowledged event stored", func() bool { return storedOf(t, s.Results.Pool, uuids) == len(uuids) })
	t.Logf("batches sent %d, replies %v; %d events acknowledged, all stored", l.sent, l.statuses, len(uuids))
	for k, c := range l.statuses {
		if k != "204/OK" && k != "503/Unavailable" {
			t.Errorf("%d replies %s: NATS down must answer 503 UNAVAILABLE (retry)", c, k)
		}
	}
}
