package eventlog

import (
	"fmt"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// EmbeddedOptions configure a NATS server run inside the process.
type EmbeddedOptions struct {
	// Dir holds the JetStream store; it outlives the server, so a restart
	// on the same Dir finds every message not yet consumed.
	Dir string
	// Port to listen on (127.0.0.1); 0 picks a free one.
	Port int
	// SyncAlways fsyncs every write before acknowledging it, so an
	// acknowledged batch survives a machine crash too, not only a crash of
	// the process (see the README's event-path section).
	SyncAlways bool
}

// maxPayload lets one SDK batch (up to 4 MB of JSON) be one message.
const maxPayload = 8 << 20

// RunEmbedded starts a JetStream server in the process (make run and
// tests need no NATS installed). Stop it with Shutdown.
func RunEmbedded(o EmbeddedOptions) (*server.Server, error) {
	port := o.Port
	if port == 0 {
		port = server.RANDOM_PORT
	}
	s, err := server.NewServer(&server.Options{
		Host: "127.0.0.1", Port: port,
		JetStream: true, StoreDir: o.Dir, SyncAlways: o.SyncAlways,
		MaxPayload: maxPayload,
		NoSigs:     true, NoLog: true,
	})
	if err != nil {
		return nil, fmt.Errorf("embedded nats: %w", err)
	}
	go s.Start()
	if !s.ReadyForConnections(30 * time.Second) {
		s.Shutdown()
		return nil, fmt.Errorf("embedded nats: not ready after 30s (store %s)", o.Dir)
	}
	return s, nil
}
