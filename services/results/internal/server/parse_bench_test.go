package server

import (
	"fmt"
	"strings"
	"testing"

	"github.com/liftlabs/lift/services/results/internal/ingest"
)

// sdkBody is an SDK batch of n events as the gateway benchmark sends:
// half impressions, half purchases with a value.
func sdkBody(n int) []byte {
	var b strings.Builder
	b.WriteString(`{"account_id":"1","project_id":"42","revision":"1","client_name":"go-sdk","client_version":"2.3.1","enrich_decisions":true,"anonymize_ip":false,"visitors":[`)
	for i := range n / 2 {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `{"visitor_id":"v%09d","attributes":[],"snapshots":[{"decisions":[{"campaign_id":"7","experiment_id":"8","variation_id":"%d","is_campaign_holdback":false,"metadata":{"flag_key":"","rule_key":"checkout","rule_type":"experiment","variation_key":"","enabled":true}}],"events":[{"entity_id":"7","key":"campaign_activated","timestamp":1763900000000,"uuid":"imp-%09d"}]}]},`, i, 9+i%2, i)
		fmt.Fprintf(&b, `{"visitor_id":"v%09d","attributes":[],"snapshots":[{"decisions":null,"events":[{"entity_id":"11","key":"purchase","timestamp":1763900060000,"uuid":"conv-%09d","value":%d}]}]}`, i, i, 100+i%50)
	}
	b.WriteString("]}")
	return []byte(b.String())
}

// BenchmarkParseAndValidate measures the CPU results spends on a
// 1000-event SDK batch before the store: ParseOptimizely, then validParsed.
func BenchmarkParseAndValidate(b *testing.B) {
	body := sdkBody(1000)
	b.SetBytes(int64(len(body)))
	b.Run("parse", func(b *testing.B) {
		for b.Loop() {
			if _, _, err := ingest.ParseOptimizely(body); err != nil {
				b.Fatal(err)
			}
		}
	})
	parsed, _, _ := ingest.ParseOptimizely(body)
	b.Run("validate", func(b *testing.B) {
		for b.Loop() {
			if err := validParsed(parsed, body); err != nil {
				b.Fatal(err)
			}
		}
	})
}
