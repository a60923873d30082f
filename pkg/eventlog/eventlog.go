// Package eventlog is Lift's durable event log on NATS JetStream: the
// stream SDK event batches are appended to before they are acknowledged,
// and that results consumes into Postgres.
//
// One stream holds every batch, on the subject of its project and
// environment (lift.events.<project>.<environment>). It is file-backed, has
// work-queue retention (a batch leaves the stream once a consumer has
// acknowledged it) and a duplicate window keyed on the batch's message id,
// so a batch resent within the window is appended once.
package eventlog

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Defaults of Options.
const (
	DefaultStream          = "LIFT_EVENTS"
	DefaultDuplicateWindow = 10 * time.Minute
	subjectPrefix          = "lift.events"
)

// Options say which server and stream to use.
type Options struct {
	// URL of the NATS server(s), comma separated (LIFT_NATS_URL).
	URL string
	// Stream is the stream's name; DefaultStream when empty. Tests give
	// each log a name of its own when they share a server.
	Stream string
	// Replicas of the stream: 1 on one server, 3 in a 3-node cluster.
	Replicas int
	// DuplicateWindow is how long a batch's message id is remembered.
	DuplicateWindow time.Duration
	// Name identifies the connection in the server's monitoring.
	Name string
}

// Log is a connection to the stream.
type Log struct {
	nc     *nats.Conn
	js     jetstream.JetStream
	stream jetstream.Stream
	name   string
}

// ErrUnavailable wraps every failure to reach the log: the caller answers
// "unavailable, retry" and acknowledges nothing.
var ErrUnavailable = errors.New("event log unavailable")

// Open connects and makes sure the stream exists with o's configuration,
// retrying until ctx ends while the server is unreachable (a service
// started before NATS waits for it). Once open, the connection reconnects
// by itself; while it is down Publish fails at once rather than buffering.
func Open(ctx context.Context, o Options) (*Log, error) {
	if o.Stream == "" {
		o.Stream = DefaultStream
	}
	if o.Replicas == 0 {
		o.Replicas = 1
	}
	if o.DuplicateWindow == 0 {
		o.DuplicateWindow = DefaultDuplicateWindow
	}
	nc, err := nats.Connect(o.URL,
		nats.Name(o.Name),
		nats.RetryOnFailedConnect(true),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250*time.Millisecond),
		// No reconnect buffer: a publish while disconnected fails now
		// (503 to the client) instead of waiting in memory, where a crash
		// would lose it after the client was told nothing.
		nats.ReconnectBufSize(-1),
	)
	if err != nil {
		return nil, fmt.Errorf("%w: connect %s: %v", ErrUnavailable, o.URL, err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, err
	}
	cfg := jetstream.StreamConfig{
		Name:       o.Stream,
		Subjects:   []string{subjectPrefix + ".*.*"},
		Storage:    jetstream.FileStorage,
		Retention:  jetstream.WorkQueuePolicy,
		Replicas:   o.Replicas,
		Duplicates: o.DuplicateWindow,
	}
	for {
		stream, err := js.CreateOrUpdateStream(ctx, cfg)
		if err == nil {
			return &Log{nc: nc, js: js, stream: stream, name: o.Stream}, nil
		}
		select {
		case <-ctx.Done():
			nc.Close()
			return nil, fmt.Errorf("%w: stream %s: %v", ErrUnavailable, o.Stream, err)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// Close drains nothing: every publish has returned by then.
func (l *Log) Close() { l.nc.Close() }

// Subject is where the batches of one project and environment go.
func Subject(project, environment string) string {
	return subjectPrefix + "." + token(project) + "." + token(environment)
}

// token keeps a name to one subject token.
func token(s string) string {
	if s == "" {
		return "_"
	}
	return strings.Map(func(r rune) rune {
		if r == '.' || r == '*' || r == '>' || r <= ' ' {
			return '_'
		}
		return r
	}, s)
}

// MaxPayload is the largest message the server accepts.
func (l *Log) MaxPayload() int { return int(l.nc.MaxPayload()) }

// Message is one batch to append.
type Message struct {
	Subject string
	// ID deduplicates: a message with the ID of one appended within the
	// duplicate window is not appended again (the answer is the same).
	ID     string
	Header map[string]string
	Data   []byte
}

// Publish appends m and returns its stream sequence once the server has
// stored it (on a majority of the stream's replicas). Any failure wraps
// ErrUnavailable.
func (l *Log) Publish(ctx context.Context, m Message) (uint64, error) {
	// A request sent while the connection is down would only time out:
	// say so at once.
	if !l.nc.IsConnected() {
		return 0, fmt.Errorf("%w: not connected (%s)", ErrUnavailable, l.nc.Status())
	}
	msg := nats.NewMsg(m.Subject)
	msg.Data = m.Data
	for k, v := range m.Header {
		msg.Header.Set(k, v)
	}
	ack, err := l.js.PublishMsg(ctx, msg, jetstream.WithMsgID(m.ID), jetstream.WithExpectStream(l.name))
	if err != nil {
		return 0, fmt.Errorf("%w: publish: %v", ErrUnavailable, err)
	}
	return ack.Sequence, nil
}

// LastSequence is the sequence of the last message appended so far.
func (l *Log) LastSequence(ctx context.Context) (uint64, error) {
	info, err := l.stream.Info(ctx)
	if err != nil {
		return 0, fmt.Errorf("%w: stream info: %v", ErrUnavailable, err)
	}
	return info.State.LastSeq, nil
}

// Backlog is the number of batches in the stream: appended and not yet
// acknowledged by a consumer (the stream is a work queue).
func (l *Log) Backlog(ctx context.Context) (uint64, error) {
	info, err := l.stream.Info(ctx)
	if err != nil {
		return 0, fmt.Errorf("%w: stream info: %v", ErrUnavailable, err)
	}
	return info.State.Msgs, nil
}

// ConsumerOptions configure the durable consumer every results replica
// shares.
type ConsumerOptions struct {
	// Durable is the consumer's name.
	Durable string
	// MaxAckPending bounds the messages handed out and not yet
	// acknowledged, across replicas.
	MaxAckPending int
	// AckWait is how long a message may stay unacknowledged (without
	// InProgress) before it is handed to another replica.
	AckWait time.Duration
}

// Consumer creates or updates the durable pull consumer.
func (l *Log) Consumer(ctx context.Context, o ConsumerOptions) (jetstream.Consumer, error) {
	c, err := l.stream.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{
		Durable:       o.Durable,
		AckPolicy:     jetstream.AckExplicitPolicy,
		MaxAckPending: o.MaxAckPending,
		AckWait:       o.AckWait,
		DeliverPolicy: jetstream.DeliverAllPolicy,
	})
	if err != nil {
		return nil, fmt.Errorf("%w: consumer %s: %v", ErrUnavailable, o.Durable, err)
	}
	return c, nil
}

// WaitConsumed waits until the consumer has acknowledged every message up
// to seq (read-your-writes: a read first waits for the consumer to pass the
// stream's last sequence at its start), polling its state until ctx ends.
func WaitConsumed(ctx context.Context, c jetstream.Consumer, seq uint64) error {
	for wait := time.Millisecond; ; wait = min(2*wait, 20*time.Millisecond) {
		info, err := c.Info(ctx)
		if err != nil {
			return fmt.Errorf("%w: consumer info: %v", ErrUnavailable, err)
		}
		if info.AckFloor.Stream >= seq || (info.Delivered.Stream >= seq && info.NumAckPending == 0) {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
	}
}
