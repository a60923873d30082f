package eventlog_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/liftlabs/lift/pkg/eventlog"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go/jetstream"
)

func start(t *testing.T, dir string, port int) *server.Server {
	t.Helper()
	s, err := eventlog.RunEmbedded(eventlog.EmbeddedOptions{Dir: dir, Port: port})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Shutdown)
	return s
}

func open(t *testing.T, url string) *eventlog.Log {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	l, err := eventlog.Open(ctx, eventlog.Options{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.Close)
	return l
}

func TestPublishDeduplicatesByID(t *testing.T) {
	s := start(t, t.TempDir(), 0)
	l := open(t, s.ClientURL())
	ctx := context.Background()
	m := eventlog.Message{Subject: eventlog.Subject("7", "production"), ID: "batch-1", Header: map[string]string{"Lift-Kind": "x"}, Data: []byte("a")}
	first, err := l.Publish(ctx, m)
	if err != nil {
		t.Fatal(err)
	}
	again, err := l.Publish(ctx, m)
	if err != nil || again != first {
		t.Fatalf("resent batch: seq %d, %v; want %d", again, err, first)
	}
	m.ID, m.Data = "batch-2", []byte("b")
	if second, err := l.Publish(ctx, m); err != nil || second != first+1 {
		t.Fatalf("second batch: seq %d, %v", second, err)
	}
	last, err := l.LastSequence(ctx)
	if err != nil || last != first+1 {
		t.Fatalf("last sequence %d, %v", last, err)
	}

	c, err := l.Consumer(ctx, eventlog.ConsumerOptions{Durable: "results", MaxAckPending: 10, AckWait: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	waitCtx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if err := eventlog.WaitConsumed(waitCtx, c, last); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("wait before consuming: %v", err)
	}
	batch, err := c.Fetch(10, jetstream.FetchMaxWait(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for msg := range batch.Messages() {
		got = append(got, string(msg.Data())+msg.Headers().Get("Lift-Kind"))
		if err := msg.Ack(); err != nil {
			t.Fatal(err)
		}
	}
	if len(got) != 2 || got[0] != "ax" || got[1] != "bx" {
		t.Fatalf("consumed %q", got)
	}
	waitCtx, cancel = context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := eventlog.WaitConsumed(waitCtx, c, last); err != nil {
		t.Fatalf("wait after consuming: %v", err)
	}
}

// A server shut down hard fails publishes at once (the caller answers
// 503); restarted on the same store, it still holds what it acknowledged.
func TestServerDownFailsPublishAndKeepsAcknowledged(t *testing.T) {
	dir := t.TempDir()
	s := start(t, dir, 0)
	l := open(t, s.ClientURL())
	ctx := context.Background()
	subject := eventlog.Subject("1", "production")
	if _, err := l.Publish(ctx, eventlog.Message{Subject: subject, ID: "kept", Data: []byte("kept")}); err != nil {
		t.Fatal(err)
	}
	s.Shutdown()
	// The first publish may be sent before the client has seen the
	// connection close: it fails at its deadline. Later ones fail at once.
	for i, limit := range []time.Duration{3 * time.Second, 100 * time.Millisecond} {
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		began := time.Now()
		_, err := l.Publish(pctx, eventlog.Message{Subject: subject, ID: "lost", Data: []byte("x")})
		cancel()
		if !errors.Is(err, eventlog.ErrUnavailable) {
			t.Fatalf("publish %d with the server down: %v", i, err)
		}
		if d := time.Since(began); d > limit {
			t.Fatalf("publish %d with the server down took %s", i, d)
		}
	}

	s2 := start(t, dir, 0)
	l2 := open(t, s2.ClientURL())
	last, err := l2.LastSequence(ctx)
	if err != nil || last != 1 {
		t.Fatalf("after restart: last sequence %d, %v", last, err)
	}
}
