package stats

import "testing"

func BenchmarkChanceToBeatBinary_MillionVisitors(b *testing.B) {
	c, t := Binary(1000000, 50000), Binary(1000000, 50500)
	for b.Loop() {
		ChanceToBeatBinary(c, t)
	}
}

func BenchmarkCompare_Sequential30Looks(b *testing.B) {
	looks := make([]Look, 30)
	for i := range looks {
		n := int64(i+1) * 10000
		looks[i] = Look{Binary(n, n/10), Binary(n, n/10+int64(i)*20)}
	}
	for b.Loop() {
		Compare(KindBinary, Config{}, looks)
	}
}

func BenchmarkExpectedLoss_MillionVisitors(b *testing.B) {
	c, t := Binary(1000000, 50000), Binary(1000000, 50500)
	for b.Loop() {
		ExpectedLoss(KindBinary, c, t)
	}
}

func BenchmarkLiftOverTime_Sequential60Looks(b *testing.B) {
	looks := make([]Look, 60)
	for i := range looks {
		n := int64(i+1) * 10000
		looks[i] = Look{Binary(n, n/10), Binary(n, n/10+int64(i)*20)}
	}
	for b.Loop() {
		LiftOverTime(KindBinary, Config{}, looks)
	}
}
