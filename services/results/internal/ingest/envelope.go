package ingest

import (
	"fmt"
	"strconv"
	"strings"

	resultsv1 "github.com/liftlabs/lift/proto/gen/go/lift/results/v1"
	"google.golang.org/protobuf/proto"
)

// Envelope is one batch as the event log holds it: the parsed request and
// what the consumer needs to attribute it.
type Envelope struct {
	// SDKKey the batch was sent with; the consumer attributes it against
	// that environment's datafile. Empty for a batch sent with an API
	// token: Known then holds the experiments of the token's account,
	// resolved with its credential when the batch was accepted.
	SDKKey string
	Known  Known
	// Ignored counts rollout impressions dropped while parsing.
	Ignored int
	Request *resultsv1.IngestEventsRequest
}

// Header names of an envelope's message.
const (
	headerSDKKey  = "Lift-Sdk-Key"
	headerKnown   = "Lift-Known"
	headerIgnored = "Lift-Ignored"
)

// Encode returns the message headers and body of e.
func (e *Envelope) Encode() (map[string]string, []byte, error) {
	// Deterministic: a resent batch encodes to the same bytes (its message
	// id is their hash).
	body, err := proto.MarshalOptions{Deterministic: true}.Marshal(e.Request)
	if err != nil {
		return nil, nil, err
	}
	h := map[string]string{headerIgnored: strconv.Itoa(e.Ignored)}
	if e.SDKKey != "" {
		h[headerSDKKey] = e.SDKKey
	} else {
		h[headerKnown] = encodeKnown(e.Known)
	}
	return h, body, nil
}

// DecodeEnvelope reads a message Encode made; header looks up a header.
func DecodeEnvelope(header func(string) string, body []byte) (*Envelope, error) {
	e := &Envelope{SDKKey: header(headerSDKKey), Request: &resultsv1.IngestEventsRequest{}}
	if err := proto.Unmarshal(body, e.Request); err != nil {
		return nil, fmt.Errorf("event log message: %w", err)
	}
	e.Ignored, _ = strconv.Atoi(header(headerIgnored))
	if e.SDKKey == "" {
		known, err := decodeKnown(header(headerKnown))
		if err != nil {
			return nil, err
		}
		e.Known = known
	}
	return e, nil
}

// encodeKnown writes "experiment:variation,variation;experiment:…".
func encodeKnown(k Known) string {
	var b strings.Builder
	for exp, variations := range k {
		if b.Len() > 0 {
			b.WriteByte(';')
		}
		b.WriteString(strconv.FormatInt(exp, 10))
		b.WriteByte(':')
		first := true
		for v := range variations {
			if !first {
				b.WriteByte(',')
			}
			first = false
			b.WriteString(strconv.FormatInt(v, 10))
		}
	}
	return b.String()
}

func decodeKnown(s string) (Known, error) {
	k := Known{}
	if s == "" {
		return k, nil
	}
	for _, part := range strings.Split(s, ";") {
		exp, vs, ok := strings.Cut(part, ":")
		id, err := strconv.ParseInt(exp, 10, 64)
		if !ok || err != nil {
			return nil, fmt.Errorf("event log message: known experiments %q", s)
		}
		k[id] = map[int64]bool{}
		for _, v := range strings.Split(vs, ",") {
			if v == "" {
				continue
			}
			vid, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("event log message: known experiments %q", s)
			}
			k[id][vid] = true
		}
	}
	return k, nil
}
