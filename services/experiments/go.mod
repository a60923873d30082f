module github.com/liftlabs/lift/services/experiments

go 1.26.8

require (
	github.com/optimizely/go-sdk/v2 v2.3.1
	github.com/spaolacci/murmur3 v1.1.0
)

require (
	github.com/json-iterator/go v1.1.12 // indirect
	github.com/modern-go/concurrent v0.0.0-20180306012644-bacd9c7ef1dd // indirect
	github.com/modern-go/reflect2 v1.0.2 // indirect
	github.com/twmb/murmur3 v1.1.6 // indirect
)
