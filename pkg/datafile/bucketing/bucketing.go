// Package bucketing assigns users to buckets and traffic ranges exactly as the
// Optimizely SDKs do, so that Lift and an SDK agree on every decision.
package bucketing

import (
	"unsafe"

	"github.com/spaolacci/murmur3"
)

const (
	// HashSeed is the MurmurHash3 seed every Optimizely SDK uses.
	HashSeed = 1
	// MaxBuckets is the number of buckets traffic is divided into; ranges
	// and weights are expressed in these basis points.
	MaxBuckets = 10000
	// BucketingIDAttribute is the reserved attribute that, when it holds a
	// string, replaces the user id as the bucketing id.
	BucketingIDAttribute = "$opt_bucketing_id"
)

// stackKey is the length up to which a bucketing key is assembled on the
// stack; longer keys (rare: user ids are short) cost one allocation.
const stackKey = 128

// Hash is MurmurHash3 x86_32 of key with the Optimizely seed.
func Hash(key string) uint32 {
	// The hash only reads its input, so viewing the string's bytes without
	// a copy is safe and keeps Decide allocation-free.
	return murmur3.Sum32WithSeed(unsafe.Slice(unsafe.StringData(key), len(key)), HashSeed)
}

// Value maps a hash to a bucket in [0, MaxBuckets): floor(hash × 10000 / 2^32).
// The SDKs compute it in float64, which is exact here because
// hash × 10000 < 2^46, so integer arithmetic gives the same result.
func Value(hash uint32) int {
	return int(uint64(hash) * MaxBuckets >> 32)
}

// Bucket is the bucket of bucketingID within parentID (an experiment or
// group id): the SDKs hash the concatenation bucketingID + parentID.
func Bucket(bucketingID, parentID string) int {
	var buf [stackKey]byte
	var key []byte
	if n := len(bucketingID) + len(parentID); n <= stackKey {
		key = buf[:0]
	} else {
		key = make([]byte, 0, n)
	}
	key = append(key, bucketingID...)
	key = append(key, parentID...)
	return Value(murmur3.Sum32WithSeed(key, HashSeed))
}

// Range is one traffic allocation entry: buckets below EndOfRange (and not
// below the previous entry's end) go to EntityID. An empty EntityID is a
// gap: users there get nothing.
type Range struct {
	EntityID   string
	EndOfRange int
}

// Allocate returns the entity whose range holds bucket, or "" when the
// bucket falls in a gap or past the last range.
func Allocate(bucket int, ranges []Range) string {
	for _, r := range ranges {
		if bucket < r.EndOfRange {
			return r.EntityID
		}
	}
	return ""
}

// BucketingID is the id a user is bucketed by: the $opt_bucketing_id
// attribute when it is a string, otherwise the user id (the SDKs ignore a
// non-string bucketing id and fall back to the user id).
func BucketingID(userID string, attributes map[string]any) string {
	if v, ok := attributes[BucketingIDAttribute].(string); ok {
		return v
	}
	return userID
}
