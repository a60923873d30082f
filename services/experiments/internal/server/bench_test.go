package server_test

import (
	"context"
	"fmt"
	"testing"

	experimentsv1 "github.com/liftlabs/lift/proto/gen/go/lift/experiments/v1"
	"github.com/liftlabs/lift/services/experiments/internal/datafile/datafiletest"
	"google.golang.org/protobuf/types/known/structpb"
)

// BenchmarkDecideGRPC is one Decide over a real loopback gRPC connection
// through the whole server chain (request id, metrics, logging, auth,
// protovalidate), by SDK key, for one experiment with an audience in a
// layer. The datafile is cached; identity answers are cached.
func BenchmarkDecideGRPC(b *testing.B) {
	s := newStack(b)
	l, err := s.c.CreateLayer(s.write, &experimentsv1.CreateLayerRequest{ProjectId: s.project.GetId(), Layer: &experimentsv1.Layer{Key: "l"}})
	if err != nil {
		b.Fatal(err)
	}
	s.start(b, s.createExperiment(b, "bench", func(e *experimentsv1.Experiment) {
		e.LayerId, e.LayerTrafficAllocation, e.AudienceConditions = l.GetLayer().GetId(), 10000, datafiletest.Conditions[4]
	}))
	attrs, _ := structpb.NewStruct(map[string]any{"app": "2.4.1", "plan": "pro", "country": "US"})
	reqs := make([]*experimentsv1.DecideRequest, 256)
	for i := range reqs {
		reqs[i] = &experimentsv1.DecideRequest{SdkKey: s.envs["production"].GetSdkKey(), UserId: fmt.Sprintf("user-%d", i),
			Attributes: attrs.GetFields(), ExperimentKeys: []string{"bench"}}
	}
	ctx := context.Background()
	if _, err := s.c.Decide(ctx, reqs[0]); err != nil { // warm the caches
		b.Fatal(err)
	}
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if _, err := s.c.Decide(ctx, reqs[i&255]); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				if _, err := s.c.Decide(ctx, reqs[i&255]); err != nil {
					b.Error(err)
					return
				}
				i++
			}
		})
	})
}

// BenchmarkGetDatafileGRPC is a cached datafile fetch by SDK key over gRPC.
func BenchmarkGetDatafileGRPC(b *testing.B) {
	s := newStack(b)
	setupAgreementProjectB(b, s)
	req := &experimentsv1.GetDatafileRequest{SdkKey: s.envs["production"].GetSdkKey()}
	ctx := context.Background()
	if _, err := s.c.GetDatafile(ctx, req); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.c.GetDatafile(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
}

func setupAgreementProjectB(b *testing.B, s *stack) {
	for i := range 10 {
		s.start(b, s.createExperiment(b, fmt.Sprintf("e%d", i), func(e *experimentsv1.Experiment) {
			e.AudienceConditions = datafiletest.Conditions[i%len(datafiletest.Conditions)]
		}))
	}
}
